//! An actix-web extractor that admits a request only with a valid keymint
//! access token holding the scope the handler names:
//!
//! ```ignore
//! async fn usage_report(token: Scoped<Reporting>) -> impl Responder { … }
//! ```
//!
//! Register the verifier once with `App::new().app_data(web::Data::from(verifier))`.
//! Refusals follow RFC 6750 §3: 401 with `WWW-Authenticate: Bearer` when no
//! token was sent, 401 with `error="invalid_token"` when it does not verify,
//! and 403 with `error="insufficient_scope", scope="…"` when it lacks the
//! scope.

use std::fmt;
use std::marker::PhantomData;

use actix_web::dev::Payload;
use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use futures_util::future::LocalBoxFuture;

use crate::verify::{AccessClaims, Verifier, VerifyError};

/// A scope a route requires.
pub trait RequiredScope {
    /// The scope's wire name.
    const SCOPE: &'static str;
}

/// The Configuration API's scope.
#[derive(Debug)]
pub struct Configuration;
impl RequiredScope for Configuration {
    const SCOPE: &'static str = "configuration";
}

/// The Reporting API's scope.
#[derive(Debug)]
pub struct Reporting;
impl RequiredScope for Reporting {
    const SCOPE: &'static str = "reporting";
}

/// The Account Management API's scope (partner accounts only).
#[derive(Debug)]
pub struct AccountManagement;
impl RequiredScope for AccountManagement {
    const SCOPE: &'static str = "account-management";
}

/// The verified claims of a token that holds scope `S`.
pub struct Scoped<S: RequiredScope>(pub AccessClaims, PhantomData<S>);

impl<S: RequiredScope> Scoped<S> {
    /// The verified claims.
    pub fn claims(&self) -> &AccessClaims {
        &self.0
    }
}

impl<S: RequiredScope> fmt::Debug for Scoped<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Scoped")
            .field(&S::SCOPE)
            .field(&self.0.client_id)
            .finish()
    }
}

/// Why a request was refused.
#[derive(Debug)]
pub enum BearerError {
    /// No bearer token was sent.
    Missing,
    /// The token does not verify.
    InvalidToken(VerifyError),
    /// The token lacks the scope.
    InsufficientScope(&'static str),
    /// The keys could not be fetched; the caller may retry.
    Unavailable,
    /// The app registered no [`Verifier`].
    NotConfigured,
}

impl fmt::Display for BearerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BearerError::Missing => f.write_str("a bearer token is required"),
            BearerError::InvalidToken(err) => write!(f, "{err}"),
            BearerError::InsufficientScope(scope) => {
                write!(f, "the token lacks the `{scope}` scope")
            }
            BearerError::Unavailable => f.write_str("token keys are unavailable"),
            BearerError::NotConfigured => f.write_str("no token verifier is configured"),
        }
    }
}

impl ResponseError for BearerError {
    fn status_code(&self) -> StatusCode {
        match self {
            BearerError::Missing | BearerError::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            BearerError::InsufficientScope(_) => StatusCode::FORBIDDEN,
            BearerError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            BearerError::NotConfigured => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let challenge = match self {
            BearerError::Missing => Some("Bearer".to_owned()),
            BearerError::InvalidToken(err) => Some(format!(
                r#"Bearer error="invalid_token", error_description="{err}""#
            )),
            BearerError::InsufficientScope(scope) => Some(format!(
                r#"Bearer error="insufficient_scope", error_description="the token lacks the {scope} scope", scope="{scope}""#
            )),
            BearerError::Unavailable | BearerError::NotConfigured => None,
        };
        let mut response = HttpResponse::build(self.status_code());
        if let Some(challenge) = challenge {
            response.insert_header((header::WWW_AUTHENTICATE, challenge));
        }
        if matches!(self, BearerError::Unavailable) {
            response.insert_header((header::RETRY_AFTER, "5"));
        }
        response.finish()
    }
}

fn bearer_token(request: &HttpRequest) -> Option<String> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

/// Verifies the request's bearer token with the app's [`Verifier`].
async fn verified(
    verifier: Option<web::Data<Verifier>>,
    token: Option<String>,
) -> Result<AccessClaims, BearerError> {
    let verifier = verifier.ok_or(BearerError::NotConfigured)?;
    let token = token.ok_or(BearerError::Missing)?;
    verifier.verify(&token).await.map_err(|err| match err {
        VerifyError::KeysUnavailable(_) => BearerError::Unavailable,
        other => BearerError::InvalidToken(other),
    })
}

impl<S: RequiredScope + 'static> FromRequest for Scoped<S> {
    type Error = BearerError;
    type Future = LocalBoxFuture<'static, Result<Self, BearerError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let verifier = request.app_data::<web::Data<Verifier>>().cloned();
        let token = bearer_token(request);
        Box::pin(async move {
            let claims = verified(verifier, token).await?;
            if !claims.has_scope(S::SCOPE) {
                return Err(BearerError::InsufficientScope(S::SCOPE));
            }
            Ok(Scoped(claims, PhantomData))
        })
    }
}
