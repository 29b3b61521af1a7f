//! What the token and introspection endpoints share: reading the form body
//! under a size limit, and authenticating the calling client (RFC 6749
//! §2.3.1).

use actix_web::http::header::{self, HeaderMap};
use actix_web::{HttpRequest, web};
use futures_util::StreamExt;

use crate::crypto::{ClientId, ClientSecret};
use crate::http::AppState;
use crate::http::admin::source_ip;
use crate::http::oauth::OAuthError;
use crate::http::oauth::request::ClientCredentials;
use crate::service::client_auth::{AuthenticatedClient, ClientAuthError};
use crate::storage::StorageError;

/// Bodies over this size are refused with 413 before they are parsed; a
/// real token request is well under 1 KiB.
pub const MAX_BODY_BYTES: usize = 4 * 1024;

/// Reads a form body, refusing one over [`MAX_BODY_BYTES`] with 413
/// before reading it when its length is declared.
pub async fn read_body(
    headers: &HeaderMap,
    mut payload: web::Payload,
) -> Result<Vec<u8>, OAuthError> {
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

/// Authenticates the requesting client: `invalid_client` for every kind
/// of failure, 503 when the database is unreachable. The source address
/// is worked out only for a failure, off the success path.
pub async fn authenticate(
    state: &AppState,
    credentials: &ClientCredentials,
    request: &HttpRequest,
) -> Result<AuthenticatedClient, OAuthError> {
    let failure = match verify(state, credentials).await {
        Ok(client) => return Ok(client),
        Err(Failure::Storage(err)) => return Err(storage_failure(err)),
        Err(Failure::Refused(reason)) => reason,
    };
    tracing::info!(reason = failure, "client authentication failed");
    match state.limits.client_failed(&source_ip(request)).await {
        Some(retry_after) => Err(OAuthError::TooManyRequests(retry_after)),
        None => Err(OAuthError::InvalidClient {
            basic_attempted: credentials.basic_attempted,
        }),
    }
}

enum Failure {
    Refused(&'static str),
    Storage(StorageError),
}

async fn verify(
    state: &AppState,
    credentials: &ClientCredentials,
) -> Result<AuthenticatedClient, Failure> {
    let Some((presented, _method)) = &credentials.presented else {
        return Err(Failure::Refused("no_credentials"));
    };
    let client_id =
        ClientId::parse(&presented.client_id).ok_or(Failure::Refused("malformed_client_id"))?;
    tracing::Span::current().record("client.id", client_id.as_str());
    // The checksum refuses mistyped secrets without a database lookup.
    let secret = ClientSecret::parse(&presented.client_secret)
        .ok_or(Failure::Refused("malformed_secret"))?;

    match state
        .clients
        .authenticate(&state.db, client_id, secret)
        .await
    {
        Ok(client) => Ok(client),
        Err(ClientAuthError::Storage(err)) => Err(Failure::Storage(err)),
        Err(err) => Err(Failure::Refused(err.reason())),
    }
}

/// Maps a storage failure to 503 (unreachable) or 500.
pub fn storage_failure(err: StorageError) -> OAuthError {
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
