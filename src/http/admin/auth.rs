//! Extractors for admin handlers: [`AdminSession`] for any signed-in user,
//! [`Owner`] for owners only (members get 403 `owner_role_required`).

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;

use crate::domain::Role;
use crate::http::AppState;
use crate::http::problem::Problem;
use crate::service::sessions::{self, SessionContext};

/// A request from a live admin session.
#[derive(Debug)]
pub struct AdminSession(pub SessionContext);

/// A request from a live session of an account owner.
#[derive(Debug)]
pub struct Owner(pub SessionContext);

fn bearer(request: &HttpRequest) -> Option<String> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

async fn lookup(
    state: Option<web::Data<AppState>>,
    token: Option<String>,
) -> Result<SessionContext, Problem> {
    let (Some(state), Some(token)) = (state, token) else {
        return Err(Problem::session_required());
    };
    let found = state
        .db
        .run(move |conn| sessions::authenticate(conn, &token))
        .await?;
    found.ok_or_else(Problem::session_required)
}

impl FromRequest for AdminSession {
    type Error = Problem;
    type Future = LocalBoxFuture<'static, Result<Self, Problem>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = request.app_data::<web::Data<AppState>>().cloned();
        let token = bearer(request);
        Box::pin(async move { lookup(state, token).await.map(AdminSession) })
    }
}

impl FromRequest for Owner {
    type Error = Problem;
    type Future = LocalBoxFuture<'static, Result<Self, Problem>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = request.app_data::<web::Data<AppState>>().cloned();
        let token = bearer(request);
        Box::pin(async move {
            let context = lookup(state, token).await?;
            if context.role != Role::Owner {
                return Err(Problem::owner_role_required());
            }
            Ok(Owner(context))
        })
    }
}
