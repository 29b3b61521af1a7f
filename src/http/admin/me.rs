//! `GET /admin/v1/me` and TOTP enrolment (`POST /admin/v1/me/totp`,
//! `POST /admin/v1/me/totp/confirm`). Any signed-in user may call them.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};

use crate::domain::{CreateBlocked, Role, SessionMethod, create_blocked_reason};
use crate::http::AppState;
use crate::http::admin::{AdminSession, JsonBody, source_ip};
use crate::http::problem::{
    Body as ProblemDetails, JsonBodyFailures, Problem, ServerFailures, SessionRequired,
};
use crate::service::accounts::AccountView;
use crate::service::rfc3339;
use crate::service::totp::{self, TotpError};

/// Who is signed in, and whether they may create API keys.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Me)]
struct MeView {
    /// The signed-in user.
    user: UserPart,
    /// The user's account.
    account: AccountView,
    /// The calling session.
    session: SessionPart,
    /// Whether `POST /admin/v1/clients` would be allowed.
    can_create_clients: bool,
    /// Why not, when it would not; `null` when it would.
    #[schema(required = true)]
    create_blocked_reason: Option<CreateBlocked>,
}

/// The signed-in user.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = MeUser)]
struct UserPart {
    /// Opaque id.
    id: String,
    /// Email address.
    #[schema(format = Email)]
    email: String,
    /// The user's role in the account.
    role: Role,
    /// Whether sign-in needs a TOTP code.
    totp_enabled: bool,
}

/// The calling session.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = MeSession)]
struct SessionPart {
    /// How it was established.
    method: SessionMethod,
    /// Whether it was established with a second factor.
    mfa: bool,
    /// When it ends, RFC 3339.
    #[schema(format = DateTime)]
    expires_at: String,
}

/// Who is signed in, and whether they may create API keys (and if not,
/// why), so that a page can disable its button and say why.
///
/// Any session may call it.
#[utoipa::path(
    tag = "admin: me",
    summary = "The signed-in user, account and session",
    security(("session" = [])),
    responses(
        (status = 200, description = "Who is signed in.", body = MeView),
        SessionRequired, ServerFailures,
    ),
)]
#[get("/me")]
pub async fn get_me(AdminSession(context): AdminSession) -> HttpResponse {
    let blocked = create_blocked_reason(context.role, context.method);
    let totp_enabled = context.user.totp_enabled();
    HttpResponse::Ok().json(MeView {
        user: UserPart {
            id: context.user.id,
            email: context.user.email,
            role: context.role,
            totp_enabled,
        },
        account: context.account.into(),
        session: SessionPart {
            method: context.method,
            mfa: context.mfa,
            expires_at: rfc3339(context.expires_at),
        },
        can_create_clients: blocked.is_none(),
        create_blocked_reason: blocked,
    })
}

/// A TOTP enrolment just started: the secret, shown once.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = TotpEnrolment)]
struct EnrolmentView {
    /// The shared secret, RFC 4648 base32 (RFC 6238: SHA-1, 6 digits, 30 s).
    secret: String,
    /// The same as an `otpauth://totp/…` URI, for a QR code.
    otpauth_uri: String,
}

fn totp_problem(err: TotpError) -> Problem {
    match err {
        TotpError::AlreadyEnabled => Problem::totp_already_enabled(),
        TotpError::NotStarted => Problem::totp_not_started(),
        TotpError::InvalidCode => Problem::invalid_otp(),
        TotpError::Storage(err) => err.into(),
    }
}

/// Starts TOTP enrolment: a new secret, shown once.
///
/// Any session may call it.
#[utoipa::path(
    tag = "admin: me",
    summary = "Start TOTP enrolment",
    description = "A new secret replaces any unconfirmed one; TOTP is on only once confirmed.",
    security(("session" = [])),
    responses(
        (status = 201, description = "The new secret.", body = EnrolmentView),
        (status = 409, description = "`totp_already_enabled`.",
            body = ProblemDetails, content_type = "application/problem+json"),
        SessionRequired, ServerFailures,
    ),
)]
#[post("/me/totp")]
pub async fn start_totp_enrolment(
    request: HttpRequest,
    state: web::Data<AppState>,
    AdminSession(context): AdminSession,
) -> Result<HttpResponse, Problem> {
    let (master, ip) = (state.master.clone(), source_ip(&request));

    let enrolment = state
        .db
        .run(move |conn| totp::start(conn, &master, &context, Some(&ip)))
        .await
        .map_err(totp_problem)?;

    Ok(HttpResponse::Created().json(EnrolmentView {
        secret: enrolment.secret,
        otpauth_uri: enrolment.otpauth_uri,
    }))
}

/// A code from the enrolled secret.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = TotpConfirmation)]
pub struct ConfirmBody {
    /// The current six-digit code.
    #[schema(example = "123456")]
    otp: String,
}

/// Confirms enrolment; later sign-ins need a code. The current session
/// stays as it was: signing in again with a code gives an MFA session.
///
/// Any session may call it.
#[utoipa::path(
    tag = "admin: me",
    summary = "Confirm TOTP enrolment",
    description = "Turns TOTP on: later sign-ins need `otp`. The current session stays as it \
        was; signing in again with a code gives an MFA session.",
    security(("session" = [])),
    request_body = ConfirmBody,
    responses(
        (status = 204, description = "TOTP is on."),
        (status = 409, description = "`totp_not_started`: no enrolment to confirm. \
            `totp_already_enabled`.", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_otp`: the code does not match. \
            `validation_failed`: JSON of the wrong shape.", body = ProblemDetails, content_type = "application/problem+json"),
        JsonBodyFailures, SessionRequired, ServerFailures,
    ),
)]
#[post("/me/totp/confirm")]
pub async fn confirm_totp(
    request: HttpRequest,
    state: web::Data<AppState>,
    AdminSession(context): AdminSession,
    body: JsonBody<ConfirmBody>,
) -> Result<HttpResponse, Problem> {
    let code = body.into_inner()?.otp;
    let (master, ip) = (state.master.clone(), source_ip(&request));

    state
        .db
        .run(move |conn| totp::confirm(conn, &master, &context, &code, Some(&ip)))
        .await
        .map_err(totp_problem)?;

    Ok(HttpResponse::NoContent().finish())
}
