//! No secret ever leaks: the whole walkthrough, from the CLI and over
//! HTTP against the real binary logging at `trace` (dependencies
//! included), in text and in JSON, and then every secret it saw is looked
//! for in the server's log, the CLI's stderr, the audit trail and every
//! row of the database.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keymint::crypto::master_key::Purpose;
use keymint::crypto::{ClientSecret, MasterKey, SigningAlgorithm, SigningKey};
use keymint::storage::{Backend, Db, StorageError, signing_keys};
use reqwest::Method;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::helpers::{Binary, MfaLogin, Served, binary_setup, dump_all, json_of};

mod secrets;

use secrets::Secrets;

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

/// A walkthrough in progress: the binary, what its CLI runs wrote on
/// stderr, and every secret seen so far.
struct Walk {
    binary: Binary,
    dir: TempDir,
    cli_stderr: String,
    secrets: Secrets,
    account_id: String,
    owner: (String, String),
    member_email: String,
}

impl Walk {
    /// Runs a CLI command, keeping its stderr; its stdout JSON.
    fn cli(&mut self, args: &[&str], stdin: Option<&str>) -> Value {
        let output = self.binary.run(args, stdin);
        self.cli_stderr
            .push_str(&String::from_utf8_lossy(&output.stderr));
        json_of(args, &output)
    }

    /// An account with an owner (generated password) and a member
    /// (password from stdin), all from the CLI.
    fn new(binary: Binary, dir: TempDir) -> Self {
        let tag = keymint::crypto::random::token::<6>().to_lowercase();
        let mut walk = Self {
            binary,
            dir,
            cli_stderr: String::new(),
            secrets: Secrets::default(),
            account_id: String::new(),
            owner: (format!("owner-{tag}@example.com"), String::new()),
            member_email: format!("member-{tag}@example.com"),
        };
        let account = walk.cli(&["account", "create", "--name", "Leak Co"], None);
        walk.account_id = account["id"].as_str().unwrap().to_owned();
        let owner = walk.user(&walk.owner.0.clone(), "owner", None);
        walk.owner.1 = owner["password"].as_str().unwrap().to_owned();
        walk.secrets.add("generated password", walk.owner.1.clone());
        let member_password = format!("stdin password {}", keymint::crypto::random::token::<12>());
        walk.secrets.add("password from stdin", &member_password);
        let member = walk.user(&walk.member_email.clone(), "member", Some(&member_password));
        assert!(member.get("password").is_none(), "{member}");
        walk
    }

    /// `keymint user create` in the account, with `--password-stdin` when
    /// a password is given.
    fn user(&mut self, email: &str, role: &str, password: Option<&str>) -> Value {
        let account_id = self.account_id.clone();
        let mut args = vec!["user", "create", "--account", &account_id, "--email", email];
        args.extend(["--role", role]);
        if password.is_some() {
            args.push("--password-stdin");
        }
        self.cli(&args, password)
    }

    /// Makes the account trust a new IdP; an ID token of it for the member.
    fn trust_an_idp(&mut self) -> String {
        let issuer = format!("https://idp.example.com/{}", self.account_id);
        let (sso_token, idp_jwks) = id_token(&issuer, &self.member_email);
        self.secrets.jwt("SSO ID token", &sso_token);
        let jwks_file = self.dir.path().join("idp-jwks.json");
        std::fs::write(&jwks_file, idp_jwks).unwrap();
        let account_id = self.account_id.clone();
        let sso_args = [
            "account",
            "sso",
            "--account",
            &account_id,
            "--issuer",
            &issuer,
            "--audience",
            "keymint-admin",
            "--jwks-file",
            jwks_file.to_str().unwrap(),
        ];
        self.cli(&sso_args, None);
        sso_token
    }

    /// Wrong passwords, a password session, TOTP, an MFA session, an SSO
    /// session and a failed SSO sign-in; the MFA login.
    async fn sign_ins(&mut self, served: &Served, sso_token: &str) -> MfaLogin {
        let (email, password) = self.owner.clone();
        for n in 0..2 {
            let wrong = format!(
                "wrong password {n} {}",
                keymint::crypto::random::token::<12>()
            );
            self.secrets.add("wrong password", &wrong);
            let body = json!({"email": email, "password": wrong});
            assert_eq!(served.login(&body).await.status(), 401);
        }
        let login = served.mfa_login(&email, &password).await;
        self.secrets
            .add("password session", &login.password_session);
        self.secrets.add("MFA session", &login.session);
        let bearer = format!("Bearer {}", login.session);
        self.secrets.add("Authorization of the MFA session", bearer);
        // The otpauth URI carries the base32 secret. TOTP codes are six
        // digits: too short to look for without matching unrelated numbers,
        // so they are not looked for.
        self.secrets.add("TOTP secret (base32)", &login.totp.base32);
        self.secrets.bytes("TOTP secret", login.totp.bytes());
        assert!(login.otpauth_uri.contains(&login.totp.base32));
        let sso = sso_login(served, sso_token).await;
        assert_eq!(sso.status(), 201);
        let sso: Value = sso.json().await.unwrap();
        self.secrets
            .add("SSO session", sso["token"].as_str().unwrap());
        let forged = format!("{}x", &sso_token[..sso_token.len() - 1]);
        self.secrets.add("forged ID token", &forged);
        assert_eq!(sso_login(served, &forged).await.status(), 401);
        login
    }

    /// A client through the API and one through the CLI, tokens by Basic
    /// and by post, introspection, `token verify`, revocation both ways, and
    /// refused secrets; the API client's `client_id`.
    async fn clients_and_tokens(&mut self, served: &Served, session: &str) -> String {
        let body = json!({"name": "api key", "scopes": ["reporting", "configuration"]});
        let created = served
            .admin(Method::POST, session, "/clients", Some(&body))
            .await;
        assert_eq!(created.status(), 201);
        let api: Value = created.json().await.unwrap();
        let (api_id, api_secret) = (str_of(&api, "client_id"), str_of(&api, "client_secret"));
        self.secrets
            .client_secret("API client's secret", &api_secret);
        self.secrets
            .basic("API client's Authorization", &api_id, &api_secret);
        let account_id = self.account_id.clone();
        let cli_args = [
            "client",
            "create",
            "--account",
            &account_id,
            "--name",
            "cli key",
            "--scope",
            "reporting",
        ];
        let cli_client = self.cli(&cli_args, None);
        let (cli_id, cli_secret) = (
            str_of(&cli_client, "client_id"),
            str_of(&cli_client, "client_secret"),
        );
        self.secrets
            .client_secret("CLI client's secret", &cli_secret);
        self.secrets
            .basic("CLI client's Authorization", &cli_id, &cli_secret);

        let by_basic = access_token(served.token(&api_id, &api_secret).await).await;
        let by_post = access_token(token_by_post(served, &cli_id, &cli_secret).await).await;
        self.secrets.jwt("access token by Basic", &by_basic);
        self.secrets.jwt("access token by post", &by_post);
        let introspected = served
            .http
            .post(served.url("/oauth/introspect"))
            .basic_auth(&cli_id, Some(&cli_secret))
            .form(&[("token", by_basic.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(introspected.status(), 200);
        let introspected: Value = introspected.json().await.unwrap();
        assert_eq!(introspected["active"], true, "{introspected}");
        let verify = self.cli(
            &["--issuer", &served.base, "token", "verify", &by_post],
            None,
        );
        assert_eq!(verify["claims"]["client_id"], cli_id.as_str());

        let revoke_path = format!("/clients/{}", str_of(&api, "id"));
        let revoked = served
            .admin(Method::DELETE, session, &revoke_path, None)
            .await;
        assert_eq!(revoked.status(), 204);
        self.cli(&["client", "revoke", "--client-id", &cli_id], None);
        assert_eq!(served.token(&api_id, &api_secret).await.status(), 401);
        let wrong_secret = ClientSecret::generate();
        let wrong_secret = wrong_secret.expose_secret();
        self.secrets
            .client_secret("wrong client secret", wrong_secret);
        self.secrets
            .basic("wrong Authorization", &api_id, wrong_secret);
        assert_eq!(served.token(&api_id, wrong_secret).await.status(), 401);
        let by_post = token_by_post(served, &cli_id, wrong_secret).await;
        assert_eq!(by_post.status(), 401);
        // Two authentication methods at once, with the secret in the query
        // string too (which is never logged).
        let both = served
            .http
            .post(served.url(&format!("/oauth/token?client_secret={cli_secret}")))
            .basic_auth(&cli_id, Some(&cli_secret))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_secret", &cli_secret),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(both.status(), 400);
        api_id
    }

    /// `master.key` and every private signing key, unsealed, as secrets.
    async fn keys(&mut self, db: &Db) {
        let master_text = std::fs::read_to_string(self.binary.keys_dir.join("master.key")).unwrap();
        let master_text = master_text.trim();
        self.secrets.add("master key file", master_text);
        let master_bytes = URL_SAFE_NO_PAD.decode(master_text).unwrap();
        self.secrets.bytes("master key", &master_bytes);
        let master = MasterKey::load(&self.binary.keys_dir).unwrap();
        let rows = db
            .run(|conn| signing_keys::list_all(conn).map_err(StorageError::from))
            .await
            .unwrap();
        assert!(rows.len() >= 2, "a current and a next key");
        for row in rows {
            let sealed = row.private_key.unwrap();
            let der = master
                .open(Purpose::SigningKeys, &row.kid, &sealed)
                .unwrap();
            self.secrets.bytes("private signing key", &der);
        }
    }
}

fn str_of(value: &Value, member: &str) -> String {
    value[member].as_str().unwrap().to_owned()
}

async fn sso_login(served: &Served, id_token: &str) -> reqwest::Response {
    served
        .http
        .post(served.url("/admin/v1/sessions/sso"))
        .json(&json!({ "id_token": id_token }))
        .send()
        .await
        .unwrap()
}

/// Goes through everything keymint offers that involves a secret, with
/// the server logging at `trace` in `format`, and checks every place a
/// secret must never be.
async fn walkthrough_leaks_nothing(format: &str) {
    let (mut binary, database, dir) = binary_setup();
    binary.env = vec![
        ("KEYMINT_LOG".into(), "trace".into()),
        ("KEYMINT_LOG_FORMAT".into(), format.into()),
    ];
    let log = dir.path().join("serve.log");
    let mut walk = Walk::new(binary, dir);
    let sso_token = walk.trust_an_idp();
    let mut served = Served::start(&walk.binary, &log).await;

    let login = walk.sign_ins(&served, &sso_token).await;
    let api_id = walk.clients_and_tokens(&served, &login.session).await;
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
    let db = walk.binary.db();
    walk.keys(&db).await;

    let server_log = std::fs::read_to_string(&log).unwrap();
    let trace_line = match format {
        "json" => r#""level":"TRACE""#,
        _ => " TRACE ",
    };
    assert!(
        server_log.contains(trace_line),
        "the log is not at trace level"
    );
    assert!(server_log.contains(&api_id), "the log names the client");
    walk.secrets.assert_none_in("the server's log", &server_log);
    walk.secrets
        .assert_none_in("the CLI's stderr", &walk.cli_stderr);
    let audit = serde_json::to_string(&events).unwrap();
    assert!(
        audit.contains("client.created") && audit.contains("login.failed"),
        "{audit}"
    );
    walk.secrets.assert_none_in("the audit trail", &audit);
    let everything = dump_all(&db).await;
    assert!(everything.contains(&api_id) && everything.contains("login.failed"));
    walk.secrets.assert_none_in("the database", &everything);
    if database.backend() == Backend::Sqlite {
        drop(db);
        let path = walk.binary.database_url.clone();
        for file in [path.clone(), format!("{path}-wal")] {
            let bytes = std::fs::read(&file).unwrap_or_default();
            walk.secrets
                .assert_none_in(&file, &String::from_utf8_lossy(&bytes));
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
