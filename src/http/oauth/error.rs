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
    /// 429: too many failed client authentications from this address;
    /// retry after this many seconds.
    TooManyRequests(u64),
    /// 503: the database is unreachable; try again shortly.
    TemporarilyUnavailable,
    /// 500: anything unexpected; the cause is logged, never sent.
    Internal(anyhow::Error),
}

/// An error response of the OAuth endpoints (RFC 6749 §5.2).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = OAuthErrorResponse)]
pub(crate) struct Body<'a> {
    /// The RFC 6749 error code.
    #[schema(schema_with = error_code)]
    error: &'a str,
    /// A human-readable explanation; never holds internals.
    #[schema(example = "client authentication failed")]
    error_description: &'a str,
}

/// The `error` member: every code [`OAuthError`] answers with.
fn error_code() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some([
            "invalid_request",
            "invalid_client",
            "unsupported_grant_type",
            "invalid_scope",
            "too_many_requests",
            "temporarily_unavailable",
            "server_error",
        ]))
        .build()
}

impl OAuthError {
    /// The RFC 6749 error code.
    pub fn code(&self) -> &'static str {
        match self {
            OAuthError::InvalidRequest(_) | OAuthError::RequestTooLarge => "invalid_request",
            OAuthError::InvalidClient { .. } => "invalid_client",
            OAuthError::UnsupportedGrantType => "unsupported_grant_type",
            OAuthError::InvalidScope(_) => "invalid_scope",
            OAuthError::TooManyRequests(_) => "too_many_requests",
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
            OAuthError::TooManyRequests(_) => {
                "too many failed client authentications from this address; retry later"
            }
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
            OAuthError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
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
            OAuthError::TooManyRequests(seconds) => {
                response.insert_header((header::RETRY_AFTER, seconds.to_string()));
            }
            _ => {}
        }
        response.json(Body {
            error: self.code(),
            error_description: self.description(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `error` values the OpenAPI document lists are the ones answered.
    #[test]
    fn documented_codes_are_the_answered_ones() {
        let errors = [
            OAuthError::InvalidRequest("x"),
            OAuthError::InvalidClient {
                basic_attempted: false,
            },
            OAuthError::UnsupportedGrantType,
            OAuthError::InvalidScope("x"),
            OAuthError::RequestTooLarge,
            OAuthError::TooManyRequests(1),
            OAuthError::TemporarilyUnavailable,
            OAuthError::Internal(anyhow::anyhow!("x")),
        ];
        let mut answered: Vec<&str> = errors.iter().map(OAuthError::code).collect();
        answered.sort_unstable();
        answered.dedup();

        let mut documented: Vec<String> = error_code()
            .enum_values
            .unwrap()
            .into_iter()
            .map(|value| value.as_str().unwrap().to_owned())
            .collect();
        documented.sort_unstable();

        assert_eq!(answered, documented);
    }
}
