//! An in-memory directory of client records in front of the database, so
//! that the token path needs no database round trip for a client it has
//! seen in the last minute.
//!
//! Correctness rests on invalidation:
//! - a revocation through this instance's admin API evicts the client at
//!   once;
//! - every instance polls the database every [`POLL_INTERVAL`] for clients
//!   revoked in the last [`REVOCATION_WINDOW`] (by the CLI or another
//!   instance) and evicts them, so a revocation anywhere is honoured
//!   everywhere within a second; if a poll fails, the whole directory is
//!   dropped at the next success, so nothing missed survives an outage;
//! - every record expires after [`RECORD_TTL`] whatever happens.
//!
//! Unknown client ids are remembered too (for the same time, in a separate
//! bounded map), so that an unknown id and a known one cost the same work
//! once either has been looked up. The same poll forgets the unknown ids
//! of clients created in the window, so a client created elsewhere works
//! here within the same bound.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use chrono::TimeDelta;

use crate::crypto::{ClientId, ClientSecret};
use crate::service::client_auth::{self, AuthenticatedClient, ClientAuthError, ClientRecord};
use crate::storage::{self, Db, DbConnection, StorageError, clients};

/// The documented bound: a client revoked outside this instance (by the
/// CLI or another instance) is refused here within this long.
pub const REVOCATION_BOUND: Duration = Duration::from_secs(1);
/// How often each instance looks for revocations made elsewhere: well
/// inside [`REVOCATION_BOUND`], leaving room for a slow poll.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// How far back each poll looks; covers commit delays and clock skew
/// between instances of up to several seconds.
pub const REVOCATION_WINDOW: Duration = Duration::from_secs(10);
/// The longest a record is trusted without a database read.
pub const RECORD_TTL: Duration = Duration::from_secs(60);
/// Bound on remembered clients (and, separately, unknown ids).
const MAX_ENTRIES: usize = 200_000;

#[derive(Debug)]
struct Entry {
    record: Option<Arc<ClientRecord>>,
    loaded: Instant,
}

/// The directory; shared by every worker.
#[derive(Debug, Default)]
pub struct ClientDirectory {
    known: RwLock<HashMap<String, Entry>>,
    unknown: RwLock<HashMap<String, Instant>>,
    poll_failed: std::sync::atomic::AtomicBool,
}

impl ClientDirectory {
    /// Authenticates a client, from memory when its record is fresh.
    pub async fn authenticate(
        &self,
        db: &Db,
        client_id: ClientId,
        secret: ClientSecret,
    ) -> Result<AuthenticatedClient, ClientAuthError> {
        if let Some(record) = self.cached(client_id.as_str()) {
            return client_auth::check(record.as_deref(), &client_id, &secret);
        }
        let lookup = client_id.clone();
        let record = db.run(move |conn| client_auth::load(conn, &lookup)).await?;
        let record = record.map(Arc::new);
        self.remember(client_id.as_str(), record.clone());
        client_auth::check(record.as_deref(), &client_id, &secret)
    }

    /// `Some(record)` when fresh in memory (`Some(None)` for a known-unknown id).
    fn cached(&self, client_id: &str) -> Option<Option<Arc<ClientRecord>>> {
        let now = Instant::now();
        let known = self.known.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = known.get(client_id) {
            return (now.duration_since(entry.loaded) < RECORD_TTL).then(|| entry.record.clone());
        }
        drop(known);
        let unknown = self.unknown.read().unwrap_or_else(PoisonError::into_inner);
        let seen = unknown.get(client_id)?;
        (now.duration_since(*seen) < RECORD_TTL).then_some(None)
    }

    fn remember(&self, client_id: &str, record: Option<Arc<ClientRecord>>) {
        let now = Instant::now();
        match record {
            Some(record) => {
                let mut known = self.known.write().unwrap_or_else(PoisonError::into_inner);
                if known.len() >= MAX_ENTRIES {
                    known.retain(|_, entry| now.duration_since(entry.loaded) < RECORD_TTL);
                    if known.len() >= MAX_ENTRIES {
                        known.clear();
                    }
                }
                known.insert(
                    client_id.to_owned(),
                    Entry {
                        record: Some(record),
                        loaded: now,
                    },
                );
            }
            None => {
                let mut unknown = self.unknown.write().unwrap_or_else(PoisonError::into_inner);
                if unknown.len() >= MAX_ENTRIES {
                    unknown.clear();
                }
                unknown.insert(client_id.to_owned(), now);
            }
        }
    }

    /// Forgets a client, so the next request reads the database.
    pub fn evict(&self, client_id: &str) {
        self.known
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(client_id);
    }

    /// Forgets everything.
    pub fn clear(&self) {
        self.known
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.unknown
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// One poll: evicts clients revoked within [`REVOCATION_WINDOW`], and
    /// everything if the previous poll failed. Also forgets the unknown ids
    /// of clients created in that window, which exist now.
    pub fn poll(&self, conn: &mut DbConnection) -> Result<usize, StorageError> {
        let since = storage::now()
            - TimeDelta::from_std(REVOCATION_WINDOW).unwrap_or(TimeDelta::seconds(10));
        let changed = clients::revoked_since(conn, since)
            .and_then(|revoked| Ok((revoked, clients::created_since(conn, since)?)));
        let failed = &self.poll_failed;
        let (revoked, created) = match changed {
            Ok(changed) => changed,
            Err(err) => {
                failed.store(true, std::sync::atomic::Ordering::Relaxed);
                return Err(err.into());
            }
        };
        if failed.swap(false, std::sync::atomic::Ordering::Relaxed) {
            self.clear();
            return Ok(revoked.len());
        }
        for client_id in &revoked {
            self.evict(client_id);
        }
        if !created.is_empty() {
            let mut unknown = self.unknown.write().unwrap_or_else(PoisonError::into_inner);
            for client_id in &created {
                unknown.remove(client_id);
            }
        }
        Ok(revoked.len())
    }
}
