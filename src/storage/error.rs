//! Storage errors. Functions return diesel's `QueryResult` when a query is
//! their only failure, and [`StorageError`] when a caller must tell apart a
//! missing row, a conflict and an unreachable database. The HTTP layer maps
//! these to responses; nothing here picks a status code.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// What went wrong talking to the database.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The row asked for does not exist.
    #[error("not found")]
    NotFound,
    /// A unique constraint refused the write.
    #[error("conflicts with an existing row")]
    Conflict,
    /// No connection could be had within the pool's timeout, or the
    /// connection broke.
    #[error("the database is unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// Any other query failure.
    #[error("database query failed")]
    Query(#[source] DieselError),
    /// A stored value could not be understood.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl From<DieselError> for StorageError {
    fn from(err: DieselError) -> Self {
        match err {
            DieselError::NotFound => StorageError::NotFound,
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                StorageError::Conflict
            }
            DieselError::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                _,
            ) => StorageError::Unavailable(err.into()),
            DieselError::BrokenTransactionManager => StorageError::Unavailable(err.into()),
            other => StorageError::Query(other),
        }
    }
}

impl From<diesel::ConnectionError> for StorageError {
    fn from(err: diesel::ConnectionError) -> Self {
        StorageError::Unavailable(err.into())
    }
}

impl From<r2d2::Error> for StorageError {
    fn from(err: r2d2::Error) -> Self {
        StorageError::Unavailable(err.into())
    }
}
