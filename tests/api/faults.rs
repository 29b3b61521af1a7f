//! SQLite faults while serving (the PostgreSQL ones, a database that drops
//! or stalls, are in `ops.rs` through a TCP proxy).
//!
//! Tests run as root, and a running server holds its SQLite file open, so
//! the obvious ways to take the file away do nothing: `chmod 000` does not
//! stop root, and renaming the file or its directory, or putting a
//! directory in its place, leaves every open pooled connection reading
//! and writing the file it opened, so keymint goes on serving from it
//! (only new connections fail, and requests wait for the open ones).
//! What does stop a running server, whoever it runs as, is another process
//! holding SQLite's locks: POSIX record locks, which root cannot ignore.
//! So the faults here are:
//! - a writer that keeps its transaction open (a stuck `sqlite3` session or
//!   backup script): reads go on, writes must fail within a bound;
//! - a process holding every lock of the WAL index (`-shm` bytes 120 to
//!   127: writer, checkpointer, recovery and the five read marks): nothing
//!   can read or write. A small Python helper takes them with `fcntl`,
//!   since the suite forbids `unsafe` and std has no byte-range locks;
//!   without `python3` that part is skipped with a note on stderr.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::Connection;
use diesel::connection::SimpleConnection;
use keymint::storage::Backend;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestClient, assert_problem, eventually, spawn_app};

/// The longest any answer may take while the database is locked: the
/// server gives up on the database after 3 s; the rest is for a loaded
/// machine.
const ANSWER_BOUND: Duration = Duration::from_secs(8);

/// Holds every lock of the WAL index of `shm` until its stdin closes.
const LOCK_HOLDER: &str = r#"
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
deadline = time.time() + 20
while True:
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 8, 120)
        break
    except OSError:
        if time.time() > deadline:
            sys.exit("could not take the WAL-index locks")
        time.sleep(0.001)
print("locked", flush=True)
sys.stdin.read()
"#;

/// Awaits `answer`, failing when it takes longer than [`ANSWER_BOUND`].
async fn bounded<T>(what: &str, answer: impl Future<Output = T>) -> T {
    let started = Instant::now();
    let answer = tokio::time::timeout(ANSWER_BOUND, answer)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within {ANSWER_BOUND:?}"));
    assert!(started.elapsed() < ANSWER_BOUND, "{what}");
    answer
}

async fn readyz(app: &TestApp) -> reqwest::Response {
    app.http.get(app.url("/readyz")).send().await.unwrap()
}

async fn token(app: &TestApp, client: &TestClient) -> reqwest::Response {
    app.post_token(
        "grant_type=client_credentials",
        Some((&client.client_id, &client.client_secret)),
    )
    .await
}

async fn create(app: &TestApp, session: &str) -> reqwest::Response {
    let body = json!({"name": "during a fault", "scopes": ["reporting"]});
    app.admin_post(session, "/clients", &body).await
}

/// Starts the lock holder on `shm` and waits until it holds the locks;
/// `None` when there is no `python3`.
fn hold_wal_index_locks(shm: &str) -> Option<Child> {
    let spawned = Command::new("python3")
        .args(["-c", LOCK_HOLDER, shm])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn();
    let mut holder = match spawned {
        Ok(holder) => holder,
        Err(err) => {
            eprintln!("NOTE: no python3 ({err}): skipping the SQLite lock-holder fault");
            return None;
        }
    };
    let mut line = String::new();
    let stdout = holder.stdout.take().unwrap();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "locked", "the lock holder failed");
    Some(holder)
}

#[actix_rt::test]
async fn sqlite_locked_by_another_process_gives_bounded_503s_and_recovers_by_itself() {
    let app = spawn_app().await;
    if app.database.backend() != Backend::Sqlite {
        return; // PostgreSQL faults: the proxy tests in ops.rs.
    }
    let (_, session) = app.owner_with_mfa_session().await;
    let cold_while_writes_fail = app.client_with(&["reporting"]).await;
    let cold_while_locked = app.client_with(&["reporting"]).await;
    let path = app.database.url.expose_secret().to_owned();
    assert_eq!(readyz(&app).await.status(), 200);

    // A writer that does not finish: reads go on, writes fail in time.
    let mut writer = diesel::SqliteConnection::establish(&path).unwrap();
    writer
        .batch_execute("BEGIN IMMEDIATE; UPDATE accounts SET name = name;")
        .unwrap();

    let refused = bounded("a client creation", create(&app, &session)).await;
    assert!(refused.headers().contains_key("retry-after"));
    assert_problem(refused, 503, "service_unavailable").await;
    let read = bounded("a cold token request", token(&app, &cold_while_writes_fail)).await;
    assert_eq!(read.status(), 200, "reads go on while a writer waits");
    assert_eq!(bounded("/readyz", readyz(&app)).await.status(), 200);

    writer.batch_execute("ROLLBACK").unwrap();
    drop(writer);

    eventually(
        "a creation after the writer",
        201,
        Duration::from_secs(20),
        || async { create(&app, &session).await.status().as_u16() },
    )
    .await;

    // Every lock of the WAL index held elsewhere: nothing reads or writes.
    let Some(mut holder) = hold_wal_index_locks(&format!("{path}-shm")) else {
        return;
    };

    let ready = bounded("/readyz", readyz(&app)).await;
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["database"], false, "{body}");
    let token_answer = bounded("a cold token request", token(&app, &cold_while_locked)).await;
    assert_eq!(token_answer.status(), 503);
    assert!(token_answer.headers().contains_key("retry-after"));
    assert_eq!(token_answer.headers()["cache-control"], "no-store");
    let body: Value = token_answer.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");
    let me = bounded("an admin request", app.admin_get(&session, "/me")).await;
    assert!(me.headers().contains_key("retry-after"));
    assert_problem(me, 503, "service_unavailable").await;

    drop(holder.stdin.take());
    assert!(holder.wait().unwrap().success());

    eventually(
        "/readyz after the locks",
        200,
        Duration::from_secs(30),
        || async { readyz(&app).await.status().as_u16() },
    )
    .await;
    assert_eq!(token(&app, &cold_while_locked).await.status(), 200);
    assert_eq!(create(&app, &session).await.status(), 201);
}
