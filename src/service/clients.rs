//! Creating, reading and revoking clients (API keys).

use serde::Serialize;

use crate::crypto::{ClientId, ClientSecret};
use crate::domain::{ClientRecordId, ScopeError, ScopeSet};
use crate::service::audit::{self, Actor, Event};
use crate::service::rfc3339;
use crate::storage::clients::{self, ClientRow, NewClient};
use crate::storage::{self, DbConnection, StorageError, accounts};

/// Longest accepted client or account name, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// A client as listed: never its secret.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = Client)]
pub struct ClientView {
    /// Opaque record id, for `/admin/v1/clients/{id}`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The OAuth `client_id`.
    pub client_id: String,
    /// Granted scopes.
    pub scopes: ScopeSet,
    /// `active` or `revoked`.
    #[schema(schema_with = client_status)]
    pub status: &'static str,
    /// Creation time, RFC 3339.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// User id of the creator, or `cli`.
    pub created_by: String,
    /// Email of the creator when a user of the account created it, else
    /// `null` (created with the CLI).
    #[schema(required = true)]
    pub created_by_email: Option<String>,
    /// Revocation time, RFC 3339, when revoked.
    #[schema(format = DateTime, required = true)]
    pub revoked_at: Option<String>,
    /// Last successful token request, to the minute.
    #[schema(format = DateTime, required = true)]
    pub last_used_at: Option<String>,
}

/// The `status` member: the two values `ClientView::from_row` writes.
fn client_status() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(["active", "revoked"]))
        .description(Some("`active`, or `revoked` once revoked."))
        .build()
}

impl ClientView {
    /// The view of a stored row; `None` if its scopes are unreadable.
    pub fn from_row(row: ClientRow) -> Result<Self, StorageError> {
        let scopes = ScopeSet::from_stored(&row.scopes)
            .ok_or_else(|| StorageError::Corrupt(format!("scopes of client {}", row.id)))?;
        Ok(Self {
            id: row.id,
            name: row.name,
            client_id: row.client_id,
            scopes,
            status: if row.revoked_at.is_some() {
                "revoked"
            } else {
                "active"
            },
            created_at: rfc3339(row.created_at),
            created_by: row.created_by,
            created_by_email: None,
            revoked_at: row.revoked_at.map(rfc3339),
            last_used_at: row.last_used_at.map(rfc3339),
        })
    }
}

impl ClientView {
    /// The view of a stored row, naming its creator by email from
    /// `emails` (`(user id, email)` pairs of the account).
    pub fn with_creator(row: ClientRow, emails: &[(String, String)]) -> Result<Self, StorageError> {
        let mut view = Self::from_row(row)?;
        view.created_by_email = emails
            .iter()
            .find(|(id, _)| *id == view.created_by)
            .map(|(_, email)| email.clone());
        Ok(view)
    }
}

/// A client just created: the one time its secret is shown.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedClient {
    /// Opaque record id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The OAuth `client_id`.
    pub client_id: String,
    /// The secret in clear; stored only as a hash.
    #[serde(serialize_with = "expose")]
    #[schema(value_type = String, pattern = "^kms_[A-Za-z0-9_-]{49}$")]
    pub client_secret: ClientSecret,
    /// Granted scopes.
    pub scopes: ScopeSet,
    /// Always `active`.
    #[schema(value_type = String, example = "active")]
    pub status: &'static str,
    /// Creation time, RFC 3339.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// User id of the creator, or `cli`.
    pub created_by: String,
}

fn expose<S: serde::Serializer>(secret: &ClientSecret, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(secret.expose_secret())
}

/// What is asked for when creating a client.
#[derive(Debug)]
pub struct NewClientRequest<'a> {
    /// The account it belongs to.
    pub account_id: &'a str,
    /// Display name.
    pub name: &'a str,
    /// Scope names as given.
    pub scopes: &'a [String],
    /// Who creates it.
    pub actor: &'a Actor,
    /// From which address, for the audit trail.
    pub source_ip: Option<&'a str>,
}

/// Why a client was not created.
#[derive(Debug, thiserror::Error)]
pub enum CreateClientError {
    /// No such account.
    #[error("no account with id {0}")]
    AccountNotFound(String),
    /// Blank or too long a name.
    #[error("the name must be 1 to {MAX_NAME_CHARS} characters and not blank")]
    InvalidName,
    /// Empty, unknown or repeated scopes.
    #[error("invalid scopes: {0}")]
    InvalidScopes(#[from] ScopeError),
    /// `account-management` for a regular account.
    #[error("the `account-management` scope is only available to partner accounts")]
    ScopeNotAllowed,
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Trims `name` and accepts it when it is 1 to 100 characters with no
/// control characters.
pub fn valid_name(name: &str) -> Option<&str> {
    let name = name.trim();
    let chars = name.chars().count();
    let ok = (1..=MAX_NAME_CHARS).contains(&chars) && !name.chars().any(char::is_control);
    ok.then_some(name)
}

/// Creates a client with new credentials and records it in the audit trail.
pub fn create(
    conn: &mut DbConnection,
    request: &NewClientRequest<'_>,
) -> Result<CreatedClient, CreateClientError> {
    let name = valid_name(request.name).ok_or(CreateClientError::InvalidName)?;
    let scopes = ScopeSet::from_grant(request.scopes)?;
    let account = accounts::find(conn, request.account_id)
        .map_err(StorageError::from)?
        .ok_or_else(|| CreateClientError::AccountNotFound(request.account_id.into()))?;
    if scopes.first_disallowed(account.partner).is_some() {
        return Err(CreateClientError::ScopeNotAllowed);
    }

    let id = ClientRecordId::generate();
    let client_id = ClientId::generate();
    let secret = ClientSecret::generate();
    let created_at = storage::now();
    let stored_scopes = scopes.to_string();
    let new = NewClient {
        id: id.as_str(),
        client_id: client_id.as_str(),
        account_id: &account.id,
        name,
        secret_hash: &secret.hash().to_stored(),
        scopes: &stored_scopes,
        created_at,
        created_by: request.actor.as_str(),
    };
    diesel::Connection::transaction(conn, |conn| {
        clients::insert(conn, &new)?;
        audit::record(
            conn,
            &Event {
                actor: request.actor,
                account_id: Some(&account.id),
                action: "client.created",
                target: Some(client_id.as_str()),
                source_ip: request.source_ip,
                detail: Some(serde_json::json!({ "name": name, "scopes": scopes })),
            },
        )
    })
    .map_err(StorageError::from)?;

    tracing::info!(client.id = %client_id, account.id = %account.id, actor = request.actor.as_str(),
        "client created");
    Ok(CreatedClient {
        id: id.into_string(),
        name: name.to_owned(),
        client_id: client_id.as_str().to_owned(),
        client_secret: secret,
        scopes,
        status: "active",
        created_at: rfc3339(created_at),
        created_by: request.actor.as_str().to_owned(),
    })
}

/// Why a client was not revoked.
#[derive(Debug, thiserror::Error)]
pub enum RevokeClientError {
    /// No such client (in the caller's account).
    #[error("no such client")]
    NotFound,
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Revokes `row` and records it; revoking a revoked client is a no-op that
/// succeeds, as DELETE is idempotent.
pub fn revoke(
    conn: &mut DbConnection,
    row: &ClientRow,
    actor: &Actor,
    source_ip: Option<&str>,
) -> Result<(), RevokeClientError> {
    let revoked = diesel::Connection::transaction(conn, |conn| {
        let revoked = clients::revoke(conn, &row.id, storage::now())?;
        if revoked {
            audit::record(
                conn,
                &Event {
                    actor,
                    account_id: Some(&row.account_id),
                    action: "client.revoked",
                    target: Some(&row.client_id),
                    source_ip,
                    detail: None,
                },
            )?;
        }
        Ok::<_, diesel::result::Error>(revoked)
    })
    .map_err(StorageError::from)?;
    if revoked {
        tracing::info!(client.id = %row.client_id, account.id = %row.account_id,
            actor = actor.as_str(), "client revoked");
    }
    Ok(())
}

/// Revokes the client authenticating as `client_id` (the CLI's way in).
pub fn revoke_by_client_id(
    conn: &mut DbConnection,
    client_id: &str,
    actor: &Actor,
) -> Result<(), RevokeClientError> {
    let row = clients::find_by_client_id(conn, client_id)
        .map_err(StorageError::from)?
        .ok_or(RevokeClientError::NotFound)?;
    revoke(conn, &row, actor, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(valid_name("  CI deploy key "), Some("CI deploy key"));
        assert_eq!(valid_name("   "), None);
        assert_eq!(valid_name(&"é".repeat(100)).map(str::len), Some(200));
        assert_eq!(valid_name(&"x".repeat(101)), None);
        assert_eq!(valid_name("tab\there"), None);
    }
}
