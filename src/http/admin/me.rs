//! `GET /admin/v1/me` and TOTP enrolment (`POST /admin/v1/me/totp`,
//! `POST /admin/v1/me/totp/confirm`). Any signed-in user may call them.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::domain::{CreateBlocked, Role, SessionMethod, create_blocked_reason};
use crate::http::AppState;
use crate::http::admin::{AdminSession, source_ip};
use crate::http::problem::Problem;
use crate::service::accounts::AccountView;
use crate::service::rfc3339;
use crate::service::totp::{self, TotpError};

#[derive(Serialize)]
struct MeView {
    user: UserPart,
    account: AccountView,
    session: SessionPart,
    can_create_clients: bool,
    create_blocked_reason: Option<CreateBlocked>,
}

#[derive(Serialize)]
struct UserPart {
    id: String,
    email: String,
    role: Role,
    totp_enabled: bool,
}

#[derive(Serialize)]
struct SessionPart {
    method: SessionMethod,
    mfa: bool,
    expires_at: String,
}

/// Who is signed in, and whether they may create API keys (and if not,
/// why), so that a page can disable its button and say why.
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

#[derive(Serialize)]
struct EnrolmentView {
    secret: String,
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
#[derive(Deserialize)]
pub struct ConfirmBody {
    otp: String,
}

/// Confirms enrolment; later sign-ins need a code. The current session
/// stays as it was: signing in again with a code gives an MFA session.
pub async fn confirm_totp(
    request: HttpRequest,
    state: web::Data<AppState>,
    AdminSession(context): AdminSession,
    body: web::Json<ConfirmBody>,
) -> Result<HttpResponse, Problem> {
    let code = body.into_inner().otp;
    let (master, ip) = (state.master.clone(), source_ip(&request));

    state
        .db
        .run(move |conn| totp::confirm(conn, &master, &context, &code, Some(&ip)))
        .await
        .map_err(totp_problem)?;

    Ok(HttpResponse::NoContent().finish())
}
