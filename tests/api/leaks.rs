//! No secret ever leaks: the whole walkthrough, from the CLI and over
//! HTTP against the real binary logging at `trace` (dependencies
//! included), in text and in JSON, and then every secret it saw is looked
//! for in the server's log, the CLI's stderr, the audit trail and every
//! row of the database.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use keymint::crypto::master_key::Purpose;
use keymint::crypto::{ClientSecret, MasterKey, SigningAlgorithm, SigningKey};
use keymint::storage::Backend;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Binary, Served, binary_setup, dump_all, json_of};

/// Every secret seen in a walkthrough, by what it is.
#[derive(Default)]
struct Secrets(Vec<(String, String)>);

impl Secrets {
    fn add(&mut self, what: &str, secret: impl Into<String>) {
        let secret = secret.into();
        assert!(secret.len() >= 16, "{what} is too short to look for");
        self.0.push((what.to_owned(), secret));
    }

    /// A client secret, whole and without its prefix and checksum.
    fn client_secret(&mut self, what: &str, secret: &str) {
        self.add(what, secret);
        self.add(&format!("{what} (random part)"), &secret[4..47]);
    }

    /// A JWT, whole and its signature alone.
    fn jwt(&mut self, what: &str, token: &str) {
        self.add(what, token);
        let signature = token.rsplit('.').next().unwrap();
        self.add(&format!("{what} (signature)"), signature);
    }

    /// Bytes as hex and as both base64 alphabets.
    fn bytes(&mut self, what: &str, bytes: &[u8]) {
        self.add(&format!("{what} (hex)"), hex(bytes));
        self.add(&format!("{what} (base64)"), STANDARD.encode(bytes));
        self.add(
            &format!("{what} (base64url)"),
            URL_SAFE_NO_PAD.encode(bytes),
        );
    }

    /// The Authorization value of HTTP Basic for these credentials.
    fn basic(&mut self, what: &str, client_id: &str, secret: &str) {
        let encoded = STANDARD.encode(format!("{client_id}:{secret}"));
        self.add(what, format!("Basic {encoded}"));
        self.add(&format!("{what} (credentials)"), encoded);
    }

    /// Asserts that none of the secrets is in `text`.
    fn assert_none_in(&self, place: &str, text: &str) {
        for (what, secret) in &self.0 {
            assert!(!text.contains(secret.as_str()), "the {what} is in {place}");
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Runs a CLI command, keeping its stderr; its stdout JSON.
fn cli(binary: &Binary, stderr: &mut String, args: &[&str], stdin: Option<&str>) -> Value {
    let output = binary.run(args, stdin);
    stderr.push_str(&String::from_utf8_lossy(&output.stderr));
    json_of(args, &output)
}

/// A token request by `client_secret_post`.
async fn token_by_post(served: &Served, client_id: &str, secret: &str) -> reqwest::Response {
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        ("client_secret", secret),
    ];
    let url = served.url("/oauth/token");
    served.http.post(url).form(&form).send().await.unwrap()
}

/// The access token of a 200 token answer.
async fn access_token(response: reqwest::Response) -> String {
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// An OpenID Connect IdP's ID token for `email`, and the IdP's JWKS.
fn id_token(issuer: &str, email: &str) -> (String, String) {
    let (key, _) = SigningKey::generate(SigningAlgorithm::Es256).unwrap();
    let now = chrono::Utc::now().timestamp();
    let claims = json!({
        "iss": issuer, "aud": "keymint-admin", "sub": "idp-user-1",
        "email": email, "email_verified": true, "iat": now, "exp": now + 300,
    });
    let jwks = json!({"keys": [key.public_jwk()]}).to_string();
    (key.sign(&claims).unwrap(), jwks)
}

/// Goes through everything keymint offers that involves a secret, and
/// checks where secrets must never be.
async fn walkthrough_leaks_nothing(format: &str) {
    let (mut binary, database, dir) = binary_setup();
    binary.env = vec![
        ("KEYMINT_LOG".into(), "trace".into()),
        ("KEYMINT_LOG_FORMAT".into(), format.into()),
    ];
    let log = dir.path().join("serve.log");
    let mut cli_stderr = String::new();
    let mut secrets = Secrets::default();
    let tag = keymint::crypto::random::token::<6>().to_lowercase();
    let (owner_email, member_email) = (
        format!("owner-{tag}@example.com"),
        format!("member-{tag}@example.com"),
    );

    // Accounts and users from the CLI, one password generated and one read
    // from stdin.
    let account = cli(
        &binary,
        &mut cli_stderr,
        &["account", "create", "--name", "Leak Co"],
        None,
    );
    let account_id = account["id"].as_str().unwrap();
    let owner = cli(
        &binary,
        &mut cli_stderr,
        &[
            "user",
            "create",
            "--account",
            account_id,
            "--email",
            &owner_email,
            "--role",
            "owner",
        ],
        None,
    );
    let owner_password = owner["password"].as_str().unwrap().to_owned();
    secrets.add("generated password", &owner_password);
    let member_password = format!("stdin password {}", keymint::crypto::random::token::<12>());
    secrets.add("password from stdin", &member_password);
    let member_args = [
        "user",
        "create",
        "--account",
        account_id,
        "--email",
        &member_email,
        "--role",
        "member",
        "--password-stdin",
    ];
    let member = cli(
        &binary,
        &mut cli_stderr,
        &member_args,
        Some(&member_password),
    );
    assert!(member.get("password").is_none(), "{member}");
    let issuer = format!("https://idp.example.com/{tag}");
    let (sso_token, idp_jwks) = id_token(&issuer, &member_email);
    secrets.jwt("SSO ID token", &sso_token);
    let jwks_file = dir.path().join("idp-jwks.json");
    std::fs::write(&jwks_file, idp_jwks).unwrap();
    let sso_args = [
        "account",
        "sso",
        "--account",
        account_id,
        "--issuer",
        &issuer,
        "--audience",
        "keymint-admin",
        "--jwks-file",
        jwks_file.to_str().unwrap(),
    ];
    cli(&binary, &mut cli_stderr, &sso_args, None);

    let mut served = Served::start(&binary, &log).await;

    // Sign-ins: wrong passwords, a password session, TOTP, an MFA session,
    // an SSO session, and a failed SSO sign-in.
    for n in 0..2 {
        let wrong = format!(
            "wrong password {n} {}",
            keymint::crypto::random::token::<12>()
        );
        secrets.add("wrong password", &wrong);
        let body = json!({"email": owner_email, "password": wrong});
        assert_eq!(served.login(&body).await.status(), 401);
    }
    let login = served.mfa_login(&owner_email, &owner_password).await;
    secrets.add("password session", &login.password_session);
    secrets.add("MFA session", &login.session);
    secrets.add(
        "Authorization of the MFA session",
        format!("Bearer {}", login.session),
    );
    // The otpauth URI carries the base32 secret. TOTP codes are six digits:
    // too short to look for without matching unrelated numbers, so they are
    // not looked for.
    secrets.add("TOTP secret (base32)", &login.totp.base32);
    secrets.bytes("TOTP secret", login.totp.bytes());
    assert!(login.otpauth_uri.contains(&login.totp.base32));
    let sso = served
        .http
        .post(served.url("/admin/v1/sessions/sso"))
        .json(&json!({"id_token": sso_token}))
        .send()
        .await
        .unwrap();
    assert_eq!(sso.status(), 201);
    let sso: Value = sso.json().await.unwrap();
    secrets.add("SSO session", sso["token"].as_str().unwrap());
    let forged = format!("{}x", &sso_token[..sso_token.len() - 1]);
    secrets.add("forged ID token", &forged);
    let refused = served
        .http
        .post(served.url("/admin/v1/sessions/sso"))
        .json(&json!({"id_token": forged}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);

    // Clients through the API and the CLI, tokens by Basic and by post,
    // introspection, revocation both ways, and refused secrets.
    let body = json!({"name": "api key", "scopes": ["reporting", "configuration"]});
    let post = Method::POST;
    let created = served
        .admin(post, &login.session, "/clients", Some(&body))
        .await;
    assert_eq!(created.status(), 201);
    let api_client: Value = created.json().await.unwrap();
    let (api_id, api_secret) = (
        api_client["client_id"].as_str().unwrap(),
        api_client["client_secret"].as_str().unwrap(),
    );
    secrets.client_secret("API client's secret", api_secret);
    secrets.basic("API client's Authorization", api_id, api_secret);
    let cli_args = [
        "client",
        "create",
        "--account",
        account_id,
        "--name",
        "cli key",
        "--scope",
        "reporting",
    ];
    let cli_client = cli(&binary, &mut cli_stderr, &cli_args, None);
    let (cli_id, cli_secret) = (
        cli_client["client_id"].as_str().unwrap(),
        cli_client["client_secret"].as_str().unwrap(),
    );
    secrets.client_secret("CLI client's secret", cli_secret);
    secrets.basic("CLI client's Authorization", cli_id, cli_secret);
    let by_basic = access_token(served.token(api_id, api_secret).await).await;
    let by_post = access_token(token_by_post(&served, cli_id, cli_secret).await).await;
    secrets.jwt("access token by Basic", &by_basic);
    secrets.jwt("access token by post", &by_post);
    let introspected = served
        .http
        .post(served.url("/oauth/introspect"))
        .basic_auth(cli_id, Some(cli_secret))
        .form(&[("token", by_basic.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(introspected.status(), 200);
    let introspected: Value = introspected.json().await.unwrap();
    assert_eq!(introspected["active"], true, "{introspected}");
    let verify_args = ["--issuer", &served.base, "token", "verify", &by_post];
    let verify = cli(&binary, &mut cli_stderr, &verify_args, None);
    assert_eq!(verify["claims"]["client_id"], cli_id);
    let revoke_path = format!("/clients/{}", api_client["id"].as_str().unwrap());
    let revoked = served
        .admin(Method::DELETE, &login.session, &revoke_path, None)
        .await;
    assert_eq!(revoked.status(), 204);
    cli(
        &binary,
        &mut cli_stderr,
        &["client", "revoke", "--client-id", cli_id],
        None,
    );
    assert_eq!(served.token(api_id, api_secret).await.status(), 401);
    let wrong_secret = ClientSecret::generate();
    let wrong_secret = wrong_secret.expose_secret();
    secrets.client_secret("wrong client secret", wrong_secret);
    secrets.basic("wrong Authorization", api_id, wrong_secret);
    assert_eq!(served.token(api_id, wrong_secret).await.status(), 401);
    assert_eq!(
        token_by_post(&served, cli_id, wrong_secret).await.status(),
        401
    );
    // Error paths: two authentication methods at once, and a secret in the
    // query string (which is never logged).
    let both = served
        .http
        .post(served.url(&format!("/oauth/token?client_secret={cli_secret}")))
        .basic_auth(cli_id, Some(cli_secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_secret", cli_secret),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(both.status(), 400);

    // Sign out, then read the audit trail with the MFA session.
    let logout = served
        .admin(
            Method::DELETE,
            &login.password_session,
            "/sessions/current",
            None,
        )
        .await;
    assert_eq!(logout.status(), 204);
    let events = served.audit_events(&login.session).await;
    served.stop().await;

    // The keys: master.key and every private signing key, unsealed.
    let master_text = std::fs::read_to_string(binary.keys_dir.join("master.key")).unwrap();
    let master_text = master_text.trim();
    secrets.add("master key file", master_text);
    secrets.bytes("master key", &URL_SAFE_NO_PAD.decode(master_text).unwrap());
    let master = MasterKey::load(&binary.keys_dir).unwrap();
    let db = binary.db();
    let stored_keys = crate::helpers::dump_tables(&db, &["signing_keys"]).await;
    let rows = db
        .run(|conn| {
            keymint::storage::signing_keys::list_all(conn)
                .map_err(keymint::storage::StorageError::from)
        })
        .await
        .unwrap();
    assert!(rows.len() >= 2, "{stored_keys}");
    for row in rows {
        let sealed = row.private_key.unwrap();
        let der = master
            .open(Purpose::SigningKeys, &row.kid, &sealed)
            .unwrap();
        secrets.bytes("private signing key", &der);
    }

    // Where no secret may be.
    let server_log = std::fs::read_to_string(&log).unwrap();
    let trace_line = match format {
        "json" => r#""level":"TRACE""#,
        _ => " TRACE ",
    };
    assert!(
        server_log.contains(trace_line),
        "the log is not at trace level"
    );
    assert!(server_log.contains(api_id), "the log names the client");
    secrets.assert_none_in("the server's log", &server_log);
    secrets.assert_none_in("the CLI's stderr", &cli_stderr);
    let audit = serde_json::to_string(&events).unwrap();
    assert!(
        audit.contains("client.created") && audit.contains("login.failed"),
        "{audit}"
    );
    secrets.assert_none_in("the audit trail", &audit);
    let everything = dump_all(&db).await;
    assert!(everything.contains(api_id) && everything.contains("login.failed"));
    secrets.assert_none_in("the database", &everything);
    if database.backend() == Backend::Sqlite {
        drop(db);
        for file in [
            binary.database_url.clone(),
            format!("{}-wal", binary.database_url),
        ] {
            let bytes = std::fs::read(&file).unwrap_or_default();
            secrets.assert_none_in(&file, &String::from_utf8_lossy(&bytes));
        }
    }
}

#[actix_rt::test]
async fn no_secret_reaches_text_logs_at_trace_the_audit_trail_or_the_database() {
    walkthrough_leaks_nothing("text").await;
}

#[actix_rt::test]
async fn no_secret_reaches_json_logs_at_trace_the_audit_trail_or_the_database() {
    walkthrough_leaks_nothing("json").await;
}
