//! `POST /oauth/token`: the client-credentials grant (RFC 6749 §4.4) issuing
//! RFC 9068 JWT access tokens.
//!
//! The hot path: it reads one client row, hashes the presented secret once,
//! signs with a key parsed at start-up, and writes nothing to the database.

use actix_web::http::header::{self, HeaderMap};
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use serde::Serialize;

use crate::crypto::{ClientId, ClientSecret, random};
use crate::domain::ScopeSet;
use crate::http::AppState;
use crate::http::oauth::OAuthError;
use crate::http::oauth::request::TokenRequest;
use crate::service::client_auth::{self, AuthenticatedClient, ClientAuthError};
use crate::storage::StorageError;

/// Bodies over this size are refused with 413 before they are parsed; a
/// real token request is well under 1 KiB.
pub const MAX_BODY_BYTES: usize = 4 * 1024;

/// The claims of an access token (RFC 9068 §2.2).
#[derive(Debug, Serialize)]
pub struct AccessTokenClaims<'a> {
    /// Issuer.
    pub iss: &'a str,
    /// Subject: the client id.
    pub sub: &'a str,
    /// Audience.
    pub aud: &'a str,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issue time, seconds since the epoch.
    pub iat: i64,
    /// Unique token id.
    pub jti: &'a str,
    /// The client id (RFC 9068 §2.2).
    pub client_id: &'a str,
    /// Granted scopes, space-delimited.
    pub scope: &'a str,
    /// The client's account id.
    pub acct: &'a str,
}

#[derive(Serialize)]
struct TokenResponse<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: u32,
    scope: &'a str,
}

async fn read_body(headers: &HeaderMap, mut payload: web::Payload) -> Result<Vec<u8>, OAuthError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if declared.is_some_and(|length| length > MAX_BODY_BYTES) {
        return Err(OAuthError::RequestTooLarge);
    }
    let mut body = Vec::with_capacity(declared.unwrap_or(256).min(MAX_BODY_BYTES));
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|_| OAuthError::InvalidRequest("the request body was cut off"))?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(OAuthError::RequestTooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Issues an access token to an authenticated client.
#[tracing::instrument(name = "issue_token", skip_all, fields(client.id, outcome))]
pub async fn issue_token(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthError> {
    let body = read_body(request.headers(), payload).await?;
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.as_bytes());
    let parsed = TokenRequest::parse(content_type, authorization, &body).inspect_err(|err| {
        tracing::Span::current().record("outcome", err.to_string());
    })?;

    let client = authenticate(&state, &parsed).await?;

    let scopes = granted_scopes(&parsed, &client)?;
    let token = mint(&state, &client, scopes)?;
    state
        .usage
        .record(client.client_id.as_str(), chrono::Utc::now().timestamp());
    tracing::Span::current().record("outcome", "issued");
    tracing::debug!("token issued");
    let scope = scopes.to_string();
    let response = TokenResponse {
        access_token: &token,
        token_type: "Bearer",
        expires_in: state.settings.token_ttl,
        scope: &scope,
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(response))
}

async fn authenticate(
    state: &AppState,
    parsed: &TokenRequest,
) -> Result<AuthenticatedClient, OAuthError> {
    let invalid_client = OAuthError::InvalidClient {
        basic_attempted: parsed.basic_attempted,
    };
    let refuse = |reason: &str| {
        tracing::Span::current().record("outcome", "invalid_client");
        tracing::info!(reason, "client authentication failed");
    };
    let Some((presented, _method)) = &parsed.credentials else {
        refuse("no_credentials");
        return Err(invalid_client);
    };
    let Some(client_id) = ClientId::parse(&presented.client_id) else {
        refuse("malformed_client_id");
        return Err(invalid_client);
    };
    tracing::Span::current().record("client.id", client_id.as_str());
    // The checksum refuses mistyped secrets without a database lookup.
    let Some(secret) = ClientSecret::parse(&presented.client_secret) else {
        refuse("malformed_secret");
        return Err(invalid_client);
    };

    let outcome = state
        .db
        .run(move |conn| client_auth::authenticate(conn, &client_id, &secret))
        .await;
    match outcome {
        Ok(client) => Ok(client),
        Err(ClientAuthError::Storage(err)) => Err(storage_failure(err)),
        Err(err) => {
            refuse(err.reason());
            Err(invalid_client)
        }
    }
}

fn storage_failure(err: StorageError) -> OAuthError {
    match err {
        StorageError::Unavailable(cause) => {
            tracing::warn!(
                error = format!("{cause:#}"),
                "database unavailable for token request"
            );
            OAuthError::TemporarilyUnavailable
        }
        other => OAuthError::Internal(other.into()),
    }
}

/// RFC 6749 §3.3: no `scope` means every scope of the client; otherwise
/// the request must name only scopes the client holds.
fn granted_scopes(
    parsed: &TokenRequest,
    client: &AuthenticatedClient,
) -> Result<ScopeSet, OAuthError> {
    let refuse = |description| {
        tracing::Span::current().record("outcome", "invalid_scope");
        tracing::info!("requested scope refused");
        OAuthError::InvalidScope(description)
    };
    if parsed.scope_error.is_some() {
        return Err(refuse("the request names an unknown scope"));
    }
    match parsed.scope {
        None => Ok(client.scopes),
        Some(requested) if requested.is_subset_of(client.scopes) => Ok(requested),
        Some(_) => Err(refuse("the client does not hold every requested scope")),
    }
}

fn mint(
    state: &AppState,
    client: &AuthenticatedClient,
    scopes: ScopeSet,
) -> Result<String, OAuthError> {
    let settings = &state.settings;
    let iat = chrono::Utc::now().timestamp();
    let jti = random::token::<16>();
    let scope = scopes.to_string();
    let claims = AccessTokenClaims {
        iss: &settings.issuer,
        sub: client.client_id.as_str(),
        aud: &settings.audience,
        exp: iat + i64::from(settings.token_ttl),
        iat,
        jti: &jti,
        client_id: client.client_id.as_str(),
        scope: &scope,
        acct: &client.account_id,
    };
    let keys = state.keys.snapshot();
    keys.current()
        .sign(&claims)
        .map_err(|err| OAuthError::Internal(err.into()))
}
