//! The `keymint` binary's commands: one JSON object on stdout for each
//! creating command, one line on stderr and a non-zero exit for bad input.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use keymint::service::directory::REVOCATION_BOUND;
use serde_json::Value;

use crate::helpers::{TestApp, spawn_app};

pub(crate) fn keymint(app: &TestApp, args: &[&str]) -> Output {
    keymint_with_stdin(app, args, None)
}

fn keymint_with_stdin(app: &TestApp, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_keymint"))
        .args(args)
        .env_clear()
        .env("KEYMINT_DATABASE_URL", app.database.url.expose_secret())
        .env("KEYMINT_KEYS_DIR", &app.settings.keys_dir)
        .env("KEYMINT_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

/// The single JSON object a successful creating command prints.
pub(crate) fn json_out(output: &Output) -> Value {
    let stdout = String::from_utf8(output.stdout.clone()).unwrap();
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        stdout.lines().count(),
        1,
        "exactly one line on stdout: {stdout}"
    );
    serde_json::from_str(&stdout).unwrap()
}

/// The one-line reason a failing command gives.
pub(crate) fn failure_line(output: &Output) -> String {
    assert!(!output.status.success());
    assert!(output.stdout.is_empty(), "nothing on stdout");
    let stderr = String::from_utf8(output.stderr.clone()).unwrap();
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "one line on stderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[actix_rt::test]
async fn account_create_prints_the_account() {
    let app = spawn_app().await;

    let account = json_out(&keymint(
        &app,
        &["account", "create", "--name", "Partner Co", "--partner"],
    ));

    assert_eq!(account["name"], "Partner Co");
    assert_eq!(account["partner"], true);
    assert_eq!(account.as_object().unwrap().len(), 3);
    assert!(uuid_like(account["id"].as_str().unwrap()));
}

#[actix_rt::test]
async fn user_create_prints_a_generated_password_once() {
    let app = spawn_app().await;
    let account = app.account(false).await;

    let generated = json_out(&keymint(
        &app,
        &[
            "user",
            "create",
            "--account",
            &account.id,
            "--email",
            "Ann@Example.com",
            "--role",
            "owner",
        ],
    ));
    let given = json_out(&keymint_with_stdin(
        &app,
        &[
            "user",
            "create",
            "--account",
            &account.id,
            "--email",
            "bob@example.com",
            "--role",
            "member",
            "--password-stdin",
        ],
        Some("hunter2 is long enough\n"),
    ));

    assert_eq!(generated["email"], "ann@example.com");
    assert_eq!(generated["role"], "owner");
    assert_eq!(generated["account_id"], account.id);
    assert!(
        generated["password"]
            .as_str()
            .is_some_and(|p| p.len() >= 16)
    );
    assert_eq!(given["role"], "member");
    assert!(given.get("password").is_none(), "{given}");
}

#[actix_rt::test]
async fn client_create_prints_a_working_secret_and_revoke_stops_it() {
    let app = spawn_app().await;
    let account = app.account(false).await;

    let created = json_out(&keymint(
        &app,
        &[
            "client",
            "create",
            "--account",
            &account.id,
            "--name",
            "ci",
            "--scope",
            "reporting",
        ],
    ));
    let (client_id, secret) = (
        created["client_id"].as_str().unwrap(),
        created["client_secret"].as_str().unwrap(),
    );
    let issued = app
        .post_token("grant_type=client_credentials", Some((client_id, secret)))
        .await;
    let revoked = json_out(&keymint(
        &app,
        &["client", "revoke", "--client-id", client_id],
    ));
    let refused = app
        .token_refused_within(client_id, secret, REVOCATION_BOUND)
        .await;

    let mut keys: Vec<&str> = created
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "client_id",
            "client_secret",
            "created_at",
            "created_by",
            "id",
            "name",
            "scopes",
            "status"
        ]
    );
    assert_eq!(created["scopes"], serde_json::json!(["reporting"]));
    assert_eq!(created["status"], "active");
    assert_eq!(created["created_by"], "cli");
    assert!(secret.starts_with("kms_") && client_id.starts_with("kmc_"));
    assert!(
        secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    );
    assert_eq!(issued.status(), 200);
    assert_eq!(
        revoked,
        serde_json::json!({"client_id": client_id, "status": "revoked"})
    );
    assert_eq!(refused.status(), 401);
}

#[actix_rt::test]
async fn partner_scope_for_a_regular_account_is_refused() {
    let app = spawn_app().await;
    let account = app.account(false).await;

    let output = keymint(
        &app,
        &[
            "client",
            "create",
            "--account",
            &account.id,
            "--name",
            "x",
            "--scope",
            "account-management",
        ],
    );

    assert!(failure_line(&output).contains("partner"));
}

#[actix_rt::test]
async fn bad_arguments_and_settings_fail_with_one_line() {
    let app = spawn_app().await;
    let account = app.account(false).await;
    let cases: [(&[&str], &str); 6] = [
        (
            &[
                "client",
                "create",
                "--account",
                &account.id,
                "--name",
                "x",
                "--scope",
                "admin",
            ],
            "admin",
        ),
        (
            &[
                "client",
                "create",
                "--account",
                "nope",
                "--name",
                "x",
                "--scope",
                "reporting",
            ],
            "account",
        ),
        (
            &["client", "revoke", "--client-id", "kmc_nothing"],
            "no such client",
        ),
        (
            &[
                "user",
                "create",
                "--account",
                &account.id,
                "--email",
                "x",
                "--role",
                "owner",
            ],
            "email",
        ),
        (
            &[
                "user",
                "create",
                "--account",
                &account.id,
                "--email",
                "a@b.io",
                "--role",
                "boss",
            ],
            "boss",
        ),
        (
            &["account", "create", "--name", "x", "--token-ttl", "5"],
            "KEYMINT_TOKEN_TTL",
        ),
    ];

    for (args, expected) in cases {
        let line = failure_line(&keymint(&app, args));

        assert!(line.contains(expected), "{args:?}: {line}");
    }
}

#[actix_rt::test]
async fn serve_with_a_bad_setting_names_it() {
    let app = spawn_app().await;

    let output = keymint(&app, &["serve", "--signing-alg", "none"]);

    assert!(failure_line(&output).contains("KEYMINT_SIGNING_ALG"));
}

fn uuid_like(text: &str) -> bool {
    text.len() == 36 && text.chars().filter(|c| *c == '-').count() == 4
}

#[actix_rt::test]
async fn serve_refuses_to_replace_a_lost_master_key() {
    let app = spawn_app().await;
    let master = app.settings.keys_dir.join("master.key");
    std::fs::remove_file(&master).unwrap();

    let output = keymint(&app, &["serve", "--listen", "127.0.0.1:0"]);

    assert!(failure_line(&output).contains("master.key is missing"));
    assert!(!master.exists(), "no new master key was written");
}

#[actix_rt::test]
async fn unreachable_database_fails_with_the_driver_reason() {
    let app = spawn_app().await;

    let output = Command::new(env!("CARGO_BIN_EXE_keymint"))
        .args(["migrate"])
        .env_clear()
        .env(
            "KEYMINT_DATABASE_URL",
            "postgres://postgres@127.0.0.1:1/keymint",
        )
        .env("KEYMINT_KEYS_DIR", &app.settings.keys_dir)
        .output()
        .unwrap();

    let line = failure_line(&output);
    assert!(line.contains("KEYMINT_DATABASE_URL"), "{line}");
    assert!(line.contains("refused"), "{line}");
}
