//! `POST /oauth/introspect` (RFC 7662), for services that cannot verify
//! JWTs themselves. The caller authenticates as a client, as at the token
//! endpoint. A token is active only when it verifies against keymint's
//! published keys, has not expired, and its client is not revoked — the
//! last checked in the database, so a revocation shows at once.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, post, web};
use serde::Serialize;

use crate::http::AppState;
use crate::http::oauth::error::Body as OAuthErrorResponse;
use crate::http::oauth::request::{IntrospectionForm, IntrospectionRequest};
use crate::http::oauth::{OAuthError, client};
use crate::storage::StorageError;
use crate::storage::clients;
use crate::verify::{AccessClaims, validate};

/// An introspection response (RFC 7662 §2.2).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
#[schema(as = IntrospectionResponse)]
enum Introspection<'a> {
    /// The token is active.
    Active(Active<'a>),
    /// Anything else.
    Inactive(Inactive),
}

/// A token keymint issued, still valid, whose client is not revoked.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ActiveToken)]
struct Active<'a> {
    /// Always `true`.
    #[schema(example = true)]
    active: bool,
    /// The client the token was issued to.
    client_id: &'a str,
    /// Granted scopes, space-delimited.
    #[schema(example = "configuration reporting")]
    scope: &'a str,
    /// Subject: the client id.
    sub: &'a str,
    /// Audience.
    aud: &'a str,
    /// Issuer.
    iss: &'a str,
    /// Expiry, seconds since the epoch.
    exp: i64,
    /// Issue time, seconds since the epoch.
    iat: i64,
    /// Unique token id.
    jti: &'a str,
    /// The client's account id.
    acct: &'a str,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    token_type: &'static str,
}

/// Expired, badly signed, not a keymint token, or its client is revoked.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = InactiveToken)]
struct Inactive {
    /// Always `false`.
    #[schema(example = false)]
    active: bool,
}

fn answer(body: Introspection<'_>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(body)
}

/// Describes a token to an authenticated client.
#[utoipa::path(
    tag = "oauth",
    summary = "Introspect an access token",
    description = "RFC 7662. The caller authenticates as a client, as at the token endpoint. \
        Every answer is `Cache-Control: no-store`, `Pragma: no-cache`.",
    request_body(
        content = IntrospectionForm,
        content_type = "application/x-www-form-urlencoded",
    ),
    security(("client_secret_basic" = []), ()),
    responses(
        (status = 200, description = "`{\"active\": true, …}` for a valid token, \
            `{\"active\": false}` for anything else.", body = Introspection),
        (status = 400, description = "`invalid_request`: no `token`, a parameter repeated, \
            two authentication methods, a body that is not form-encoded or a malformed Basic \
            header.", body = OAuthErrorResponse),
        (status = 401, description = "`invalid_client`: the caller's credentials are wrong.",
            body = OAuthErrorResponse,
            headers(("WWW-Authenticate" = String,
                description = "`Basic realm=\"keymint\"` when HTTP Basic was tried."))),
        (status = 405, description = "Any method but POST; `Allow: POST`.",
            headers(("Allow" = String))),
        (status = 413, description = "`invalid_request`: the body is over 4 KiB.",
            body = OAuthErrorResponse),
        (status = 500, description = "`server_error`.", body = OAuthErrorResponse),
        (status = 503, description = "`temporarily_unavailable`: the database is unreachable.",
            body = OAuthErrorResponse, headers(("Retry-After" = u32))),
    ),
)]
#[post("/oauth/introspect")]
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

    client::authenticate(&state, &parsed.client, &request).await?;

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
        Some(claims) => answer(Introspection::Active(Active {
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
        })),
        None => answer(Introspection::Inactive(Inactive { active: false })),
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
