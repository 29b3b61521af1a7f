//! The `audit_events` table: an append-only trail of security events.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::storage::DbConnection;
use crate::storage::schema::audit_events;

/// An event to append. `detail` is a JSON object and must never hold a
/// secret, password or token.
#[derive(Debug, Insertable)]
#[diesel(table_name = audit_events)]
pub struct NewAuditEvent<'a> {
    /// Time-ordered opaque id (UUIDv7), the pagination cursor.
    pub id: &'a str,
    /// Account concerned, when known.
    pub account_id: Option<&'a str>,
    /// User id, `cli`, or `anonymous`.
    pub actor: &'a str,
    /// What happened, e.g. `client.created`.
    pub action: &'a str,
    /// What it happened to, e.g. a client id.
    pub target: Option<&'a str>,
    /// Source address of the request.
    pub source_ip: Option<&'a str>,
    /// When.
    pub occurred_at: NaiveDateTime,
    /// Extra facts as a JSON object.
    pub detail: Option<&'a str>,
}

/// An event as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct AuditEventRow {
    /// Time-ordered opaque id.
    pub id: String,
    /// Account concerned.
    pub account_id: Option<String>,
    /// User id, `cli`, or `anonymous`.
    pub actor: String,
    /// What happened.
    pub action: String,
    /// What it happened to.
    pub target: Option<String>,
    /// Source address.
    pub source_ip: Option<String>,
    /// When.
    pub occurred_at: NaiveDateTime,
    /// Extra facts as a JSON object.
    pub detail: Option<String>,
}

/// Appends an event.
pub fn insert(conn: &mut DbConnection, event: &NewAuditEvent<'_>) -> QueryResult<()> {
    diesel::insert_into(audit_events::table)
        .values(event)
        .execute(conn)
        .map(drop)
}

/// Up to `limit` of the account's events older than the event `before`,
/// newest first (by time, then id). An unknown cursor yields nothing.
pub fn list_for_account(
    conn: &mut DbConnection,
    account_id: &str,
    before: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<AuditEventRow>> {
    let mut query = audit_events::table
        .filter(audit_events::account_id.eq(account_id))
        .order((audit_events::occurred_at.desc(), audit_events::id.desc()))
        .limit(limit)
        .select(AuditEventRow::as_select())
        .into_boxed();
    if let Some(before) = before {
        let cursor: Option<NaiveDateTime> = audit_events::table
            .filter(
                audit_events::id
                    .eq(before)
                    .and(audit_events::account_id.eq(account_id)),
            )
            .select(audit_events::occurred_at)
            .first(conn)
            .optional()?;
        let Some(at) = cursor else {
            return Ok(Vec::new());
        };
        query = query.filter(
            audit_events::occurred_at
                .lt(at)
                .or(audit_events::occurred_at
                    .eq(at)
                    .and(audit_events::id.lt(before))),
        );
    }
    query.load(conn)
}
