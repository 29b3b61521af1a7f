//! The `users` table.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::storage::DbConnection;
use crate::storage::schema::users;

/// A new user to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    /// Opaque id.
    pub id: &'a str,
    /// The account the user belongs to.
    pub account_id: &'a str,
    /// Lower-cased email, unique across keymint.
    pub email: &'a str,
    /// `owner` or `member`.
    pub role: &'a str,
    /// argon2id PHC string.
    pub password_hash: &'a str,
    /// Creation time.
    pub created_at: NaiveDateTime,
}

/// A user as stored.
#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    /// Opaque id.
    pub id: String,
    /// The account the user belongs to.
    pub account_id: String,
    /// Lower-cased email.
    pub email: String,
    /// `owner` or `member`.
    pub role: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Creation time.
    pub created_at: NaiveDateTime,
}

impl std::fmt::Debug for UserRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRow")
            .field("id", &self.id)
            .field("account_id", &self.account_id)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// Inserts a user.
pub fn insert(conn: &mut DbConnection, user: &NewUser<'_>) -> QueryResult<()> {
    diesel::insert_into(users::table)
        .values(user)
        .execute(conn)
        .map(drop)
}

/// The user with `id`, if any.
pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

/// The user with this (lower-cased) email, if any.
pub fn find_by_email(conn: &mut DbConnection, email: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::email.eq(email))
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}
