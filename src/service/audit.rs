//! Recording security events in the audit trail.

use serde_json::Value;

use crate::crypto::random;
use crate::storage::audit::{self, NewAuditEvent};
use crate::storage::{self, DbConnection};

/// Who caused an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// A signed-in user, by id.
    User(String),
    /// An operator at the command line.
    Cli,
    /// Someone not (yet) identified, such as a failed login.
    Anonymous,
}

impl Actor {
    /// The stored spelling: the user id, `cli` or `anonymous`.
    pub fn as_str(&self) -> &str {
        match self {
            Actor::User(id) => id,
            Actor::Cli => "cli",
            Actor::Anonymous => "anonymous",
        }
    }
}

/// One event to record. `detail` must never hold a secret or token.
#[derive(Debug)]
pub struct Event<'a> {
    /// Who.
    pub actor: &'a Actor,
    /// Account concerned, when known.
    pub account_id: Option<&'a str>,
    /// What happened, as `noun.verb`.
    pub action: &'a str,
    /// What it happened to.
    pub target: Option<&'a str>,
    /// Source address of the request.
    pub source_ip: Option<&'a str>,
    /// Extra facts.
    pub detail: Option<Value>,
}

/// Appends `event` to the trail with a time-ordered id.
pub fn record(conn: &mut DbConnection, event: &Event<'_>) -> diesel::QueryResult<()> {
    let now = storage::now();
    let millis = u64::try_from(now.and_utc().timestamp_millis()).unwrap_or_default();
    let id = uuid::Builder::from_unix_timestamp_millis(millis, &random::bytes::<10>())
        .into_uuid()
        .to_string();
    let detail = event.detail.as_ref().map(Value::to_string);
    audit::insert(
        conn,
        &NewAuditEvent {
            id: &id,
            account_id: event.account_id,
            actor: event.actor.as_str(),
            action: event.action,
            target: event.target,
            source_ip: event.source_ip,
            occurred_at: now,
            detail: detail.as_deref(),
        },
    )
}
