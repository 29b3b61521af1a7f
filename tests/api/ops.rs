//! Operability: security headers and request ids on every answer,
//! readiness that follows the database down and back up by itself, metrics
//! that move, JSON logs that carry the request and never a secret, a
//! graceful SIGTERM, and bounds on slow or oversized requests.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use diesel::{Connection, RunQueryDsl};
use keymint::storage::DatabaseUrl;
use serde_json::Value;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::helpers::{
    Binary, TestApp, TestDatabase, binary_setup, eventually, spawn_app, test_settings, without_tls,
};

/// The longest any answer may take while the database is unreachable.
const ANSWER_BOUND: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------------
// Raw HTTP over TCP, for what reqwest cannot do: half-sent requests.
// ---------------------------------------------------------------------

/// What came back on a raw connection.
#[derive(Debug)]
enum Answer {
    /// An HTTP response.
    Response {
        status: u16,
        head: String,
        body: String,
    },
    /// The server closed or reset the connection without answering.
    Closed,
}

/// Reads one HTTP response (by `Content-Length`, else to the end), or
/// `None` when nothing complete arrives `within`.
async fn read_answer(stream: &mut TcpStream, within: Duration) -> Option<Answer> {
    tokio::time::timeout(within, read_answer_unbounded(stream))
        .await
        .ok()
}

async fn read_answer_unbounded(stream: &mut TcpStream) -> Answer {
    let mut buffer = Vec::new();
    let mut chunk = [0_u8; 4096];
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) if buffer.is_empty() => return Answer::Closed,
            Ok(0) | Err(_) => panic!(
                "connection closed inside a response head: {}",
                String::from_utf8_lossy(&buffer)
            ),
            Ok(read) => buffer.extend_from_slice(&chunk[..read]),
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {head}"));
    let length = header_of(&head, "content-length").map(|v| v.parse::<usize>().unwrap());
    while length.is_none_or(|length| buffer.len() < head_end + length) {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(read) => buffer.extend_from_slice(&chunk[..read]),
        }
    }
    let body = String::from_utf8_lossy(&buffer[head_end..]).into_owned();
    Answer::Response { status, head, body }
}

/// A header of a raw response head, by case-insensitive name.
fn header_of<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// The head of a token request authenticated with Basic, for a body of
/// `length` bytes.
fn token_request_head(client_id: &str, client_secret: &str, length: usize) -> String {
    let basic = STANDARD.encode(format!("{client_id}:{client_secret}"));
    format!(
        "POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic {basic}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {length}\r\n\r\n"
    )
}

/// `host:port` of a `http://host:port` base URL.
fn authority(base: &str) -> &str {
    base.trim_start_matches("http://")
}

// ---------------------------------------------------------------------
// Headers and request ids.
// ---------------------------------------------------------------------

/// The sources a CSP allows scripts from: `script-src`, else `default-src`.
fn script_sources(csp: &str) -> Vec<String> {
    let directives: Vec<Vec<&str>> = csp
        .split(';')
        .map(|directive| directive.split_whitespace().collect::<Vec<_>>())
        .filter(|words| !words.is_empty())
        .collect();
    let find = |name: &str| {
        directives
            .iter()
            .find(|words| words[0].eq_ignore_ascii_case(name))
            .map(|words| words[1..].iter().map(ToString::to_string).collect())
    };
    find("script-src")
        .or_else(|| find("default-src"))
        .unwrap_or_else(|| {
            panic!("a CSP with neither script-src nor default-src allows any script: {csp}")
        })
}

fn is_sane_request_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// Asserts the headers every answer carries, and returns its request id.
fn assert_secure_headers(response: &reqwest::Response, what: &str) -> String {
    let headers = response.headers();
    assert_eq!(
        headers
            .get("x-content-type-options")
            .unwrap_or_else(|| panic!("{what}: no X-Content-Type-Options")),
        "nosniff",
        "{what}"
    );
    let csp = headers
        .get("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no Content-Security-Policy"))
        .to_str()
        .unwrap();
    assert!(
        !script_sources(csp).iter().any(|s| s == "'unsafe-inline'"),
        "{what}: scripts may run inline: {csp}"
    );
    let id = headers
        .get("x-request-id")
        .unwrap_or_else(|| panic!("{what}: no X-Request-Id"))
        .to_str()
        .unwrap()
        .to_owned();
    assert!(is_sane_request_id(&id), "{what}: request id {id:?}");
    id
}

#[actix_rt::test]
async fn every_answer_carries_nosniff_a_strict_csp_and_a_request_id() {
    let app = spawn_app().await;

    let health = app.http.get(app.url("/healthz")).send().await.unwrap();
    let token_error = app
        .post_token("grant_type=password", Some(("kmc_nobody", "nothing")))
        .await;
    let problem = app.http.get(app.url("/admin/v1/me")).send().await.unwrap();
    let unknown = app.http.get(app.url("/no/such/path")).send().await.unwrap();
    let wrong_method = app.http.get(app.url("/oauth/token")).send().await.unwrap();

    assert_eq!(health.status(), 200);
    assert_eq!(token_error.status(), 400);
    assert_eq!(problem.status(), 401);
    assert_eq!(unknown.status(), 404);
    assert_eq!(wrong_method.status(), 405);
    for (what, response) in [
        ("/healthz", &health),
        ("token error", &token_error),
        ("admin problem", &problem),
        ("unknown path", &unknown),
        ("405", &wrong_method),
    ] {
        assert_secure_headers(response, what);
        let csp = response.headers()["content-security-policy"]
            .to_str()
            .unwrap();
        assert!(csp.starts_with("default-src 'none'"), "{what}: {csp}");
    }
    // Pages that may set their own CSP (the API docs) still forbid inline
    // scripts, whatever they answer.
    for path in ["/docs", "/openapi.json"] {
        let response = app.http.get(app.url(path)).send().await.unwrap();
        assert_secure_headers(&response, path);
    }
}

#[actix_rt::test]
async fn a_sane_request_id_is_echoed_and_an_insane_one_is_replaced() {
    let app = spawn_app().await;
    let health = |id: Option<String>| {
        let mut request = app.http.get(app.url("/healthz"));
        if let Some(id) = id {
            request = request.header("X-Request-Id", id);
        }
        request.send()
    };

    let echoed = health(Some("abc-123".into())).await.unwrap();
    let insane = [
        "x".repeat(100),
        "has spaces in it".to_owned(),
        "<script>".to_owned(),
        String::new(),
    ];
    let mut replaced = Vec::new();
    for id in &insane {
        replaced.push(health(Some(id.clone())).await.unwrap());
    }
    let first = health(None).await.unwrap();
    let second = health(None).await.unwrap();

    assert_eq!(echoed.headers()["x-request-id"], "abc-123");
    for (sent, response) in insane.iter().zip(&replaced) {
        let id = assert_secure_headers(response, "insane id");
        assert_ne!(&id, sent);
        assert!(!id.is_empty());
    }
    let first = assert_secure_headers(&first, "no id");
    let second = assert_secure_headers(&second, "no id");
    assert_ne!(first, second, "each request gets its own id");
}

// ---------------------------------------------------------------------
// Readiness through a TCP proxy in front of PostgreSQL.
// ---------------------------------------------------------------------

/// What the proxy does with traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Link {
    /// Forwards both ways.
    Up,
    /// Closes every live connection and drops new ones at once.
    Down,
    /// Keeps connections open but forwards nothing, as a black hole does.
    Stalled,
}

/// A TCP proxy between keymint and PostgreSQL that a test can cut. It
/// runs on its own thread, since start-up blocks the test's thread while
/// it connects through the proxy.
struct DbProxy {
    port: u16,
    link: Arc<watch::Sender<Link>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl DbProxy {
    fn start(upstream: String) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let link = Arc::new(watch::channel(Link::Up).0);
        let switch = Arc::clone(&link);
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = TcpListener::from_std(listener).unwrap();
                let accept = async {
                    loop {
                        if let Ok((inbound, _)) = listener.accept().await {
                            tokio::spawn(relay(inbound, upstream.clone(), switch.subscribe()));
                        }
                    }
                };
                tokio::select! {
                    () = accept => {}
                    _ = stopped => {}
                }
            });
            // Dropping the runtime drops every relay and its sockets.
        });
        Self {
            port,
            link,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn set(&self, link: Link) {
        self.link.send_replace(link);
    }
}

impl Drop for DbProxy {
    fn drop(&mut self) {
        self.set(Link::Down);
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Forwards one connection while the link is up.
async fn relay(mut inbound: TcpStream, upstream: String, mut link: watch::Receiver<Link>) {
    let now = *link.borrow_and_update();
    match now {
        Link::Down => return,
        Link::Stalled => {
            let _ = link.wait_for(|link| *link != Link::Stalled).await;
            return;
        }
        Link::Up => {}
    }
    let Ok(mut outbound) = TcpStream::connect(&upstream).await else {
        return;
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => return,
        _ = link.wait_for(|link| *link != Link::Up) => {}
    }
    if *link.borrow() == Link::Stalled {
        // Both sockets stay open and silent until the link changes again.
        let _ = link.wait_for(|link| *link != Link::Stalled).await;
    }
}

/// Where the suite's PostgreSQL server is; this test needs one even when
/// the rest of the suite runs on SQLite.
fn postgres_admin_url() -> String {
    let url = std::env::var("KEYMINT_TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".into());
    without_tls(&url)
}

/// `url` with its host and port replaced by `authority` and its database
/// by `database`, plus the `host:port` it named.
fn redirect_url(url: &str, authority: &str, database: &str) -> (String, String) {
    let (scheme, rest) = url.split_once("://").expect("a postgres:// URL");
    let (server, path) = rest.split_once('/').unwrap_or((rest, ""));
    let query = path.split_once('?').map(|(_, query)| query);
    let (user, host) = server
        .rsplit_once('@')
        .map_or((None, server), |(user, host)| (Some(user), host));
    let upstream = if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:5432")
    };
    let user = user.map(|user| format!("{user}@")).unwrap_or_default();
    let query = query.map(|query| format!("?{query}")).unwrap_or_default();
    (
        format!("{scheme}://{user}{authority}/{database}{query}"),
        upstream,
    )
}

/// A PostgreSQL database made for one test, dropped with force afterwards.
struct ScratchDatabase {
    admin_url: String,
    name: String,
}

impl ScratchDatabase {
    fn create() -> Self {
        let admin_url = postgres_admin_url();
        let mut admin = diesel::PgConnection::establish(&admin_url).unwrap_or_else(|err| {
            panic!(
                "the readiness tests need the PostgreSQL server of KEYMINT_TEST_DATABASE_URL \
                 (default postgres://postgres@127.0.0.1:5432/test), even on SQLite: {err}"
            )
        });
        let name = format!(
            "keymint_ops_{}",
            keymint::crypto::random::token::<9>().to_lowercase()
        )
        .replace('-', "_");
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .unwrap();
        Self { admin_url, name }
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = diesel::PgConnection::establish(&self.admin_url) {
            let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
            let _ = diesel::sql_query(drop).execute(&mut admin);
        }
    }
}

/// keymint served in-process over a proxied PostgreSQL database, with two
/// clients made through the CLI: `warm` is used before an outage, `cold`
/// first during it, so its record can only come from the database.
struct ProxiedApp {
    address: String,
    http: reqwest::Client,
    proxy: DbProxy,
    warm: (String, String),
    cold: (String, String),
    // Dropped last: the database outlives the proxy and the server's pool.
    _dir: TempDir,
    /// Only there to build the settings; the server uses `_database`.
    _settings_database: TestDatabase,
    _database: ScratchDatabase,
}

impl ProxiedApp {
    async fn start() -> Self {
        let database = ScratchDatabase::create();
        let (_, upstream) = redirect_url(&database.admin_url, "", &database.name);
        let (direct_url, _) = redirect_url(&database.admin_url, &upstream, &database.name);
        let proxy = DbProxy::start(upstream);
        let (proxied_url, _) = redirect_url(
            &database.admin_url,
            &format!("127.0.0.1:{}", proxy.port),
            &database.name,
        );
        let dir = tempfile::tempdir().unwrap();
        let settings_database = TestDatabase::create(&dir);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut settings = test_settings(
            listener.local_addr().unwrap(),
            &settings_database,
            dir.path().join("keys"),
        );
        settings.database_url = DatabaseUrl::new(proxied_url);
        let address = settings.issuer.clone();

        let state = keymint::startup::prepare_state(settings).expect("start-up succeeds");
        keymint::startup::spawn_maintenance(&state);
        actix_rt::spawn(keymint::http::serve(listener, state, 1).unwrap());
        let cli = Binary {
            database_url: direct_url,
            keys_dir: dir.path().join("keys"),
            env: vec![("KEYMINT_LOG".into(), "warn".into())],
        };
        let warm = create_client(&cli);
        let cold = create_client(&cli);

        Self {
            address,
            http: reqwest::Client::new(),
            proxy,
            warm,
            cold,
            _dir: dir,
            _settings_database: settings_database,
            _database: database,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    async fn readyz(&self) -> reqwest::Response {
        self.http.get(self.url("/readyz")).send().await.unwrap()
    }

    async fn token(&self, (client_id, client_secret): &(String, String)) -> reqwest::Response {
        self.http
            .post(self.url("/oauth/token"))
            .basic_auth(client_id, Some(client_secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
    }

    async fn login(&self) -> reqwest::Response {
        self.http
            .post(self.url("/admin/v1/sessions"))
            .json(&serde_json::json!({"email": "nobody@example.com", "password": "pw"}))
            .send()
            .await
            .unwrap()
    }
}

/// Awaits `answer`, failing when it takes longer than [`ANSWER_BOUND`].
async fn bounded<T>(what: &str, answer: impl Future<Output = T>) -> T {
    let started = Instant::now();
    let answer = tokio::time::timeout(ANSWER_BOUND, answer)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within {ANSWER_BOUND:?}"));
    assert!(started.elapsed() < ANSWER_BOUND, "{what}");
    answer
}

/// Polls `/readyz` until it answers `status`, for at most `within`.
async fn await_readiness(app: &ProxiedApp, status: u16, within: Duration) {
    eventually("/readyz", status, within, || async {
        bounded("/readyz", app.readyz()).await.status().as_u16()
    })
    .await;
}

async fn assert_unavailable_answers(app: &ProxiedApp) {
    let ready = bounded("/readyz", app.readyz()).await;
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["database"], false, "{body}");

    let token = bounded("token request", app.token(&app.cold)).await;
    assert_eq!(token.status(), 503);
    assert!(token.headers().contains_key("retry-after"));
    assert_eq!(token.headers()["cache-control"], "no-store");
    let body: Value = token.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");

    let login = bounded("admin request", app.login()).await;
    assert_eq!(login.status(), 503);
    assert!(login.headers().contains_key("retry-after"));
    assert_eq!(login.headers()["content-type"], "application/problem+json");
    let body: Value = login.json().await.unwrap();
    assert_eq!(body["code"], "service_unavailable", "{body}");
    assert_eq!(body["status"], 503, "{body}");

    let concurrent = (0..12).map(|i| async move {
        let status = match i % 3 {
            0 => app.readyz().await.status(),
            1 => app.token(&app.cold).await.status(),
            _ => app.login().await.status(),
        };
        assert_eq!(status, 503, "concurrent request {i}");
    });
    bounded(
        "12 concurrent requests",
        futures_util::future::join_all(concurrent),
    )
    .await;
}

#[actix_rt::test]
async fn readiness_drops_while_the_database_is_down_and_recovers_by_itself() {
    let app = ProxiedApp::start().await;
    assert_eq!(bounded("/readyz", app.readyz()).await.status(), 200);
    assert_eq!(app.token(&app.warm).await.status(), 200);

    app.proxy.set(Link::Down);

    assert_unavailable_answers(&app).await;

    app.proxy.set(Link::Up);

    await_readiness(&app, 200, Duration::from_secs(20)).await;
    let token = bounded("token request", app.token(&app.cold)).await;
    assert_eq!(token.status(), 200);
    let body: Value = token.json().await.unwrap();
    assert!(body["access_token"].is_string(), "{body}");
}

#[actix_rt::test]
async fn requests_stay_bounded_when_the_database_stops_answering() {
    let app = ProxiedApp::start().await;
    assert_eq!(bounded("/readyz", app.readyz()).await.status(), 200);
    assert_eq!(app.token(&app.warm).await.status(), 200);

    app.proxy.set(Link::Stalled);

    assert_unavailable_answers(&app).await;

    app.proxy.set(Link::Up);

    await_readiness(&app, 200, Duration::from_secs(20)).await;
    assert_eq!(
        bounded("token request", app.token(&app.cold))
            .await
            .status(),
        200
    );
}

// ---------------------------------------------------------------------
// Metrics.
// ---------------------------------------------------------------------

/// The value of the sample `series` (name and labels exactly as exported),
/// zero when it is not exported yet.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |value| value.trim().parse().unwrap())
}

/// Every label value in an exposition.
fn label_values(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| Some(&line[line.find('{')? + 1..line.rfind('}')?]))
        .flat_map(|labels| labels.split("=\"").skip(1))
        .map(|value| value.split('"').next().unwrap_or_default())
        .collect()
}

/// Whether `text` holds something shaped like a UUID.
fn contains_uuid(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.windows(36).any(|w| {
        w.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
    })
}

async fn metrics_text(app: &TestApp) -> String {
    let response = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    response.text().await.unwrap()
}

#[actix_rt::test]
async fn metrics_count_token_outcomes_latency_and_admin_routes_without_ids() {
    let app = spawn_app().await;
    let client = app.client_with(&["reporting"]).await;
    let issued = r#"keymint_token_requests_total{outcome="issued"}"#;
    let invalid_client = r#"keymint_token_requests_total{outcome="invalid_client"}"#;
    let latency_count = "keymint_token_request_duration_seconds_count";
    let me_401 = r#"keymint_admin_requests_total{route="/admin/v1/me",status="401"}"#;
    let client_401 = r#"keymint_admin_requests_total{route="/admin/v1/clients/{id}",status="401"}"#;
    let uuid = "3f2b8c1e-9a4d-4e6b-8f7a-0c5d2e1b9a7f";
    let before = metrics_text(&app).await;

    app.token_for(&client, None).await;
    let wrong_secret = app
        .post_token(
            "grant_type=client_credentials",
            Some((&client.client_id, "kms_not-the-secret")),
        )
        .await;
    let me = app.http.get(app.url("/admin/v1/me")).send().await.unwrap();
    let one_client = app
        .http
        .get(app.url(&format!("/admin/v1/clients/{uuid}")))
        .send()
        .await
        .unwrap();
    for path in [
        format!("/admin/v1/{}/x", client.client_id),
        format!("/admin/v1/clients/{uuid}/x"),
        format!("/{}", client.client_id),
    ] {
        app.http.get(app.url(&path)).send().await.unwrap();
    }
    let after = metrics_text(&app).await;

    assert_eq!(wrong_secret.status(), 401);
    assert_eq!(me.status(), 401);
    assert_eq!(one_client.status(), 401);
    assert_eq!(sample(&after, issued) - sample(&before, issued), 1.0);
    assert_eq!(
        sample(&after, invalid_client) - sample(&before, invalid_client),
        1.0
    );
    assert_eq!(
        sample(&after, latency_count) - sample(&before, latency_count),
        2.0
    );
    assert_eq!(sample(&after, me_401) - sample(&before, me_401), 1.0);
    assert_eq!(
        sample(&after, client_401) - sample(&before, client_401),
        1.0
    );
    for value in label_values(&after) {
        assert!(
            !value.contains("kmc_") && !contains_uuid(value),
            "an id in a label value: {value}"
        );
    }
    assert!(!after.contains(&client.client_id));
    assert!(!after.contains(&client.account_id));
    for gauge in [
        "keymint_db_pool_connections_in_use",
        "keymint_db_pool_waiting",
        "keymint_signing_key_age_seconds",
    ] {
        assert!(
            after.lines().any(|line| line
                .strip_prefix(gauge)
                .is_some_and(|rest| rest.starts_with(' '))),
            "{gauge} missing:\n{after}"
        );
        assert!(after.contains(&format!("# TYPE {gauge} gauge")), "{gauge}");
    }
}

// ---------------------------------------------------------------------
// The real binary: JSON logs and graceful shutdown.
// ---------------------------------------------------------------------

/// A new client of a new account: `(client_id, client_secret)`.
fn create_client(cli: &Binary) -> (String, String) {
    let account = cli.account("Ops Co");
    let client = cli.json(&[
        "client",
        "create",
        "--account",
        &account,
        "--name",
        "ops",
        "--scope",
        "reporting",
    ]);
    (
        client["client_id"].as_str().unwrap().to_owned(),
        client["client_secret"].as_str().unwrap().to_owned(),
    )
}

/// A `keymint serve` child process; killed when dropped.
struct Served {
    child: Child,
    base: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    /// Starts `keymint serve` on a free port, stderr to `stderr`, and
    /// waits until it answers.
    async fn start(cli: &Binary, env: &[(&str, &str)], stderr: Stdio) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut command = cli.command(&["serve", "--listen", &format!("127.0.0.1:{port}")]);
        command.envs(env.iter().copied());
        let child = command
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let mut served = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(status) = served.child.try_wait().unwrap() {
                panic!("keymint serve exited at start-up: {status}");
            }
            if http
                .get(format!("{}/healthz", served.base))
                .send()
                .await
                .is_ok()
            {
                return served;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        served.child.kill().unwrap();
        panic!("keymint serve on port {port} did not start");
    }

    fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits for the process to exit, at most `within`.
    async fn exit_status(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "keymint serve still running {within:?} after SIGTERM"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn log_lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .map(|line| {
            let value: Value = serde_json::from_str(line)
                .unwrap_or_else(|err| panic!("a log line that is not JSON ({err}): {line}"));
            assert!(value.is_object(), "not one JSON object: {line}");
            value
        })
        .collect()
}

#[actix_rt::test]
async fn json_logs_carry_the_request_span_and_never_a_secret() {
    let (cli, _database, dir) = binary_setup();
    let (client_id, client_secret) = create_client(&cli);
    let log_path = dir.path().join("serve.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut served = Served::start(
        &cli,
        &[("KEYMINT_LOG_FORMAT", "json"), ("KEYMINT_LOG", "info")],
        Stdio::from(log),
    )
    .await;
    let http = reqwest::Client::new();
    let wrong_secret = "kms_not-the-secret";

    let issued = http
        .post(format!("{}/oauth/token", served.base))
        .header("X-Request-Id", "test-req-1")
        .basic_auth(&client_id, Some(&client_secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let refused = http
        .post(format!("{}/oauth/token", served.base))
        .header("X-Request-Id", "test-req-2")
        .basic_auth(&client_id, Some(wrong_secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(issued.status(), 200);
    assert_eq!(refused.status(), 401);
    let token: Value = issued.json().await.unwrap();
    let access_token = token["access_token"].as_str().unwrap().to_owned();
    served.sigterm();
    assert!(served.exit_status(Duration::from_secs(15)).await.success());

    let lines = log_lines(&log_path);
    let span_of = |request_id: &str| {
        lines
            .iter()
            .find(|line| {
                line["span"]["request_id"] == request_id && line["span"]["status"].is_number()
            })
            .unwrap_or_else(|| panic!("no completed line for {request_id}: {lines:#?}"))["span"]
            .clone()
    };
    let issued_span = span_of("test-req-1");
    assert_eq!(issued_span["route"], "/oauth/token", "{issued_span}");
    assert_eq!(issued_span["status"], 200, "{issued_span}");
    assert_eq!(issued_span["outcome"], "issued", "{issued_span}");
    assert_eq!(
        issued_span["client.id"],
        client_id.as_str(),
        "{issued_span}"
    );
    let refused_span = span_of("test-req-2");
    assert_eq!(refused_span["status"], 401, "{refused_span}");
    assert_eq!(refused_span["outcome"], "invalid_client", "{refused_span}");
    let text = std::fs::read_to_string(&log_path).unwrap();
    let authorization = STANDARD.encode(format!("{client_id}:{client_secret}"));
    let wrong_authorization = STANDARD.encode(format!("{client_id}:{wrong_secret}"));
    for (what, secret) in [
        ("client secret", client_secret.as_str()),
        ("wrong secret", wrong_secret),
        ("access token", access_token.as_str()),
        ("Authorization header", authorization.as_str()),
        ("wrong Authorization header", wrong_authorization.as_str()),
    ] {
        assert!(!text.contains(secret), "the {what} is in the log");
    }
}

#[actix_rt::test]
async fn sigterm_lets_an_in_flight_token_request_finish_and_exits_zero() {
    let (cli, _database, _dir) = binary_setup();
    let (client_id, client_secret) = create_client(&cli);
    let mut served = Served::start(&cli, &[], Stdio::null()).await;
    let body = "grant_type=client_credentials";
    let (first, rest) = body.split_at(10);
    let mut stream = TcpStream::connect(authority(&served.base)).await.unwrap();
    stream
        .write_all(token_request_head(&client_id, &client_secret, body.len()).as_bytes())
        .await
        .unwrap();
    stream.write_all(first.as_bytes()).await.unwrap();
    // Let the server take the head and start reading the body.
    tokio::time::sleep(Duration::from_millis(300)).await;

    served.sigterm();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let new_connection = match TcpStream::connect(authority(&served.base)).await {
        Err(_) => None,
        Ok(mut late) => {
            late.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                .await
                .ok();
            Some(read_answer(&mut late, Duration::from_secs(2)).await)
        }
    };
    stream.write_all(rest.as_bytes()).await.unwrap();
    let answer = read_answer(&mut stream, Duration::from_secs(10)).await;
    drop(stream);
    let status = served.exit_status(Duration::from_secs(15)).await;

    match answer {
        Some(Answer::Response { status, body, .. }) => {
            assert_eq!(status, 200, "{body}");
            let token: Value = serde_json::from_str(&body).unwrap();
            assert!(token["access_token"].is_string(), "{body}");
        }
        other => panic!("the in-flight request got no answer: {other:?}"),
    }
    match new_connection {
        None | Some(None | Some(Answer::Closed)) => {}
        Some(Some(answer)) => panic!("a new connection after SIGTERM was served: {answer:?}"),
    }
    assert!(status.success(), "{status}");
}

// ---------------------------------------------------------------------
// Slow and oversized requests.
// ---------------------------------------------------------------------

#[actix_rt::test]
async fn a_request_head_that_stalls_is_cut_off_within_six_seconds() {
    let app = spawn_app().await;
    let mut stream = TcpStream::connect(authority(&app.address)).await.unwrap();
    let started = Instant::now();

    stream.write_all(b"GET /heal").await.unwrap();
    let answer = read_answer(&mut stream, Duration::from_secs(6)).await;

    match answer {
        Some(Answer::Closed) => {}
        Some(Answer::Response { status: 408, .. }) => {}
        None => panic!("the connection is still open after {:?}", started.elapsed()),
        Some(other) => panic!("unexpected answer: {other:?}"),
    }
}

#[actix_rt::test]
async fn a_request_body_that_stalls_is_answered_408_within_the_request_timeout() {
    let app = spawn_app().await;
    let client = app.client_with(&["reporting"]).await;
    let mut stream = TcpStream::connect(authority(&app.address)).await.unwrap();
    let started = Instant::now();

    let head = token_request_head(&client.client_id, &client.client_secret, 100);
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(b"grant_type").await.unwrap();
    let answer = read_answer(&mut stream, Duration::from_secs(35)).await;

    match answer {
        Some(Answer::Closed) => {}
        Some(Answer::Response {
            status: 408, head, ..
        }) => {
            assert!(header_of(&head, "x-request-id").is_some(), "{head}");
        }
        None => panic!("the connection is still open after {:?}", started.elapsed()),
        Some(other) => panic!("unexpected answer: {other:?}"),
    }
}

#[actix_rt::test]
async fn a_token_request_declaring_a_body_over_4_kib_gets_413_before_sending_it() {
    let app = spawn_app().await;
    let mut stream = TcpStream::connect(authority(&app.address)).await.unwrap();

    stream
        .write_all(token_request_head("kmc_x", "kms_x", 10_000_000).as_bytes())
        .await
        .unwrap();
    let answer = read_answer(&mut stream, Duration::from_secs(2)).await;

    match answer {
        Some(Answer::Response { status, head, body }) => {
            assert_eq!(status, 413, "{head}{body}");
            let body: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(body["error"], "invalid_request", "{body}");
            assert_eq!(header_of(&head, "cache-control"), Some("no-store"));
        }
        other => panic!("no prompt 413: {other:?}"),
    }
}

#[actix_rt::test]
async fn a_token_request_body_over_4_kib_gets_413_declared_or_chunked() {
    let app = spawn_app().await;
    let client = app.client_with(&["reporting"]).await;
    let big = format!("grant_type=client_credentials&pad={}", "a".repeat(5000));
    let mut stream = TcpStream::connect(authority(&app.address)).await.unwrap();
    let chunked = format!(
        "POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n\
         {:x}\r\n{big}\r\n0\r\n\r\n",
        big.len()
    );

    let declared = app
        .post_token(&big, Some((&client.client_id, &client.client_secret)))
        .await;
    stream.write_all(chunked.as_bytes()).await.unwrap();
    let streamed = read_answer(&mut stream, Duration::from_secs(2)).await;

    assert_eq!(declared.status(), 413);
    match streamed {
        Some(Answer::Response { status, .. }) => assert_eq!(status, 413),
        other => panic!("no prompt 413 for a chunked body: {other:?}"),
    }
}
