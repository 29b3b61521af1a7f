//! Start-up shared by `keymint serve` and the tests: open the database,
//! migrate, load the master key and the signing keys, build the state.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use diesel::Connection;

use crate::config::Settings;
use crate::crypto::MasterKey;
use crate::http::{self, AppState};
use crate::keyring::KeyRing;
use crate::storage::{self, Db, DbConnection, migrations};

/// How long a request waits for a database connection before it is told
/// the database is unavailable.
pub const DB_CONNECTION_TIMEOUT: Duration = Duration::from_secs(3);

/// Worker threads and pool size derived from the machine's cores.
pub fn worker_count() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
}

/// Opens the database pool and applies pending migrations.
pub fn open_database(settings: &Settings) -> anyhow::Result<Db> {
    let pool_size = u32::try_from(worker_count() * 4).unwrap_or(32).clamp(4, 32);
    let db = Db::connect(&settings.database_url, pool_size, DB_CONNECTION_TIMEOUT)
        .with_context(|| format!("failed to open the database {}", settings.database_url))?;
    let applied = db
        .run_blocking(migrations::run_pending)
        .with_context(|| format!("failed to migrate the database {}", settings.database_url))?;
    for version in applied {
        tracing::info!(migration = version, "applied migration");
    }
    Ok(db)
}

/// Opens one connection without a pool and applies pending migrations: the
/// CLI's way in. A pool would keep background threads using libpq while the
/// process exits, which some libpq builds abort on.
pub fn open_connection(settings: &Settings) -> anyhow::Result<DbConnection> {
    let url = &settings.database_url;
    let mut conn = DbConnection::establish(url.expose_secret())
        .with_context(|| format!("failed to open the database {url}"))?;
    if let DbConnection::Sqlite(sqlite) = &mut conn {
        storage::configure_sqlite(sqlite).with_context(|| format!("failed to configure {url}"))?;
    }
    migrations::run_pending(&mut conn)
        .with_context(|| format!("failed to migrate the database {url}"))?;
    Ok(conn)
}

/// Opens everything the server needs: database, master key, signing keys.
pub fn prepare_state(settings: Settings) -> anyhow::Result<AppState> {
    let db = open_database(&settings)?;
    let master = MasterKey::load_or_create(&settings.keys_dir)
        .context("failed to load the master key from KEYMINT_KEYS_DIR")?;
    let keys = db
        .run_blocking(|conn| KeyRing::open(conn, master, settings.signing_alg))
        .context("failed to load the signing keys")?;
    let kid = keys.snapshot().current().kid().to_owned();
    tracing::info!(key.kid = %kid, "signing key loaded");
    Ok(AppState::new(db, Arc::new(keys), Arc::new(settings)))
}

/// Binds `settings.listen` and starts serving.
pub fn bind(settings: &Settings) -> anyhow::Result<TcpListener> {
    TcpListener::bind(settings.listen)
        .with_context(|| format!("failed to bind KEYMINT_LISTEN {}", settings.listen))
}

/// Starts the HTTP server on `listener`.
pub fn start(listener: TcpListener, state: AppState) -> anyhow::Result<actix_web::dev::Server> {
    http::serve(listener, state, worker_count()).context("failed to start the HTTP server")
}
