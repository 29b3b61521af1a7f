//! Micro-benchmarks of the token path's parts and of verification:
//! `cargo bench --bench micro`.
//!
//! - secret parsing (prefix, alphabet, checksum) and hash comparison;
//! - minting a token per algorithm with a pre-parsed key;
//! - rendering the JWKS;
//! - one whole token request through the app in-process (SQLite);
//! - a failed admin sign-in with a wrong password and with an unknown email,
//!   which must cost the same (the unknown email is checked against a dummy
//!   argon2id hash);
//! - verifying a token with `keymint::verify` against cached keys.

use actix_web::{test, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use criterion::{Criterion, criterion_group, criterion_main};
use keymint::config::{LogFormat, Settings};
use keymint::crypto::{ClientSecret, MasterKey, SigningAlgorithm, SigningKey};
use keymint::domain::Role;
use keymint::http::oauth::token::AccessTokenClaims;
use keymint::service::audit::Actor;
use keymint::service::sessions::{self, PasswordLogin};
use keymint::service::{accounts, clients, users};
use keymint::storage::DatabaseUrl;
use keymint::verify::{KeyCache, Rules, validate};
use std::hint::black_box;

fn claims(now: i64) -> AccessTokenClaims<'static> {
    AccessTokenClaims {
        iss: "http://127.0.0.1:8080",
        sub: "kmc_AAAAAAAAAAAAAAAAAAAAAA",
        aud: "http://127.0.0.1:8080/api",
        exp: now + 900,
        iat: now,
        jti: "bench-jti-0123456789",
        client_id: "kmc_AAAAAAAAAAAAAAAAAAAAAA",
        scope: "configuration reporting",
        acct: "6f1c2d9e-4f0b-4a57-9d2e-2b7c1c5a9e11",
    }
}

fn secrets(c: &mut Criterion) {
    let secret = ClientSecret::generate();
    let text = secret.expose_secret().to_owned();
    let hash = secret.hash();

    c.bench_function("secret/parse", |b| {
        b.iter(|| ClientSecret::parse(black_box(&text)))
    });
    c.bench_function("secret/parse_and_verify", |b| {
        b.iter(|| ClientSecret::parse(black_box(&text)).is_some_and(|s| hash.matches(&s)))
    });
}

fn minting(c: &mut Criterion) {
    let now = chrono::Utc::now().timestamp();
    for algorithm in [
        SigningAlgorithm::Es256,
        SigningAlgorithm::EdDsa,
        SigningAlgorithm::Rs256,
    ] {
        let (key, _) = SigningKey::generate(algorithm).unwrap();
        let claims = claims(now);
        c.bench_function(&format!("mint/{algorithm}"), |b| {
            b.iter(|| key.sign(black_box(&claims)))
        });
    }
}

fn jwks_and_verification(c: &mut Criterion) {
    keymint::verify::ring_provider::install();
    let now = chrono::Utc::now().timestamp();
    for algorithm in [
        SigningAlgorithm::Es256,
        SigningAlgorithm::EdDsa,
        SigningAlgorithm::Rs256,
    ] {
        let (current, _) = SigningKey::generate(algorithm).unwrap();
        let (next, _) = SigningKey::generate(algorithm).unwrap();
        let published = vec![current.public_jwk().clone(), next.public_jwk().clone()];
        if algorithm == SigningAlgorithm::Es256 {
            c.bench_function("jwks/render", |b| {
                b.iter(|| serde_json::to_vec(&serde_json::json!({ "keys": black_box(&published) })))
            });
        }
        let jwks = serde_json::to_vec(&serde_json::json!({ "keys": published })).unwrap();
        let keys = KeyCache::from_json(&jwks).unwrap();
        let rules = Rules::new("http://127.0.0.1:8080", "http://127.0.0.1:8080/api");
        let token = current.sign(&claims(now)).unwrap();
        assert!(validate(&token, &keys, &rules).is_ok());
        c.bench_function(&format!("verify/{algorithm}"), |b| {
            b.iter(|| validate(black_box(&token), &keys, &rules))
        });
    }
}

fn whole_request(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let listen = "127.0.0.1:8080".parse().unwrap();
    let settings = Settings {
        database_url: DatabaseUrl::new(dir.path().join("bench.db").to_string_lossy()),
        listen,
        issuer: "http://127.0.0.1:8080".into(),
        audience: "http://127.0.0.1:8080/api".into(),
        keys_dir: dir.path().join("keys"),
        signing_alg: SigningAlgorithm::Es256,
        key_rotation_days: None,
        token_ttl: 900,
        session_ttl: 3600,
        auth_failures_per_minute: None,
        trusted_proxies: Default::default(),
        log: "error".into(),
        log_format: LogFormat::Text,
    };
    let state = keymint::startup::prepare_state(settings).unwrap();
    let created = state
        .db
        .run_blocking(|conn| {
            let account = accounts::create(conn, "Bench", false, &Actor::Cli)?;
            let scopes = ["reporting".to_owned()];
            let request = clients::NewClientRequest {
                account_id: &account.id,
                name: "bench",
                scopes: &scopes,
                actor: &Actor::Cli,
                source_ip: None,
            };
            clients::create(conn, &request).map_err(anyhow::Error::from)
        })
        .unwrap();
    let authorization = format!(
        "Basic {}",
        STANDARD.encode(format!(
            "{}:{}",
            created.client_id,
            created.client_secret.expose_secret()
        ))
    );
    let state = web::Data::new(state);
    let runtime = actix_rt::System::new();
    let app = runtime.block_on(test::init_service(keymint::http::app(state)));

    c.bench_function("token_request/in_process", |b| {
        b.iter(|| {
            let request = test::TestRequest::post()
                .uri("/oauth/token")
                .insert_header(("Authorization", authorization.as_str()))
                .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
                .set_payload("grant_type=client_credentials")
                .to_request();
            let response = runtime.block_on(test::call_service(&app, request));
            assert_eq!(response.status(), 200);
        })
    });
}

/// Wrong password and unknown email through the same service call: the
/// two timings should match, so that timing does not tell which emails
/// exist.
fn failed_logins(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let url = DatabaseUrl::new(dir.path().join("bench.db").to_string_lossy());
    let mut conn = keymint::storage::establish(&url).unwrap();
    keymint::storage::migrations::run_pending(&mut conn).unwrap();
    let account = accounts::create(&mut conn, "Bench", false, &Actor::Cli).unwrap();
    let (owner, _) = users::create(
        &mut conn,
        &account.id,
        "owner@bench.example",
        Role::Owner,
        Some("the right password"),
        &Actor::Cli,
    )
    .unwrap();
    let master = MasterKey::ephemeral();
    let mut group = c.benchmark_group("login_refused");
    group.sample_size(20);
    for (name, email) in [
        ("wrong_password", owner.email.as_str()),
        ("unknown_email", "nobody@bench.example"),
    ] {
        let login = PasswordLogin {
            email,
            password: "a wrong password",
            otp: None,
        };
        group.bench_function(name, |b| {
            b.iter(|| {
                let refused = sessions::login_password(&mut conn, &master, &login, 3600, None);
                assert!(refused.is_err());
            })
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    secrets,
    minting,
    jwks_and_verification,
    whole_request,
    failed_logins
);
criterion_main!(benches);
