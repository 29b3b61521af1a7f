//! Embedded migrations, one tree per backend under `migrations/`; the two
//! trees share directory names so every change exists in both.

use diesel::connection::SimpleConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::storage::{DbConnection, StorageError};

const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Arbitrary key of the PostgreSQL advisory lock held while migrating, so
/// that instances starting together migrate one after the other.
const MIGRATION_LOCK: i64 = 0x6b65_796d_696e_7401;

/// Applies every pending migration and returns the versions applied.
pub fn run_pending(conn: &mut DbConnection) -> Result<Vec<String>, StorageError> {
    let failed =
        |err| StorageError::Unavailable(anyhow::anyhow!("failed to run migrations: {err}"));
    let applied = match conn {
        DbConnection::Sqlite(conn) => conn.run_pending_migrations(SQLITE).map_err(failed)?,
        DbConnection::Postgres(conn) => {
            conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))?;
            let result = conn.run_pending_migrations(POSTGRES).map(|versions| {
                versions
                    .into_iter()
                    .map(|version| version.to_string())
                    .collect::<Vec<_>>()
            });
            conn.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))?;
            return result.map_err(failed);
        }
    };
    Ok(applied
        .into_iter()
        .map(|version| version.to_string())
        .collect())
}
