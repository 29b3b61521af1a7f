//! Generating, rotating and retiring signing keys.
//!
//! Lifecycle of a key: `next` (published, not signing) → `current`
//! (signing) → `previous` (published until every token it signed has
//! expired and every JWKS cache has caught up) → `retired` (unpublished,
//! private part destroyed). A rotation promotes the next key, which
//! verifiers have had in their cached JWKS since it was generated, so no
//! verification fails when signing switches.
//!
//! Every state change is a conditional update in one transaction, and the
//! schema allows one current and one next key, so instances racing to
//! rotate cannot both succeed; on PostgreSQL a scheduled rotation also
//! takes an advisory lock so the losers skip the work.

use std::time::Duration;

use chrono::{NaiveDateTime, TimeDelta};
use diesel::Connection;
use diesel::connection::SimpleConnection;
use serde::Serialize;

use crate::crypto::master_key::Purpose;
use crate::crypto::{MasterKey, SigningAlgorithm, SigningKey};
use crate::keyring::KeyRingError;
use crate::storage::signing_keys::{self, NewSigningKey, status};
use crate::storage::{self, DbConnection, StorageError};

/// Arbitrary key of the advisory lock held by a scheduled rotation.
const ROTATION_LOCK: i64 = 0x6b65_796d_696e_7402;

/// How keys are made and how long they live.
#[derive(Debug, Clone)]
pub struct KeyPolicy {
    /// Algorithm of newly generated keys.
    pub algorithm: SigningAlgorithm,
    /// Age at which the current key is rotated; `None` for never.
    pub rotate_after: Option<Duration>,
    /// How long a replaced key stays published: the longest token lifetime
    /// plus the JWKS cache lifetime plus clock leeway.
    pub overlap: Duration,
    /// How long a next key must have been published before it may sign:
    /// the JWKS cache lifetime, so every verifier has seen it.
    pub publish_ahead: Duration,
}

/// What a rotation did.
#[derive(Debug, Clone, Serialize)]
pub struct Rotation {
    /// The key that signs from now on.
    pub kid: String,
    /// Its algorithm.
    pub alg: String,
    /// The key that stopped signing, if this call rotated.
    #[serde(skip)]
    pub replaced: Option<String>,
}

struct GeneratedKey {
    kid: String,
    alg: &'static str,
    public_jwk: String,
    sealed: String,
    created_at: NaiveDateTime,
}

impl GeneratedKey {
    fn new(master: &MasterKey, algorithm: SigningAlgorithm) -> Result<Self, KeyRingError> {
        let (key, der) =
            SigningKey::generate(algorithm).map_err(|source| KeyRingError::BadKey {
                kid: "(new)".into(),
                source,
            })?;
        let kid = key.kid().to_owned();
        let public_jwk = serde_json::to_string(key.public_jwk())
            .map_err(|err| StorageError::Corrupt(format!("public key {kid}: {err}")))?;
        Ok(Self {
            sealed: master.seal(Purpose::SigningKeys, &kid, der.expose_secret()),
            public_jwk,
            kid,
            alg: algorithm.as_str(),
            created_at: storage::now(),
        })
    }

    fn insert(&self, conn: &mut DbConnection, state: &str) -> diesel::QueryResult<()> {
        let activated_at = (state == status::CURRENT).then_some(self.created_at);
        signing_keys::insert(
            conn,
            &NewSigningKey {
                kid: &self.kid,
                alg: self.alg,
                status: state,
                public_jwk: &self.public_jwk,
                private_key: Some(&self.sealed),
                created_at: self.created_at,
                activated_at,
            },
        )
    }
}

/// Makes sure a current and a next key exist, and that the next key has
/// the configured algorithm (so that changing `KEYMINT_SIGNING_ALG` takes
/// effect at the following rotation, with the new key published first).
pub fn ensure_keys(
    conn: &mut DbConnection,
    master: &MasterKey,
    policy: &KeyPolicy,
) -> Result<(), KeyRingError> {
    let current = signing_keys::find_by_status(conn, status::CURRENT)?;
    let next = signing_keys::find_by_status(conn, status::NEXT)?;
    let stale_next = next
        .as_ref()
        .filter(|row| row.alg != policy.algorithm.as_str());
    if current.is_some() && next.is_some() && stale_next.is_none() {
        return Ok(());
    }
    let new_current = current
        .is_none()
        .then(|| GeneratedKey::new(master, policy.algorithm))
        .transpose()?;
    let new_next = (next.is_none() || stale_next.is_some())
        .then(|| GeneratedKey::new(master, policy.algorithm))
        .transpose()?;

    let written = conn.transaction(|conn| {
        if let Some(stale) = stale_next {
            signing_keys::retire(conn, &stale.kid, status::NEXT)?;
        }
        if let Some(key) = &new_current {
            key.insert(conn, status::CURRENT)?;
        }
        if let Some(key) = &new_next {
            key.insert(conn, status::NEXT)?;
        }
        Ok::<_, diesel::result::Error>(())
    });
    match written.map_err(StorageError::from) {
        Ok(()) => {
            for (key, state) in [(&new_current, status::CURRENT), (&new_next, status::NEXT)] {
                if let Some(key) = key {
                    tracing::info!(key.kid = %key.kid, key.alg = key.alg, key.status = state,
                        "generated a signing key");
                }
            }
            Ok(())
        }
        // Another instance wrote keys at the same moment; theirs stand.
        Err(StorageError::Conflict) => Ok(()),
        Err(err) => Err(err.into()),
    }
}

/// Rotates: the next key becomes current, the current one previous, and a
/// new next key is generated. When `only_if_due`, does nothing unless the
/// current key has reached the policy's age, and on PostgreSQL skips if
/// another instance is rotating. Returns the key that signs afterwards.
pub fn rotate(
    conn: &mut DbConnection,
    master: &MasterKey,
    policy: &KeyPolicy,
    only_if_due: bool,
) -> Result<Rotation, KeyRingError> {
    let current =
        signing_keys::find_by_status(conn, status::CURRENT)?.ok_or(KeyRingError::NoCurrentKey)?;
    let unchanged = Rotation {
        kid: current.kid.clone(),
        alg: current.alg.clone(),
        replaced: None,
    };
    if only_if_due && !is_due(current.activated_at.unwrap_or(current.created_at), policy) {
        return Ok(unchanged);
    }
    let Some(next) = signing_keys::find_by_status(conn, status::NEXT)? else {
        ensure_keys(conn, master, policy)?;
        return Ok(unchanged);
    };
    let now = storage::now();
    let ahead = TimeDelta::from_std(policy.publish_ahead).unwrap_or(TimeDelta::minutes(5));
    if next.created_at + ahead > now {
        if only_if_due {
            // Either this next key is too young to sign, or another
            // instance rotated between the two reads above and this is its
            // new next key; either way, report the key that signs now.
            return signing_now(conn);
        }
        tracing::warn!(key.kid = %next.kid,
            "the next key was published less than a JWKS cache lifetime ago; verifiers that \
             cache the JWKS and do not refetch on an unknown kid may refuse its tokens until \
             their cache expires");
    }
    let fresh = GeneratedKey::new(master, policy.algorithm)?;
    let overlap = TimeDelta::from_std(policy.overlap).unwrap_or(TimeDelta::days(2));

    let rotated = conn.transaction(|conn| {
        if only_if_due && !try_rotation_lock(conn)? {
            return Ok(false);
        }
        let demoted = signing_keys::demote_current(conn, &current.kid, now + overlap)?;
        let promoted = demoted && signing_keys::promote_next(conn, &next.kid, now)?;
        if !promoted {
            // Another rotation got there first; undo ours.
            return Err(diesel::result::Error::RollbackTransaction);
        }
        fresh.insert(conn, status::NEXT)?;
        Ok(true)
    });
    match rotated {
        Ok(true) => {
            tracing::info!(key.kid = %next.kid, key.previous = %current.kid, key.next = %fresh.kid,
                scheduled = only_if_due, "rotated the signing key");
            Ok(Rotation {
                kid: next.kid,
                alg: next.alg,
                replaced: Some(current.kid),
            })
        }
        Ok(false) | Err(diesel::result::Error::RollbackTransaction) => signing_now(conn),
        Err(err) => Err(err.into()),
    }
}

/// The key that signs now, as the result of a rotation that did not rotate.
fn signing_now(conn: &mut DbConnection) -> Result<Rotation, KeyRingError> {
    let current =
        signing_keys::find_by_status(conn, status::CURRENT)?.ok_or(KeyRingError::NoCurrentKey)?;
    Ok(Rotation {
        kid: current.kid,
        alg: current.alg,
        replaced: None,
    })
}

fn is_due(active_since: NaiveDateTime, policy: &KeyPolicy) -> bool {
    let Some(age) = policy
        .rotate_after
        .and_then(|age| TimeDelta::from_std(age).ok())
    else {
        return false;
    };
    active_since + age <= storage::now()
}

/// On PostgreSQL, takes the rotation lock for this transaction if free.
fn try_rotation_lock(conn: &mut DbConnection) -> diesel::QueryResult<bool> {
    use diesel::RunQueryDsl;
    use diesel::sql_types::Bool;

    #[derive(diesel::QueryableByName)]
    struct Locked {
        #[diesel(sql_type = Bool)]
        locked: bool,
    }
    match conn {
        DbConnection::Postgres(pg) => {
            let query = format!("SELECT pg_try_advisory_xact_lock({ROTATION_LOCK}) AS locked");
            let row: Locked = diesel::sql_query(query).get_result(pg)?;
            Ok(row.locked)
        }
        // SQLite has one writer at a time; the conditional updates suffice.
        DbConnection::Sqlite(sqlite) => sqlite.batch_execute("SELECT 1").map(|()| true),
    }
}

/// Retires previous keys whose tokens have all expired; returns their ids.
pub fn retire_due(conn: &mut DbConnection) -> Result<Vec<String>, KeyRingError> {
    let retired = signing_keys::retire_due(conn, storage::now())?;
    for kid in &retired {
        tracing::info!(key.kid = %kid, "retired a signing key and destroyed its private part");
    }
    Ok(retired)
}
