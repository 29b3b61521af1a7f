//! Single sign-on with an account's OpenID Connect IdP: configuring which
//! IdP an account trusts, and opening a session from an ID token.
//!
//! An ID token is accepted only when its signature checks against the
//! stored JWKS of an IdP configured with its `iss`, its algorithm is an
//! asymmetric one named in the allow-list (never `none`, never HMAC), `aud`
//! names the configured audience, `exp`, `nbf` and `iat` hold within one
//! minute of leeway, and its `email` belongs to a user of that account.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::json;

use crate::domain::SessionMethod;
use crate::service::audit::{self, Actor, Event};
use crate::service::sessions::{self, LoginError, OpenedSession, record_login};
use crate::service::users::normalise_email;
use crate::storage::sso_providers::{self, SsoProviderRow};
use crate::storage::users;
use crate::storage::{self, DbConnection, StorageError, accounts};

/// Algorithms accepted on ID tokens.
const ALLOWED: [Algorithm; 6] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::EdDSA,
];

/// Clock leeway for `exp`, `nbf` and `iat`, in seconds.
const LEEWAY_SECS: u64 = 60;

/// Why an IdP could not be configured.
#[derive(Debug, thiserror::Error)]
pub enum SsoConfigError {
    /// No such account.
    #[error("no account with id {0}")]
    AccountNotFound(String),
    /// The issuer is not an https URL (http only for localhost).
    #[error("the issuer must be an https:// URL")]
    InvalidIssuer,
    /// An empty audience.
    #[error("the audience must not be empty")]
    InvalidAudience,
    /// The JWKS file holds no usable public key.
    #[error("the JWKS holds no usable public signing key: {0}")]
    InvalidJwks(String),
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// What `keymint account sso` prints.
#[derive(Debug, serde::Serialize)]
pub struct SsoConfigured {
    /// The account.
    pub account_id: String,
    /// The trusted issuer.
    pub issuer: String,
}

/// Makes `account_id` trust the IdP `issuer` for ID tokens addressed to
/// `audience`, signed by a key in `jwks`.
pub fn configure(
    conn: &mut DbConnection,
    account_id: &str,
    issuer: &str,
    audience: &str,
    jwks: &str,
) -> Result<SsoConfigured, SsoConfigError> {
    let local = issuer.starts_with("http://localhost") || issuer.starts_with("http://127.0.0.1");
    let junk = |c: char| c.is_whitespace() || c.is_control();
    if !(issuer.starts_with("https://") || local) || issuer.chars().any(junk) {
        return Err(SsoConfigError::InvalidIssuer);
    }
    if audience.trim().is_empty() {
        return Err(SsoConfigError::InvalidAudience);
    }
    let set: JwkSet =
        serde_json::from_str(jwks).map_err(|err| SsoConfigError::InvalidJwks(err.to_string()))?;
    let usable = set
        .keys
        .iter()
        .filter(|jwk| DecodingKey::from_jwk(jwk).is_ok())
        .count();
    if usable == 0 {
        return Err(SsoConfigError::InvalidJwks("no key parses".into()));
    }
    if accounts::find(conn, account_id)
        .map_err(StorageError::from)?
        .is_none()
    {
        return Err(SsoConfigError::AccountNotFound(account_id.into()));
    }
    let row = SsoProviderRow {
        account_id: account_id.into(),
        issuer: issuer.into(),
        audience: audience.into(),
        jwks: serde_json::to_string(&set)
            .map_err(|err| SsoConfigError::InvalidJwks(err.to_string()))?,
        created_at: storage::now(),
    };
    diesel::Connection::transaction(conn, |conn| {
        sso_providers::upsert(conn, &row)?;
        audit::record(
            conn,
            &Event {
                actor: &Actor::Cli,
                account_id: Some(account_id),
                action: "sso.configured",
                target: Some(issuer),
                source_ip: None,
                detail: Some(json!({ "audience": audience, "keys": usable })),
            },
        )
    })
    .map_err(StorageError::from)?;
    Ok(SsoConfigured {
        account_id: account_id.into(),
        issuer: issuer.into(),
    })
}

#[derive(Debug, Deserialize)]
struct IdTokenClaims {
    email: Option<String>,
    email_verified: Option<bool>,
    iat: Option<i64>,
    #[serde(default)]
    amr: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct IssuerOnly {
    iss: Option<String>,
}

/// Opens an `sso` session from an ID token of the user's account IdP.
pub fn login(
    conn: &mut DbConnection,
    id_token: &str,
    ttl: u32,
    source_ip: Option<&str>,
) -> Result<OpenedSession, LoginError> {
    let Some((provider, claims)) = verified_claims(conn, id_token)? else {
        return Err(refuse(conn, None, "id_token_rejected", source_ip));
    };
    let email = claims.email.as_deref().and_then(normalise_email);
    let Some(email) = email.filter(|_| claims.email_verified != Some(false)) else {
        return Err(refuse(
            conn,
            Some(&provider.account_id),
            "no_verified_email",
            source_ip,
        ));
    };
    let Some(user) = users::find_in_account_by_email(conn, &provider.account_id, &email)? else {
        return Err(refuse(
            conn,
            Some(&provider.account_id),
            "unknown_email",
            source_ip,
        ));
    };
    let mfa = claims.amr.iter().any(|method| method == "mfa");
    let opened = sessions::open(conn, &user, SessionMethod::Sso, mfa, ttl, source_ip)?;
    record_login(
        conn,
        &user,
        "login.succeeded",
        source_ip,
        Some(SessionMethod::Sso),
    )?;
    Ok(opened)
}

/// The IdP and claims of a token that checks out against an IdP configured
/// with its issuer; `None` for anything else.
fn verified_claims(
    conn: &mut DbConnection,
    id_token: &str,
) -> Result<Option<(SsoProviderRow, IdTokenClaims)>, StorageError> {
    let Ok(header) = jsonwebtoken::decode_header(id_token) else {
        return Ok(None);
    };
    if !ALLOWED.contains(&header.alg) {
        return Ok(None);
    }
    // The issuer picks the IdP whose keys must then verify the token; the
    // claim is trusted only after that verification.
    let Ok(IssuerOnly { iss: Some(issuer) }) =
        jsonwebtoken::dangerous::insecure_decode_claims::<IssuerOnly>(id_token)
    else {
        return Ok(None);
    };
    // `configure` accepts no such issuer, and PostgreSQL refuses text
    // holding NUL with an error rather than a miss.
    if issuer.chars().any(char::is_control) {
        return Ok(None);
    }
    for provider in sso_providers::find_by_issuer(conn, &issuer)? {
        if let Some(claims) = verify_with(&provider, &header, id_token) {
            return Ok(Some((provider, claims)));
        }
    }
    Ok(None)
}

fn verify_with(
    provider: &SsoProviderRow,
    header: &jsonwebtoken::Header,
    id_token: &str,
) -> Option<IdTokenClaims> {
    let set: JwkSet = serde_json::from_str(&provider.jwks).ok()?;
    let jwk = match header.kid.as_deref() {
        Some(kid) => set.find(kid)?,
        None if set.keys.len() == 1 => set.keys.first()?,
        None => return None,
    };
    if jwk
        .common
        .key_algorithm
        .is_some_and(|alg| alg.to_string() != format!("{:?}", header.alg))
    {
        return None;
    }
    let key = DecodingKey::from_jwk(jwk).ok()?;
    let mut validation = Validation::new(header.alg);
    validation.leeway = LEEWAY_SECS;
    validation.validate_nbf = true;
    validation.set_issuer(&[&provider.issuer]);
    validation.set_audience(&[&provider.audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    let claims = jsonwebtoken::decode::<IdTokenClaims>(id_token, &key, &validation)
        .ok()?
        .claims;
    let now = chrono::Utc::now().timestamp();
    let issued_in_future = claims.iat.is_none_or(|iat| iat > now + LEEWAY_SECS as i64);
    (!issued_in_future).then_some(claims)
}

fn refuse(
    conn: &mut DbConnection,
    account_id: Option<&str>,
    reason: &str,
    source_ip: Option<&str>,
) -> LoginError {
    tracing::info!(account.id = account_id, reason, "SSO login refused");
    let recorded = audit::record(
        conn,
        &Event {
            actor: &Actor::Anonymous,
            account_id,
            action: "login.sso_failed",
            target: None,
            source_ip,
            detail: Some(json!({ "reason": reason })),
        },
    );
    match recorded {
        Ok(()) => LoginError::InvalidCredentials,
        Err(err) => LoginError::Storage(err.into()),
    }
}
