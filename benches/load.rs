//! The load benchmark: `cargo bench --bench load` (add
//! `-- --database-url postgres://…` to run on PostgreSQL as well).
//!
//! For 1 and for 100,000 clients in a fresh database it starts the real
//! `keymint serve`, drives `POST /oauth/token` with wrk (installed from
//! Debian's packages when missing) at 32 and 128 connections for a fixed
//! time after a warm-up, checks that every answer was a 200 carrying a
//! token, and prints one table: tokens/s, p50, p99 and p99.9 latency,
//! server CPU per token and the server's peak RSS.
//!
//! Options: `--duration SECS` (default 20), `--warmup SECS` (5),
//! `--connections 32,128`, `--clients 1,100000`,
//! `--database-url postgres://…` (adds PostgreSQL runs).

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::Connection;
use keymint::config::{LogFormat, Settings};
use keymint::crypto::SigningAlgorithm;
use keymint::service::audit::Actor;
use keymint::service::{accounts, clients};
use keymint::storage::DatabaseUrl;

/// Requests rotate over at most this many distinct clients.
const ACTIVE_CLIENTS: usize = 1000;

struct Options {
    duration: u64,
    warmup: u64,
    connections: Vec<usize>,
    clients: Vec<usize>,
    postgres: Option<String>,
}

fn options() -> Options {
    let mut options = Options {
        duration: 20,
        warmup: 5,
        connections: vec![32, 128],
        clients: vec![1, 100_000],
        postgres: None,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let list = |text: &str| {
        text.split(',')
            .map(|n| n.trim().parse().expect("a number"))
            .collect()
    };
    let mut i = 0;
    while i < args.len() {
        let value = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--duration" => options.duration = value.parse().expect("--duration SECS"),
            "--warmup" => options.warmup = value.parse().expect("--warmup SECS"),
            "--connections" => options.connections = list(&value),
            "--clients" => options.clients = list(&value),
            "--database-url" => options.postgres = Some(value),
            // cargo bench passes --bench; ignore anything else.
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    options
}

fn ensure_wrk() {
    if Command::new("wrk").arg("--version").output().is_ok() {
        return;
    }
    eprintln!("wrk is missing; installing it from Debian's packages");
    let ok = Command::new("sh")
        .args([
            "-c",
            "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk",
        ])
        .status()
        .is_ok_and(|status| status.success());
    assert!(ok, "could not install wrk; install it and run again");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A fresh database: a SQLite file in `dir`, or a new PostgreSQL database.
fn database(dir: &Path, postgres: Option<&str>, label: &str) -> DatabaseUrl {
    match postgres {
        None => DatabaseUrl::new(dir.join("bench.db").to_string_lossy()),
        Some(admin_url) => {
            let name = format!("keymint_bench_{label}_{}", std::process::id());
            let mut admin =
                diesel::PgConnection::establish(admin_url).expect("PostgreSQL reachable");
            use diesel::RunQueryDsl;
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut admin);
            diesel::sql_query(format!("CREATE DATABASE {name}"))
                .execute(&mut admin)
                .unwrap();
            let base = admin_url
                .rsplit_once('/')
                .map_or(admin_url, |(base, _)| base);
            DatabaseUrl::new(format!("{base}/{name}"))
        }
    }
}

fn settings(url: DatabaseUrl, keys: PathBuf) -> Settings {
    Settings {
        database_url: url,
        listen: "127.0.0.1:0".parse().unwrap(),
        issuer: "http://keymint.bench".into(),
        audience: "http://keymint.bench/api".into(),
        keys_dir: keys,
        signing_alg: SigningAlgorithm::Es256,
        key_rotation_days: None,
        token_ttl: 900,
        session_ttl: 3600,
        auth_failures_per_minute: None,
        trusted_proxies: Default::default(),
        log: "warn".into(),
        log_format: LogFormat::Text,
    }
}

/// Creates `count` clients in one account; returns the Basic credentials
/// of up to [`ACTIVE_CLIENTS`] of them.
fn seed(settings: &Settings, count: usize) -> Vec<String> {
    use base64::Engine;

    let started = Instant::now();
    let mut conn = keymint::startup::open_connection(settings).unwrap();
    let account = accounts::create(&mut conn, "Bench", false, &Actor::Cli).unwrap();
    let scopes = ["reporting".to_owned(), "configuration".to_owned()];
    let mut credentials = Vec::new();
    conn.transaction(|conn| {
        for i in 0..count {
            let request = clients::NewClientRequest {
                account_id: &account.id,
                name: "bench",
                scopes: &scopes,
                actor: &Actor::Cli,
                source_ip: None,
            };
            let created = clients::create(conn, &request).unwrap();
            if i % (count / ACTIVE_CLIENTS).max(1) == 0 && credentials.len() < ACTIVE_CLIENTS {
                let pair = format!(
                    "{}:{}",
                    created.client_id,
                    created.client_secret.expose_secret()
                );
                credentials.push(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                ));
            }
        }
        Ok::<_, diesel::result::Error>(())
    })
    .unwrap();
    eprintln!(
        "seeded {count} clients in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    credentials
}

struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

fn start(settings: &Settings) -> Server {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_keymint"))
        .arg("serve")
        .env_clear()
        .env(
            "KEYMINT_DATABASE_URL",
            settings.database_url.expose_secret(),
        )
        .env("KEYMINT_KEYS_DIR", &settings.keys_dir)
        .env("KEYMINT_LISTEN", format!("127.0.0.1:{port}"))
        .env("KEYMINT_ISSUER", &settings.issuer)
        .env("KEYMINT_AUTH_FAILURES_PER_MINUTE", "0")
        .env("KEYMINT_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "keymint did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Server { child, port }
}

/// utime + stime of a process, in clock ticks (1/100 s on Linux).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// The wrk script: rotates credentials, counts any answer that is not a
/// 200 with an access token, and prints the figures as one JSON line.
fn wrk_script(dir: &Path, credentials: &[String]) -> PathBuf {
    let list = credentials
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(",\n");
    let script = format!(
        r#"local creds = {{ {list} }}
local threads = {{}}
local n = 0
bad = 0
function setup(thread) table.insert(threads, thread) end
function init(args) n = math.random(#creds) end
function request()
  n = n % #creds + 1
  return wrk.format("POST", "/oauth/token",
    {{ ["Authorization"] = creds[n], ["Content-Type"] = "application/x-www-form-urlencoded" }},
    "grant_type=client_credentials")
end
function response(status, headers, body)
  if status ~= 200 or not string.find(body, "access_token", 1, true) then bad = bad + 1 end
end
function done(summary, latency, requests)
  local total_bad = 0
  for _, t in ipairs(threads) do total_bad = total_bad + t:get("bad") end
  io.write(string.format('{{"requests":%d,"duration_us":%d,"errors":%d,"bad":%d,"p50":%d,"p99":%d,"p999":%d}}\n',
    summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout,
    total_bad, latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
end
"#
    );
    let path = dir.join("token.lua");
    std::fs::write(&path, script).unwrap();
    path
}

fn wrk(port: u16, script: &Path, connections: usize, seconds: u64) -> serde_json::Value {
    let output = Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{connections}"),
            &format!("-d{seconds}s"),
            "--timeout",
            "5s",
            "-s",
        ])
        .arg(script)
        .arg(format!("http://127.0.0.1:{port}"))
        .output()
        .expect("wrk runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|line| line.starts_with('{'))
        .unwrap_or_else(|| panic!("wrk said: {stdout}"));
    serde_json::from_str(line).unwrap()
}

struct Row {
    backend: &'static str,
    clients: usize,
    connections: usize,
    tokens_per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    p999_ms: f64,
    cpu_us: f64,
    rss_mib: f64,
    failures: u64,
}

fn run(
    options: &Options,
    backend: &'static str,
    postgres: Option<&str>,
    clients: usize,
    rows: &mut Vec<Row>,
) {
    let dir = tempfile::tempdir().unwrap();
    let url = database(dir.path(), postgres, &clients.to_string());
    let settings = settings(url, dir.path().join("keys"));
    let credentials = seed(&settings, clients);
    let script = wrk_script(dir.path(), &credentials);
    let server = start(&settings);
    let pid = server.child.id();
    for &connections in &options.connections {
        wrk(server.port, &script, connections, options.warmup);
        let before = cpu_ticks(pid);
        let result = wrk(server.port, &script, connections, options.duration);
        let ticks = cpu_ticks(pid) - before;
        let requests = result["requests"].as_u64().unwrap();
        let seconds = result["duration_us"].as_f64().unwrap() / 1e6;
        let ms = |key: &str| result[key].as_f64().unwrap() / 1000.0;
        rows.push(Row {
            backend,
            clients,
            connections,
            tokens_per_sec: requests as f64 / seconds,
            p50_ms: ms("p50"),
            p99_ms: ms("p99"),
            p999_ms: ms("p999"),
            cpu_us: ticks as f64 * 10_000.0 / requests.max(1) as f64,
            rss_mib: peak_rss_kib(pid) as f64 / 1024.0,
            failures: result["errors"].as_u64().unwrap() + result["bad"].as_u64().unwrap(),
        });
    }
}

fn main() {
    let options = options();
    ensure_wrk();
    keymint::verify::ring_provider::install();
    let mut rows = Vec::new();
    for &clients in &options.clients {
        run(&options, "SQLite", None, clients, &mut rows);
        if let Some(url) = options.postgres.as_deref() {
            run(&options, "PostgreSQL", Some(url), clients, &mut rows);
        }
    }
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "\nkeymint load benchmark: ES256, {cores} cores, wrk on the same machine, {} s per run after {} s warm-up\n",
        options.duration, options.warmup
    );
    let _ = writeln!(
        out,
        "| database | clients | connections | tokens/s | p50 ms | p99 ms | p99.9 ms | server CPU µs/token | peak RSS MiB | failed |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for row in &rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.1} | {:.1} | {} |",
            row.backend,
            row.clients,
            row.connections,
            row.tokens_per_sec,
            row.p50_ms,
            row.p99_ms,
            row.p999_ms,
            row.cpu_us,
            row.rss_mib,
            row.failures
        );
    }
    let failed: u64 = rows.iter().map(|row| row.failures).sum();
    assert_eq!(
        failed, 0,
        "some token requests did not return a 200 with a token"
    );
}
