//! Key material and secrets: random values, client secrets and their hashes,
//! password hashing, JWT signing keys and their JWKs, and sealing of stored
//! private keys under the master key.
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
pub use secret::{ClientId, ClientSecret, SecretHash};
pub use signing::{SigningAlgorithm, SigningKey};
