//! `GET /.well-known/oauth-authorization-server` (RFC 8414 §3).

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};
use serde::Serialize;

use crate::config::Settings;
use crate::domain::Scope;
use crate::http::AppState;
use crate::http::oauth::jwks::JWKS_MAX_AGE_SECS;
use crate::http::oauth::{INTROSPECT_PATH, JWKS_PATH, TOKEN_PATH};

/// The authorization server metadata (RFC 8414 §2).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = AuthorizationServerMetadata)]
struct Metadata<'a> {
    /// The `iss` of every token.
    issuer: &'a str,
    /// URL of `POST /oauth/token`.
    token_endpoint: String,
    /// URL of the JWKS.
    jwks_uri: String,
    /// URL of `POST /oauth/introspect` (RFC 7662).
    introspection_endpoint: String,
    /// How a client authenticates at the introspection endpoint.
    introspection_endpoint_auth_methods_supported: &'a [&'a str],
    /// Always `["client_credentials"]`.
    grant_types_supported: &'a [&'a str],
    /// How a client authenticates at the token endpoint.
    token_endpoint_auth_methods_supported: &'a [&'a str],
    /// Every scope keymint knows.
    scopes_supported: &'a [&'a str],
    /// Empty: keymint has no authorization endpoint.
    response_types_supported: &'a [&'a str],
    /// keymint extension: the algorithms of the published keys, so that
    /// verifiers know which to allow.
    access_token_signing_alg_values_supported: &'a [&'a str],
}

/// How clients authenticate, at both endpoints (RFC 6749 §2.3.1).
const AUTH_METHODS: &[&str] = &["client_secret_basic", "client_secret_post"];

/// Renders the metadata document. `signing_algs` are the algorithms of
/// the published keys: a keymint extension,
/// `access_token_signing_alg_values_supported`, tells verifiers which
/// algorithms to allow (RFC 8414 defines no member for access tokens).
pub fn render(settings: &Settings, signing_algs: &[&str]) -> Vec<u8> {
    let issuer = &settings.issuer;
    let scopes: Vec<&str> = Scope::ALL.iter().map(|scope| scope.as_str()).collect();
    let document = Metadata {
        issuer,
        token_endpoint: format!("{issuer}{TOKEN_PATH}"),
        jwks_uri: format!("{issuer}{JWKS_PATH}"),
        introspection_endpoint: format!("{issuer}{INTROSPECT_PATH}"),
        introspection_endpoint_auth_methods_supported: AUTH_METHODS,
        grant_types_supported: &["client_credentials"],
        token_endpoint_auth_methods_supported: AUTH_METHODS,
        scopes_supported: &scopes,
        response_types_supported: &[],
        access_token_signing_alg_values_supported: signing_algs,
    };
    serde_json::to_vec(&document).unwrap_or_default()
}

/// Serves the metadata document.
#[utoipa::path(
    tag = "oauth",
    summary = "Authorization server metadata",
    description = "RFC 8414. Cacheable (`Cache-Control: public, max-age=300`).",
    security(()),
    responses(
        (status = 200, description = "The metadata document.", body = Metadata,
            headers(("Cache-Control" = String))),
    ),
)]
#[get("/.well-known/oauth-authorization-server")]
pub async fn get_metadata(state: web::Data<AppState>) -> HttpResponse {
    let keys = state.keys.snapshot();
    let mut algs: Vec<&str> = keys
        .published()
        .iter()
        .map(|jwk| jwk.alg.as_str())
        .collect();
    algs.sort_unstable();
    algs.dedup();
    HttpResponse::Ok()
        .insert_header((
            header::CACHE_CONTROL,
            format!("public, max-age={JWKS_MAX_AGE_SECS}"),
        ))
        .content_type("application/json")
        .body(render(&state.settings, &algs))
}
