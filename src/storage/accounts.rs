//! The `accounts` table.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::storage::DbConnection;
use crate::storage::schema::accounts;

/// A new account to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = accounts)]
pub struct NewAccount<'a> {
    /// Opaque id.
    pub id: &'a str,
    /// Display name.
    pub name: &'a str,
    /// Whether it is a partner account (may hold `account-management`).
    pub partner: bool,
    /// Creation time.
    pub created_at: NaiveDateTime,
}

/// An account as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = accounts)]
pub struct AccountRow {
    /// Opaque id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Whether it is a partner account.
    pub partner: bool,
    /// Creation time.
    pub created_at: NaiveDateTime,
}

/// Inserts an account.
pub fn insert(conn: &mut DbConnection, account: &NewAccount<'_>) -> QueryResult<()> {
    diesel::insert_into(accounts::table)
        .values(account)
        .execute(conn)
        .map(drop)
}

/// The account with `id`, if any.
pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<AccountRow>> {
    accounts::table
        .find(id)
        .select(AccountRow::as_select())
        .first(conn)
        .optional()
}
