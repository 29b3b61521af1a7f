//! `/admin/v1`: owners manage their account's API keys. JSON in and out;
//! errors are RFC 9457 problem details ([`Problem`]); every answer is
//! `Cache-Control: no-store`.

use actix_web::error::JsonPayloadError;
use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;
use actix_web::{HttpRequest, HttpResponse, web};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::http::AppState;
use crate::http::problem::Problem;

mod audit;
mod auth;
mod clients;
mod me;
mod sessions;

pub use auth::{AdminSession, Owner};

/// Largest JSON body accepted.
const MAX_JSON_BYTES: usize = 16 * 1024;

/// Registers the admin routes. Each handler carries its path, method and
/// OpenAPI description, collected into the document as it is registered.
pub fn routes(cfg: &mut ServiceConfig<'_>) {
    let json = web::JsonConfig::default()
        .limit(MAX_JSON_BYTES)
        .error_handler(json_error);
    let query = web::QueryConfig::default().error_handler(|err, _req| {
        Problem::validation_failed(format!("The query string is not valid: {err}.")).into()
    });
    cfg.service(
        utoipa_actix_web::scope("/admin/v1")
            .app_data(json)
            .app_data(query)
            .wrap(DefaultHeaders::new().add((header::CACHE_CONTROL, "no-store")))
            .service(sessions::create_session)
            .service(sessions::create_sso_session)
            .service(sessions::delete_current_session)
            .service(me::get_me)
            .service(me::start_totp_enrolment)
            .service(me::confirm_totp)
            .service(clients::list_clients)
            .service(clients::create_client)
            .service(clients::get_client)
            .service(clients::revoke_client)
            .service(audit::list_audit_events)
            // After the handlers, which match one method each: the others.
            .map(|scope| {
                scope
                    .service(not_allowed("/sessions", "POST"))
                    .service(not_allowed("/sessions/sso", "POST"))
                    .service(not_allowed("/sessions/current", "DELETE"))
                    .service(not_allowed("/me", "GET"))
                    .service(not_allowed("/me/totp", "POST"))
                    .service(not_allowed("/me/totp/confirm", "POST"))
                    .service(not_allowed("/clients", "GET, POST"))
                    .service(not_allowed("/clients/{id}", "GET, DELETE"))
                    .service(not_allowed("/audit-events", "GET"))
            })
            .default_service(web::to(not_found)),
    );
}

/// A resource answering every request with 405 and `Allow`.
fn not_allowed(path: &str, allow: &'static str) -> actix_web::Resource {
    web::resource(path)
        .to(move || async move { Err::<HttpResponse, _>(Problem::method_not_allowed(allow)) })
}

async fn not_found() -> Result<HttpResponse, Problem> {
    Err(Problem::not_found())
}

/// A JSON body whose errors wait until the handler asks: extractors run
/// together, and a malformed body must not answer before the session and
/// the caller's role have been checked (a member gets 403, not 415 or 422).
#[derive(Debug)]
pub struct JsonBody<T>(Result<T, Problem>);

impl<T> JsonBody<T> {
    /// The parsed body, or the problem it has.
    pub fn into_inner(self) -> Result<T, Problem> {
        self.0
    }
}

impl<T: serde::de::DeserializeOwned + 'static> actix_web::FromRequest for JsonBody<T> {
    type Error = Problem;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, Problem>>;

    fn from_request(request: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let body = web::JsonBody::<T>::new(request, payload, None, true).limit(MAX_JSON_BYTES);
        Box::pin(async move { Ok(JsonBody(body.await.map_err(json_problem))) })
    }
}

/// The error handler of `web::Json` bodies under `/admin/v1`.
fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    json_problem(err).into()
}

/// Turns a body that is not the expected JSON into a problem: 415 for
/// another media type, 413 when too large, 422 for JSON with wrong types or
/// values, 400 for anything that is not JSON at all.
fn json_problem(err: JsonPayloadError) -> Problem {
    match &err {
        JsonPayloadError::ContentType => Problem::unsupported_media_type(),
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            Problem::payload_too_large()
        }
        JsonPayloadError::Deserialize(inner) if inner.is_data() => {
            Problem::validation_failed(format!("The request body is not valid: {inner}."))
        }
        _ => Problem::malformed_request("The request body is not valid JSON."),
    }
}

/// The address a request came from, for the audit trail and limits: the
/// peer, or behind a trusted proxy the client it forwarded for (see
/// [`crate::http::client_addr`]).
pub fn source_ip(request: &HttpRequest) -> String {
    let Some(peer) = request.peer_addr() else {
        return "unknown".to_owned();
    };
    let client = match request.app_data::<web::Data<AppState>>() {
        Some(state) => state
            .settings
            .trusted_proxies
            .client_ip(peer.ip(), request.headers()),
        None => peer.ip(),
    };
    client.to_string()
}
