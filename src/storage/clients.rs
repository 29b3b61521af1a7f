//! The `clients` table: API keys. Only the hash of a secret is stored.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::storage::DbConnection;
use crate::storage::schema::clients;

/// A new client to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = clients)]
pub struct NewClient<'a> {
    /// Opaque record id (`/admin/v1/clients/{id}`).
    pub id: &'a str,
    /// The OAuth `client_id`.
    pub client_id: &'a str,
    /// Owning account.
    pub account_id: &'a str,
    /// Display name.
    pub name: &'a str,
    /// SHA-256 of the secret, base64url.
    pub secret_hash: &'a str,
    /// Granted scopes, space-delimited.
    pub scopes: &'a str,
    /// Creation time.
    pub created_at: NaiveDateTime,
    /// User id of the creator, or `cli`.
    pub created_by: &'a str,
}

/// A client as stored.
#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = clients)]
pub struct ClientRow {
    /// Opaque record id.
    pub id: String,
    /// The OAuth `client_id`.
    pub client_id: String,
    /// Owning account.
    pub account_id: String,
    /// Display name.
    pub name: String,
    /// SHA-256 of the secret, base64url.
    pub secret_hash: String,
    /// Granted scopes, space-delimited.
    pub scopes: String,
    /// Creation time.
    pub created_at: NaiveDateTime,
    /// User id of the creator, or `cli`.
    pub created_by: String,
    /// When it was revoked; `None` while active.
    pub revoked_at: Option<NaiveDateTime>,
    /// Last successful token request, to the minute.
    pub last_used_at: Option<NaiveDateTime>,
}

impl std::fmt::Debug for ClientRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientRow")
            .field("id", &self.id)
            .field("client_id", &self.client_id)
            .field("account_id", &self.account_id)
            .field("revoked_at", &self.revoked_at)
            .finish_non_exhaustive()
    }
}

/// Inserts a client.
pub fn insert(conn: &mut DbConnection, client: &NewClient<'_>) -> QueryResult<()> {
    diesel::insert_into(clients::table)
        .values(client)
        .execute(conn)
        .map(drop)
}

/// The client authenticating as `client_id`, if any.
pub fn find_by_client_id(
    conn: &mut DbConnection,
    client_id: &str,
) -> QueryResult<Option<ClientRow>> {
    clients::table
        .filter(clients::client_id.eq(client_id))
        .select(ClientRow::as_select())
        .first(conn)
        .optional()
}

/// The client with record id `id` in `account_id`, if any.
pub fn find_in_account(
    conn: &mut DbConnection,
    account_id: &str,
    id: &str,
) -> QueryResult<Option<ClientRow>> {
    clients::table
        .filter(clients::id.eq(id).and(clients::account_id.eq(account_id)))
        .select(ClientRow::as_select())
        .first(conn)
        .optional()
}

/// The account's clients, newest first.
pub fn list_for_account(conn: &mut DbConnection, account_id: &str) -> QueryResult<Vec<ClientRow>> {
    clients::table
        .filter(clients::account_id.eq(account_id))
        .order((clients::created_at.desc(), clients::id.desc()))
        .select(ClientRow::as_select())
        .load(conn)
}

/// Marks the client revoked unless it already is; returns whether this call
/// revoked it.
pub fn revoke(conn: &mut DbConnection, id: &str, at: NaiveDateTime) -> QueryResult<bool> {
    let updated = diesel::update(
        clients::table
            .find(id)
            .filter(clients::revoked_at.is_null()),
    )
    .set(clients::revoked_at.eq(at))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Records that the client was used at `at` (to the minute), unless a later
/// use is already recorded.
pub fn touch_last_used(
    conn: &mut DbConnection,
    client_id: &str,
    at: NaiveDateTime,
) -> QueryResult<()> {
    let older = clients::last_used_at
        .is_null()
        .or(clients::last_used_at.lt(at));
    diesel::update(
        clients::table
            .filter(clients::client_id.eq(client_id))
            .filter(older),
    )
    .set(clients::last_used_at.eq(at))
    .execute(conn)
    .map(drop)
}

/// Client ids revoked at or after `since`.
pub fn revoked_since(conn: &mut DbConnection, since: NaiveDateTime) -> QueryResult<Vec<String>> {
    clients::table
        .filter(clients::revoked_at.ge(since))
        .select(clients::client_id)
        .load(conn)
}

/// The `client_id`s of clients created at or after `since`.
pub fn created_since(conn: &mut DbConnection, since: NaiveDateTime) -> QueryResult<Vec<String>> {
    clients::table
        .filter(clients::created_at.ge(since))
        .select(clients::client_id)
        .load(conn)
}
