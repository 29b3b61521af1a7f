//! The real `keymint` binary as child processes: CLI commands and `serve`
//! on one database and keys directory, for what only separate processes
//! show: their stderr, a SIGKILL, a restart on the same files.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use keymint::storage::{DatabaseUrl, Db};
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::helpers::{TestDatabase, TestTotp};

/// The `keymint` binary pointed at one database and keys directory, with
/// extra environment (such as `KEYMINT_LOG`) for every process it starts.
pub struct Binary {
    pub database_url: String,
    pub keys_dir: PathBuf,
    pub env: Vec<(String, String)>,
}

/// A fresh database and keys directory for child processes. The
/// directory also holds the SQLite file, so it must outlive the database.
pub fn binary_setup() -> (Binary, TestDatabase, TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let database = TestDatabase::create(&dir);
    let binary = Binary {
        database_url: database.url.expose_secret().to_owned(),
        keys_dir: dir.path().join("keys"),
        env: vec![("KEYMINT_LOG".into(), "warn".into())],
    };
    (binary, database, dir)
}

impl Binary {
    /// The command `keymint ARGS` with this binary's environment only.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_keymint"));
        command
            .args(args)
            .env_clear()
            .env("KEYMINT_DATABASE_URL", &self.database_url)
            .env("KEYMINT_KEYS_DIR", &self.keys_dir)
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        command
    }

    /// Runs a command to its end, with `stdin` written to it when given.
    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
        drop(input);
        child.wait_with_output().unwrap()
    }

    /// The JSON object a successful command prints, asserting success.
    pub fn json(&self, args: &[&str]) -> Value {
        json_of(args, &self.run(args, None))
    }

    /// A new account's id.
    pub fn account(&self, name: &str) -> String {
        let account = self.json(&["account", "create", "--name", name]);
        account["id"].as_str().unwrap().to_owned()
    }

    /// A new owner of `account_id` with a generated password: `(email,
    /// password)`.
    pub fn owner(&self, account_id: &str) -> (String, String) {
        let email = format!(
            "owner-{}@example.com",
            keymint::crypto::random::token::<6>().to_lowercase()
        );
        let args = [
            "user",
            "create",
            "--account",
            account_id,
            "--email",
            &email,
            "--role",
            "owner",
        ];
        let user = self.json(&args);
        (email, user["password"].as_str().unwrap().to_owned())
    }

    /// A pool on the same database, for reading it directly.
    pub fn db(&self) -> Db {
        let url = DatabaseUrl::new(self.database_url.clone());
        Db::connect(&url, 2, Duration::from_secs(5), Duration::from_secs(20))
    }
}

/// The one JSON object of a successful command's stdout.
pub fn json_of(args: &[&str], output: &Output) -> Value {
    assert!(
        output.status.success(),
        "keymint {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// A running `keymint serve`; killed when dropped.
pub struct Served {
    child: Child,
    pub base: String,
    pub http: reqwest::Client,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    /// Starts `keymint serve` on a free port with stderr appended to
    /// `log`, and waits until it answers `/healthz`.
    pub async fn start(binary: &Binary, log: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let child = binary
            .command(&["serve", "--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let mut served = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(status) = served.child.try_wait().unwrap() {
                let text = std::fs::read_to_string(log).unwrap_or_default();
                panic!("keymint serve exited at start-up: {status}\n{text}");
            }
            let health = served.http.get(served.url("/healthz")).send().await;
            if health.is_ok_and(|response| response.status() == 200) {
                return served;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("keymint serve on port {port} did not start");
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// SIGKILL: the process ends at once, with no chance to clean up.
    pub fn kill_9(&mut self) {
        self.child.kill().unwrap();
        let status = self.child.wait().unwrap();
        assert!(!status.success(), "{status}");
    }

    /// SIGTERM, then waits (at most 20 s) for a clean exit.
    pub async fn stop(&mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -TERM failed");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "keymint serve exited with {status}");
                return;
            }
            assert!(Instant::now() < deadline, "still running after SIGTERM");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `POST /oauth/token` for the client credentials, by Basic.
    pub async fn token(&self, client_id: &str, secret: &str) -> reqwest::Response {
        self.http
            .post(self.url("/oauth/token"))
            .basic_auth(client_id, Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
    }

    /// `POST /admin/v1/sessions` with `body`.
    pub async fn login(&self, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url("/admin/v1/sessions"))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// The session token of a successful login with `body`.
    pub async fn session(&self, body: &Value) -> String {
        let response = self.login(body).await;
        assert_eq!(response.status(), 201);
        let body: Value = response.json().await.unwrap();
        body["token"].as_str().unwrap().to_owned()
    }

    /// `method` on `/admin/v1{path}` with the session `token` and an
    /// optional JSON body.
    pub async fn admin(
        &self,
        method: reqwest::Method,
        token: &str,
        path: &str,
        body: Option<&Value>,
    ) -> reqwest::Response {
        let mut request = self
            .http
            .request(method, self.url(&format!("/admin/v1{path}")))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.unwrap()
    }

    /// The JSON of a 200 `GET /admin/v1{path}`.
    pub async fn admin_json(&self, token: &str, path: &str) -> Value {
        let response = self.admin(reqwest::Method::GET, token, path, None).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.unwrap()
    }

    /// Every audit event of the session's account, newest first.
    pub async fn audit_events(&self, token: &str) -> Vec<Value> {
        let mut events = Vec::new();
        let mut path = "/audit-events?limit=200".to_owned();
        loop {
            let page = self.admin_json(token, &path).await;
            events.extend(page["events"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(cursor) => path = format!("/audit-events?limit=200&before={cursor}"),
                None => return events,
            }
        }
    }

    /// Signs in with email and password, enrols and confirms TOTP, and
    /// signs in again with a code.
    pub async fn mfa_login(&self, email: &str, password: &str) -> MfaLogin {
        let credentials = json!({"email": email, "password": password});
        let password_session = self.session(&credentials).await;
        let post = reqwest::Method::POST;
        let started = self
            .admin(
                post.clone(),
                &password_session,
                "/me/totp",
                Some(&json!({})),
            )
            .await;
        assert_eq!(started.status(), 201);
        let started: Value = started.json().await.unwrap();
        let base32 = started["secret"].as_str().unwrap().to_owned();
        let mut totp = TestTotp::from_base32(&base32);
        let confirm = json!({"otp": totp.current_code()});
        let confirmed = self
            .admin(post, &password_session, "/me/totp/confirm", Some(&confirm))
            .await;
        assert_eq!(confirmed.status(), 204);
        let with_otp = json!({"email": email, "password": password, "otp": totp.next_code()});
        MfaLogin {
            password_session,
            session: self.session(&with_otp).await,
            otpauth_uri: started["otpauth_uri"].as_str().unwrap().to_owned(),
            totp,
        }
    }
}

/// What [`Served::mfa_login`] went through.
pub struct MfaLogin {
    /// The first session, opened with the password alone.
    pub password_session: String,
    /// The session opened with password and TOTP code.
    pub session: String,
    /// The enrolment answer's `otpauth://` URI.
    pub otpauth_uri: String,
    /// The enrolled authenticator.
    pub totp: TestTotp,
}
