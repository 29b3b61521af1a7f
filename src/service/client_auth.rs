//! Client authentication for the token and introspection endpoints: load a
//! client's record and check a presented secret in constant time.
//! [`crate::service::directory`] keeps records in memory in front of
//! [`load`].
//!
//! An unknown client costs the same work as a known one with a wrong
//! secret (one indexed lookup, one SHA-256, one constant-time compare), and
//! both end in the same outcome, so neither the answer nor its timing tells
//! an attacker which client ids exist.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::crypto::{ClientId, ClientSecret, SecretHash};
use crate::domain::ScopeSet;
use crate::storage::clients;
use crate::storage::{DbConnection, StorageError};

/// A client that proved its identity.
#[derive(Debug, Clone)]
pub struct AuthenticatedClient {
    /// The OAuth `client_id`.
    pub client_id: ClientId,
    /// The client's account.
    pub account_id: String,
    /// The scopes it holds.
    pub scopes: ScopeSet,
}

/// Why authentication failed. Callers answer every variant but `Storage`
/// the same way (`invalid_client`); the variants exist for the logs.
#[derive(Debug, thiserror::Error)]
pub enum ClientAuthError {
    /// No client has this id.
    #[error("unknown client")]
    UnknownClient,
    /// The secret does not match.
    #[error("wrong secret")]
    WrongSecret,
    /// The client was revoked.
    #[error("client revoked")]
    Revoked,
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl ClientAuthError {
    /// A short label for logs and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            ClientAuthError::UnknownClient => "unknown_client",
            ClientAuthError::WrongSecret => "wrong_secret",
            ClientAuthError::Revoked => "revoked",
            ClientAuthError::Storage(_) => "storage",
        }
    }
}

/// What authentication needs of a client, as loaded (and cached).
#[derive(Debug, Clone)]
pub struct ClientRecord {
    secret_hash: SecretHash,
    account_id: String,
    scopes: ScopeSet,
    revoked: bool,
}

/// Loads the record of `client_id`; `None` when no such client exists.
pub fn load(
    conn: &mut DbConnection,
    client_id: &ClientId,
) -> Result<Option<ClientRecord>, StorageError> {
    let Some(row) = clients::find_by_client_id(conn, client_id.as_str())? else {
        return Ok(None);
    };
    let corrupt = |what: &str| StorageError::Corrupt(format!("{what} of client {}", row.id));
    Ok(Some(ClientRecord {
        secret_hash: SecretHash::from_stored(&row.secret_hash)
            .ok_or_else(|| corrupt("secret hash"))?,
        scopes: ScopeSet::from_stored(&row.scopes).ok_or_else(|| corrupt("scopes"))?,
        revoked: row.revoked_at.is_some(),
        account_id: row.account_id,
    }))
}

impl ClientRecord {
    /// Whether the client is revoked.
    pub fn revoked(&self) -> bool {
        self.revoked
    }
}

/// Checks `secret` against the record of `client_id` (`None` when the
/// client does not exist). The hash comparison runs in every case.
pub fn check(
    record: Option<&ClientRecord>,
    client_id: &ClientId,
    secret: &ClientSecret,
) -> Result<AuthenticatedClient, ClientAuthError> {
    let unmatchable = SecretHash::unmatchable();
    let stored = record.map_or(&unmatchable, |record| &record.secret_hash);
    let matches = stored.matches(secret);
    let Some(record) = record else {
        return Err(ClientAuthError::UnknownClient);
    };
    if !matches {
        return Err(ClientAuthError::WrongSecret);
    }
    if record.revoked {
        return Err(ClientAuthError::Revoked);
    }
    Ok(AuthenticatedClient {
        client_id: client_id.clone(),
        account_id: record.account_id.clone(),
        scopes: record.scopes,
    })
}
