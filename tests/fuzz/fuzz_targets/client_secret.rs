//! The client secret, client id, session token and stored-hash parsers
//! over arbitrary strings: they never panic, and whatever they accept is
//! exactly the input, of the documented shape.

#![no_main]

use keymint::crypto::{ClientId, ClientSecret, SecretHash, SessionToken};
use libfuzzer_sys::fuzz_target;

fn token_chars(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fuzz_target!(|text: &str| {
    if let Some(secret) = ClientSecret::parse(text) {
        assert_eq!(secret.expose_secret(), text);
        assert!(text.starts_with("kms_") && text.len() == 53 && token_chars(text));
        assert!(secret.hash().matches(&secret));
    }
    if let Some(id) = ClientId::parse(text) {
        assert_eq!(id.as_str(), text);
        assert!(text.starts_with("kmc_") && text.len() == 26 && token_chars(text));
    }
    if let Some(token) = SessionToken::parse(text) {
        assert_eq!(token.expose_secret(), text);
    }
    if let Some(hash) = SecretHash::from_stored(text) {
        assert_eq!(hash.to_stored(), text);
    }
});
