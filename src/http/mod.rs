//! actix-web wiring: the application state, the route table and the
//! server, shared by `keymint serve` and the tests.
//!
//! Handlers translate HTTP to a service call and back; they hold no SQL
//! and no key material.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::config::Settings;
use crate::crypto::MasterKey;
use crate::http::limits::AuthLimits;
use crate::keyring::KeyRing;
use crate::metrics::Metrics;
use crate::service::directory::ClientDirectory;
use crate::service::usage::UsageTracker;
use crate::storage::Db;
use crate::verify::Rules;

pub mod admin;
pub mod assets;
pub mod client_addr;
pub mod docs;
pub mod limits;
pub mod middleware;
pub mod oauth;
pub mod openapi;
pub mod ops;
pub mod problem;
pub mod ui;

/// Everything a handler may use, built once at start-up.
#[derive(Debug)]
pub struct AppState {
    /// The database pool.
    pub db: Db,
    /// The signing keys.
    pub keys: Arc<KeyRing>,
    /// Seals TOTP secrets.
    pub master: Arc<MasterKey>,
    /// The validated settings.
    pub settings: Arc<Settings>,
    /// Counters of failed authentications.
    pub limits: AuthLimits,
    /// Client uses awaiting their write to the database.
    pub usage: Arc<UsageTracker>,
    /// What keymint's own tokens must match, for introspection.
    pub token_rules: Rules,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Client records in memory in front of the database.
    pub clients: Arc<ClientDirectory>,
}

impl AppState {
    /// Builds the state, rendering what never changes while running.
    pub fn new(
        db: Db,
        keys: Arc<KeyRing>,
        master: Arc<MasterKey>,
        settings: Arc<Settings>,
    ) -> Self {
        Self {
            db,
            keys,
            master,
            limits: AuthLimits::new(&settings),
            usage: Arc::default(),
            token_rules: Rules::new(&settings.issuer, &settings.audience),
            metrics: Arc::default(),
            clients: Arc::default(),
            settings,
        }
    }
}

/// Registers every route of keymint.
pub fn routes(cfg: &mut web::ServiceConfig) {
    documented_routes(&mut ServiceConfig::new(cfg));
    docs::routes(cfg);
    ui::routes(cfg);
}

/// Registers the routes of the OpenAPI document: `utoipa_actix_web`
/// collects each handler's description as it registers it (see
/// [`openapi::document`]).
pub fn documented_routes(cfg: &mut ServiceConfig<'_>) {
    oauth::routes(cfg);
    admin::routes(cfg);
    ops::routes(cfg);
    openapi::routes(cfg);
}

/// The application: every route behind the request middleware. Built once
/// per worker by [`serve`], and by benchmarks in-process.
pub fn app(
    state: web::Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(state)
        .wrap(from_fn(middleware::observe))
        .configure(routes)
        .default_service(web::to(not_found))
}

/// How long a client may take to send a request head.
const CLIENT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// How long in-flight requests may run after SIGTERM or SIGINT.
pub const SHUTDOWN_TIMEOUT_SECS: u64 = 10;

/// Starts serving `state` on `listener` with `workers` worker threads.
/// On SIGTERM or SIGINT the server stops accepting, lets in-flight requests
/// finish for up to [`SHUTDOWN_TIMEOUT_SECS`], and the future resolves.
pub fn serve(listener: TcpListener, state: AppState, workers: usize) -> std::io::Result<Server> {
    let state = web::Data::new(state);
    let server = HttpServer::new(move || app(state.clone()))
        .workers(workers)
        .client_request_timeout(CLIENT_REQUEST_TIMEOUT)
        .client_disconnect_timeout(Duration::from_secs(1))
        .shutdown_timeout(SHUTDOWN_TIMEOUT_SECS)
        .listen(listener)?
        .run();
    Ok(server)
}

async fn not_found() -> Result<actix_web::HttpResponse, problem::Problem> {
    Err(problem::Problem::not_found())
}
