//! Operations endpoints: `/healthz` (liveness), `/readyz` (readiness) and
//! `/metrics` (Prometheus text format).

use std::time::Duration;

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};
use serde_json::json;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::http::AppState;
use crate::storage::{DbConnection, StorageError};

/// How long readiness waits for the database to answer.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// Registers the operations routes, each with its OpenAPI description.
pub fn routes(cfg: &mut ServiceConfig<'_>) {
    cfg.service(get_health)
        .service(get_readiness)
        .service(get_metrics);
}

/// 200 while the process serves.
#[utoipa::path(
    tag = "operations",
    summary = "Liveness",
    security(()),
    responses((status = 200, description = "The process serves: `{\"status\": \"ok\"}`.",
        content_type = "application/json")),
)]
#[get("/healthz")]
pub async fn get_health() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({ "status": "ok" }))
}

/// 200 when the database answers and a signing key is loaded, else 503.
#[utoipa::path(
    tag = "operations",
    summary = "Readiness",
    security(()),
    responses(
        (status = 200, description = "The database answers and a signing key is loaded: \
            `{\"status\": \"ready\", \"database\": true, \"signing_key\": true}`.",
            content_type = "application/json"),
        (status = 503, description = "Not ready: `{\"status\": \"unavailable\", …}` names what \
            is missing.", content_type = "application/json"),
    ),
)]
#[get("/readyz")]
pub async fn get_readiness(state: web::Data<AppState>) -> HttpResponse {
    // A query that reads a table: SQLite answers `SELECT 1` without
    // touching the database file, so a database it cannot read would pass.
    let ping = state.db.run(|conn: &mut DbConnection| {
        diesel::connection::SimpleConnection::batch_execute(
            conn,
            "SELECT kid FROM signing_keys LIMIT 1",
        )
        .map_err(StorageError::from)
    });
    let database = matches!(tokio::time::timeout(READY_TIMEOUT, ping).await, Ok(Ok(())));
    let signing_key = !state.keys.snapshot().current().kid().is_empty();
    let mut response = if database && signing_key {
        HttpResponse::Ok()
    } else {
        HttpResponse::ServiceUnavailable()
    };
    response
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({
            "status": if database && signing_key { "ready" } else { "unavailable" },
            "database": database,
            "signing_key": signing_key,
        }))
}

/// Prometheus text exposition.
#[utoipa::path(
    tag = "operations",
    summary = "Prometheus metrics",
    security(()),
    responses((status = 200, description = "Prometheus text exposition format 0.0.4.",
        content_type = "text/plain; version=0.0.4")),
)]
#[get("/metrics")]
pub async fn get_metrics(state: web::Data<AppState>) -> HttpResponse {
    let metrics = &state.metrics;
    let pool = state.db.state();
    metrics
        .db_in_use
        .set(i64::from(pool.connections - pool.idle_connections));
    metrics.db_idle.set(i64::from(pool.idle_connections));
    metrics.db_waiting.set(state.db.waiting());
    let since = state.keys.snapshot().current_since();
    let age = (crate::storage::now() - since).num_seconds();
    metrics.signing_key_age.set(age);
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(metrics.render())
}
