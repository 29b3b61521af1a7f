//! The token and introspection request parsers over arbitrary headers and
//! bodies: they never panic, fail only with `invalid_request` or
//! `unsupported_grant_type`, and whatever they accept is consistent.
//!
//! The first bytes choose the Content-Type and the shape of the
//! Authorization header, so that most inputs get past those checks into
//! the form and Basic decoding.

#![no_main]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use keymint::http::oauth::OAuthError;
use keymint::http::oauth::request::{AuthMethod, IntrospectionRequest, TokenRequest};
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;

const FORM: &str = "application/x-www-form-urlencoded";

fn is_parse_error(err: &OAuthError) -> bool {
    matches!(
        err,
        OAuthError::InvalidRequest(_) | OAuthError::UnsupportedGrantType
    )
}

fn content_type<'a>(u: &mut Unstructured<'a>) -> Result<Option<&'a str>> {
    Ok(match u.int_in_range(0..=7)? {
        0 => None,
        1 => Some("application/json"),
        2 => Some("Application/X-WWW-Form-Urlencoded; charset=UTF-8"),
        3 => Some(u.arbitrary()?),
        _ => Some(FORM),
    })
}

fn authorization(u: &mut Unstructured<'_>) -> Result<Option<Vec<u8>>> {
    Ok(match u.int_in_range(0..=3)? {
        0 => None,
        1 => Some(u.arbitrary::<&[u8]>()?.to_vec()),
        _ => {
            let credentials: &[u8] = u.arbitrary()?;
            Some(format!("Basic {}", STANDARD.encode(credentials)).into_bytes())
        }
    })
}

fn check(content_type: Option<&str>, authorization: Option<&[u8]>, body: &[u8]) {
    match TokenRequest::parse(content_type, authorization, body) {
        Ok(request) => {
            assert!(std::str::from_utf8(body).is_ok());
            if let Some((presented, method)) = &request.client.presented {
                assert!(!presented.client_id.is_empty());
                // An empty body secret counts as omitted; Basic may carry one.
                assert!(*method == AuthMethod::Basic || !presented.client_secret.is_empty());
                assert!(!presented.client_id.chars().any(char::is_control));
                assert!(!presented.client_secret.chars().any(char::is_control));
                assert_eq!(method == &AuthMethod::Basic, authorization.is_some());
            }
            assert!(request.scope.is_none_or(|scope| !scope.is_empty()));
        }
        Err(err) => assert!(is_parse_error(&err), "{err:?}"),
    }
    match IntrospectionRequest::parse(content_type, authorization, body) {
        Ok(request) => assert!(!request.token.is_empty()),
        Err(err) => assert!(is_parse_error(&err), "{err:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let (Ok(content_type), Ok(authorization)) = (content_type(&mut u), authorization(&mut u))
    else {
        return;
    };
    let body = u.take_rest();

    check(content_type, authorization.as_deref(), body);
});
