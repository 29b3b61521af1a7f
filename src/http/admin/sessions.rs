//! `POST /admin/v1/sessions`, `POST /admin/v1/sessions/sso` and
//! `DELETE /admin/v1/sessions/current`. Anyone may try to sign in; only a
//! session may end itself.

use actix_web::{HttpRequest, HttpResponse, delete, post, web};
use serde::{Deserialize, Serialize};

use crate::domain::SessionMethod;
use crate::http::AppState;
use crate::http::admin::{AdminSession, source_ip};
use crate::http::problem::{
    Body as ProblemDetails, JsonBodyFailures, Problem, ServerFailures, SessionRequired,
};
use crate::service::rfc3339;
use crate::service::sessions::{self, LoginError, OpenedSession, PasswordLogin};
use crate::service::sso;
use crate::service::users::normalise_email;

/// A password sign-in.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct LoginBody {
    /// The user's email address.
    #[schema(format = Email)]
    email: String,
    /// The user's password.
    #[schema(format = Password)]
    password: String,
    /// The current TOTP code; required once the user has TOTP on.
    #[serde(default)]
    #[schema(example = "123456")]
    otp: Option<String>,
}

/// An SSO sign-in.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct SsoLoginBody {
    /// An OpenID Connect ID token from the IdP configured for the user's
    /// account, checked for signature, `iss`, `aud`, `exp` and `email`.
    id_token: String,
}

/// A new session.
#[derive(Serialize, utoipa::ToSchema)]
struct SessionCreated<'a> {
    /// The bearer token for `Authorization: Bearer …` on `/admin/v1`.
    token: &'a str,
    /// When the session ends, RFC 3339.
    #[schema(format = DateTime)]
    expires_at: String,
    /// Whether the session was established with a second factor.
    mfa: bool,
    /// How the session was established.
    #[schema(value_type = SessionMethod)]
    method: &'static str,
}

fn created(opened: &OpenedSession) -> HttpResponse {
    HttpResponse::Created().json(SessionCreated {
        token: opened.token.expose_secret(),
        expires_at: rfc3339(opened.expires_at),
        mfa: opened.mfa,
        method: opened.method.as_str(),
    })
}

fn login_failure(state: &AppState, err: LoginError, ip: &str, email: Option<&str>) -> Problem {
    match err {
        LoginError::InvalidCredentials => {
            state.limits.failed(ip, email);
            Problem::invalid_credentials()
        }
        LoginError::OtpRequired => Problem::otp_required(),
        LoginError::Storage(err) => err.into(),
    }
}

/// Signs in with email, password and, once TOTP is on, `otp`.
///
/// Anyone may call it.
#[utoipa::path(
    tag = "admin: sessions",
    summary = "Sign in with email and password",
    security(()),
    request_body = LoginBody,
    responses(
        (status = 201, description = "Signed in.", body = SessionCreated),
        (status = 401, description = "`invalid_credentials`: wrong email, password or code. \
            `otp_required`: the user has TOTP on and sent no `otp`.",
            body = ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: JSON of the wrong shape.",
            body = ProblemDetails, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_requests`: too many failed attempts from this \
            address.", body = ProblemDetails, content_type = "application/problem+json",
            headers(("Retry-After" = u64))),
        JsonBodyFailures, ServerFailures,
    ),
)]
#[post("/sessions")]
pub async fn create_session(
    request: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<LoginBody>,
) -> Result<HttpResponse, Problem> {
    let LoginBody {
        email,
        password,
        otp,
    } = body.into_inner();
    let ip = source_ip(&request);
    let email_key = normalise_email(&email);
    state.limits.gate(&ip, email_key.as_deref()).await?;

    let (master, ttl, login_ip) = (state.master.clone(), state.settings.session_ttl, ip.clone());
    let outcome = state
        .db
        .run(move |conn| {
            let login = PasswordLogin {
                email: &email,
                password: &password,
                otp: otp.as_deref(),
            };
            sessions::login_password(conn, &master, &login, ttl, Some(&login_ip))
        })
        .await;

    match outcome {
        Ok(opened) => {
            if let Some(email) = &email_key {
                state.limits.succeeded(email);
            }
            Ok(created(&opened))
        }
        Err(err) => Err(login_failure(&state, err, &ip, email_key.as_deref())),
    }
}

/// Signs in with an ID token from the account's OpenID Connect IdP.
///
/// Anyone may call it.
#[utoipa::path(
    tag = "admin: sessions",
    summary = "Sign in with an ID token from the account's IdP (SSO)",
    security(()),
    request_body = SsoLoginBody,
    responses(
        (status = 201, description = "Signed in; an SSO session.", body = SessionCreated),
        (status = 401, description = "`invalid_credentials`: the ID token is not valid, or \
            names no user of an account that trusts its issuer.",
            body = ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: JSON of the wrong shape.",
            body = ProblemDetails, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_requests`: too many failed attempts from this \
            address.", body = ProblemDetails, content_type = "application/problem+json",
            headers(("Retry-After" = u64))),
        JsonBodyFailures, ServerFailures,
    ),
)]
#[post("/sessions/sso")]
pub async fn create_sso_session(
    request: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<SsoLoginBody>,
) -> Result<HttpResponse, Problem> {
    let id_token = body.into_inner().id_token;
    let ip = source_ip(&request);
    state.limits.gate(&ip, None).await?;

    let (ttl, login_ip) = (state.settings.session_ttl, ip.clone());
    let outcome = state
        .db
        .run(move |conn| sso::login(conn, &id_token, ttl, Some(&login_ip)))
        .await;

    outcome
        .map(|opened| created(&opened))
        .map_err(|err| login_failure(&state, err, &ip, None))
}

/// Ends the calling session.
///
/// Any session may call it.
#[utoipa::path(
    tag = "admin: sessions",
    summary = "Sign out",
    security(("session" = [])),
    responses(
        (status = 204, description = "Signed out; the token no longer works."),
        SessionRequired, ServerFailures,
    ),
)]
#[delete("/sessions/current")]
pub async fn delete_current_session(
    request: HttpRequest,
    state: web::Data<AppState>,
    AdminSession(context): AdminSession,
) -> Result<HttpResponse, Problem> {
    let ip = source_ip(&request);

    state
        .db
        .run(move |conn| sessions::logout(conn, &context, Some(&ip)))
        .await?;

    Ok(HttpResponse::NoContent().finish())
}
