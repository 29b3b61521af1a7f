//! Start-up shared by `keymint serve` and the tests: open the database,
//! migrate, load the master key and the signing keys, build the state.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use diesel::ConnectionError;

use crate::config::Settings;
use crate::crypto::MasterKey;
use crate::http::oauth::jwks::JWKS_MAX_AGE_SECS;
use crate::http::{self, AppState};
use crate::keyring::{KeyPolicy, KeyRing, RELOAD_INTERVAL};
use crate::service::directory;
use crate::service::usage::{FLUSH_INTERVAL, UsageTracker};
use crate::storage::{self, Backend, Db, DbConnection, StorageError, migrations, signing_keys};

/// How long a request waits for a database connection before it is told
/// the database is unavailable.
pub const DB_CONNECTION_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a request waits for its whole database work (checkout and
/// queries) before it is told the database is unavailable.
pub const DB_WORK_TIMEOUT: Duration = Duration::from_secs(3);

/// Worker threads and pool size derived from the machine's cores.
pub fn worker_count() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
}

/// Opens one connection and applies pending migrations, creating the
/// database first when it does not exist (a SQLite file is created by
/// opening it; a PostgreSQL database through the server's maintenance
/// database). The CLI uses this connection directly, without a pool, so
/// that no pool thread is still inside libpq when the process exits.
pub fn open_connection(settings: &Settings) -> anyhow::Result<DbConnection> {
    let url = &settings.database_url;
    let failed = || format!("failed to open KEYMINT_DATABASE_URL {url}");
    let mut conn = match storage::establish(url) {
        Err(ConnectionError::BadConnection(message))
            if url.backend() == Backend::Postgres
                && message.contains("database")
                && message.contains("does not exist") =>
        {
            storage::create_postgres_database(url).with_context(failed)?;
            storage::establish(url).with_context(failed)?
        }
        other => other.with_context(failed)?,
    };
    let applied = migrations::run_pending(&mut conn)
        .with_context(|| format!("failed to migrate the database {url}"))?;
    for version in applied {
        tracing::info!(migration = version, "applied migration");
    }
    Ok(conn)
}

/// Opens (and if needed creates and migrates) the database, then the pool
/// the server uses.
pub fn open_database(settings: &Settings) -> anyhow::Result<Db> {
    drop(open_connection(settings)?);
    let pool_size = u32::try_from(worker_count() * 4).unwrap_or(32).clamp(4, 32);
    Ok(Db::connect(
        &settings.database_url,
        pool_size,
        DB_CONNECTION_TIMEOUT,
        DB_WORK_TIMEOUT,
    ))
}

/// The master key: loaded, or created when the database holds no signing
/// key yet. A database with keys and no master key is an operator error
/// that a new key cannot fix, so nothing is created then.
fn master_key(settings: &Settings, db: &Db) -> anyhow::Result<MasterKey> {
    let sealed_keys_exist = db.run_blocking(|conn| {
        signing_keys::list_all(conn)
            .map(|rows| !rows.is_empty())
            .map_err(StorageError::from)
    })?;
    let dir = &settings.keys_dir;
    let loaded = if sealed_keys_exist {
        MasterKey::load(dir)
    } else {
        MasterKey::load_or_create(dir)
    };
    loaded.context("failed to load the master key from KEYMINT_KEYS_DIR")
}

/// How keys are generated and rotated under these settings. A replaced key
/// stays published for a token lifetime plus a JWKS cache lifetime plus a
/// minute of clock leeway.
pub fn key_policy(settings: &Settings) -> KeyPolicy {
    let overlap = u64::from(settings.token_ttl) + u64::from(JWKS_MAX_AGE_SECS) + 60;
    KeyPolicy {
        algorithm: settings.signing_alg,
        rotate_after: settings
            .key_rotation_days
            .map(|days| Duration::from_secs(u64::from(days) * 86_400)),
        overlap: Duration::from_secs(overlap),
        publish_ahead: Duration::from_secs(u64::from(JWKS_MAX_AGE_SECS)),
    }
}

/// Opens everything the server needs: database, master key, signing keys.
pub fn prepare_state(settings: Settings) -> anyhow::Result<AppState> {
    crate::verify::ring_provider::install();
    let db = open_database(&settings)?;
    let master = Arc::new(master_key(&settings, &db)?);
    let keys = db
        .run_blocking(|conn| KeyRing::open(conn, Arc::clone(&master), key_policy(&settings)))
        .context("failed to load the signing keys")?;
    let kid = keys.snapshot().current().kid().to_owned();
    tracing::info!(key.kid = %kid, "signing key loaded");
    Ok(AppState::new(
        db,
        Arc::new(keys),
        master,
        Arc::new(settings),
    ))
}

/// Binds `settings.listen` and starts serving.
pub fn bind(settings: &Settings) -> anyhow::Result<TcpListener> {
    TcpListener::bind(settings.listen)
        .with_context(|| format!("failed to bind KEYMINT_LISTEN {}", settings.listen))
}

/// Starts the HTTP server on `listener` and the background tasks of
/// [`spawn_maintenance`]. Must run inside an actix system.
pub fn start(listener: TcpListener, state: AppState) -> anyhow::Result<actix_web::dev::Server> {
    spawn_maintenance(&state);
    http::serve(listener, state, worker_count()).context("failed to start the HTTP server")
}

/// Spawns the server's background tasks: writing client last-used times,
/// polling for clients revoked elsewhere, and signing-key maintenance
/// (reloading, scheduled rotation, retiring). Must run inside an actix
/// system; the tasks end with it.
pub fn spawn_maintenance(state: &AppState) {
    let (usage, db) = (Arc::clone(&state.usage), state.db.clone());
    actix_web::rt::spawn(async move {
        let mut tick = tokio::time::interval(FLUSH_INTERVAL);
        loop {
            tick.tick().await;
            flush_usage(&usage, &db).await;
        }
    });
    let (directory, db) = (Arc::clone(&state.clients), state.db.clone());
    actix_web::rt::spawn(async move {
        let mut tick = tokio::time::interval(directory::POLL_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let directory = Arc::clone(&directory);
            if let Err(err) = db.run(move |conn| directory.poll(conn)).await {
                tracing::warn!(error = %err, "failed to poll for revoked clients; will retry");
            }
        }
    });
    let (keys, db) = (Arc::clone(&state.keys), state.db.clone());
    actix_web::rt::spawn(async move {
        let mut tick = tokio::time::interval(RELOAD_INTERVAL);
        loop {
            tick.tick().await;
            let keys = Arc::clone(&keys);
            if let Err(err) = db.run(move |conn| keys.maintain(conn)).await {
                tracing::warn!(error = %err, "signing-key maintenance failed; will retry");
            }
        }
    });
}

/// Writes pending client last-used times; failures are logged, not fatal.
pub async fn flush_usage(usage: &Arc<UsageTracker>, db: &Db) {
    let usage = Arc::clone(usage);
    if let Err(err) = db.run(move |conn| usage.flush(conn)).await {
        tracing::warn!(error = %err, "failed to record client last-used times");
    }
}
