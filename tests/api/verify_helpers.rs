//! What the downstream-verification tests share: tokens forged with the
//! server's own signing key or with keys it never published, a JWKS proxy
//! that counts how often a verifier fetches, and `keymint token verify`.

use std::io::Write;
use std::net::TcpListener;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use actix_web::http::header;
use actix_web::{App, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keymint::crypto::MasterKey;
use keymint::crypto::master_key::Purpose;
use keymint::crypto::signing::Pkcs8Der;
use keymint::crypto::{SigningAlgorithm, SigningKey};
use keymint::storage::signing_keys::{self, status};
use keymint::storage::{StorageError, signing_keys::SigningKeyRow};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestClient};

/// The key the running server signs with, opened from its database and
/// master key, so that a test can sign what the server never would.
pub struct ServerKey {
    /// keymint's own signer: the real header (`alg`, `typ`, `kid`).
    pub signing: SigningKey,
    pair: EcdsaKeyPair,
}

impl ServerKey {
    /// The current signing key of `app`.
    pub async fn of(app: &TestApp) -> Self {
        let rows: Vec<SigningKeyRow> = app
            .db
            .run(|conn| signing_keys::list_published(conn).map_err(StorageError::from))
            .await
            .unwrap();
        let current = rows
            .into_iter()
            .find(|row| row.status == status::CURRENT)
            .expect("the server has a current key");
        let master = MasterKey::load(&app.settings.keys_dir).unwrap();
        let der = master
            .open(
                Purpose::SigningKeys,
                &current.kid,
                current.private_key.as_deref().unwrap(),
            )
            .unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der, &SystemRandom::new())
                .unwrap();
        let signing = SigningKey::from_pkcs8(SigningAlgorithm::Es256, &Pkcs8Der::new(der)).unwrap();
        assert_eq!(signing.kid(), current.kid);
        Self { signing, pair }
    }

    /// The server's key id.
    pub fn kid(&self) -> &str {
        self.signing.kid()
    }

    /// `claims` signed exactly as the server signs its tokens.
    pub fn sign(&self, claims: &Value) -> String {
        self.signing.sign(claims).unwrap()
    }

    /// `claims` under any `header`, with a valid ES256 signature of the
    /// server's key.
    pub fn sign_with_header(&self, header: &Value, claims: &Value) -> String {
        let signing_input = format!("{}.{}", encode_json(header), encode_json(claims));
        let signature = self
            .pair
            .sign(&SystemRandom::new(), signing_input.as_bytes())
            .unwrap();
        format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.as_ref())
        )
    }
}

/// A JSON value as a base64url JWT segment.
pub fn encode_json(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The claims keymint issues to `client`, issued at `iat`.
pub fn claims_for(app: &TestApp, client: &TestClient, iat: i64) -> Value {
    json!({
        "iss": app.settings.issuer,
        "sub": client.client_id,
        "aud": app.settings.audience,
        "exp": iat + 900,
        "iat": iat,
        "jti": keymint::crypto::random::token::<16>(),
        "client_id": client.client_id,
        "scope": "reporting",
        "acct": client.account_id,
    })
}

/// A token for `client` signed with the server's real key that expired an
/// hour ago, well beyond any clock leeway.
pub fn expired_token(app: &TestApp, key: &ServerKey, client: &TestClient) -> String {
    let iat = now() - 3600 - 900;
    let jti = keymint::crypto::random::token::<16>();
    let claims = keymint::http::oauth::token::AccessTokenClaims {
        iss: &app.settings.issuer,
        sub: &client.client_id,
        aud: &app.settings.audience,
        exp: iat + 900,
        iat,
        jti: &jti,
        client_id: &client.client_id,
        scope: "reporting",
        acct: &client.account_id,
    };
    key.signing.sign(&claims).unwrap()
}

/// `claims` signed by a fresh ES256 key that no JWKS publishes.
pub fn signed_by_unknown_key(claims: &Value) -> String {
    let (key, _) = SigningKey::generate(SigningAlgorithm::Es256).unwrap();
    key.sign(claims).unwrap()
}

/// `token` with more scopes written into its payload and its original
/// signature kept.
pub fn tampered(token: &str) -> String {
    let mut parts = token.split('.');
    let (header, payload, signature) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["scope"] = json!("account-management configuration reporting");
    let forged = format!("{header}.{}.{signature}", encode_json(&claims));
    assert_ne!(forged, token);
    forged
}

/// A JWKS endpoint in front of keymint's that counts its fetches, may
/// override the `Cache-Control` keymint sends, and can play an outage.
pub struct JwksProxy {
    /// Where the proxy serves the JWKS.
    pub url: String,
    fetches: Arc<AtomicUsize>,
    down: Arc<AtomicBool>,
}

impl JwksProxy {
    /// Starts a proxy for `app`'s JWKS on a random port.
    pub fn start(app: &TestApp, cache_control: Option<&'static str>) -> Self {
        let upstream = app.url("/.well-known/jwks.json");
        let fetches = Arc::new(AtomicUsize::new(0));
        let down = Arc::new(AtomicBool::new(false));
        let (counter, outage) = (Arc::clone(&fetches), Arc::clone(&down));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
        let server = HttpServer::new(move || {
            let (upstream, counter, outage) =
                (upstream.clone(), Arc::clone(&counter), Arc::clone(&outage));
            App::new().route(
                "/jwks.json",
                web::get().to(move || {
                    let (upstream, counter) = (upstream.clone(), Arc::clone(&counter));
                    let down = outage.load(Ordering::SeqCst);
                    async move {
                        counter.fetch_add(1, Ordering::SeqCst);
                        if down {
                            return HttpResponse::ServiceUnavailable().finish();
                        }
                        let response = reqwest::get(&upstream).await.unwrap();
                        let upstream_cache = response.headers()[header::CACHE_CONTROL.as_str()]
                            .to_str()
                            .unwrap()
                            .to_owned();
                        let body = response.bytes().await.unwrap();
                        HttpResponse::Ok()
                            .insert_header((
                                header::CACHE_CONTROL,
                                cache_control.map_or(upstream_cache, str::to_owned),
                            ))
                            .content_type("application/jwk-set+json")
                            .body(body)
                    }
                }),
            )
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        actix_rt::spawn(server);
        Self { url, fetches, down }
    }

    /// Answers every later fetch with 503, as a keymint that is away.
    pub fn go_down(&self) {
        self.down.store(true, Ordering::SeqCst);
    }

    /// How many times the JWKS was fetched through the proxy.
    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

/// Runs `keymint token verify` against `app`'s database, with the token as
/// an argument or, when `stdin` is given, on standard input.
pub fn keymint_token_verify(app: &TestApp, token: Option<&str>, stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_keymint"))
        .args(["token", "verify"])
        .args(token)
        .env_clear()
        .env("KEYMINT_DATABASE_URL", app.database.url.expose_secret())
        .env("KEYMINT_KEYS_DIR", &app.settings.keys_dir)
        .env("KEYMINT_ISSUER", &app.settings.issuer)
        .env("KEYMINT_AUDIENCE", &app.settings.audience)
        .env("KEYMINT_LOG", "warn")
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
