//! `POST /admin/v1/sessions`, `POST /admin/v1/sessions/sso` and
//! `DELETE /admin/v1/sessions/current`. Anyone may try to sign in; only a
//! session may end itself.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::http::AppState;
use crate::http::admin::{AdminSession, source_ip};
use crate::http::problem::Problem;
use crate::service::rfc3339;
use crate::service::sessions::{self, LoginError, OpenedSession, PasswordLogin};
use crate::service::sso;
use crate::service::users::normalise_email;

/// A password sign-in.
#[derive(Deserialize)]
pub struct LoginBody {
    email: String,
    password: String,
    #[serde(default)]
    otp: Option<String>,
}

/// An SSO sign-in.
#[derive(Deserialize)]
pub struct SsoLoginBody {
    id_token: String,
}

#[derive(Serialize)]
struct SessionCreated<'a> {
    token: &'a str,
    expires_at: String,
    mfa: bool,
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
