//! The test harness: `spawn_app()` starts the real server with the same
//! start-up code as `keymint serve`, on `127.0.0.1:0`, over a fresh SQLite
//! file or a fresh PostgreSQL database.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Once;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use diesel::{Connection, RunQueryDsl};
use jsonwebtoken::{DecodingKey, Validation, jwk::JwkSet};
use keymint::config::{LogFormat, Settings};
use keymint::crypto::SigningAlgorithm;
use keymint::service::accounts::{self, AccountView};
use keymint::service::audit::Actor;
use keymint::service::clients::{self, CreatedClient, NewClientRequest};
use keymint::storage::{Backend, DatabaseUrl, Db};
use serde_json::Value;
use tempfile::TempDir;

mod admin;
mod binary;
mod dump;

pub use admin::{TestTotp, assert_problem, decode_base32, keys, seconds_from_now};
pub use binary::{Binary, MfaLogin, Served, binary_setup, json_of};
pub use dump::{dump_all, dump_tables};

/// Where the suite's PostgreSQL server is, when it runs on PostgreSQL.
const POSTGRES_ENV: &str = "KEYMINT_TEST_DATABASE_URL";

/// A database made for one test; a PostgreSQL one is dropped afterwards.
pub struct TestDatabase {
    pub url: DatabaseUrl,
    admin_url: Option<String>,
    name: String,
}

impl TestDatabase {
    /// A fresh SQLite file in `dir`, or a fresh PostgreSQL database.
    pub fn create(dir: &TempDir) -> Self {
        let name = format!(
            "keymint_test_{}",
            keymint::crypto::random::token::<9>().to_lowercase()
        )
        .replace('-', "_");
        match std::env::var(POSTGRES_ENV) {
            Ok(admin_url) if !admin_url.is_empty() => {
                let mut admin = diesel::PgConnection::establish(&admin_url)
                    .expect("KEYMINT_TEST_DATABASE_URL must reach PostgreSQL");
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .unwrap();
                let (base, rest) = admin_url
                    .rsplit_once('/')
                    .unwrap_or((admin_url.as_str(), ""));
                let query = rest.split_once('?').map(|(_, query)| query);
                let url = DatabaseUrl::new(without_tls(&match query {
                    Some(query) => format!("{base}/{name}?{query}"),
                    None => format!("{base}/{name}"),
                }));
                Self {
                    url,
                    admin_url: Some(admin_url),
                    name,
                }
            }
            _ => {
                let path = dir.path().join("keymint.db");
                Self {
                    url: DatabaseUrl::new(path.to_string_lossy()),
                    admin_url: None,
                    name,
                }
            }
        }
    }

    /// The backend this database is on.
    pub fn backend(&self) -> Backend {
        self.url.backend()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some(admin_url) = &self.admin_url else {
            return;
        };
        if let Ok(mut admin) = diesel::PgConnection::establish(admin_url) {
            let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
            let _ = diesel::sql_query(drop).execute(&mut admin);
        }
    }
}

/// `url` with `sslmode=disable` unless it names an `sslmode`. The suite's
/// server is on loopback, where TLS protects nothing, and a test binary
/// that exits while pool threads are still inside OpenSSL (libpq's TLS)
/// can abort in OpenSSL's exit-time cleanup.
pub fn without_tls(url: &str) -> String {
    if url.contains("sslmode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&sslmode=disable")
    } else {
        format!("{url}?sslmode=disable")
    }
}

/// A running keymint and what it was started with.
pub struct TestApp {
    pub address: String,
    pub http: reqwest::Client,
    pub settings: Settings,
    pub db: Db,
    /// The server's in-memory record of client uses (flush it to see
    /// `last_used_at`).
    pub usage: std::sync::Arc<keymint::service::usage::UsageTracker>,
    pub database: TestDatabase,
    /// Holds the SQLite file and keys directory until the test ends.
    pub _dir: TempDir,
}

fn init_once() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        keymint::verify::ring_provider::install();
        if std::env::var_os("TEST_LOG").is_some() {
            let _ = keymint::telemetry::init("debug", LogFormat::Text);
        }
    });
}

/// Settings as `keymint serve` would build them for `listen`, with this
/// test's database and keys directory.
pub fn test_settings(
    listen: std::net::SocketAddr,
    database: &TestDatabase,
    keys: PathBuf,
) -> Settings {
    let issuer = format!("http://{listen}");
    Settings {
        database_url: database.url.clone(),
        listen,
        audience: format!("{issuer}/api"),
        issuer,
        keys_dir: keys,
        signing_alg: SigningAlgorithm::Es256,
        key_rotation_days: Some(90),
        token_ttl: 900,
        session_ttl: 28_800,
        auth_failures_per_minute: Some(60),
        trusted_proxies: Default::default(),
        log: "info".into(),
        log_format: LogFormat::Text,
    }
}

/// Starts keymint on a random port with a fresh database.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts keymint like [`spawn_app`], with settings changed by `configure`
/// first (such as a lower `auth_failures_per_minute`).
pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    init_once();
    let dir = tempfile::tempdir().unwrap();
    let database = TestDatabase::create(&dir);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut settings = test_settings(
        listener.local_addr().unwrap(),
        &database,
        dir.path().join("keys"),
    );
    configure(&mut settings);

    let state = keymint::startup::prepare_state(settings.clone()).expect("start-up succeeds");
    let (db, usage) = (state.db.clone(), state.usage.clone());
    keymint::startup::spawn_maintenance(&state);
    let server = keymint::http::serve(listener, state, 1).unwrap();
    actix_rt::spawn(server);

    TestApp {
        address: settings.issuer.clone(),
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        settings,
        db,
        usage,
        database,
        _dir: dir,
    }
}

/// Credentials of a client made for a test.
pub struct TestClient {
    pub client_id: String,
    pub client_secret: String,
    pub account_id: String,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// A new account.
    pub async fn account(&self, partner: bool) -> AccountView {
        self.db
            .run(move |conn| accounts::create(conn, "Acme", partner, &Actor::Cli))
            .await
            .unwrap()
    }

    /// A new client of a new regular account with `scopes`.
    pub async fn client_with(&self, scopes: &[&str]) -> TestClient {
        let account = self.account(false).await;
        self.client_in(&account.id, scopes).await
    }

    /// A new client in `account_id` with `scopes`.
    pub async fn client_in(&self, account_id: &str, scopes: &[&str]) -> TestClient {
        let owner = account_id.to_owned();
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        let created: CreatedClient = self
            .db
            .run(move |conn| {
                clients::create(
                    conn,
                    &NewClientRequest {
                        account_id: &owner,
                        name: "test client",
                        scopes: &scopes,
                        actor: &Actor::Cli,
                        source_ip: None,
                    },
                )
            })
            .await
            .unwrap();
        TestClient {
            client_id: created.client_id,
            client_secret: created.client_secret.expose_secret().to_owned(),
            account_id: account_id.to_owned(),
        }
    }

    /// POSTs `form` to the token endpoint, with Basic credentials if given.
    pub async fn post_token(&self, form: &str, basic: Option<(&str, &str)>) -> reqwest::Response {
        let mut request = self
            .http
            .post(self.url("/oauth/token"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form.to_owned());
        if let Some((id, secret)) = basic {
            request = request.basic_auth(id, Some(secret));
        }
        request.send().await.unwrap()
    }

    /// A token for `client` by `client_secret_basic`, asserting success.
    /// Asks for tokens with these credentials until one is refused or
    /// `bound` has passed (plus one poll), and returns the last answer: for
    /// revocations made outside this server, which it learns of by polling.
    pub async fn token_refused_within(
        &self,
        client_id: &str,
        secret: &str,
        bound: std::time::Duration,
    ) -> reqwest::Response {
        let deadline = std::time::Instant::now() + bound;
        loop {
            let response = self
                .post_token("grant_type=client_credentials", Some((client_id, secret)))
                .await;
            if response.status() != 200 || std::time::Instant::now() >= deadline {
                return response;
            }
            actix_rt::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    pub async fn token_for(&self, client: &TestClient, scope: Option<&str>) -> Value {
        let form = match scope {
            Some(scope) => format!("grant_type=client_credentials&scope={scope}"),
            None => "grant_type=client_credentials".to_owned(),
        };
        let response = self
            .post_token(&form, Some((&client.client_id, &client.client_secret)))
            .await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// The JSON body of `GET path`, whatever its status.
    pub async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        let response = self.http.get(self.url(path)).send().await.unwrap();
        response.json().await.unwrap()
    }

    /// The served JWKS.
    pub async fn jwks(&self) -> JwkSet {
        self.get_json("/.well-known/jwks.json").await
    }

    /// Verifies `token` with the `jsonwebtoken` crate against the served
    /// JWKS, checking signature, issuer, audience and expiry.
    pub async fn verify(&self, token: &str) -> Result<Value, jsonwebtoken::errors::Error> {
        let header = jsonwebtoken::decode_header(token)?;
        let jwks = self.jwks().await;
        let kid = header.kid.as_deref().unwrap_or_default();
        let jwk = jwks.find(kid).expect("the token's kid is in the JWKS");
        let key = DecodingKey::from_jwk(jwk)?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.settings.issuer]);
        validation.set_audience(&[&self.settings.audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        jsonwebtoken::decode::<Value>(token, &key, &validation).map(|data| data.claims)
    }
}

/// Decodes a JWT segment without verifying anything.
pub fn decode_segment(token: &str, index: usize) -> Value {
    let segment = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
}

/// Asserts the headers every token-endpoint answer carries.
pub fn assert_no_store(response: &reqwest::Response) {
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["pragma"], "no-cache");
}

/// Asserts an RFC 6749 §5.2 error answer and returns its body.
pub async fn assert_oauth_error(response: reqwest::Response, status: u16, error: &str) -> Value {
    assert_eq!(response.status(), status);
    assert_no_store(&response);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], error, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{body}"
    );
    body
}

/// Repeats `status_of` until it gives `wanted`, for at most `within`.
pub async fn eventually<F, Fut>(what: &str, wanted: u16, within: Duration, mut status_of: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = u16>,
{
    let deadline = Instant::now() + within;
    loop {
        let status = status_of().await;
        if status == wanted {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: still {status} after {within:?}, expected {wanted}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
