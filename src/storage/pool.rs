//! The connection type over both backends, the r2d2 pool, and running
//! blocking work off the async workers.
//!
//! Reads `KEYMINT_DATABASE_URL` through [`crate::config::Settings`].

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::R2D2Connection;
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, ConnectionError};
use r2d2::Pool;
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

/// Opens one connection to the backend the URL's scheme names, keeping the
/// driver's own error (diesel's `MultiConnection` would replace it with a
/// generic one).
pub fn establish(url: &DatabaseUrl) -> Result<DbConnection, ConnectionError> {
    match url.backend() {
        Backend::Postgres => {
            PgConnection::establish(url.expose_secret()).map(DbConnection::Postgres)
        }
        Backend::Sqlite => {
            let mut conn = SqliteConnection::establish(url.expose_secret())?;
            configure_sqlite(&mut conn).map_err(ConnectionError::CouldntSetupConfiguration)?;
            Ok(DbConnection::Sqlite(conn))
        }
    }
}

/// Creates the PostgreSQL database the URL names, connecting to the
/// server's `postgres` maintenance database to do so. Creating one that
/// another instance created a moment ago is not an error.
pub fn create_postgres_database(url: &DatabaseUrl) -> Result<(), ConnectionError> {
    let full = url.expose_secret();
    let bad = || ConnectionError::InvalidConnectionUrl("the URL names no database".into());
    let (base, rest) = full.rsplit_once('/').ok_or_else(bad)?;
    if !base.contains("://") || base.ends_with(':') || base.ends_with('/') {
        return Err(bad());
    }
    let (name, query) = rest
        .split_once('?')
        .map_or((rest, None), |(n, q)| (n, Some(q)));
    if name.is_empty() {
        return Err(bad());
    }
    let admin_url = match query {
        Some(query) => format!("{base}/postgres?{query}"),
        None => format!("{base}/postgres"),
    };
    let mut admin = PgConnection::establish(&admin_url)?;
    let quoted = name.replace('"', "\"\"");
    let created = admin.batch_execute(&format!("CREATE DATABASE \"{quoted}\""));
    match created {
        Ok(()) => {
            tracing::info!(database = name, "created the PostgreSQL database");
            Ok(())
        }
        Err(diesel::result::Error::DatabaseError(_, info))
            if info.message().contains("already exists") =>
        {
            Ok(())
        }
        Err(err) => Err(ConnectionError::CouldntSetupConfiguration(err)),
    }
}

/// Makes pooled connections with [`establish`].
#[derive(Debug)]
struct Manager {
    url: DatabaseUrl,
}

impl r2d2::ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = ConnectionError;

    fn connect(&self) -> Result<DbConnection, ConnectionError> {
        establish(&self.url)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), ConnectionError> {
        conn.ping()
            .map_err(ConnectionError::CouldntSetupConfiguration)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}

/// Reports pool errors through tracing, once each, instead of the `log`
/// crate's default handler.
#[derive(Debug)]
struct TracingErrorHandler;

impl r2d2::HandleError<ConnectionError> for TracingErrorHandler {
    fn handle_error(&self, error: ConnectionError) {
        tracing::warn!(error = %error, "failed to open a database connection");
    }
}

/// Per-connection SQLite settings: WAL (readers never wait on the writer),
/// foreign keys on, and a busy timeout so concurrent writers queue.
///
/// `synchronous = FULL` syncs the WAL at every commit. With `NORMAL` a
/// commit survives a crash of the process but may be rolled back by a
/// power loss or an operating-system crash, and an answered revocation must
/// never come undone. The cost is one fsync per admin write; issuing a
/// token writes nothing.
pub fn configure_sqlite(conn: &mut SqliteConnection) -> diesel::QueryResult<()> {
    conn.batch_execute(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
    )
}

/// A pool of connections to one database.
#[derive(Clone)]
pub struct Db {
    pool: Pool<Manager>,
    backend: Backend,
    waiting: Arc<AtomicI64>,
    work_timeout: Duration,
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Db")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Db {
    /// Opens a pool of at most `size` connections. A request waits at most
    /// `checkout_timeout` for a connection, and [`Db::run`] at most
    /// `work_timeout` for the whole of its work, before it is told the
    /// database is unavailable.
    ///
    /// Opens no connection itself; call [`establish`] first to fail fast
    /// with the driver's error.
    pub fn connect(
        url: &DatabaseUrl,
        size: u32,
        checkout_timeout: Duration,
        work_timeout: Duration,
    ) -> Self {
        let manager = Manager { url: url.clone() };
        let pool = Pool::builder()
            .max_size(size)
            .min_idle(Some(1))
            .connection_timeout(checkout_timeout)
            .error_handler(Box::new(TracingErrorHandler))
            .build_unchecked(manager);
        Self {
            pool,
            backend: url.backend(),
            waiting: Arc::default(),
            work_timeout,
        }
    }

    /// The backend this pool talks to.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Connections open and idle right now, for metrics.
    pub fn state(&self) -> r2d2::State {
        self.pool.state()
    }

    /// Callers waiting for a connection right now, for metrics.
    pub fn waiting(&self) -> i64 {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Runs `work` on a pooled connection on the current thread. For the
    /// CLI and start-up, never from an async worker.
    pub fn run_blocking<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E>,
        E: From<StorageError>,
    {
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let conn = self.pool.get();
        self.waiting.fetch_sub(1, Ordering::Relaxed);
        let mut conn = conn.map_err(StorageError::from)?;
        work(&mut conn)
    }

    /// Runs `work` on a pooled connection on the blocking thread pool, inside
    /// the caller's tracing span, so that no async worker waits on the
    /// database. The connection is returned before the future resolves.
    ///
    /// A database that stops answering (packets dropped, a stalled link)
    /// blocks the driver with no timeout of its own, in the pool's
    /// validity ping or in a query. So the caller stops waiting after the
    /// pool's work timeout and is told the database is unavailable; the
    /// blocked thread keeps its connection until the link answers or
    /// breaks, so at most the pool's size of them can pile up, and later
    /// requests meet the checkout timeout instead.
    pub async fn run<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StorageError> + Send + 'static,
    {
        let db = self.clone();
        let span = tracing::Span::current();
        let task = tokio::task::spawn_blocking(move || span.in_scope(|| db.run_blocking(work)))
            .instrument(tracing::Span::current());
        match tokio::time::timeout(self.work_timeout, task).await {
            Ok(Ok(result)) => result,
            Ok(Err(err)) => Err(StorageError::Unavailable(anyhow::anyhow!(
                "blocking task failed: {err}"
            ))
            .into()),
            Err(_) => Err(StorageError::Unavailable(anyhow::anyhow!(
                "the database did not answer within {:?}",
                self.work_timeout
            ))
            .into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use diesel::RunQueryDsl;
    use diesel::sql_types::Integer;

    use super::*;

    #[derive(diesel::QueryableByName)]
    struct Pragma {
        #[diesel(sql_type = Integer)]
        value: i32,
    }

    fn pragma(conn: &mut DbConnection, name: &str) -> i32 {
        let query = format!("SELECT {name} AS value FROM pragma_{name}");
        let rows: Vec<Pragma> = diesel::sql_query(query).load(conn).unwrap();
        rows.first().map(|row| row.value).unwrap()
    }

    #[test]
    fn sqlite_connections_sync_every_commit_and_enforce_foreign_keys() {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::new(dir.path().join("k.db").to_string_lossy());

        let mut conn = establish(&url).unwrap();

        // 2 is FULL: a commit is on disk before it is answered.
        assert_eq!(pragma(&mut conn, "synchronous"), 2);
        assert_eq!(pragma(&mut conn, "foreign_keys"), 1);
    }
}
