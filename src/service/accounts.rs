//! Creating accounts.

use serde::Serialize;

use crate::domain::AccountId;
use crate::service::audit::{self, Actor, Event};
use crate::storage::accounts::{self, AccountRow, NewAccount};
use crate::storage::{self, DbConnection, StorageError};

/// An account as shown by the CLI and the admin API.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = Account)]
pub struct AccountView {
    /// Opaque id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Whether it is a partner account.
    pub partner: bool,
}

impl From<AccountRow> for AccountView {
    fn from(row: AccountRow) -> Self {
        Self {
            id: row.id,
            name: row.name,
            partner: row.partner,
        }
    }
}

/// Why an account was not created.
#[derive(Debug, thiserror::Error)]
pub enum CreateAccountError {
    /// Blank or longer than 100 characters.
    #[error("the account name must be 1 to 100 characters and not blank")]
    InvalidName,
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Creates an account.
pub fn create(
    conn: &mut DbConnection,
    name: &str,
    partner: bool,
    actor: &Actor,
) -> Result<AccountView, CreateAccountError> {
    let name = crate::service::clients::valid_name(name).ok_or(CreateAccountError::InvalidName)?;
    let id = AccountId::generate();
    let new = NewAccount {
        id: id.as_str(),
        name,
        partner,
        created_at: storage::now(),
    };

    diesel::Connection::transaction(conn, |conn| {
        accounts::insert(conn, &new)?;
        audit::record(
            conn,
            &Event {
                actor,
                account_id: Some(id.as_str()),
                action: "account.created",
                target: Some(id.as_str()),
                source_ip: None,
                detail: Some(serde_json::json!({ "partner": partner })),
            },
        )
    })
    .map_err(StorageError::from)?;

    Ok(AccountView {
        id: id.into_string(),
        name: name.to_owned(),
        partner,
    })
}
