//! HTTP Basic client credentials (RFC 6749 §2.3.1, RFC 7617).
//!
//! The client id and secret are form-urlencoded before they are joined
//! with `:` and base64-encoded, so each half is decoded after the split.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};

use crate::http::oauth::OAuthError;

/// The longest Authorization header we try to decode.
const MAX_HEADER_LEN: usize = 1024;

/// Credentials as presented, not yet checked in any way.
#[derive(PartialEq, Eq)]
pub struct PresentedCredentials {
    /// The client id as sent.
    pub client_id: String,
    /// The secret as sent.
    pub client_secret: String,
}

impl std::fmt::Debug for PresentedCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PresentedCredentials")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

fn malformed() -> OAuthError {
    OAuthError::InvalidRequest("the Authorization header is not valid HTTP Basic credentials")
}

/// Whether an Authorization header value uses the Basic scheme
/// (case-insensitive, RFC 7617 §2).
pub fn is_basic(value: &[u8]) -> bool {
    value
        .get(..6)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case(b"basic "))
}

/// Decodes a `Basic` Authorization header value.
pub fn parse_basic(value: &[u8]) -> Result<PresentedCredentials, OAuthError> {
    if value.len() > MAX_HEADER_LEN || !is_basic(value) {
        return Err(malformed());
    }
    let encoded = value.get(6..).unwrap_or_default().trim_ascii();
    let decoded = STANDARD
        .decode(encoded)
        .or_else(|_| STANDARD_NO_PAD.decode(encoded))
        .map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    let client_id = form_decode(id).ok_or_else(malformed)?;
    let client_secret = form_decode(secret).ok_or_else(malformed)?;
    if client_id.is_empty() {
        return Err(malformed());
    }
    Ok(PresentedCredentials {
        client_id,
        client_secret,
    })
}

/// `application/x-www-form-urlencoded` decoding of one value; `None` when
/// the result is not UTF-8 or holds control characters.
pub fn form_decode(text: &str) -> Option<String> {
    let pair = format!("x={text}");
    let (_, value) = form_urlencoded::parse(pair.as_bytes()).next()?;
    let clean = !value.contains('\u{FFFD}') && !value.chars().any(char::is_control);
    clean.then(|| value.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(raw: &str) -> Vec<u8> {
        format!("Basic {}", STANDARD.encode(raw)).into_bytes()
    }

    #[test]
    fn decodes_form_encoded_halves() {
        let parsed = parse_basic(&header("kmc_a%2Bb:s%3Ae+t")).unwrap();

        assert_eq!(parsed.client_id, "kmc_a+b");
        assert_eq!(parsed.client_secret, "s:e t");
    }

    #[test]
    fn scheme_is_case_insensitive() {
        let value = format!("bAsIc {}", STANDARD.encode("id:secret"));

        assert!(parse_basic(value.as_bytes()).is_ok());
    }

    #[test]
    fn refuses_malformed_values() {
        let bad: [Vec<u8>; 6] = [
            b"Basic !!!notbase64".to_vec(),
            header("no-colon-here"),
            header(":secret"),
            header("id:se%00cret"),
            format!("Basic {}", STANDARD.encode([0xff, b':', b'x'])).into_bytes(),
            b"Bearer abc".to_vec(),
        ];
        for value in bad {
            assert!(parse_basic(&value).is_err(), "{value:?}");
        }
    }
}
