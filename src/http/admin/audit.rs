//! `GET /admin/v1/audit-events`: the account's audit trail, newest first,
//! with cursor pagination. Owners only.

use actix_web::{HttpResponse, get, web};
use serde::{Deserialize, Serialize};

use crate::http::AppState;
use crate::http::admin::Owner;
use crate::http::problem::{Body as ProblemDetails, Problem, ServerFailures, SessionRequired};
use crate::service::rfc3339;
use crate::storage::StorageError;
use crate::storage::audit::{self, AuditEventRow};

/// Events per page unless `limit` says otherwise.
const DEFAULT_LIMIT: i64 = 50;
/// Largest `limit` accepted.
const MAX_LIMIT: i64 = 200;

/// `?limit=&before=`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// Events per page, 1 to 200; 50 when absent.
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// `next_cursor` of the previous page, for the next (older) one.
    before: Option<String>,
}

/// One entry of the audit trail.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = AuditEvent)]
struct EventView {
    /// Opaque id.
    id: String,
    /// When it happened, RFC 3339.
    #[schema(format = DateTime)]
    occurred_at: String,
    /// Who did it: a user id, or `cli`.
    actor: String,
    /// What was done, such as `client.created`, `client.revoked` or
    /// `login.succeeded`.
    #[schema(example = "client.created")]
    action: String,
    /// What it was done to, such as a `client_id`.
    #[schema(required = true)]
    target: Option<String>,
    /// The address the request came from.
    #[schema(required = true)]
    source_ip: Option<String>,
    /// Details of the action.
    #[schema(value_type = Option<Object>, required = true)]
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

/// A page of the audit trail.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = AuditEventPage)]
struct EventPage {
    /// Newest first.
    events: Vec<EventView>,
    /// Pass as `before` for the next (older) page; `null` on the last one.
    #[schema(required = true)]
    next_cursor: Option<String>,
}

/// Whether `cursor` has the shape of a `next_cursor`: an event id, which is
/// a UUID in canonical form. Anything else is refused before it reaches
/// the database (PostgreSQL refuses text holding NUL with an error).
fn is_cursor(cursor: &str) -> bool {
    uuid::Uuid::try_parse(cursor).is_ok_and(|id| id.hyphenated().to_string() == cursor)
}

/// Lists audit events, newest first.
///
/// Owners only.
#[utoipa::path(
    tag = "admin: audit",
    summary = "The account's audit trail",
    security(("session" = [])),
    params(Page),
    responses(
        (status = 200, description = "A page of events, newest first.", body = EventPage),
        (status = 403, description = "`owner_role_required`: the user is a member.",
            body = ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: `limit` out of range, or \
            `before` not a cursor.",
            body = ProblemDetails, content_type = "application/problem+json"),
        SessionRequired, ServerFailures,
    ),
)]
#[get("/audit-events")]
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
    if before.as_deref().is_some_and(|cursor| !is_cursor(cursor)) {
        return Err(Problem::validation_failed(
            "before must be the next_cursor of an earlier page.",
        ));
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
