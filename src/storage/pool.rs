//! The connection type over both backends, the r2d2 pool, and running
//! blocking work off the async workers.
//!
//! Reads `KEYMINT_DATABASE_URL` through [`crate::config::Settings`].

use std::fmt;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool};
use diesel::sqlite::SqliteConnection;
use tracing::Instrument;

use crate::storage::StorageError;

/// One connection to either backend; diesel's DSL works through it.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    /// PostgreSQL, for many instances sharing one database.
    Postgres(PgConnection),
    /// SQLite, the embedded default.
    Sqlite(SqliteConnection),
}

/// Which database a URL points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// `postgres://` or `postgresql://`.
    Postgres,
    /// Anything else: a file path.
    Sqlite,
}

/// A database URL. It may hold a password, so `Debug` and `Display` show
/// only the backend and, for SQLite, the path.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// Wraps a URL or path; the backend is chosen by scheme, since SQLite
    /// would accept any string as a file name.
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    /// The backend the scheme selects.
    pub fn backend(&self) -> Backend {
        if self.0.starts_with("postgres://") || self.0.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    /// The URL in clear, for the driver only.
    pub fn expose_secret(&self) -> &str {
        match self.backend() {
            Backend::Postgres => &self.0,
            Backend::Sqlite => self.0.strip_prefix("sqlite://").unwrap_or(&self.0),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.backend() {
            Backend::Postgres => f.write_str("postgres://<hidden>"),
            Backend::Sqlite => write!(f, "sqlite:{}", self.expose_secret()),
        }
    }
}

/// SQLite needs per-connection settings: foreign keys are off by default,
/// and without a busy timeout concurrent writers fail at once.
#[derive(Debug)]
struct SqlitePragmas;

impl CustomizeConnection<DbConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut DbConnection) -> Result<(), diesel::r2d2::Error> {
        if let DbConnection::Sqlite(conn) = conn {
            configure_sqlite(conn).map_err(diesel::r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

/// Per-connection SQLite settings: WAL (readers never wait on the writer),
/// foreign keys on, and a busy timeout so concurrent writers queue.
pub fn configure_sqlite(conn: &mut SqliteConnection) -> diesel::QueryResult<()> {
    conn.batch_execute(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
    )
}

/// A pool of connections to one database.
#[derive(Clone)]
pub struct Db {
    pool: Pool<ConnectionManager<DbConnection>>,
    backend: Backend,
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Db")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Db {
    /// Opens a pool of at most `size` connections; a request waits at most
    /// `timeout` for one before it is told the database is unavailable.
    pub fn connect(url: &DatabaseUrl, size: u32, timeout: Duration) -> Result<Self, StorageError> {
        let manager = ConnectionManager::<DbConnection>::new(url.expose_secret());
        let pool = Pool::builder()
            .max_size(size)
            .min_idle(Some(1))
            .connection_timeout(timeout)
            .connection_customizer(Box::new(SqlitePragmas))
            .build(manager)?;
        Ok(Self {
            pool,
            backend: url.backend(),
        })
    }

    /// The backend this pool talks to.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Connections open and idle right now, for metrics.
    pub fn state(&self) -> r2d2::State {
        self.pool.state()
    }

    /// Runs `work` on a pooled connection on the current thread. For the
    /// CLI and start-up, never from an async worker.
    pub fn run_blocking<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E>,
        E: From<StorageError>,
    {
        let mut conn = self.pool.get().map_err(StorageError::from)?;
        work(&mut conn)
    }

    /// Runs `work` on a pooled connection on the blocking thread pool, inside
    /// the caller's tracing span, so that no async worker waits on the
    /// database. The connection is returned before the future resolves.
    pub async fn run<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StorageError> + Send + 'static,
    {
        let db = self.clone();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || span.in_scope(|| db.run_blocking(work)))
            .instrument(tracing::Span::current())
            .await
            .map_err(|err| {
                StorageError::Unavailable(anyhow::anyhow!("blocking task failed: {err}"))
            })?
    }
}
