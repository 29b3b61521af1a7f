//! When each client was last used, to the minute, without a database write
//! per token request: the token path notes uses in memory and a background
//! task writes them out every [`FLUSH_INTERVAL`].

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use chrono::DateTime;

use crate::storage::clients;
use crate::storage::{DbConnection, StorageError};

/// How often noted uses are written to the database.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(30);

/// Uses noted since the last flush: client id → minute (Unix seconds).
#[derive(Debug, Default)]
pub struct UsageTracker {
    pending: Mutex<HashMap<String, i64>>,
}

impl UsageTracker {
    /// Notes a use of `client_id` at `unix_seconds`. Allocates only the
    /// first time a client is seen between two flushes.
    pub fn record(&self, client_id: &str, unix_seconds: i64) {
        let minute = unix_seconds - unix_seconds.rem_euclid(60);
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        match pending.get_mut(client_id) {
            Some(seen) => *seen = (*seen).max(minute),
            None => {
                pending.insert(client_id.to_owned(), minute);
            }
        }
    }

    /// Writes every noted use and forgets it. Uses that fail to write are
    /// lost: last-used is informational and a later use records it again.
    pub fn flush(&self, conn: &mut DbConnection) -> Result<usize, StorageError> {
        let pending =
            std::mem::take(&mut *self.pending.lock().unwrap_or_else(PoisonError::into_inner));
        let count = pending.len();
        for (client_id, minute) in pending {
            let Some(at) = DateTime::from_timestamp(minute, 0) else {
                continue;
            };
            clients::touch_last_used(conn, &client_id, at.naive_utc())?;
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uses_collapse_to_the_latest_minute() {
        let tracker = UsageTracker::default();

        tracker.record("kmc_a", 125);
        tracker.record("kmc_a", 61);
        tracker.record("kmc_b", 59);

        let pending = tracker.pending.lock().unwrap();
        assert_eq!(pending["kmc_a"], 120);
        assert_eq!(pending["kmc_b"], 0);
    }
}
