//! Checking keymint access tokens in other services.
//!
//! Behind the `verify` cargo feature, which compiles none of the server,
//! its database or its CLI. [`Verifier`] fetches keymint's JWKS (found
//! through the RFC 8414 metadata, or at a given URL), caches it for as long
//! as its `Cache-Control: max-age` allows, refreshes it in the background,
//! and refetches on an unknown `kid` at most once per
//! [`VerifierConfig::min_refetch_interval`], so a flood of forged key ids
//! cannot hammer keymint. [`validate`] is the pure check underneath:
//! signature, `alg` against an allow-list (never `none`, never HMAC), `typ`
//! `at+jwt` (RFC 9068 §4), `iss`, `aud`, and `exp`/`nbf`/`iat` with leeway.
//!
//! With the `verify-actix` feature, [`actix`] turns it into an extractor
//! that guards a route by scope.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[cfg(feature = "verify-actix")]
pub mod actix;
mod claims;
mod fetch;
mod keys;
pub mod ring_provider;
mod rules;

pub use claims::AccessClaims;
pub use fetch::{Verifier, VerifierConfig};
pub use keys::KeyCache;
pub use rules::{Rules, VerifyError, validate};
