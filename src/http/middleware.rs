//! The one middleware around every request: a span with a request id,
//! a log line and metrics when it ends, security headers on every answer,
//! and a bound on how long a request may take (slow senders included).
//!
//! The request id is taken from `X-Request-Id` when the caller sends a sane
//! one (1 to 64 characters of `A-Z a-z 0-9 . _ : -`), else generated, and
//! echoed back. Nothing from the request but its method, route pattern and
//! that id is logged: never a header, a body or a query string.

use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError, web};
use tracing::Instrument;

use crate::crypto::random;
use crate::http::AppState;

/// The longest a request may take, from its head to its last body byte and
/// the answer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The Content-Security-Policy of every answer that sets none itself: an
/// API answer loads nothing and may not be framed.
const DEFAULT_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

fn sane_request_id(value: &HeaderValue) -> Option<String> {
    let text = value.to_str().ok()?;
    let sane = (1..=64).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
    sane.then(|| text.to_owned())
}

/// Wraps every request; see the module documentation.
pub async fn observe(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let request_id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(sane_request_id)
        .unwrap_or_else(random::token::<12>);
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %request.method(),
        route = tracing::field::Empty,
        status = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
        client.id = tracing::field::Empty,
        outcome = tracing::field::Empty,
    );
    let state = request.app_data::<web::Data<AppState>>().cloned();
    let started = Instant::now();

    let outcome =
        tokio::time::timeout(REQUEST_TIMEOUT, next.call(request).instrument(span.clone())).await;
    let Ok(response) = outcome else {
        finish(
            &span,
            state.as_ref().map(|data| data.get_ref()),
            "timed_out",
            408,
            started,
        );
        return Err(RequestTimedOut { request_id }.into());
    };
    let mut response = response?;

    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    finish(
        &span,
        state.as_ref().map(|data| data.get_ref()),
        &route,
        response.status().as_u16(),
        started,
    );
    secure_headers(response.headers_mut(), &request_id);
    Ok(response)
}

/// Records the end of a request: span fields, the log line, metrics.
fn finish(
    span: &tracing::Span,
    state: Option<&AppState>,
    route: &str,
    status: u16,
    started: Instant,
) {
    span.record("route", route);
    span.record("status", status);
    span.record("latency_ms", started.elapsed().as_secs_f64() * 1000.0);
    span.in_scope(|| tracing::info!("request completed"));
    if let Some(state) = state {
        state.metrics.http_request(route, status);
    }
}

/// The headers every answer carries.
fn secure_headers(headers: &mut HeaderMap, request_id: &str) {
    if let Ok(value) = HeaderValue::from_str(request_id) {
        headers.insert(REQUEST_ID, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(DEFAULT_CSP),
        );
    }
}

/// A request that ran past [`REQUEST_TIMEOUT`] (typically a client sending
/// its body too slowly). Answered as an error because the request itself
/// went with the abandoned handler; the answer still gets every header.
#[derive(Debug)]
struct RequestTimedOut {
    request_id: String,
}

impl std::fmt::Display for RequestTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("request timed out")
    }
}

impl ResponseError for RequestTimedOut {
    fn status_code(&self) -> StatusCode {
        StatusCode::REQUEST_TIMEOUT
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::RequestTimeout()
            .insert_header((header::CONNECTION, "close"))
            .content_type("application/json")
            .body(r#"{"error":"request_timeout","error_description":"the request took too long"}"#);
        secure_headers(response.headers_mut(), &self.request_id);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sane_request_ids_are_kept() {
        let sane = |text: &str| sane_request_id(&HeaderValue::from_str(text).unwrap());

        assert_eq!(sane("req-42.a_b:c").as_deref(), Some("req-42.a_b:c"));
        assert_eq!(sane(""), None);
        assert_eq!(sane(&"x".repeat(65)), None);
        assert_eq!(sane("a b"), None);
        assert_eq!(sane("<script>"), None);
    }
}
