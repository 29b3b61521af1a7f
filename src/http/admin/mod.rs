//! `/admin/v1`: owners manage their account's API keys. JSON in and out;
//! errors are RFC 9457 problem details ([`Problem`]); every answer is
//! `Cache-Control: no-store`.

use actix_web::error::JsonPayloadError;
use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::http::problem::Problem;

mod audit;
mod auth;
mod clients;
mod me;
mod sessions;

pub use auth::{AdminSession, Owner};

/// Largest JSON body accepted.
const MAX_JSON_BYTES: usize = 16 * 1024;

/// Registers the admin routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    let json = web::JsonConfig::default()
        .limit(MAX_JSON_BYTES)
        .error_handler(json_error);
    cfg.service(
        web::scope("/admin/v1")
            .app_data(json)
            .wrap(DefaultHeaders::new().add((header::CACHE_CONTROL, "no-store")))
            .service(resource("/sessions", "POST").route(web::post().to(sessions::create_session)))
            .service(
                resource("/sessions/sso", "POST")
                    .route(web::post().to(sessions::create_sso_session)),
            )
            .service(
                resource("/sessions/current", "DELETE")
                    .route(web::delete().to(sessions::delete_current_session)),
            )
            .service(resource("/me", "GET").route(web::get().to(me::get_me)))
            .service(resource("/me/totp", "POST").route(web::post().to(me::start_totp_enrolment)))
            .service(resource("/me/totp/confirm", "POST").route(web::post().to(me::confirm_totp)))
            .service(
                resource("/clients", "GET, POST")
                    .route(web::get().to(clients::list_clients))
                    .route(web::post().to(clients::create_client)),
            )
            .service(
                resource("/clients/{id}", "GET, DELETE")
                    .route(web::get().to(clients::get_client))
                    .route(web::delete().to(clients::revoke_client)),
            )
            .service(
                resource("/audit-events", "GET").route(web::get().to(audit::list_audit_events)),
            )
            .default_service(web::to(not_found)),
    );
}

/// A resource whose other methods get 405 with `Allow`.
fn resource(path: &str, allow: &'static str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(move || async move {
        Err::<HttpResponse, _>(Problem::method_not_allowed(allow))
    }))
}

async fn not_found() -> Result<HttpResponse, Problem> {
    Err(Problem::not_found())
}

/// Turns a body that is not the expected JSON into a problem: 415 for
/// another media type, 413 when too large, 422 for JSON with wrong types or
/// values, 400 for anything that is not JSON at all.
fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let problem = match &err {
        JsonPayloadError::ContentType => Problem::unsupported_media_type(),
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            Problem::payload_too_large()
        }
        JsonPayloadError::Deserialize(inner) if inner.is_data() => {
            Problem::validation_failed(format!("The request body is not valid: {inner}."))
        }
        _ => Problem::malformed_request("The request body is not valid JSON."),
    };
    problem.into()
}

/// The address a request came from, for the audit trail and limits.
pub fn source_ip(request: &HttpRequest) -> String {
    request
        .peer_addr()
        .map_or_else(|| "unknown".to_owned(), |addr| addr.ip().to_string())
}
