//! The signing-key ring: which key signs and which keys are published,
//! loaded from the database and parsed once, and swapped without locking
//! the token path when they change.
//!
//! Private keys live in the `signing_keys` table sealed under the master key,
//! so every instance on one database signs with the same keys; the master
//! key lives in `KEYMINT_KEYS_DIR`. [`lifecycle`] generates, rotates and
//! retires keys; each instance notices a change made elsewhere by polling
//! the (tiny) table every [`RELOAD_INTERVAL`].

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use chrono::NaiveDateTime;

use crate::crypto::jwk::PublicJwk;
use crate::crypto::master_key::Purpose;
use crate::crypto::signing::{KeyError, Pkcs8Der};
use crate::crypto::{MasterKey, SigningAlgorithm, SigningKey};
use crate::storage::signing_keys::{self, SigningKeyRow, status};
use crate::storage::{DbConnection, StorageError};
use crate::verify::KeyCache;

pub mod lifecycle;

pub use lifecycle::{KeyPolicy, Rotation};

/// How often each instance checks the database for key changes made by
/// another instance or the CLI.
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(2);

/// Why the key ring could not be loaded or changed.
#[derive(Debug, thiserror::Error)]
pub enum KeyRingError {
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A stored key could not be opened with this master key.
    #[error(
        "the signing key {kid} in the database cannot be decrypted with the master key in \
         KEYMINT_KEYS_DIR; use the keys directory this database was created with"
    )]
    WrongMasterKey {
        /// The key that failed.
        kid: String,
    },
    /// A stored key is unusable.
    #[error("the signing key {kid} is unusable: {source}")]
    BadKey {
        /// The key that failed.
        kid: String,
        /// Why.
        source: KeyError,
    },
    /// The database holds no key that signs.
    #[error("the database holds no current signing key")]
    NoCurrentKey,
}

impl From<diesel::result::Error> for KeyRingError {
    fn from(err: diesel::result::Error) -> Self {
        KeyRingError::Storage(err.into())
    }
}

/// An immutable view of the keys: the one that signs and what the JWKS
/// publishes, pre-rendered.
#[derive(Debug)]
pub struct KeySet {
    current: Arc<SigningKey>,
    current_since: NaiveDateTime,
    published: Vec<PublicJwk>,
    jwks_json: Vec<u8>,
    verification: KeyCache,
    /// `(kid, status)` of every published key, to notice changes.
    fingerprint: Vec<(String, String)>,
}

impl KeySet {
    /// The key that signs new tokens.
    pub fn current(&self) -> &SigningKey {
        &self.current
    }

    /// When the current key started signing.
    pub fn current_since(&self) -> NaiveDateTime {
        self.current_since
    }

    /// Every public key a valid token may be signed with, current first.
    pub fn published(&self) -> &[PublicJwk] {
        &self.published
    }

    /// The JWKS document (RFC 7517 §5), rendered once.
    pub fn jwks_json(&self) -> &[u8] {
        &self.jwks_json
    }

    /// The published keys parsed for verifying tokens.
    pub fn verification_keys(&self) -> &KeyCache {
        &self.verification
    }
}

/// The live key set, swappable without locking readers.
#[derive(Debug)]
pub struct KeyRing {
    master: Arc<MasterKey>,
    policy: KeyPolicy,
    keys: ArcSwap<KeySet>,
}

impl KeyRing {
    /// Makes sure a current and a next key of the policy's algorithm exist,
    /// then loads the ring.
    pub fn open(
        conn: &mut DbConnection,
        master: Arc<MasterKey>,
        policy: KeyPolicy,
    ) -> Result<Self, KeyRingError> {
        lifecycle::ensure_keys(conn, &master, &policy)?;
        let keys = load(conn, &master)?;
        Ok(Self {
            master,
            policy,
            keys: ArcSwap::from_pointee(keys),
        })
    }

    /// The keys as they are now; cheap, never blocks.
    pub fn snapshot(&self) -> Arc<KeySet> {
        self.keys.load_full()
    }

    /// Rotates now (the next key starts signing) and reloads.
    pub fn rotate(&self, conn: &mut DbConnection) -> Result<Rotation, KeyRingError> {
        let rotation = lifecycle::rotate(conn, &self.master, &self.policy, false)?;
        self.reload(conn)?;
        Ok(rotation)
    }

    /// The periodic duty of every instance: rotate when the current key is
    /// due (one instance wins), retire keys whose tokens have all expired,
    /// and pick up changes made elsewhere. Returns whether the keys changed.
    pub fn maintain(&self, conn: &mut DbConnection) -> Result<bool, KeyRingError> {
        lifecycle::rotate(conn, &self.master, &self.policy, true)?;
        lifecycle::retire_due(conn)?;
        self.reload_if_changed(conn)
    }

    /// Reloads when the published keys differ from the loaded ones.
    pub fn reload_if_changed(&self, conn: &mut DbConnection) -> Result<bool, KeyRingError> {
        let rows = signing_keys::list_published(conn)?;
        if fingerprint(&rows) == self.keys.load().fingerprint {
            return Ok(false);
        }
        self.keys.store(Arc::new(build(&rows, &self.master)?));
        let kid = self.keys.load().current.kid().to_owned();
        tracing::info!(key.kid = %kid, "signing keys reloaded");
        Ok(true)
    }

    fn reload(&self, conn: &mut DbConnection) -> Result<(), KeyRingError> {
        self.keys.store(Arc::new(load(conn, &self.master)?));
        Ok(())
    }
}

fn fingerprint(rows: &[SigningKeyRow]) -> Vec<(String, String)> {
    rows.iter()
        .map(|row| (row.kid.clone(), row.status.clone()))
        .collect()
}

fn load(conn: &mut DbConnection, master: &MasterKey) -> Result<KeySet, KeyRingError> {
    build(&signing_keys::list_published(conn)?, master)
}

fn build(rows: &[SigningKeyRow], master: &MasterKey) -> Result<KeySet, KeyRingError> {
    let current_row = rows
        .iter()
        .find(|row| row.status == status::CURRENT)
        .ok_or(KeyRingError::NoCurrentKey)?;
    let current = open_key(master, current_row)?;
    let mut published = vec![current.public_jwk().clone()];
    for row in rows.iter().filter(|row| row.status != status::CURRENT) {
        let jwk: PublicJwk = serde_json::from_str(&row.public_jwk)
            .map_err(|err| StorageError::Corrupt(format!("public key {}: {err}", row.kid)))?;
        published.push(jwk);
    }
    let jwks_json = serde_json::to_vec(&serde_json::json!({ "keys": &published }))
        .map_err(|err| StorageError::Corrupt(format!("JWKS: {err}")))?;
    let verification = KeyCache::from_json(&jwks_json)
        .map_err(|err| StorageError::Corrupt(format!("JWKS: {err}")))?;
    Ok(KeySet {
        current: Arc::new(current),
        current_since: current_row.activated_at.unwrap_or(current_row.created_at),
        published,
        jwks_json,
        verification,
        fingerprint: fingerprint(rows),
    })
}

fn open_key(master: &MasterKey, row: &SigningKeyRow) -> Result<SigningKey, KeyRingError> {
    let kid = row.kid.clone();
    let algorithm: SigningAlgorithm = row
        .alg
        .parse()
        .map_err(|err| StorageError::Corrupt(format!("signing key {kid}: {err}")))?;
    let sealed = row
        .private_key
        .as_deref()
        .ok_or_else(|| StorageError::Corrupt(format!("signing key {kid} has no private part")))?;
    let der = master
        .open(Purpose::SigningKeys, &kid, sealed)
        .map_err(|_| KeyRingError::WrongMasterKey { kid: kid.clone() })?;
    SigningKey::from_pkcs8(algorithm, &Pkcs8Der::new(der))
        .map_err(|source| KeyRingError::BadKey { kid, source })
}
