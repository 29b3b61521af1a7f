//! The OAuth 2.0 endpoints: token (RFC 6749 §4.4), introspection
//! (RFC 7662), JWKS (RFC 7517) and authorization-server metadata (RFC 8414).

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use actix_web::{HttpResponse, http::header, web};

mod client;
mod credentials;
mod error;
pub mod introspect;
pub mod jwks;
pub mod metadata;
mod request;
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

/// Registers the OAuth routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(TOKEN_PATH)
            .route(web::post().to(token::issue_token))
            .default_service(web::to(post_only)),
    )
    .service(
        web::resource(INTROSPECT_PATH)
            .route(web::post().to(introspect::introspect_token))
            .default_service(web::to(post_only)),
    )
    .route(JWKS_PATH, web::get().to(jwks::get_jwks))
    .route(METADATA_PATH, web::get().to(metadata::get_metadata));
}

/// 405 for any method but POST on a POST-only endpoint.
async fn post_only() -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .insert_header((header::ALLOW, "POST"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .finish()
}
