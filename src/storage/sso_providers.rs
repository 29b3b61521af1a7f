//! The `sso_providers` table: the OpenID Connect IdP an account trusts.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::storage::DbConnection;
use crate::storage::schema::sso_providers;

/// An account's IdP, as stored and inserted.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sso_providers)]
pub struct SsoProviderRow {
    /// The account that trusts the IdP.
    pub account_id: String,
    /// Expected `iss` of ID tokens.
    pub issuer: String,
    /// Expected `aud` of ID tokens (our client id at the IdP).
    pub audience: String,
    /// The IdP's JWKS document.
    pub jwks: String,
    /// When it was configured.
    pub created_at: NaiveDateTime,
}

/// Sets (or replaces) the account's IdP.
pub fn upsert(conn: &mut DbConnection, row: &SsoProviderRow) -> QueryResult<()> {
    conn.transaction(|conn| {
        diesel::delete(sso_providers::table.find(&row.account_id)).execute(conn)?;
        diesel::insert_into(sso_providers::table)
            .values(row)
            .execute(conn)
            .map(drop)
    })
}

/// Every IdP configured with this issuer.
pub fn find_by_issuer(conn: &mut DbConnection, issuer: &str) -> QueryResult<Vec<SsoProviderRow>> {
    sso_providers::table
        .filter(sso_providers::issuer.eq(issuer))
        .select(SsoProviderRow::as_select())
        .load(conn)
}
