//! The signing-key ring: which key signs, which keys are published, loaded
//! from the database and parsed once.
//!
//! Private keys live in the `signing_keys` table sealed under the master key
//! (so every instance on one database signs with the same keys); the master
//! key lives in `KEYMINT_KEYS_DIR`. The ring always holds the current key and
//! publishes the next one ahead of its use.

use std::sync::Arc;

use arc_swap::ArcSwap;
use diesel::Connection;

use crate::crypto::jwk::PublicJwk;
use crate::crypto::master_key::Purpose;
use crate::crypto::signing::{KeyError, Pkcs8Der};
use crate::crypto::{MasterKey, SigningAlgorithm, SigningKey};
use crate::storage::signing_keys::{self, NewSigningKey, SigningKeyRow, status};
use crate::storage::{self, DbConnection, StorageError};
use crate::verify::KeyCache;

/// Why the key ring could not be loaded.
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

/// An immutable view of the keys: the one that signs and what the JWKS
/// publishes, pre-rendered.
#[derive(Debug)]
pub struct KeySet {
    current: Arc<SigningKey>,
    published: Vec<PublicJwk>,
    jwks_json: Vec<u8>,
    verification: KeyCache,
}

impl KeySet {
    fn new(current: SigningKey, published: Vec<PublicJwk>) -> Self {
        let jwks_json = serde_json::to_vec(&serde_json::json!({ "keys": &published }))
            .unwrap_or_else(|_| br#"{"keys":[]}"#.to_vec());
        let verification = KeyCache::from_json(&jwks_json).unwrap_or_default();
        Self {
            current: Arc::new(current),
            published,
            jwks_json,
            verification,
        }
    }

    /// The key that signs new tokens.
    pub fn current(&self) -> &SigningKey {
        &self.current
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
    keys: ArcSwap<KeySet>,
}

impl KeyRing {
    /// Makes sure a current and a next key exist (generating them with
    /// `algorithm` if not), then loads the ring.
    pub fn open(
        conn: &mut DbConnection,
        master: Arc<MasterKey>,
        algorithm: SigningAlgorithm,
    ) -> Result<Self, KeyRingError> {
        ensure_keys(conn, &master, algorithm)?;
        let keys = load(conn, &master)?;
        Ok(Self {
            master,
            keys: ArcSwap::from_pointee(keys),
        })
    }

    /// The keys as they are now; cheap, never blocks.
    pub fn snapshot(&self) -> Arc<KeySet> {
        self.keys.load_full()
    }

    /// Reloads the keys from the database and swaps them in.
    pub fn reload(&self, conn: &mut DbConnection) -> Result<(), KeyRingError> {
        let keys = load(conn, &self.master)?;
        self.keys.store(Arc::new(keys));
        Ok(())
    }
}

fn ensure_keys(
    conn: &mut DbConnection,
    master: &MasterKey,
    algorithm: SigningAlgorithm,
) -> Result<(), KeyRingError> {
    let rows = signing_keys::list_published(conn).map_err(StorageError::from)?;
    let has = |wanted: &str| rows.iter().any(|row| row.status == wanted);
    let missing: Vec<&str> = [status::CURRENT, status::NEXT]
        .into_iter()
        .filter(|wanted| !has(wanted))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let generated = missing
        .iter()
        .map(|wanted| generate_row(master, algorithm, wanted))
        .collect::<Result<Vec<_>, _>>()?;
    let inserted = conn.transaction(|conn| {
        generated
            .iter()
            .try_for_each(|row| signing_keys::insert(conn, &row.as_new()))
    });
    match inserted.map_err(StorageError::from) {
        Ok(()) => {
            for row in &generated {
                tracing::info!(key.kid = %row.kid, key.alg = %row.alg, key.status = %row.status,
                    "generated a signing key");
            }
            Ok(())
        }
        // Another instance generated them at the same moment; use its keys.
        Err(StorageError::Conflict) => Ok(()),
        Err(err) => Err(err.into()),
    }
}

struct GeneratedKey {
    kid: String,
    alg: &'static str,
    status: &'static str,
    public_jwk: String,
    sealed: String,
    created_at: chrono::NaiveDateTime,
}

impl GeneratedKey {
    fn as_new(&self) -> NewSigningKey<'_> {
        let activated_at = (self.status == status::CURRENT).then_some(self.created_at);
        NewSigningKey {
            kid: &self.kid,
            alg: self.alg,
            status: self.status,
            public_jwk: &self.public_jwk,
            private_key: Some(&self.sealed),
            created_at: self.created_at,
            activated_at,
        }
    }
}

fn generate_row(
    master: &MasterKey,
    algorithm: SigningAlgorithm,
    wanted: &str,
) -> Result<GeneratedKey, KeyRingError> {
    let (key, der) = SigningKey::generate(algorithm).map_err(|source| KeyRingError::BadKey {
        kid: "(new)".into(),
        source,
    })?;
    let kid = key.kid().to_owned();
    let status = if wanted == status::CURRENT {
        status::CURRENT
    } else {
        status::NEXT
    };
    Ok(GeneratedKey {
        sealed: master.seal(Purpose::SigningKeys, &kid, der.expose_secret()),
        public_jwk: serde_json::to_string(key.public_jwk()).unwrap_or_default(),
        kid,
        alg: algorithm.as_str(),
        status,
        created_at: storage::now(),
    })
}

fn load(conn: &mut DbConnection, master: &MasterKey) -> Result<KeySet, KeyRingError> {
    let rows = signing_keys::list_published(conn).map_err(StorageError::from)?;
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
    Ok(KeySet::new(current, published))
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
