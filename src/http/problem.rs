//! RFC 9457 problem details for `/admin/v1`, with a stable
//! machine-readable `code` member. One constructor per code; no handler
//! builds a problem by hand, and no library or SQL text reaches a client.

use std::fmt;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::storage::StorageError;

/// An error answer of the admin API.
#[derive(Debug)]
pub struct Problem {
    status: StatusCode,
    code: &'static str,
    title: &'static str,
    detail: String,
    retry_after: Option<u64>,
    allow: Option<&'static str>,
    cause: Option<anyhow::Error>,
}

/// An RFC 9457 problem details object, with our stable `code`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ProblemDetails)]
pub(crate) struct Body<'a> {
    /// `urn:keymint:problem:` followed by the code.
    #[serde(rename = "type")]
    #[schema(example = "urn:keymint:problem:owner_role_required")]
    type_: String,
    /// A short summary of the problem type.
    #[schema(example = "Owner role required")]
    title: &'a str,
    /// The HTTP status code.
    #[schema(example = 403)]
    status: u16,
    /// What happened in this case and what to do about it.
    detail: &'a str,
    /// The stable, machine-readable code; each response lists its codes.
    #[schema(example = "owner_role_required")]
    code: &'a str,
}

/// The answers of every admin call without a usable session, for the
/// OpenAPI document.
#[derive(utoipa::IntoResponses)]
#[response(
    status = 401,
    description = "`session_required`: no valid session token.",
    content_type = "application/problem+json",
    headers(("WWW-Authenticate" = String))
)]
#[expect(dead_code, reason = "describes responses in the OpenAPI document only")]
pub(crate) struct SessionRequired(Body<'static>);

/// The answers of every admin call with a JSON body that cannot be read,
/// for the OpenAPI document.
#[derive(utoipa::IntoResponses)]
#[expect(dead_code, reason = "describes responses in the OpenAPI document only")]
pub(crate) enum JsonBodyFailures {
    #[response(
        status = 400,
        description = "`malformed_request`: the body is not JSON.",
        content_type = "application/problem+json"
    )]
    Malformed(Body<'static>),
    #[response(
        status = 413,
        description = "`payload_too_large`.",
        content_type = "application/problem+json"
    )]
    TooLarge(Body<'static>),
    #[response(
        status = 415,
        description = "`unsupported_media_type`: the body is not JSON.",
        content_type = "application/problem+json"
    )]
    NotJson(Body<'static>),
}

/// The answers of every admin call that the server or its database may
/// fail, for the OpenAPI document.
#[derive(utoipa::IntoResponses)]
#[expect(dead_code, reason = "describes responses in the OpenAPI document only")]
pub(crate) enum ServerFailures {
    #[response(
        status = 500,
        description = "`internal_error`.",
        content_type = "application/problem+json"
    )]
    Internal(Body<'static>),
    #[response(
        status = 503,
        description = "`service_unavailable`: the database is unreachable.",
        content_type = "application/problem+json",
        headers(("Retry-After" = u64))
    )]
    Unavailable(Body<'static>),
}

impl Problem {
    fn new(
        status: StatusCode,
        code: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            status,
            code,
            title,
            detail: detail.into(),
            retry_after: None,
            allow: None,
            cause: None,
        }
    }

    /// 401: wrong email, password, TOTP code or ID token.
    pub fn invalid_credentials() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "Invalid credentials",
            "The sign-in details are not correct.",
        )
    }

    /// 401: the user has TOTP and must send a code.
    pub fn otp_required() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "otp_required",
            "One-time code required",
            "This user has two-factor authentication on; send the current code from the \
             authenticator app as `otp`.",
        )
    }

    /// 401: no session, or one that expired or was logged out.
    pub fn session_required() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "session_required",
            "Sign-in required",
            "Send a valid session token as `Authorization: Bearer <token>`; sessions expire and \
             end at logout.",
        )
    }

    /// 403: only owners may do this.
    pub fn owner_role_required() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "owner_role_required",
            "Owner role required",
            "Only owners of the account can manage API keys. Ask your account's admin.",
        )
    }

    /// 403: creating a key needs an MFA or SSO session.
    pub fn mfa_or_sso_required() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "mfa_or_sso_required",
            "MFA or SSO required",
            "Creating an API key needs a session established with a one-time code (MFA) or \
             single sign-on. Set up MFA, then sign in again with a code.",
        )
    }

    /// 403: `account-management` for a regular account.
    pub fn scope_not_allowed() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "scope_not_allowed",
            "Scope not allowed",
            "The account-management scope is only available to partner accounts.",
        )
    }

    /// 422: the request is well-formed JSON but its values are not valid.
    pub fn validation_failed(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "Validation failed",
            detail,
        )
    }

    /// 400: the body is not the JSON this endpoint takes.
    pub fn malformed_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "malformed_request",
            "Malformed request",
            detail,
        )
    }

    /// 413: the body is over the limit.
    pub fn payload_too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "Request too large",
            "The request body is over the size limit.",
        )
    }

    /// 415: the body is not JSON.
    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Unsupported media type",
            "Send the body as application/json.",
        )
    }

    /// 404: no such resource (also for another account's).
    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "Not found",
            "There is nothing at this address.",
        )
    }

    /// 405 with the methods the resource takes.
    pub fn method_not_allowed(allow: &'static str) -> Self {
        let mut problem = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "Method not allowed",
            format!("This resource accepts {allow}."),
        );
        problem.allow = Some(allow);
        problem
    }

    /// 409: TOTP is already on.
    pub fn totp_already_enabled() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "totp_already_enabled",
            "MFA already set up",
            "Two-factor authentication is already on for this user.",
        )
    }

    /// 409: confirmation without a started enrolment.
    pub fn totp_not_started() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "totp_not_started",
            "MFA setup not started",
            "Start MFA setup first; then confirm it with a code from the new secret.",
        )
    }

    /// 422: the confirmation code does not match.
    pub fn invalid_otp() -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_otp",
            "Wrong code",
            "The code does not match. Check the authenticator app's clock and try the current code.",
        )
    }

    /// 429 with `Retry-After`.
    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        let mut problem = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            "Too many attempts",
            format!("Too many failed attempts; try again in {retry_after_secs} seconds."),
        );
        problem.retry_after = Some(retry_after_secs);
        problem
    }

    /// 503: the database is unreachable.
    pub fn service_unavailable() -> Self {
        let mut problem = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "Service unavailable",
            "keymint cannot reach its database right now; try again shortly.",
        );
        problem.retry_after = Some(1);
        problem
    }

    /// 500: anything unexpected. The cause is logged once, never sent.
    pub fn internal(cause: anyhow::Error) -> Self {
        let mut problem = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Internal error",
            "Something went wrong on our side. It has been logged.",
        );
        problem.cause = Some(cause);
        problem
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.code
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

impl From<StorageError> for Problem {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::NotFound => Problem::not_found(),
            StorageError::Unavailable(cause) => {
                tracing::warn!(error = format!("{cause:#}"), "database unavailable");
                Problem::service_unavailable()
            }
            other => Problem::internal(other.into()),
        }
    }
}

impl ResponseError for Problem {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        if let Some(cause) = &self.cause {
            tracing::error!(
                error = format!("{cause:#}"),
                "admin request failed unexpectedly"
            );
        }
        let mut response = HttpResponse::build(self.status);
        response.insert_header((header::CACHE_CONTROL, "no-store"));
        if let Some(seconds) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        if let Some(allow) = self.allow {
            response.insert_header((header::ALLOW, allow));
        }
        if self.status == StatusCode::UNAUTHORIZED && self.code == "session_required" {
            response.insert_header((header::WWW_AUTHENTICATE, r#"Bearer realm="keymint-admin""#));
        }
        response
            .content_type("application/problem+json")
            .json(Body {
                type_: format!("urn:keymint:problem:{}", self.code),
                title: self.title,
                status: self.status.as_u16(),
                detail: &self.detail,
                code: self.code,
            })
    }
}
