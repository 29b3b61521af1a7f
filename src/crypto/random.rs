//! Random bytes from the operating system's CSPRNG, through ring.

use std::sync::LazyLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom, SystemRandom};

static RNG: LazyLock<SystemRandom> = LazyLock::new(SystemRandom::new);

/// The process-wide CSPRNG.
pub fn rng() -> &'static SystemRandom {
    &RNG
}

/// `N` random bytes.
///
/// The OS generator failing means the machine cannot produce keys or
/// secrets at all; there is nothing safe to fall back to, so this aborts the
/// request or command with a panic rather than return predictable bytes.
#[expect(
    clippy::expect_used,
    reason = "no safe fallback when the OS CSPRNG fails"
)]
pub fn bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    RNG.fill(&mut out)
        .expect("the operating system's CSPRNG failed");
    out
}

/// `N` random bytes as unpadded base64url (alphabet `A-Z a-z 0-9 _ -`).
pub fn token<const N: usize>() -> String {
    URL_SAFE_NO_PAD.encode(bytes::<N>())
}
