//! Key material and secrets: random values, client secrets, session tokens
//! and their hashes, password hashing, TOTP, JWT signing keys and their
//! JWKs, and sealing of stored private keys under the master key.
//!
//! Pure functions over immutable key state: nothing here touches the
//! database, the network or HTTP.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

pub mod jwk;
pub mod master_key;
pub mod password;
pub mod random;
pub mod secret;
pub mod signing;
pub mod totp;

pub use master_key::MasterKey;
pub use secret::{ClientId, ClientSecret, SecretHash, SessionToken};
pub use signing::{SigningAlgorithm, SigningKey};
