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
    /// Confirmed TOTP secret, sealed; `None` while TOTP is off.
    pub totp_secret: Option<String>,
    /// TOTP secret being enrolled, sealed.
    pub totp_pending: Option<String>,
    /// Last accepted TOTP step.
    pub totp_last_step: Option<i64>,
}

impl UserRow {
    /// Whether logins need a TOTP code.
    pub fn totp_enabled(&self) -> bool {
        self.totp_secret.is_some()
    }
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

/// The `(id, email)` of every user of an account, to name who did what.
pub fn emails_in_account(
    conn: &mut DbConnection,
    account_id: &str,
) -> QueryResult<Vec<(String, String)>> {
    users::table
        .filter(users::account_id.eq(account_id))
        .select((users::id, users::email))
        .load(conn)
}

/// The user with this (lower-cased) email, if any.
pub fn find_by_email(conn: &mut DbConnection, email: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::email.eq(email))
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

/// Stores a sealed TOTP secret awaiting confirmation.
pub fn set_totp_pending(conn: &mut DbConnection, id: &str, sealed: &str) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set(users::totp_pending.eq(sealed))
        .execute(conn)
        .map(drop)
}

/// Promotes the pending secret to the confirmed one, recording `step` as
/// used. Returns false when no secret was pending.
pub fn enable_totp(
    conn: &mut DbConnection,
    id: &str,
    sealed: &str,
    step: i64,
) -> QueryResult<bool> {
    let updated = diesel::update(users::table.find(id).filter(users::totp_pending.eq(sealed)))
        .set((
            users::totp_secret.eq(sealed),
            users::totp_pending.eq(None::<String>),
            users::totp_last_step.eq(step),
        ))
        .execute(conn)?;
    Ok(updated == 1)
}

/// Records `step` as used if it is later than every step accepted before;
/// returns false for a replayed or older step. Atomic, so two concurrent
/// logins with one code cannot both succeed.
pub fn accept_totp_step(conn: &mut DbConnection, id: &str, step: i64) -> QueryResult<bool> {
    let fresh = users::totp_last_step
        .is_null()
        .or(users::totp_last_step.lt(step));
    let updated = diesel::update(users::table.find(id).filter(fresh))
        .set(users::totp_last_step.eq(step))
        .execute(conn)?;
    Ok(updated == 1)
}

/// The user of `account_id` with this (lower-cased) email, if any.
pub fn find_in_account_by_email(
    conn: &mut DbConnection,
    account_id: &str,
    email: &str,
) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::account_id.eq(account_id).and(users::email.eq(email)))
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}
