//! Client authentication for the token endpoint: look the client up and
//! check its secret in constant time.
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

/// Checks `secret` against the stored hash of `client_id`.
pub fn authenticate(
    conn: &mut DbConnection,
    client_id: &ClientId,
    secret: &ClientSecret,
) -> Result<AuthenticatedClient, ClientAuthError> {
    let row = clients::find_by_client_id(conn, client_id.as_str()).map_err(StorageError::from)?;
    let stored = row
        .as_ref()
        .and_then(|row| SecretHash::from_stored(&row.secret_hash));
    let matches = stored
        .unwrap_or_else(SecretHash::unmatchable)
        .matches(secret);
    let Some(row) = row else {
        return Err(ClientAuthError::UnknownClient);
    };
    if !matches {
        return Err(ClientAuthError::WrongSecret);
    }
    if row.revoked_at.is_some() {
        return Err(ClientAuthError::Revoked);
    }
    let scopes = ScopeSet::from_stored(&row.scopes)
        .ok_or_else(|| StorageError::Corrupt(format!("scopes of client {}", row.id)))?;
    Ok(AuthenticatedClient {
        client_id: client_id.clone(),
        account_id: row.account_id,
        scopes,
    })
}
