//! keymint: an OAuth 2.0 authorization server for machine-to-machine access.
//!
//! The `server` feature (default) holds everything the `keymint` binary
//! runs; the `verify` feature holds what downstream services need to check
//! keymint's tokens.

#[cfg(feature = "server")]
pub mod cli;
#[cfg(feature = "server")]
pub mod config;
#[cfg(feature = "server")]
pub mod crypto;
#[cfg(feature = "server")]
pub mod domain;
#[cfg(feature = "server")]
pub mod http;
#[cfg(feature = "server")]
pub mod keyring;
#[cfg(feature = "server")]
pub mod metrics;
#[cfg(feature = "server")]
pub mod ratelimit;
#[cfg(feature = "server")]
pub mod service;
#[cfg(feature = "server")]
pub mod startup;
#[cfg(feature = "server")]
pub mod storage;
#[cfg(feature = "server")]
pub mod telemetry;
#[cfg(feature = "verify")]
pub mod verify;
