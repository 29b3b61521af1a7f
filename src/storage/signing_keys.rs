//! The `signing_keys` table: every JWT signing key with its lifecycle
//! state. Private parts are stored sealed under the master key and removed
//! when a key retires.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::storage::DbConnection;
use crate::storage::schema::signing_keys;

/// Lifecycle states, as stored in `status`.
pub mod status {
    /// Published in the JWKS, not yet signing.
    pub const NEXT: &str = "next";
    /// Signing new tokens.
    pub const CURRENT: &str = "current";
    /// No longer signing; published until its tokens have expired.
    pub const PREVIOUS: &str = "previous";
    /// Unpublished; private part destroyed.
    pub const RETIRED: &str = "retired";
}

/// A new key to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = signing_keys)]
pub struct NewSigningKey<'a> {
    /// RFC 7638 thumbprint.
    pub kid: &'a str,
    /// JWS algorithm.
    pub alg: &'a str,
    /// Lifecycle state.
    pub status: &'a str,
    /// Public JWK as JSON.
    pub public_jwk: &'a str,
    /// PKCS#8 sealed under the master key.
    pub private_key: Option<&'a str>,
    /// Generation time.
    pub created_at: NaiveDateTime,
    /// When it started signing.
    pub activated_at: Option<NaiveDateTime>,
}

/// A key as stored.
#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = signing_keys)]
pub struct SigningKeyRow {
    /// RFC 7638 thumbprint.
    pub kid: String,
    /// JWS algorithm.
    pub alg: String,
    /// Lifecycle state.
    pub status: String,
    /// Public JWK as JSON.
    pub public_jwk: String,
    /// PKCS#8 sealed under the master key; `None` once retired.
    pub private_key: Option<String>,
    /// Generation time.
    pub created_at: NaiveDateTime,
    /// When it started signing.
    pub activated_at: Option<NaiveDateTime>,
    /// When a previous key may be retired.
    pub retire_after: Option<NaiveDateTime>,
}

impl std::fmt::Debug for SigningKeyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyRow")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// Inserts a key.
pub fn insert(conn: &mut DbConnection, key: &NewSigningKey<'_>) -> QueryResult<()> {
    diesel::insert_into(signing_keys::table)
        .values(key)
        .execute(conn)
        .map(drop)
}

/// Every key that is not retired, oldest first.
pub fn list_published(conn: &mut DbConnection) -> QueryResult<Vec<SigningKeyRow>> {
    signing_keys::table
        .filter(signing_keys::status.ne(status::RETIRED))
        .order((signing_keys::created_at.asc(), signing_keys::kid.asc()))
        .select(SigningKeyRow::as_select())
        .load(conn)
}

/// The key in `wanted` state, if any.
pub fn find_by_status(conn: &mut DbConnection, wanted: &str) -> QueryResult<Option<SigningKeyRow>> {
    signing_keys::table
        .filter(signing_keys::status.eq(wanted))
        .select(SigningKeyRow::as_select())
        .first(conn)
        .optional()
}

/// Moves the current key to `previous`, to be retired after `retire_after`.
/// Returns false when `kid` was no longer current (another rotation won).
pub fn demote_current(
    conn: &mut DbConnection,
    kid: &str,
    retire_after: NaiveDateTime,
) -> QueryResult<bool> {
    let updated = diesel::update(
        signing_keys::table
            .find(kid)
            .filter(signing_keys::status.eq(status::CURRENT)),
    )
    .set((
        signing_keys::status.eq(status::PREVIOUS),
        signing_keys::retire_after.eq(retire_after),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Makes the next key current. Returns false when `kid` was no longer next.
pub fn promote_next(conn: &mut DbConnection, kid: &str, at: NaiveDateTime) -> QueryResult<bool> {
    let updated = diesel::update(
        signing_keys::table
            .find(kid)
            .filter(signing_keys::status.eq(status::NEXT)),
    )
    .set((
        signing_keys::status.eq(status::CURRENT),
        signing_keys::activated_at.eq(at),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Retires `kid` (if it is in state `from`) and destroys its private part.
pub fn retire(conn: &mut DbConnection, kid: &str, from: &str) -> QueryResult<bool> {
    let updated = diesel::update(
        signing_keys::table
            .find(kid)
            .filter(signing_keys::status.eq(from)),
    )
    .set((
        signing_keys::status.eq(status::RETIRED),
        signing_keys::private_key.eq(None::<String>),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Retires every previous key whose tokens have all expired by `now`;
/// returns their ids.
pub fn retire_due(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<Vec<String>> {
    let due: Vec<String> = signing_keys::table
        .filter(signing_keys::status.eq(status::PREVIOUS))
        .filter(signing_keys::retire_after.le(now))
        .select(signing_keys::kid)
        .load(conn)?;
    for kid in &due {
        retire(conn, kid, status::PREVIOUS)?;
    }
    Ok(due)
}

/// Every key, oldest first.
pub fn list_all(conn: &mut DbConnection) -> QueryResult<Vec<SigningKeyRow>> {
    signing_keys::table
        .order((signing_keys::created_at.asc(), signing_keys::kid.asc()))
        .select(SigningKeyRow::as_select())
        .load(conn)
}
