//! The `sessions` table: admin logins. Only a hash of each session token is
//! stored.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::storage::DbConnection;
use crate::storage::accounts::AccountRow;
use crate::storage::schema::{accounts, sessions, users};
use crate::storage::users::UserRow;

/// A new session to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = sessions)]
pub struct NewSession<'a> {
    /// Opaque id.
    pub id: &'a str,
    /// SHA-256 of the bearer token, base64url.
    pub token_hash: &'a str,
    /// The signed-in user.
    pub user_id: &'a str,
    /// `password`, `password+totp` or `sso`.
    pub method: &'a str,
    /// Whether a second factor was proven.
    pub mfa: bool,
    /// Login time.
    pub created_at: NaiveDateTime,
    /// End of validity.
    pub expires_at: NaiveDateTime,
    /// Address the login came from.
    pub source_ip: Option<&'a str>,
}

/// A session as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    /// Opaque id.
    pub id: String,
    /// The signed-in user.
    pub user_id: String,
    /// `password`, `password+totp` or `sso`.
    pub method: String,
    /// Whether a second factor was proven.
    pub mfa: bool,
    /// End of validity.
    pub expires_at: NaiveDateTime,
}

/// Inserts a session.
pub fn insert(conn: &mut DbConnection, session: &NewSession<'_>) -> QueryResult<()> {
    diesel::insert_into(sessions::table)
        .values(session)
        .execute(conn)
        .map(drop)
}

/// The live session whose token hashes to `token_hash`, with its user and
/// account: not ended and not expired at `now`.
pub fn find_live(
    conn: &mut DbConnection,
    token_hash: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<(SessionRow, UserRow, AccountRow)>> {
    sessions::table
        .inner_join(users::table.inner_join(accounts::table))
        .filter(sessions::token_hash.eq(token_hash))
        .filter(sessions::ended_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .select((
            SessionRow::as_select(),
            UserRow::as_select(),
            AccountRow::as_select(),
        ))
        .first(conn)
        .optional()
}

/// Ends a session (logout).
pub fn end(conn: &mut DbConnection, id: &str, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(
        sessions::table
            .find(id)
            .filter(sessions::ended_at.is_null()),
    )
    .set(sessions::ended_at.eq(at))
    .execute(conn)
    .map(drop)
}
