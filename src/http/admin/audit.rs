//! `GET /admin/v1/audit-events`: the account's audit trail, newest first,
//! with cursor pagination. Owners only.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::http::AppState;
use crate::http::admin::Owner;
use crate::http::problem::Problem;
use crate::service::rfc3339;
use crate::storage::StorageError;
use crate::storage::audit::{self, AuditEventRow};

/// Events per page unless `limit` says otherwise.
const DEFAULT_LIMIT: i64 = 50;
/// Largest `limit` accepted.
const MAX_LIMIT: i64 = 200;

/// `?limit=&before=`.
#[derive(Deserialize)]
pub struct Page {
    limit: Option<i64>,
    before: Option<String>,
}

#[derive(Serialize)]
struct EventView {
    id: String,
    occurred_at: String,
    actor: String,
    action: String,
    target: Option<String>,
    source_ip: Option<String>,
    detail: Option<serde_json::Value>,
}

impl From<AuditEventRow> for EventView {
    fn from(row: AuditEventRow) -> Self {
        Self {
            id: row.id,
            occurred_at: rfc3339(row.occurred_at),
            actor: row.actor,
            action: row.action,
            target: row.target,
            source_ip: row.source_ip,
            detail: row.detail.and_then(|text| serde_json::from_str(&text).ok()),
        }
    }
}

#[derive(Serialize)]
struct EventPage {
    events: Vec<EventView>,
    /// Pass as `before` for the next (older) page; `null` on the last one.
    next_cursor: Option<String>,
}

/// Lists audit events, newest first.
pub async fn list_audit_events(
    state: web::Data<AppState>,
    Owner(context): Owner,
    page: web::Query<Page>,
) -> Result<HttpResponse, Problem> {
    let Page { limit, before } = page.into_inner();
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(Problem::validation_failed(format!(
            "limit must be 1 to {MAX_LIMIT}."
        )));
    }
    let account_id = context.account.id;

    let mut rows = state
        .db
        .run(move |conn| {
            audit::list_for_account(conn, &account_id, before.as_deref(), limit + 1)
                .map_err(StorageError::from)
        })
        .await?;

    let more = rows.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next_cursor = more
        .then(|| rows.last().map(|row| row.id.clone()))
        .flatten();
    let events = rows.into_iter().map(EventView::from).collect();
    Ok(HttpResponse::Ok().json(EventPage {
        events,
        next_cursor,
    }))
}
