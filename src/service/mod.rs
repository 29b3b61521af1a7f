//! The use cases shared by the CLI and the HTTP API: create accounts,
//! users and clients, revoke clients, authenticate clients, record audit
//! events.
//!
//! Each is a synchronous function over a database connection (run it in
//! [`crate::storage::Db::run`] from async code). It applies the rules of
//! [`crate::domain`], generates credentials with [`crate::crypto`] and
//! writes through [`crate::storage`], so that both front ends behave alike.
//! Errors are named after outcomes; the front ends choose how to show them.

pub mod accounts;
pub mod audit;
pub mod client_auth;
pub mod clients;
pub mod directory;
pub mod sessions;
pub mod sso;
pub mod totp;
pub mod usage;
pub mod users;

/// Formats a stored UTC time as RFC 3339 with a `Z`, as every API shows it.
pub fn rfc3339(at: chrono::NaiveDateTime) -> String {
    at.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
