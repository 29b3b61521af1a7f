//! The OAuth 2.0 endpoints: token (RFC 6749 §4.4), introspection
//! (RFC 7662), JWKS (RFC 7517) and authorization-server metadata (RFC 8414).

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use actix_web::{HttpResponse, http::header, web};
use utoipa_actix_web::service_config::ServiceConfig;

mod client;
mod credentials;
mod error;
pub mod introspect;
pub mod jwks;
pub mod metadata;
// Public only for the fuzz targets in `tests/fuzz`.
#[doc(hidden)]
pub mod request;
pub mod token;

pub use error::OAuthError;

/// Path of the token endpoint.
pub const TOKEN_PATH: &str = "/oauth/token";
/// Path of the introspection endpoint.
pub const INTROSPECT_PATH: &str = "/oauth/introspect";
/// Path of the JWKS.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";
/// Path of the metadata document.
pub const METADATA_PATH: &str = "/.well-known/oauth-authorization-server";

/// Registers the OAuth routes. Each handler carries its path, method and
/// OpenAPI description, collected into the document as it is registered.
pub fn routes(cfg: &mut ServiceConfig<'_>) {
    cfg.service(token::issue_token)
        .service(introspect::introspect_token)
        .service(jwks::get_jwks)
        .service(metadata::get_metadata)
        // After the handlers, which match one method each: every other one.
        .map(|cfg| {
            cfg.service(web::resource(TOKEN_PATH).to(post_only))
                .service(web::resource(INTROSPECT_PATH).to(post_only))
                .service(web::resource(JWKS_PATH).to(get_only))
                .service(web::resource(METADATA_PATH).to(get_only))
        });
}

/// 405 for any method but POST on a POST-only endpoint.
async fn post_only() -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .insert_header((header::ALLOW, "POST"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .finish()
}

/// 405 for any method but GET on the well-known documents.
async fn get_only() -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .insert_header((header::ALLOW, "GET"))
        .finish()
}
