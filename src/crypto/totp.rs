//! Time-based one-time passwords (RFC 6238) for the second factor of user
//! logins: the shared secret, the `otpauth://` URI an authenticator app
//! scans, and checking a code.
//!
//! Parameters are the ones every authenticator app supports: HOTP (RFC 4226)
//! over HMAC-SHA-1, 6 digits, 30-second steps counted from the Unix epoch.
//! This module keeps no state: the caller seals the secret under the master
//! key (`Purpose::TotpSecrets`) and stores the step [`verify`] returns, so
//! that a code is never accepted twice.

use std::fmt;

use ring::hmac;
use subtle::{ConditionallySelectable, ConstantTimeEq};

use crate::crypto::random;

/// Seconds per time step (RFC 6238 §4.1, `X`).
const STEP_SECONDS: i64 = 30;
/// Digits in a code; `10^DIGITS` is the modulus of RFC 4226 §5.3.
const DIGITS: usize = 6;
const MODULUS: u32 = 1_000_000;
/// Length of a generated secret: the HMAC-SHA-1 output size, as RFC 4226
/// §4 recommends.
const GENERATED_LEN: usize = 20;
const MIN_LEN: usize = 16;
const MAX_LEN: usize = 64;

/// A TOTP shared secret. It has no `Display` and its `Debug` hides it;
/// [`TotpSecret::expose_bytes`], [`TotpSecret::to_base32`] and
/// [`TotpSecret::otpauth_uri`] all reveal it and belong only on the
/// enrolment and sealing paths.
pub struct TotpSecret(Vec<u8>);

impl TotpSecret {
    /// A new secret of 160 random bits.
    pub fn generate() -> Self {
        Self(random::bytes::<GENERATED_LEN>().to_vec())
    }

    /// Wraps stored bytes (such as an unsealed secret); `None` unless they
    /// are 16 to 64 bytes long (RFC 4226 §4 asks for at least 128 bits).
    pub fn from_bytes(bytes: Vec<u8>) -> Option<Self> {
        (MIN_LEN..=MAX_LEN)
            .contains(&bytes.len())
            .then_some(Self(bytes))
    }

    /// The secret's raw bytes, to be sealed for storage.
    pub fn expose_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The secret in RFC 4648 base32 (upper case, no padding), the form
    /// users type into an authenticator app.
    pub fn to_base32(&self) -> String {
        base32(&self.0)
    }

    /// The enrolment URI in Google Authenticator's key URI format:
    /// `otpauth://totp/<issuer>:<account>?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30`.
    ///
    /// Holds the secret in clear: show it once, as a QR code, and never log
    /// it.
    pub fn otpauth_uri(&self, issuer: &str, account_name: &str) -> String {
        let issuer = percent_encode(issuer);
        let account = percent_encode(account_name);
        let secret = self.to_base32();
        format!(
            "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}\
             &algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}"
        )
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(<hidden>)")
    }
}

/// The time step that `unix_seconds` falls in (RFC 6238 §4.2, `T0 = 0`).
/// Times before the epoch map to step 0.
pub fn step_at(unix_seconds: i64) -> u64 {
    u64::try_from(unix_seconds.div_euclid(STEP_SECONDS)).unwrap_or(0)
}

/// The 6-digit code for `step` (RFC 4226 §5.3 with the step as counter).
pub fn code_at(secret: &TotpSecret, step: u64) -> u32 {
    truncated(secret, step) % MODULUS
}

/// Checks a code typed at `unix_seconds` and returns the step it belongs
/// to, or `None` if it matches none.
///
/// The code must be exactly 6 ASCII digits once surrounding whitespace is
/// trimmed. One step of clock skew either way is accepted (RFC 6238 §5.2).
/// All three candidate steps are computed and compared in constant time
/// whatever matches, so timing does not tell which step matched. If
/// several match, the latest wins.
///
/// The caller must refuse the code when the returned step is not greater
/// than the last step it accepted for this secret (RFC 6238 §5.2: a code
/// is good only once).
pub fn verify(secret: &TotpSecret, code: &str, unix_seconds: i64) -> Option<u64> {
    let presented = parse_code(code)?;
    let now = step_at(unix_seconds);
    let mut found = subtle::Choice::from(0);
    let mut matched = 0u64;
    for step in [now.saturating_sub(1), now, now.saturating_add(1)] {
        let equal = code_at(secret, step).ct_eq(&presented);
        matched = u64::conditional_select(&matched, &step, equal);
        found |= equal;
    }
    bool::from(found).then_some(matched)
}

fn parse_code(code: &str) -> Option<u32> {
    let code = code.trim();
    if code.len() != DIGITS || !code.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    code.parse().ok()
}

/// HMAC-SHA-1 of the counter, then dynamic truncation to 31 bits
/// (RFC 4226 §5.3); the code is this value modulo `10^digits`.
fn truncated(secret: &TotpSecret, counter: u64) -> u32 {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &secret.0);
    let tag = hmac::sign(&key, &counter.to_be_bytes());
    let tag = tag.as_ref();
    // The low nibble of the last byte picks the offset; a SHA-1 tag has 20
    // bytes, so the four bytes from offset 15 at most are always present.
    let offset = usize::from(tag.last().map_or(0, |byte| byte & 0x0f));
    let word = tag
        .iter()
        .skip(offset)
        .take(4)
        .fold(0u32, |acc, &byte| (acc << 8) | u32::from(byte));
    word & 0x7fff_ffff
}

/// RFC 4648 §6 base32 without padding.
fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer = 0u32;
    let mut bits = 0u32;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(base32_symbol(buffer >> bits));
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(base32_symbol(buffer << (5 - bits)));
    }
    out
}

fn base32_symbol(value: u32) -> char {
    let value = (value & 0x1f) as u8;
    match value {
        0..=25 => char::from(b'A' + value),
        _ => char::from(b'2' + (value - 26)),
    }
}

/// Percent-encodes a label part; spaces become `%20`, since authenticator
/// apps read the URI path literally and would show a `+`.
fn percent_encode(text: &str) -> String {
    // `byte_serialize` writes a literal `+` as `%2B`, so every `+` it emits
    // stands for a space.
    form_urlencoded::byte_serialize(text.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(b"12345678901234567890".to_vec()).unwrap()
    }

    #[test]
    fn rfc_6238_sha1_vectors_match() {
        // RFC 6238 Appendix B, SHA-1 column: (time, 8-digit TOTP).
        let vectors = [
            (59, 94_287_082),
            (1_111_111_109, 7_081_804),
            (1_111_111_111, 14_050_471),
            (1_234_567_890, 89_005_924),
            (2_000_000_000, 69_279_037),
            (20_000_000_000, 65_353_130),
        ];
        let secret = rfc_secret();

        for (time, expected) in vectors {
            let step = step_at(time);

            assert_eq!(truncated(&secret, step) % 100_000_000, expected, "t={time}");
            assert_eq!(code_at(&secret, step), expected % 1_000_000, "t={time}");
        }
    }

    #[test]
    fn code_is_accepted_one_step_either_side_and_returns_its_step() {
        let secret = rfc_secret();
        let time = 1_111_111_111;
        let code = format!("{:06}", code_at(&secret, step_at(time)));

        assert_eq!(verify(&secret, &code, time), Some(step_at(time)));
        assert_eq!(verify(&secret, &code, time - 30), Some(step_at(time)));
        assert_eq!(verify(&secret, &code, time + 30), Some(step_at(time)));
        assert_eq!(
            verify(&secret, &format!(" {code}\n"), time),
            Some(step_at(time))
        );
    }

    #[test]
    fn code_is_refused_three_steps_away() {
        let secret = rfc_secret();
        let time = 1_111_111_111;
        let code = format!("{:06}", code_at(&secret, step_at(time)));

        assert_eq!(verify(&secret, &code, time - 90), None);
        assert_eq!(verify(&secret, &code, time + 90), None);
    }

    #[test]
    fn malformed_codes_are_refused() {
        let secret = rfc_secret();
        let time = 59;
        let code = format!("{:06}", code_at(&secret, step_at(time)));
        let signed = format!("+{}", &code[1..]);

        for bad in [
            "",
            "12345",
            "1234567",
            "12a456",
            "12 456",
            "１２３４５６",
            &signed,
        ] {
            assert_eq!(verify(&secret, bad, time), None, "{bad:?}");
        }
        assert_eq!(verify(&secret, &format!("{code}0"), time), None);
        assert_eq!(verify(&secret, &code[1..], time), None);
    }

    #[test]
    fn base32_matches_rfc_4648_vectors() {
        let vectors = [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ];

        for (input, expected) in vectors {
            assert_eq!(base32(input.as_bytes()), expected);
        }
        assert_eq!(rfc_secret().to_base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    }

    #[test]
    fn secret_length_is_enforced() {
        assert_eq!(TotpSecret::generate().expose_bytes().len(), 20);
        assert!(TotpSecret::from_bytes(vec![7; 15]).is_none());
        assert!(TotpSecret::from_bytes(vec![7; 16]).is_some());
        assert!(TotpSecret::from_bytes(vec![7; 64]).is_some());
        assert!(TotpSecret::from_bytes(vec![7; 65]).is_none());
    }

    #[test]
    fn otpauth_uri_encodes_issuer_and_account() {
        let secret = rfc_secret();

        let uri = secret.otpauth_uri("Key Mint", "alice+ops@example.com");

        assert_eq!(
            uri,
            "otpauth://totp/Key%20Mint:alice%2Bops%40example.com\
             ?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Key%20Mint\
             &algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn debug_hides_the_secret() {
        let secret = TotpSecret::generate();

        let shown = format!("{secret:?}");

        assert_eq!(shown, "TotpSecret(<hidden>)");
        assert!(!shown.contains(&secret.to_base32()));
        assert!(!shown.contains(&format!("{:?}", secret.expose_bytes())));
    }

    #[test]
    fn steps_before_the_epoch_are_zero() {
        assert_eq!(step_at(-1), 0);
        assert_eq!(step_at(0), 0);
        assert_eq!(step_at(29), 0);
        assert_eq!(step_at(30), 1);
    }
}
