//! `POST /oauth/token`: the client-credentials grant (RFC 6749 §4.4) issuing
//! RFC 9068 JWT access tokens.
//!
//! The hot path: it reads one client row, hashes the presented secret once,
//! signs with a key parsed at start-up, and writes nothing to the database.

use std::time::Instant;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, post, web};
use serde::Serialize;

use crate::crypto::random;
use crate::domain::ScopeSet;
use crate::http::AppState;
use crate::http::oauth::error::Body as OAuthErrorResponse;
use crate::http::oauth::request::{TokenForm, TokenRequest};
use crate::http::oauth::{OAuthError, client};
use crate::service::client_auth::AuthenticatedClient;

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

/// A successful token response (RFC 6749 §5.1).
#[derive(Serialize, utoipa::ToSchema)]
struct TokenResponse<'a> {
    /// The access token: a JWS compact JWT (RFC 9068).
    access_token: &'a str,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    token_type: &'static str,
    /// Lifetime in seconds.
    #[schema(example = 900)]
    expires_in: u32,
    /// The granted scopes, space-delimited.
    #[schema(example = "configuration reporting")]
    scope: &'a str,
}

/// Issues an access token to an authenticated client.
///
/// The outcome and client id are recorded on the request's span (see
/// [`crate::http::middleware`]), so the request's one log line carries them.
#[utoipa::path(
    tag = "oauth",
    summary = "Issue an access token (client credentials)",
    description = "RFC 6749 §4.4. The client authenticates with HTTP Basic \
        (`client_secret_basic`) or with `client_id` and `client_secret` in the body \
        (`client_secret_post`), never both. Every answer is `Cache-Control: no-store`, \
        `Pragma: no-cache`.",
    request_body(
        content = TokenForm,
        content_type = "application/x-www-form-urlencoded",
    ),
    security(("client_secret_basic" = []), ()),
    responses(
        (status = 200, description = "The token.", body = TokenResponse),
        (status = 400, description = "`invalid_request`: no `grant_type`, a parameter repeated, \
            two authentication methods, a body that is not form-encoded or a malformed Basic \
            header. `unsupported_grant_type`: any grant but `client_credentials`. \
            `invalid_scope`: an unknown scope, or one the client does not hold.",
            body = OAuthErrorResponse),
        (status = 401, description = "`invalid_client`: unknown client, wrong secret, revoked \
            client or no credentials.", body = OAuthErrorResponse,
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
#[post("/oauth/token")]
pub async fn issue_token(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthError> {
    let started = Instant::now();
    let result = issue(&request, payload, &state).await;
    let outcome = match &result {
        Ok(_) => "issued",
        Err(err) => err.code(),
    };
    tracing::Span::current().record("outcome", outcome);
    state.metrics.token_request(outcome, started.elapsed());
    result
}

async fn issue(
    request: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
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
    let parsed = TokenRequest::parse(content_type, authorization, &body)?;

    let client = client::authenticate(state, &parsed.client, request).await?;

    let scopes = granted_scopes(&parsed, &client)?;
    let token = mint(state, &client, scopes)?;
    state
        .usage
        .record(client.client_id.as_str(), chrono::Utc::now().timestamp());
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

/// RFC 6749 §3.3: no `scope` means every scope of the client; otherwise
/// the request must name only scopes the client holds.
fn granted_scopes(
    parsed: &TokenRequest,
    client: &AuthenticatedClient,
) -> Result<ScopeSet, OAuthError> {
    let refuse = |description| {
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
