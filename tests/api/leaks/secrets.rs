//! The secrets a walkthrough has seen, in every form worth looking for.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

/// Every secret seen in a walkthrough, by what it is.
#[derive(Default)]
pub struct Secrets(Vec<(String, String)>);

impl Secrets {
    /// A secret as it is; at least 16 characters, so that a match means
    /// something.
    pub fn add(&mut self, what: &str, secret: impl Into<String>) {
        let secret = secret.into();
        assert!(secret.len() >= 16, "{what} is too short to look for");
        self.0.push((what.to_owned(), secret));
    }

    /// A client secret, whole and without its prefix and checksum.
    pub fn client_secret(&mut self, what: &str, secret: &str) {
        self.add(what, secret);
        self.add(&format!("{what} (random part)"), &secret[4..47]);
    }

    /// A JWT, whole and its signature alone.
    pub fn jwt(&mut self, what: &str, token: &str) {
        self.add(what, token);
        let signature = token.rsplit('.').next().unwrap();
        self.add(&format!("{what} (signature)"), signature);
    }

    /// Bytes as hex and as both base64 alphabets.
    pub fn bytes(&mut self, what: &str, bytes: &[u8]) {
        self.add(&format!("{what} (hex)"), hex(bytes));
        self.add(&format!("{what} (base64)"), STANDARD.encode(bytes));
        self.add(
            &format!("{what} (base64url)"),
            URL_SAFE_NO_PAD.encode(bytes),
        );
    }

    /// The Authorization value of HTTP Basic for these credentials.
    pub fn basic(&mut self, what: &str, client_id: &str, secret: &str) {
        let encoded = STANDARD.encode(format!("{client_id}:{secret}"));
        self.add(what, format!("Basic {encoded}"));
        self.add(&format!("{what} (credentials)"), encoded);
    }

    /// Asserts that none of the secrets is in `text`.
    pub fn assert_none_in(&self, place: &str, text: &str) {
        for (what, secret) in &self.0 {
            assert!(!text.contains(secret.as_str()), "the {what} is in {place}");
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
