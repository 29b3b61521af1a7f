//! Client credentials: the public `client_id`, the `client_secret` shown
//! once, and the hash that is all we keep of it.
//!
//! Format (alphabet `A-Z a-z 0-9 _ -`):
//! - `client_id`: `kmc_` + 22 characters (128 random bits);
//! - `client_secret`: `kms_` + 43 characters (256 random bits) + a
//!   6-character checksum, so that a mistyped or cut secret is refused
//!   before any lookup and secret scanners can recognise one by its shape.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::digest;
use subtle::ConstantTimeEq;

use crate::crypto::random;

const CLIENT_ID_PREFIX: &str = "kmc_";
const CLIENT_ID_BODY_LEN: usize = 22;
const SECRET_PREFIX: &str = "kms_";
const SECRET_BODY_LEN: usize = 43;
const SECRET_CHECKSUM_LEN: usize = 6;
const SECRET_LEN: usize = SECRET_PREFIX.len() + SECRET_BODY_LEN + SECRET_CHECKSUM_LEN;

fn is_token_char(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-'
}

/// The public identifier a client authenticates with.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClientId(String);

impl ClientId {
    /// A new random client id.
    pub fn generate() -> Self {
        Self(format!("{CLIENT_ID_PREFIX}{}", random::token::<16>()))
    }

    /// Accepts only the exact shape [`ClientId::generate`] produces, so that
    /// junk never reaches the database.
    pub fn parse(text: &str) -> Option<Self> {
        let body = text.strip_prefix(CLIENT_ID_PREFIX)?;
        let well_formed = body.len() == CLIENT_ID_BODY_LEN && body.bytes().all(is_token_char);
        well_formed.then(|| Self(text.to_owned()))
    }

    /// Wraps a value read back from storage.
    pub fn from_stored(text: String) -> Self {
        Self(text)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A client secret in clear. It exists only while a client is being created
/// (to be shown once) and while a token request is being checked; it has no
/// `Display`, and its `Debug` hides it.
pub struct ClientSecret(String);

impl ClientSecret {
    /// A new secret: 256 bits from the CSPRNG plus its checksum.
    pub fn generate() -> Self {
        Self::from_random(&random::bytes::<32>())
    }

    /// The secret made of these 256 random bits: [`ClientSecret::generate`]
    /// without the CSPRNG, so that tests can range over every input.
    fn from_random(bits: &[u8; 32]) -> Self {
        let body = URL_SAFE_NO_PAD.encode(bits);
        let checksum = checksum(&body);
        Self(format!("{SECRET_PREFIX}{body}{checksum}"))
    }

    /// Checks prefix, length, alphabet and checksum; `None` for anything that
    /// cannot be a secret we issued.
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() != SECRET_LEN || !text.bytes().all(is_token_char) {
            return None;
        }
        let rest = text.strip_prefix(SECRET_PREFIX)?;
        let (body, sum) = rest.split_at_checked(SECRET_BODY_LEN)?;
        (checksum(body) == sum).then(|| Self(text.to_owned()))
    }

    /// The secret in clear, for the one response that shows it.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// The hash that is stored in place of the secret.
    pub fn hash(&self) -> SecretHash {
        SecretHash::of(&self.0)
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret(<hidden>)")
    }
}

fn checksum(body: &str) -> String {
    let digest = digest::digest(&digest::SHA256, body.as_bytes());
    let head = digest.as_ref().get(..4).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(head)
}

/// SHA-256 of a client secret: what the database keeps.
///
/// A secret carries 256 random bits, so a fast hash resists guessing as well
/// as a slow password hash would, at microseconds instead of tens of
/// milliseconds per token request.
///
/// INVARIANT: changing how secrets are hashed (algorithm, input bytes or
/// encoding) locks out every existing client. Never change it without a
/// migration that keeps the old form verifiable.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretHash([u8; 32]);

impl SecretHash {
    fn of(secret: &str) -> Self {
        let digest = digest::digest(&digest::SHA256, secret.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(digest.as_ref());
        Self(out)
    }

    /// A hash that no secret matches, compared against when the client is
    /// unknown so that an unknown client costs the same work as a known one.
    pub fn unmatchable() -> Self {
        Self([0u8; 32])
    }

    /// Whether `secret` hashes to this value, compared in constant time.
    pub fn matches(&self, secret: &ClientSecret) -> bool {
        let presented = SecretHash::of(&secret.0);
        bool::from(presented.0.ct_eq(&self.0))
    }

    /// The stored (base64url) form.
    pub fn to_stored(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// Reads the stored form back; `None` if it is not one.
    pub fn from_stored(text: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        Some(Self(bytes.try_into().ok()?))
    }
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretHash(<hidden>)")
    }
}

/// An admin session's bearer token: `kmsess_` + 43 characters (256 random
/// bits). Only its SHA-256 is stored; `Debug` hides it.
pub struct SessionToken(String);

impl SessionToken {
    const PREFIX: &'static str = "kmsess_";

    /// A new random token.
    pub fn generate() -> Self {
        Self(format!("{}{}", Self::PREFIX, random::token::<32>()))
    }

    /// Accepts a presented token of the right shape.
    pub fn parse(text: &str) -> Option<Self> {
        let body = text.strip_prefix(Self::PREFIX)?;
        let ok = body.len() == SECRET_BODY_LEN && body.bytes().all(is_token_char);
        ok.then(|| Self(text.to_owned()))
    }

    /// The token in clear, for the login response only.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// The stored form: SHA-256, base64url. Looked up by equality, which is
    /// safe because the hash of a 256-bit random value reveals nothing a
    /// timing difference could exploit.
    pub fn hash(&self) -> String {
        URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, self.0.as_bytes()))
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken(<hidden>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secret_parses_and_matches_its_hash() {
        let secret = ClientSecret::generate();
        let text = secret.expose_secret().to_owned();

        let parsed = ClientSecret::parse(&text).unwrap();

        assert!(text.starts_with("kms_"));
        assert_eq!(text.len(), SECRET_LEN);
        assert!(secret.hash().matches(&parsed));
        assert!(!SecretHash::unmatchable().matches(&parsed));
    }

    #[test]
    fn mistyped_or_cut_secret_fails_the_checksum() {
        let text = ClientSecret::generate().expose_secret().to_owned();
        let mut typo = text.clone().into_bytes();
        typo[10] = if typo[10] == b'A' { b'B' } else { b'A' };
        let typo = String::from_utf8(typo).unwrap();

        assert!(ClientSecret::parse(&typo).is_none());
        assert!(ClientSecret::parse(&text[..text.len() - 1]).is_none());
        assert!(ClientSecret::parse(&format!("{text}x")).is_none());
        assert!(ClientSecret::parse(&text.replacen("kms_", "kmx_", 1)).is_none());
    }

    #[test]
    fn secret_debug_hides_the_value() {
        let secret = ClientSecret::generate();

        let shown = format!("{secret:?} {:?}", secret.hash());

        assert!(!shown.contains(secret.expose_secret()));
        assert!(!shown.contains(&secret.hash().to_stored()));
    }

    #[test]
    fn client_id_shape_is_enforced() {
        let id = ClientId::generate();

        assert_eq!(ClientId::parse(id.as_str()), Some(id.clone()));
        assert!(ClientId::parse("kmc_short").is_none());
        assert!(ClientId::parse(&id.as_str().replace("kmc_", "abc_")).is_none());
        assert!(ClientId::parse(&format!("{}!", &id.as_str()[..25])).is_none());
    }

    #[test]
    fn session_tokens_parse_and_hash_stably() {
        let token = SessionToken::generate();

        let parsed = SessionToken::parse(token.expose_secret()).unwrap();

        assert_eq!(parsed.hash(), token.hash());
        assert_ne!(token.hash(), token.expose_secret());
        assert!(SessionToken::parse("kmsess_short").is_none());
        assert!(!format!("{token:?}").contains(token.expose_secret()));
    }

    #[test]
    fn stored_hash_round_trips() {
        let hash = ClientSecret::generate().hash();

        assert!(SecretHash::from_stored(&hash.to_stored()) == Some(hash));
        assert!(SecretHash::from_stored("not base64 at all!").is_none());
    }
}

/// Properties of the secret format over generated input: every secret
/// parses, every single-character change or cut is refused, and no string
/// makes a parser panic.
#[cfg(test)]
mod proptests {
    use proptest::prelude::*;
    use proptest::sample::select;

    use super::*;

    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";

    /// Mostly characters of the secret alphabet, which only the checksum
    /// can tell apart, and sometimes any character at all.
    fn replacement() -> impl Strategy<Value = char> {
        prop_oneof![
            3 => select(ALPHABET.to_vec()).prop_map(char::from),
            1 => any::<char>(),
        ]
    }

    proptest! {
        #[test]
        fn any_secret_parses_and_matches_its_hash(bits in any::<[u8; 32]>()) {
            let secret = ClientSecret::from_random(&bits);
            let text = secret.expose_secret();

            let parsed = ClientSecret::parse(text);

            prop_assert_eq!(text.len(), SECRET_LEN);
            prop_assert!(text.starts_with(SECRET_PREFIX));
            prop_assert!(text.bytes().all(is_token_char));
            let parsed = parsed.expect("a generated secret parses");
            prop_assert!(secret.hash().matches(&parsed));
            prop_assert!(!SecretHash::unmatchable().matches(&parsed));
        }

        /// A change in the body is caught by a 32-bit checksum, so a
        /// random change passes with probability 2^-32 per case.
        #[test]
        fn any_single_character_change_is_refused(
            bits in any::<[u8; 32]>(),
            index in 0..SECRET_LEN,
            replacement in replacement(),
        ) {
            let text = ClientSecret::from_random(&bits).expose_secret().to_owned();
            let mut chars: Vec<char> = text.chars().collect();
            prop_assume!(chars[index] != replacement);
            chars[index] = replacement;
            let changed: String = chars.into_iter().collect();

            prop_assert!(ClientSecret::parse(&changed).is_none(), "{}", changed);
        }

        #[test]
        fn any_cut_insertion_or_deletion_is_refused(
            bits in any::<[u8; 32]>(),
            index in 0..SECRET_LEN,
            inserted in replacement(),
        ) {
            let text = ClientSecret::from_random(&bits).expose_secret().to_owned();
            let mut longer = text.clone();
            longer.insert(index, inserted);
            let mut shorter = text.clone();
            shorter.remove(index);

            prop_assert!(ClientSecret::parse(&text[..index]).is_none());
            prop_assert!(ClientSecret::parse(&longer).is_none());
            prop_assert!(ClientSecret::parse(&shorter).is_none());
        }

        #[test]
        fn arbitrary_strings_never_panic(text in any::<String>()) {
            let prefixed = format!("{SECRET_PREFIX}{text}");

            prop_assert!(ClientSecret::parse(&text).is_none_or(|s| s.expose_secret() == text));
            prop_assert!(ClientSecret::parse(&prefixed).is_none_or(|s| s.expose_secret() == prefixed));
            prop_assert!(ClientId::parse(&text).is_none_or(|id| id.as_str() == text));
            prop_assert!(SessionToken::parse(&text).is_none_or(|t| t.expose_secret() == text));
            prop_assert!(SecretHash::from_stored(&text).is_none_or(|h| h.to_stored() == text));
        }

        /// Strings of the right shape but a random checksum are refused
        /// (but for a 2^-32 chance each).
        #[test]
        fn well_shaped_strings_without_their_checksum_are_refused(
            text in "kms_[A-Za-z0-9_-]{49}",
        ) {
            prop_assert_eq!(text.len(), SECRET_LEN);

            prop_assert!(ClientSecret::parse(&text).is_none(), "{}", text);
        }
    }
}
