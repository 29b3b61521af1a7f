//! `POST /admin/v1/sessions/sso` against an OpenID Connect IdP built in the
//! test, trusted with `keymint account sso` or `service::sso::configure`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{EncodingKey, Header};
use keymint::crypto::{SigningAlgorithm, SigningKey};
use keymint::domain::Role;
use keymint::service::sso;
use serde_json::{Value, json};

use crate::cli::{failure_line, json_out, keymint};
use crate::helpers::{TestApp, assert_problem, keys, spawn_app};

/// An IdP: one signing key, an issuer and the audience keymint expects.
struct Idp {
    key: SigningKey,
    issuer: String,
    audience: String,
}

impl Idp {
    fn new(algorithm: SigningAlgorithm) -> Self {
        let (key, _) = SigningKey::generate(algorithm).unwrap();
        let tag = keymint::crypto::random::token::<6>();
        Self {
            key,
            issuer: format!("https://idp.example.com/{tag}"),
            audience: "keymint-admin".into(),
        }
    }

    fn jwks(&self) -> String {
        json!({"keys": [self.key.public_jwk()]}).to_string()
    }

    /// Claims of a fresh ID token for `email`.
    fn claims(&self, email: &str) -> Value {
        let now = chrono::Utc::now().timestamp();
        json!({
            "iss": self.issuer, "aud": self.audience, "sub": "idp-user-1",
            "email": email, "email_verified": true, "iat": now, "exp": now + 300,
        })
    }

    fn sign(&self, claims: &Value) -> String {
        self.key.sign(claims).unwrap()
    }

    fn id_token(&self, email: &str) -> String {
        self.sign(&self.claims(email))
    }

    /// Makes `account_id` trust this IdP.
    async fn trusted_by(&self, app: &TestApp, account_id: &str) {
        let (account, issuer, audience, jwks) = (
            account_id.to_owned(),
            self.issuer.clone(),
            self.audience.clone(),
            self.jwks(),
        );
        app.db
            .run(move |conn| sso::configure(conn, &account, &issuer, &audience, &jwks))
            .await
            .unwrap();
    }
}

async fn post_sso(app: &TestApp, id_token: &str) -> reqwest::Response {
    app.http
        .post(app.url("/admin/v1/sessions/sso"))
        .json(&json!({ "id_token": id_token }))
        .send()
        .await
        .unwrap()
}

fn segments(token: &str) -> Vec<&str> {
    token.split('.').collect()
}

#[actix_rt::test]
async fn cli_trusts_an_idp_and_its_es256_id_token_opens_an_sso_session() {
    let app = spawn_app().await;
    let account = app.account(false).await;
    let owner = app.user_in(&account.id, Role::Owner).await;
    let idp = Idp::new(SigningAlgorithm::Es256);
    let dir = tempfile::tempdir().unwrap();
    let jwks_file = dir.path().join("jwks.json");
    std::fs::write(&jwks_file, idp.jwks()).unwrap();
    let configured = json_out(&keymint(
        &app,
        &[
            "account",
            "sso",
            "--account",
            &account.id,
            "--issuer",
            &idp.issuer,
            "--audience",
            &idp.audience,
            "--jwks-file",
            jwks_file.to_str().unwrap(),
        ],
    ));
    let id_token = idp.id_token(&owner.email);

    let response = post_sso(&app, &id_token).await;

    assert_eq!(
        configured,
        json!({"account_id": account.id, "issuer": idp.issuer})
    );
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    let token = body["token"].as_str().unwrap();
    assert!(token.starts_with("kmsess_"));
    let me = app.me(token).await;
    assert_eq!(me["user"]["id"], owner.id);
    assert_eq!(me["session"]["method"], "sso");
    assert_eq!(me["can_create_clients"], true);
    assert_eq!(me["create_blocked_reason"], Value::Null);
    let created = app.create_client(token, "from sso", &["reporting"]).await;
    assert_eq!(created["created_by"], owner.id);
    let trail = serde_json::to_string(&app.audit_events(token).await).unwrap();
    assert!(trail.contains(r#""method":"sso""#), "{trail}");
    assert!(!trail.contains(&id_token) && !trail.contains(segments(&id_token)[2]));
}

#[actix_rt::test]
async fn rs256_id_token_opens_an_sso_session_with_the_users_role() {
    let app = spawn_app().await;
    let account = app.account(false).await;
    let member = app.user_in(&account.id, Role::Member).await;
    let idp = Idp::new(SigningAlgorithm::Rs256);
    idp.trusted_by(&app, &account.id).await;

    let response = post_sso(&app, &idp.id_token(&member.email.to_uppercase())).await;

    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    for member in ["token", "expires_at", "mfa"] {
        assert!(keys(&body).contains(&member), "{member} in {body}");
    }
    let me = app.me(body["token"].as_str().unwrap()).await;
    assert_eq!(me["user"]["id"], member.id);
    assert_eq!(me["session"]["method"], "sso");
    assert_eq!(me["can_create_clients"], false);
    assert_eq!(me["create_blocked_reason"], "owner_role_required");
}

#[actix_rt::test]
async fn id_tokens_that_do_not_check_out_are_invalid_credentials() {
    let app = spawn_app().await;
    let account = app.account(false).await;
    let owner = app.user_in(&account.id, Role::Owner).await;
    let outsider = app.owner().await;
    let idp = Idp::new(SigningAlgorithm::Es256);
    idp.trusted_by(&app, &account.id).await;
    let impostor = Idp::new(SigningAlgorithm::Es256);
    impostor.trusted_by(&app, &outsider.account_id).await;
    let now = chrono::Utc::now().timestamp();
    let valid = idp.claims(&owner.email);
    let with = |changes: Value| {
        let mut claims = valid.clone();
        for (name, value) in changes.as_object().unwrap() {
            match value {
                Value::Null => claims.as_object_mut().unwrap().remove(name),
                _ => claims
                    .as_object_mut()
                    .unwrap()
                    .insert(name.clone(), value.clone()),
            };
        }
        idp.sign(&claims)
    };
    let genuine = idp.sign(&valid);
    let forged = impostor.sign(&valid);
    let same_kid_bad_signature = format!(
        "{}.{}.{}",
        segments(&genuine)[0],
        segments(&forged)[1],
        segments(&forged)[2]
    );
    let payload = URL_SAFE_NO_PAD.encode(valid.to_string());
    let alg_none = format!(
        "{}.{payload}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#)
    );
    let mut hs_header = Header::new(jsonwebtoken::Algorithm::HS256);
    hs_header.kid = Some(idp.key.kid().to_owned());
    let hs256_with_public_key = jsonwebtoken::encode(
        &hs_header,
        &valid,
        &EncodingKey::from_secret(idp.jwks().as_bytes()).unwrap(),
    )
    .unwrap();
    let cases = [
        ("bad signature, same kid", same_kid_bad_signature),
        ("key the IdP does not publish", forged),
        (
            "wrong iss",
            with(json!({"iss": "https://evil.example.com"})),
        ),
        (
            "iss of another account's IdP",
            with(json!({"iss": impostor.issuer})),
        ),
        (
            "another account's IdP vouching for this user",
            impostor.id_token(&owner.email),
        ),
        ("wrong aud", with(json!({"aud": "someone-else"}))),
        ("expired", with(json!({"exp": now - 600, "iat": now - 900}))),
        ("no exp", with(json!({"exp": null}))),
        (
            "iat in the future",
            with(json!({"iat": now + 3_600, "exp": now + 7_200})),
        ),
        ("not yet valid", with(json!({"nbf": now + 3_600}))),
        ("no email", with(json!({"email": null}))),
        ("unverified email", with(json!({"email_verified": false}))),
        (
            "another account's user",
            with(json!({"email": outsider.email})),
        ),
        (
            "unknown email",
            with(json!({"email": "nobody@example.com"})),
        ),
        ("alg none", alg_none),
        ("HS256 keyed with the public key", hs256_with_public_key),
        ("garbage", "not-a-token".into()),
        ("three garbage segments", "a.b.c".into()),
    ];

    let mut bodies = Vec::new();
    for (case, id_token) in cases {
        let response = post_sso(&app, &id_token).await;

        assert_eq!(response.status(), 401, "{case}");
        bodies.push(assert_problem(response, 401, "invalid_credentials").await);
    }
    assert!(bodies.windows(2).all(|pair| pair[0] == pair[1]));
    assert_eq!(post_sso(&app, &genuine).await.status(), 201);
}

#[actix_rt::test]
async fn configuring_another_idp_replaces_the_trusted_one() {
    let app = spawn_app().await;
    let account = app.account(false).await;
    let owner = app.user_in(&account.id, Role::Owner).await;
    let (old, new) = (
        Idp::new(SigningAlgorithm::Es256),
        Idp::new(SigningAlgorithm::Es256),
    );
    old.trusted_by(&app, &account.id).await;
    new.trusted_by(&app, &account.id).await;

    let from_old = post_sso(&app, &old.id_token(&owner.email)).await;
    let from_new = post_sso(&app, &new.id_token(&owner.email)).await;

    assert_problem(from_old, 401, "invalid_credentials").await;
    assert_eq!(from_new.status(), 201);
}

#[actix_rt::test]
async fn sso_body_without_an_id_token_is_validation_failed() {
    let app = spawn_app().await;

    let response = app
        .http
        .post(app.url("/admin/v1/sessions/sso"))
        .json(&json!({"token": "x"}))
        .send()
        .await
        .unwrap();

    assert_problem(response, 422, "validation_failed").await;
}

#[actix_rt::test]
async fn cli_refuses_an_insecure_issuer_and_an_unusable_jwks() {
    let app = spawn_app().await;
    let account = app.account(false).await;
    let idp = Idp::new(SigningAlgorithm::Es256);
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("jwks.json");
    std::fs::write(&good, idp.jwks()).unwrap();
    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, r#"{"keys": []}"#).unwrap();
    let sso = |issuer: &str, jwks: &std::path::Path| {
        keymint(
            &app,
            &[
                "account",
                "sso",
                "--account",
                &account.id,
                "--issuer",
                issuer,
                "--audience",
                "keymint-admin",
                "--jwks-file",
                jwks.to_str().unwrap(),
            ],
        )
    };

    let plain_http = failure_line(&sso("http://idp.example.com", &good));
    let no_keys = failure_line(&sso(&idp.issuer, &empty));
    let missing = failure_line(&sso(&idp.issuer, &dir.path().join("nope.json")));

    assert!(plain_http.contains("issuer"), "{plain_http}");
    assert!(no_keys.contains("JWKS"), "{no_keys}");
    assert!(missing.contains("--jwks-file"), "{missing}");
}
