//! Creating users.

use serde::Serialize;

use crate::crypto::password;
use crate::domain::{Role, UserId};
use crate::service::audit::{self, Actor, Event};
use crate::storage::users::{self, NewUser};
use crate::storage::{self, DbConnection, StorageError, accounts};

/// A user as shown by the CLI.
#[derive(Debug, Clone, Serialize)]
pub struct UserView {
    /// Opaque id.
    pub id: String,
    /// Lower-cased email.
    pub email: String,
    /// `owner` or `member`.
    pub role: Role,
    /// The user's account.
    pub account_id: String,
}

/// Why a user was not created.
#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    /// No such account.
    #[error("no account with id {0}")]
    AccountNotFound(String),
    /// Not an email address.
    #[error("`{0}` is not an email address")]
    InvalidEmail(String),
    /// Empty or over 1024 bytes.
    #[error("the password must be 1 to 1024 bytes")]
    InvalidPassword,
    /// Another user has this email.
    #[error("a user with this email already exists")]
    EmailTaken,
    /// Hashing failed.
    #[error("failed to hash the password")]
    Hashing,
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Lower-cases and checks an email address: one `@`, something on each
/// side, a dot in the domain, no white space, at most 254 characters.
pub fn normalise_email(email: &str) -> Option<String> {
    let email = email.trim().to_lowercase();
    let (local, domain) = email.split_once('@')?;
    let plausible = !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    plausible.then_some(email)
}

/// Creates a user with `password`, or a generated one that is returned.
pub fn create(
    conn: &mut DbConnection,
    account_id: &str,
    email: &str,
    role: Role,
    password: Option<&str>,
    actor: &Actor,
) -> Result<(UserView, Option<String>), CreateUserError> {
    let email =
        normalise_email(email).ok_or_else(|| CreateUserError::InvalidEmail(email.into()))?;
    let generated = password.is_none().then(password::generate);
    let clear = password.or(generated.as_deref()).unwrap_or_default();
    if clear.is_empty() || clear.len() > 1024 {
        return Err(CreateUserError::InvalidPassword);
    }
    if accounts::find(conn, account_id)
        .map_err(StorageError::from)?
        .is_none()
    {
        return Err(CreateUserError::AccountNotFound(account_id.into()));
    }
    let password_hash = password::hash(clear).map_err(|_| CreateUserError::Hashing)?;
    let id = UserId::generate();
    let new = NewUser {
        id: id.as_str(),
        account_id,
        email: &email,
        role: role.as_str(),
        password_hash: &password_hash,
        created_at: storage::now(),
    };

    let inserted = diesel::Connection::transaction(conn, |conn| {
        users::insert(conn, &new)?;
        audit::record(
            conn,
            &Event {
                actor,
                account_id: Some(account_id),
                action: "user.created",
                target: Some(id.as_str()),
                source_ip: None,
                detail: Some(serde_json::json!({ "role": role })),
            },
        )
    });
    match inserted.map_err(StorageError::from) {
        Err(StorageError::Conflict) => return Err(CreateUserError::EmailTaken),
        other => other?,
    }

    let view = UserView {
        id: id.into_string(),
        email,
        role,
        account_id: account_id.into(),
    };
    Ok((view, generated))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_lower_cased_and_checked() {
        assert_eq!(
            normalise_email(" Ann@Example.COM ").as_deref(),
            Some("ann@example.com")
        );
        assert_eq!(normalise_email("ann@localhost"), None);
        assert_eq!(normalise_email("ann example@x.io"), None);
        assert_eq!(normalise_email("@x.io"), None);
        assert_eq!(normalise_email("a@b@x.io"), None);
    }
}
