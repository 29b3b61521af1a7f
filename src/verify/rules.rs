//! The checks every keymint access token must pass, with no I/O.

use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};

use crate::verify::AccessClaims;
use crate::verify::keys::KeyCache;

/// What a token must match.
#[derive(Debug, Clone)]
pub struct Rules {
    /// Expected `iss`: keymint's `KEYMINT_ISSUER`.
    pub issuer: String,
    /// Expected `aud`: keymint's `KEYMINT_AUDIENCE`.
    pub audience: String,
    /// Algorithms accepted; asymmetric ones only (HMAC and `none` are
    /// refused whatever this holds).
    pub algorithms: Vec<Algorithm>,
    /// Clock leeway for `exp`, `nbf` and `iat`.
    pub leeway: Duration,
}

impl Rules {
    /// Rules for tokens of `issuer` addressed to `audience`: ES256, EdDSA
    /// and RS256, one minute of leeway.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            algorithms: vec![Algorithm::ES256, Algorithm::EdDSA, Algorithm::RS256],
            leeway: Duration::from_secs(60),
        }
    }
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Not a compact JWS with a JSON header and claims.
    #[error("the token is not a well-formed JWT")]
    Malformed,
    /// `alg` is not on the allow-list, or does not match the key.
    #[error("the token's algorithm `{0}` is not accepted")]
    Algorithm(String),
    /// `typ` is not `at+jwt`.
    #[error("the token is not an access token (typ must be at+jwt)")]
    WrongType,
    /// No key with the token's `kid`, even after refetching the JWKS.
    #[error("the token's key id is unknown")]
    UnknownKey,
    /// The signature does not verify.
    #[error("the token's signature is invalid")]
    BadSignature,
    /// `exp` has passed.
    #[error("the token has expired")]
    Expired,
    /// `nbf` or `iat` lies in the future.
    #[error("the token is not valid yet")]
    NotYetValid,
    /// `iss` is not the expected issuer.
    #[error("the token's issuer is not accepted")]
    WrongIssuer,
    /// `aud` is not the expected audience.
    #[error("the token's audience is not accepted")]
    WrongAudience,
    /// A required claim is missing or of the wrong type.
    #[error("the token lacks a valid `{0}` claim")]
    MissingClaim(String),
    /// The JWKS could not be fetched or read.
    #[error("the keys could not be fetched: {0}")]
    KeysUnavailable(String),
}

const REQUIRED: [&str; 9] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "jti",
    "client_id",
    "scope",
    "acct",
];

/// Checks `token` against `keys` and `rules` and returns its claims.
pub fn validate(token: &str, keys: &KeyCache, rules: &Rules) -> Result<AccessClaims, VerifyError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| VerifyError::Malformed)?;
    let type_ok = header.typ.as_deref().is_some_and(|typ| {
        typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt")
    });
    if !type_ok {
        return Err(VerifyError::WrongType);
    }
    let algorithm = header.alg;
    let symmetric = matches!(
        algorithm,
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
    );
    if symmetric || !rules.algorithms.contains(&algorithm) {
        return Err(VerifyError::Algorithm(format!("{algorithm:?}")));
    }
    let kid = header.kid.as_deref().ok_or(VerifyError::UnknownKey)?;
    let cached = keys.get(kid).ok_or(VerifyError::UnknownKey)?;
    // The key decides the algorithm, never the token alone (RFC 8725 §3.1).
    if cached.alg != algorithm {
        return Err(VerifyError::Algorithm(format!("{algorithm:?}")));
    }

    let mut validation = Validation::new(algorithm);
    validation.leeway = rules.leeway.as_secs();
    validation.validate_nbf = true;
    validation.set_issuer(&[&rules.issuer]);
    validation.set_audience(&[&rules.audience]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    let claims = jsonwebtoken::decode::<serde_json::Value>(token, &cached.key, &validation)
        .map_err(|err| match err.into_kind() {
            ErrorKind::InvalidSignature => VerifyError::BadSignature,
            ErrorKind::ExpiredSignature => VerifyError::Expired,
            ErrorKind::ImmatureSignature => VerifyError::NotYetValid,
            ErrorKind::InvalidIssuer => VerifyError::WrongIssuer,
            ErrorKind::InvalidAudience => VerifyError::WrongAudience,
            ErrorKind::MissingRequiredClaim(claim) | ErrorKind::InvalidClaimFormat(claim) => {
                VerifyError::MissingClaim(claim)
            }
            ErrorKind::InvalidAlgorithm => VerifyError::Algorithm(format!("{algorithm:?}")),
            _ => VerifyError::Malformed,
        })?
        .claims;
    if let Some(missing) = REQUIRED.iter().find(|name| claims.get(**name).is_none()) {
        return Err(VerifyError::MissingClaim((*missing).to_owned()));
    }
    let claims: AccessClaims =
        serde_json::from_value(claims).map_err(|err| VerifyError::MissingClaim(err.to_string()))?;
    let now = now_secs();
    let leeway = i64::try_from(rules.leeway.as_secs()).unwrap_or(i64::MAX);
    if claims.iat > now.saturating_add(leeway) {
        return Err(VerifyError::NotYetValid);
    }
    Ok(claims)
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}
