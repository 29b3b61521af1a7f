//! Several `keymint serve` processes on one database behave as one
//! service: clients and revocations are shared at once, a rotation reaches
//! every instance within seconds, and no token fails verification while
//! signing keys rotate.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use keymint::crypto::totp::{TotpSecret, code_at, step_at};
use keymint::domain::Role;
use keymint::service::audit::Actor;
use keymint::service::users;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::helpers::TestDatabase;

/// One `keymint serve` child process; killed when dropped.
struct Instance {
    child: Child,
    base: String,
    issuer: String,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A database and keys directory shared by the instances of one test.
struct Cluster {
    database: TestDatabase,
    dir: TempDir,
    http: reqwest::Client,
}

/// Every instance shares one issuer, as behind a load balancer.
const ISSUER: &str = "https://keymint.test";

impl Cluster {
    fn new() -> Self {
        keymint::verify::ring_provider::install();
        let dir = tempfile::tempdir().unwrap();
        let database = TestDatabase::create(&dir);
        Self {
            database,
            dir,
            http: reqwest::Client::new(),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_keymint"));
        command
            .args(args)
            .env_clear()
            .env("KEYMINT_DATABASE_URL", self.database.url.expose_secret())
            .env("KEYMINT_KEYS_DIR", self.dir.path().join("keys"))
            .env("KEYMINT_ISSUER", ISSUER)
            .env("KEYMINT_LOG", "warn");
        command
    }

    async fn start(&self) -> Instance {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = self
            .command(&["serve", "--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let instance = Instance {
            child,
            base: format!("http://127.0.0.1:{port}"),
            issuer: ISSUER.into(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self
                .http
                .get(instance.url("/.well-known/jwks.json"))
                .send()
                .await
                .is_ok()
            {
                return instance;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("instance on port {port} did not start");
    }

    fn cli(&self, args: &[&str]) -> Value {
        let output = self.command(args).output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    }

    async fn token(&self, instance: &Instance, id: &str, secret: &str) -> reqwest::Response {
        self.http
            .post(instance.url("/oauth/token"))
            .basic_auth(id, Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
    }

    async fn jwks(&self, instance: &Instance) -> JwkSet {
        self.http
            .get(instance.url("/.well-known/jwks.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// An owner of a new account signed in on `instance` with an MFA session.
    async fn owner_session(&self, instance: &Instance) -> String {
        let account = self.cli(&["account", "create", "--name", "Acme"]);
        let account_id = account["id"].as_str().unwrap().to_owned();
        let db = keymint::startup::open_connection(&self.settings());
        let mut conn = db.unwrap();
        let email = format!(
            "{}@example.com",
            keymint::crypto::random::token::<6>().to_lowercase()
        );
        users::create(
            &mut conn,
            &account_id,
            &email,
            Role::Owner,
            Some("pw-owner-1"),
            &Actor::Cli,
        )
        .unwrap();
        drop(conn);
        let login = |otp: Option<String>| {
            let body = json!({ "email": email, "password": "pw-owner-1", "otp": otp });
            self.http
                .post(instance.url("/admin/v1/sessions"))
                .json(&body)
                .send()
        };
        let first: Value = login(None).await.unwrap().json().await.unwrap();
        let token = first["token"].as_str().unwrap().to_owned();
        let enrol: Value = self
            .http
            .post(instance.url("/admin/v1/me/totp"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let secret = base32(enrol["secret"].as_str().unwrap());
        let step = step_at(chrono::Utc::now().timestamp());
        let code = |step| format!("{:06}", code_at(&secret, step));
        let confirmed = self
            .http
            .post(instance.url("/admin/v1/me/totp/confirm"))
            .bearer_auth(&token)
            .json(&json!({ "otp": code(step) }))
            .send()
            .await
            .unwrap();
        assert_eq!(confirmed.status(), 204);
        // The next step's code is within the accepted skew and not yet used.
        let second: Value = login(Some(code(step + 1)))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(second["mfa"], true, "{second}");
        second["token"].as_str().unwrap().to_owned()
    }

    fn settings(&self) -> keymint::config::Settings {
        let listen = "127.0.0.1:0".parse().unwrap();
        let mut settings =
            crate::helpers::test_settings(listen, &self.database, self.dir.path().join("keys"));
        settings.issuer = ISSUER.into();
        settings
    }
}

impl Instance {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

fn base32(text: &str) -> TotpSecret {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits = 0u64;
    let mut count = 0;
    let mut out = Vec::new();
    for byte in text.bytes() {
        let value = ALPHABET.iter().position(|c| *c == byte).unwrap() as u64;
        bits = (bits << 5) | value;
        count += 5;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    TotpSecret::from_bytes(out).unwrap()
}

/// Verifies `token` against `jwks` with every check a downstream would make.
fn verifies(token: &str, jwks: &JwkSet, issuer: &str) -> Result<(), String> {
    let header = jsonwebtoken::decode_header(token).map_err(|e| e.to_string())?;
    let kid = header.kid.ok_or("no kid")?;
    let jwk = jwks
        .find(&kid)
        .ok_or_else(|| format!("kid {kid} not in the other instance's JWKS"))?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[format!("{issuer}/api")]);
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .map(drop)
        .map_err(|e| e.to_string())
}

fn kids(jwks: &JwkSet) -> Vec<String> {
    jwks.keys
        .iter()
        .filter_map(|jwk| jwk.common.key_id.clone())
        .collect()
}

#[actix_rt::test]
async fn a_client_created_on_one_instance_works_on_the_other_and_revocation_is_shared() {
    let cluster = Cluster::new();
    let (a, b) = (cluster.start().await, cluster.start().await);
    let session = cluster.owner_session(&a).await;

    let created: Value = cluster
        .http
        .post(a.url("/admin/v1/clients"))
        .bearer_auth(&session)
        .json(&json!({ "name": "shared", "scopes": ["reporting"] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (id, secret) = (
        created["client_id"].as_str().unwrap(),
        created["client_secret"].as_str().unwrap(),
    );
    let on_b = cluster.token(&b, id, secret).await;
    let record = created["id"].as_str().unwrap();
    let revoked = cluster
        .http
        .delete(a.url(&format!("/admin/v1/clients/{record}")))
        .bearer_auth(&session)
        .send()
        .await
        .unwrap();
    let revoked_at = Instant::now();
    let mut refused_after = None;
    while revoked_at.elapsed() < Duration::from_secs(1) {
        if cluster.token(&b, id, secret).await.status() == 401 {
            refused_after = Some(revoked_at.elapsed());
            break;
        }
    }

    assert_eq!(on_b.status(), 200);
    assert_eq!(revoked.status(), 204);
    let refused_after = refused_after.expect("instance B refuses the revoked client within 1 s");
    assert!(refused_after < Duration::from_secs(1));
    assert_eq!(kids(&cluster.jwks(&a).await), kids(&cluster.jwks(&b).await));
}

/// Requests tokens alternately from every instance while the CLI rotates
/// the signing key, verifying each against the JWKS of another instance.
async fn rotate_under_load(instance_count: usize) {
    let cluster = Cluster::new();
    let mut instances = Vec::new();
    for _ in 0..instance_count {
        instances.push(cluster.start().await);
    }
    let account = cluster.cli(&["account", "create", "--name", "Load"]);
    let client = cluster.cli(&[
        "client",
        "create",
        "--account",
        account["id"].as_str().unwrap(),
        "--name",
        "load",
        "--scope",
        "reporting",
    ]);
    let (id, secret) = (
        client["client_id"].as_str().unwrap(),
        client["client_secret"].as_str().unwrap(),
    );
    let before = kids(&cluster.jwks(&instances[0]).await);

    let mut failures = Vec::new();
    let mut issued = 0;
    let mut rotation: Option<(Value, Instant)> = None;
    let mut overlap_seen = false;
    let mut switched_after = None;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        for (index, instance) in instances.iter().enumerate() {
            let verifier = &instances[(index + 1) % instances.len()];
            let response = cluster.token(instance, id, secret).await;
            if response.status() != 200 {
                failures.push(format!(
                    "token request to instance {index}: {}",
                    response.status()
                ));
                continue;
            }
            let token: Value = response.json().await.unwrap();
            let token = token["access_token"].as_str().unwrap().to_owned();
            let jwks = cluster.jwks(verifier).await;
            if let Err(err) = verifies(&token, &jwks, &verifier.issuer) {
                failures.push(format!("token of instance {index}: {err}"));
            }
            issued += 1;
            if let Some((rotated, at)) = &rotation {
                let new_kid = rotated["kid"].as_str().unwrap();
                let kid = jsonwebtoken::decode_header(&token).unwrap().kid.unwrap();
                let jwks_kids = kids(&jwks);
                overlap_seen |=
                    jwks_kids.contains(&before[0]) && jwks_kids.iter().any(|k| k == new_kid);
                if kid == new_kid && switched_after.is_none() && index + 1 == instances.len() {
                    switched_after = Some(at.elapsed());
                }
            }
        }
        if rotation.is_none() && issued >= 20 {
            rotation = Some((cluster.cli(&["keys", "rotate"]), Instant::now()));
        }
        if switched_after.is_some() && issued >= 200 {
            break;
        }
    }

    assert!(
        failures.is_empty(),
        "{} failures, first: {:?}",
        failures.len(),
        failures.first()
    );
    let (rotated, _) = rotation.expect("the key was rotated");
    assert_eq!(
        rotated["kid"].as_str(),
        Some(before[1].as_str()),
        "the published next key signs"
    );
    let switched_after = switched_after.expect("every instance signs with the new key");
    assert!(
        switched_after < Duration::from_secs(10),
        "took {switched_after:?}"
    );
    assert!(
        overlap_seen,
        "old and new keys were both published during the overlap"
    );
    let after = kids(&cluster.jwks(&instances[0]).await);
    assert_eq!(
        after.len(),
        3,
        "current, next and the previous key: {after:?}"
    );
    assert!(
        after.contains(&before[0]),
        "the previous key stays published"
    );
}

#[actix_rt::test]
async fn rotation_across_two_instances_fails_no_verification() {
    rotate_under_load(2).await;
}

#[actix_rt::test]
async fn rotation_on_one_instance_fails_no_verification() {
    rotate_under_load(1).await;
}
