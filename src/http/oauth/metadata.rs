//! `GET /.well-known/oauth-authorization-server` (RFC 8414 §3).

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::config::Settings;
use crate::domain::Scope;
use crate::http::AppState;
use crate::http::oauth::jwks::JWKS_MAX_AGE_SECS;
use crate::http::oauth::{INTROSPECT_PATH, JWKS_PATH, TOKEN_PATH};

/// Renders the metadata document. `signing_algs` are the algorithms of
/// the published keys: a keymint extension,
/// `access_token_signing_alg_values_supported`, tells verifiers which
/// algorithms to allow (RFC 8414 defines no member for access tokens).
pub fn render(settings: &Settings, signing_algs: &[&str]) -> Vec<u8> {
    let issuer = &settings.issuer;
    let scopes: Vec<&str> = Scope::ALL.iter().map(|scope| scope.as_str()).collect();
    let document = json!({
        "issuer": issuer,
        "token_endpoint": format!("{issuer}{TOKEN_PATH}"),
        "jwks_uri": format!("{issuer}{JWKS_PATH}"),
        "introspection_endpoint": format!("{issuer}{INTROSPECT_PATH}"),
        "introspection_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post"],
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": scopes,
        "response_types_supported": [],
        "access_token_signing_alg_values_supported": signing_algs,
    });
    serde_json::to_vec(&document).unwrap_or_default()
}

/// Serves the metadata document.
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
