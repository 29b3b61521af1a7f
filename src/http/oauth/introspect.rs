//! `POST /oauth/introspect` (RFC 7662), for services that cannot verify
//! JWTs themselves. The caller authenticates as a client, as at the token
//! endpoint. A token is active only when it verifies against keymint's
//! published keys, has not expired, and its client is not revoked — the
//! last checked in the database, so a revocation shows at once.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

use crate::http::AppState;
use crate::http::oauth::request::IntrospectionRequest;
use crate::http::oauth::{OAuthError, client};
use crate::storage::StorageError;
use crate::storage::clients;
use crate::verify::{AccessClaims, validate};

#[derive(Serialize)]
struct Active<'a> {
    active: bool,
    client_id: &'a str,
    scope: &'a str,
    sub: &'a str,
    aud: &'a str,
    iss: &'a str,
    exp: i64,
    iat: i64,
    jti: &'a str,
    acct: &'a str,
    token_type: &'static str,
}

fn answer(body: impl Serialize) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(body)
}

/// Describes a token to an authenticated client.
#[tracing::instrument(name = "introspect_token", skip_all, fields(client.id, active))]
pub async fn introspect_token(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthError> {
    let body = client::read_body(request.headers(), payload).await?;
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.as_bytes());
    let parsed = IntrospectionRequest::parse(content_type, authorization, &body)?;

    client::authenticate(&state, &parsed.client).await?;

    let claims = validate(
        &parsed.token,
        state.keys.snapshot().verification_keys(),
        &state.token_rules,
    );
    let active = match claims {
        Ok(claims) if client_is_active(&state, &claims).await? => Some(claims),
        _ => None,
    };
    tracing::Span::current().record("active", active.is_some());
    Ok(match &active {
        Some(claims) => answer(Active {
            active: true,
            client_id: &claims.client_id,
            scope: &claims.scope,
            sub: &claims.sub,
            aud: &claims.aud,
            iss: &claims.iss,
            exp: claims.exp,
            iat: claims.iat,
            jti: &claims.jti,
            acct: &claims.acct,
            token_type: "Bearer",
        }),
        None => answer(serde_json::json!({ "active": false })),
    })
}

/// Whether the token's client still exists and is not revoked.
async fn client_is_active(state: &AppState, claims: &AccessClaims) -> Result<bool, OAuthError> {
    let client_id = claims.client_id.clone();
    let row = state
        .db
        .run(move |conn| clients::find_by_client_id(conn, &client_id).map_err(StorageError::from))
        .await
        .map_err(client::storage_failure)?;
    Ok(row.is_some_and(|row| row.revoked_at.is_none()))
}
