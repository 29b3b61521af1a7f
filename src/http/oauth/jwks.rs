//! `GET /.well-known/jwks.json`: every public key a valid token may be
//! signed with (RFC 7517 §5), including the next key ahead of its use.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::http::AppState;

/// How long verifiers may cache the JWKS. Key rotation publishes the next
/// key at least this long before it signs anything.
pub const JWKS_MAX_AGE_SECS: u32 = 300;

/// Serves the JWKS, rendered once per key change.
pub async fn get_jwks(state: web::Data<AppState>) -> HttpResponse {
    let keys = state.keys.snapshot();
    HttpResponse::Ok()
        .insert_header((
            header::CACHE_CONTROL,
            format!("public, max-age={JWKS_MAX_AGE_SECS}"),
        ))
        .content_type("application/jwk-set+json")
        .body(keys.jwks_json().to_vec())
}
