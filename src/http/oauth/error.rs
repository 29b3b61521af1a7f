//! Errors of the token endpoint, answered per RFC 6749 §5.2.

use std::fmt;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

/// An error answer of the token endpoint. `Display` is the RFC 6749 error
/// code and nothing else; the description travels separately and never
/// holds internals.
#[derive(Debug)]
pub enum OAuthError {
    /// 400: malformed request.
    InvalidRequest(&'static str),
    /// 401: client authentication failed. The description is the same
    /// whatever failed, so the answer tells nothing about which ids exist.
    InvalidClient {
        /// Whether the client tried HTTP Basic (adds `WWW-Authenticate`).
        basic_attempted: bool,
    },
    /// 400: a grant type other than `client_credentials`.
    UnsupportedGrantType,
    /// 400: an unknown scope, or one the client does not hold.
    InvalidScope(&'static str),
    /// 413: the body is over the limit.
    RequestTooLarge,
    /// 503: the database is unreachable; try again shortly.
    TemporarilyUnavailable,
    /// 500: anything unexpected; the cause is logged, never sent.
    Internal(anyhow::Error),
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    error_description: &'a str,
}

impl OAuthError {
    /// The RFC 6749 error code.
    pub fn code(&self) -> &'static str {
        match self {
            OAuthError::InvalidRequest(_) | OAuthError::RequestTooLarge => "invalid_request",
            OAuthError::InvalidClient { .. } => "invalid_client",
            OAuthError::UnsupportedGrantType => "unsupported_grant_type",
            OAuthError::InvalidScope(_) => "invalid_scope",
            OAuthError::TemporarilyUnavailable => "temporarily_unavailable",
            OAuthError::Internal(_) => "server_error",
        }
    }

    fn description(&self) -> &'static str {
        match self {
            OAuthError::InvalidRequest(description) | OAuthError::InvalidScope(description) => {
                description
            }
            OAuthError::InvalidClient { .. } => "client authentication failed",
            OAuthError::UnsupportedGrantType => "only the client_credentials grant is supported",
            OAuthError::RequestTooLarge => "the request body is too large",
            OAuthError::TemporarilyUnavailable => {
                "the service is temporarily unavailable; retry shortly"
            }
            OAuthError::Internal(_) => "an unexpected error occurred",
        }
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl std::error::Error for OAuthError {}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        match self {
            OAuthError::InvalidRequest(_)
            | OAuthError::UnsupportedGrantType
            | OAuthError::InvalidScope(_) => StatusCode::BAD_REQUEST,
            OAuthError::InvalidClient { .. } => StatusCode::UNAUTHORIZED,
            OAuthError::RequestTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            OAuthError::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            OAuthError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let OAuthError::Internal(cause) = self {
            tracing::error!(
                error = format!("{cause:#}"),
                "token request failed unexpectedly"
            );
        }
        let mut response = HttpResponse::build(self.status_code());
        response
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"));
        match self {
            OAuthError::InvalidClient {
                basic_attempted: true,
            } => {
                response.insert_header((header::WWW_AUTHENTICATE, r#"Basic realm="keymint""#));
            }
            OAuthError::TemporarilyUnavailable => {
                response.insert_header((header::RETRY_AFTER, "1"));
            }
            _ => {}
        }
        response.json(Body {
            error: self.code(),
            error_description: self.description(),
        })
    }
}
