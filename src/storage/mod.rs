//! Persistence with diesel over SQLite or PostgreSQL, through one
//! connection type and one schema.
//!
//! Knows nothing of HTTP. Every function here blocks: call it inside
//! [`Db::run`] (async callers) or [`Db::run_blocking`] (the CLI).

pub mod accounts;
pub mod audit;
pub mod clients;
mod error;
pub mod migrations;
mod pool;
pub mod schema;
pub mod sessions;
pub mod signing_keys;
pub mod sso_providers;
pub mod users;

pub use error::StorageError;
pub use pool::{
    Backend, DatabaseUrl, Db, DbConnection, configure_sqlite, create_postgres_database, establish,
};

/// The current time as stored: UTC, truncated to microseconds, which is the
/// precision PostgreSQL keeps, so a value reads back exactly as written.
pub fn now() -> chrono::NaiveDateTime {
    use chrono::{DurationRound, TimeDelta};

    let now = chrono::Utc::now();
    now.duration_trunc(TimeDelta::microseconds(1))
        .unwrap_or(now)
        .naive_utc()
}
