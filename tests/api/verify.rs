//! `keymint::verify` against a live keymint: the `Verifier` with its JWKS
//! cache and refetch limit, and the actix-web scope guard.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keymint::verify::actix::{Configuration, Reporting, Scoped};
use keymint::verify::{Verifier, VerifierConfig, VerifyError};
use ring::hmac;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};
use crate::verify_helpers::{
    JwksProxy, ServerKey, claims_for, encode_json, expired_token, now, signed_by_unknown_key,
    tampered,
};

/// A verifier of `app`'s tokens that finds the JWKS through the metadata.
async fn verifier_for(app: &TestApp) -> Arc<Verifier> {
    Verifier::connect(VerifierConfig::new(
        app.settings.issuer.clone(),
        app.settings.audience.clone(),
    ))
    .await
    .unwrap()
}

/// A verifier of `app`'s tokens that fetches the JWKS through `proxy`.
async fn verifier_through(app: &TestApp, proxy: &JwksProxy, refetch: Duration) -> Arc<Verifier> {
    Verifier::connect(VerifierConfig {
        jwks_uri: Some(proxy.url.clone()),
        min_refetch_interval: refetch,
        ..VerifierConfig::new(app.settings.issuer.clone(), app.settings.audience.clone())
    })
    .await
    .unwrap()
}

async fn fresh_token(app: &TestApp, scopes: &[&str]) -> String {
    let client = app.client_with(scopes).await;
    app.token_for(&client, None).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[actix_rt::test]
async fn connect_discovers_the_jwks_and_verifies_a_fresh_token() {
    let app = spawn_app().await;
    let client = app.client_with(&["configuration", "reporting"]).await;
    let token = app.token_for(&client, None).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let verifier = verifier_for(&app).await;
    let claims = verifier.verify(&token).await.unwrap();

    assert_eq!(verifier.jwks_uri(), app.url("/.well-known/jwks.json"));
    assert_eq!(claims.client_id(), client.client_id);
    assert_eq!(claims.sub, client.client_id);
    assert_eq!(claims.account_id(), client.account_id);
    assert_eq!(
        claims.scopes().collect::<Vec<_>>(),
        ["configuration", "reporting"]
    );
    assert!(claims.has_scope("reporting"));
    assert!(!claims.has_scope("account-management"));
    assert_eq!(claims.iss, app.settings.issuer);
    assert_eq!(claims.aud, app.settings.audience);
    assert_eq!(claims.exp - claims.iat, 900);
}

#[actix_rt::test]
async fn expired_token_signed_with_the_server_key_is_expired() {
    let app = spawn_app().await;
    let client = app.client_with(&["reporting"]).await;
    let key = ServerKey::of(&app).await;
    let verifier = verifier_for(&app).await;
    let token = expired_token(&app, &key, &client);

    let result = verifier.verify(&token).await;

    assert_eq!(result, Err(VerifyError::Expired));
}

#[actix_rt::test]
async fn token_for_another_audience_is_wrong_audience() {
    let app = spawn_app().await;
    let token = fresh_token(&app, &["reporting"]).await;
    let verifier = Verifier::connect(VerifierConfig::new(
        app.settings.issuer.clone(),
        "https://billing.example/api",
    ))
    .await
    .unwrap();

    let result = verifier.verify(&token).await;

    assert_eq!(result, Err(VerifyError::WrongAudience));
}

#[actix_rt::test]
async fn token_of_another_issuer_is_wrong_issuer() {
    let app = spawn_app().await;
    let token = fresh_token(&app, &["reporting"]).await;
    let verifier = Verifier::connect(VerifierConfig {
        jwks_uri: Some(app.url("/.well-known/jwks.json")),
        ..VerifierConfig::new("https://auth.other.example", app.settings.audience.clone())
    })
    .await
    .unwrap();

    let result = verifier.verify(&token).await;

    assert_eq!(result, Err(VerifyError::WrongIssuer));
}

#[actix_rt::test]
async fn tampered_payload_is_bad_signature() {
    let app = spawn_app().await;
    let token = fresh_token(&app, &["reporting"]).await;
    let verifier = verifier_for(&app).await;
    let forged = tampered(&token);

    let original = verifier.verify(&token).await;
    let result = verifier.verify(&forged).await;

    assert!(original.is_ok(), "{original:?}");
    assert_eq!(result, Err(VerifyError::BadSignature));
}

#[actix_rt::test]
async fn token_signed_by_an_unpublished_key_is_unknown_key() {
    let app = spawn_app().await;
    let client = app.client_with(&["reporting"]).await;
    let verifier = verifier_for(&app).await;
    let token = signed_by_unknown_key(&claims_for(&app, &client, now()));

    let result = verifier.verify(&token).await;

    assert_eq!(result, Err(VerifyError::UnknownKey));
}

#[actix_rt::test]
async fn unsigned_alg_none_token_is_refused() {
    let app = spawn_app().await;
    let client = app.client_with(&["reporting"]).await;
    let key = ServerKey::of(&app).await;
    let verifier = verifier_for(&app).await;
    let payload = encode_json(&claims_for(&app, &client, now()));

    for alg in ["none", "None", "NONE"] {
        let header = json!({"alg": alg, "typ": "at+jwt", "kid": key.kid()});
        let token = format!("{}.{payload}.", encode_json(&header));

        let result = verifier.verify(&token).await;

        assert!(
            matches!(
                result,
                Err(VerifyError::Malformed | VerifyError::Algorithm(_))
            ),
            "alg {alg}: {result:?}"
        );
    }
}

#[actix_rt::test]
async fn hs256_keyed_with_the_public_key_is_refused() {
    let app = spawn_app().await;
    let client = app.client_with(&["reporting"]).await;
    let verifier = verifier_for(&app).await;
    let jwks: Value = app.get_json("/.well-known/jwks.json").await;
    let jwk = &jwks["keys"][0];
    let coordinate = |name: &str| URL_SAFE_NO_PAD.decode(jwk[name].as_str().unwrap()).unwrap();
    let xy = [coordinate("x"), coordinate("y")].concat();
    let sec1 = [vec![4], xy.clone()].concat();
    let spki = [
        hex("3059301306072a8648ce3d020106082a8648ce3d030107034200"),
        sec1.clone(),
    ]
    .concat();
    let pem = pem_of(&spki);
    let secrets: [(&str, Vec<u8>); 6] = [
        ("x || y", xy),
        ("SEC1 point", sec1),
        ("SPKI DER", spki),
        ("SPKI PEM", pem.into_bytes()),
        ("JWK JSON", serde_json::to_vec(jwk).unwrap()),
        ("JWKS JSON", serde_json::to_vec(&jwks).unwrap()),
    ];
    let header = encode_json(&json!({
        "alg": "HS256",
        "typ": "at+jwt",
        "kid": jwk["kid"],
    }));
    let payload = encode_json(&claims_for(&app, &client, now()));

    for (form, secret) in secrets {
        let signing_input = format!("{header}.{payload}");
        let tag = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, &secret),
            signing_input.as_bytes(),
        );
        let token = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()));

        let result = verifier.verify(&token).await;

        assert_eq!(
            result,
            Err(VerifyError::Algorithm("HS256".into())),
            "secret: {form}"
        );
    }
}

#[actix_rt::test]
async fn algorithm_other_than_the_keys_is_refused() {
    let app = spawn_app().await;
    let client = app.client_with(&["reporting"]).await;
    let key = ServerKey::of(&app).await;
    let verifier = verifier_for(&app).await;
    let claims = claims_for(&app, &client, now());

    for alg in ["RS256", "EdDSA", "ES384"] {
        let header = json!({"alg": alg, "typ": "at+jwt", "kid": key.kid()});
        let token = key.sign_with_header(&header, &claims);

        let result = verifier.verify(&token).await;

        assert!(
            matches!(result, Err(VerifyError::Algorithm(_))),
            "alg {alg}: {result:?}"
        );
    }
}

#[actix_rt::test]
async fn token_without_the_access_token_type_is_wrong_type() {
    let app = spawn_app().await;
    let client = app.client_with(&["reporting"]).await;
    let key = ServerKey::of(&app).await;
    let verifier = verifier_for(&app).await;
    let claims = claims_for(&app, &client, now());
    let as_issued = key.sign_with_header(
        &json!({"alg": "ES256", "typ": "at+jwt", "kid": key.kid()}),
        &claims,
    );
    let id_token_typed = key.sign_with_header(
        &json!({"alg": "ES256", "typ": "JWT", "kid": key.kid()}),
        &claims,
    );
    let untyped = key.sign_with_header(&json!({"alg": "ES256", "kid": key.kid()}), &claims);

    let accepted = verifier.verify(&as_issued).await;
    let typed_jwt = verifier.verify(&id_token_typed).await;
    let without_typ = verifier.verify(&untyped).await;

    assert!(accepted.is_ok(), "{accepted:?}");
    assert_eq!(typed_jwt, Err(VerifyError::WrongType));
    assert_eq!(without_typ, Err(VerifyError::WrongType));
}

#[actix_rt::test]
async fn token_without_an_account_is_missing_claim() {
    let app = spawn_app().await;
    let client = app.client_with(&["reporting"]).await;
    let key = ServerKey::of(&app).await;
    let verifier = verifier_for(&app).await;
    let mut claims = claims_for(&app, &client, now());
    claims.as_object_mut().unwrap().remove("acct");
    let token = key.sign(&claims);

    let result = verifier.verify(&token).await;

    assert_eq!(result, Err(VerifyError::MissingClaim("acct".into())));
}

#[actix_rt::test]
async fn unknown_kids_refetch_the_jwks_at_most_once_per_interval() {
    let app = spawn_app().await;
    let client = app.client_with(&["reporting"]).await;
    let proxy = JwksProxy::start(&app, None);
    let verifier = verifier_through(&app, &proxy, Duration::from_secs(2)).await;
    let forged: Vec<String> = (0..50)
        .map(|_| signed_by_unknown_key(&claims_for(&app, &client, now())))
        .collect();
    let after_connect = proxy.fetches();

    let mut flood = Vec::new();
    for token in &forged {
        flood.push(verifier.verify(token).await);
    }
    let after_flood = proxy.fetches();
    actix_rt::time::sleep(Duration::from_millis(2500)).await;
    let late = verifier.verify(&forged[0]).await;
    let after_interval = proxy.fetches();
    let at_once = verifier.verify(&forged[1]).await;
    let after_second = proxy.fetches();

    assert_eq!(after_connect, 1);
    assert!(
        flood
            .iter()
            .all(|result| *result == Err(VerifyError::UnknownKey))
    );
    assert!(
        after_flood <= 2,
        "{after_flood} fetches for 50 unknown kids"
    );
    assert_eq!(late, Err(VerifyError::UnknownKey));
    assert_eq!(after_interval, after_flood + 1);
    assert_eq!(at_once, Err(VerifyError::UnknownKey));
    assert_eq!(after_second, after_interval);
}

#[actix_rt::test]
async fn keys_are_not_refetched_while_their_max_age_lasts() {
    let app = spawn_app().await;
    let token = fresh_token(&app, &["reporting"]).await;
    let proxy = JwksProxy::start(&app, Some("public, max-age=600"));
    let verifier = verifier_through(&app, &proxy, Duration::from_secs(10)).await;

    for _ in 0..100 {
        verifier.verify(&token).await.unwrap();
    }

    assert_eq!(proxy.fetches(), 1);
}

#[actix_rt::test]
async fn verify_cached_needs_no_fetch_once_connected() {
    let app = spawn_app().await;
    let token = fresh_token(&app, &["reporting"]).await;
    let proxy = JwksProxy::start(&app, None);
    let verifier = verifier_through(&app, &proxy, Duration::from_millis(1)).await;
    let fetched_by_connect = proxy.fetches();

    let claims = verifier.verify_cached(&token);
    let unknown = verifier.verify_cached(&signed_by_unknown_key(&json!({"iss": "x"})));

    assert_eq!(fetched_by_connect, 1);
    assert_eq!(claims.unwrap().aud, app.settings.audience);
    assert_eq!(unknown, Err(VerifyError::UnknownKey));
    assert_eq!(proxy.fetches(), 1);
}

/// The shortest JWKS cache lifetime the verifier allows, plus a second.
const MIN_CACHE_LIFETIME: Duration = Duration::from_secs(61);

#[actix_rt::test]
async fn keymint_outage_after_cache_expiry_is_not_hammered_by_every_verify() {
    let app = spawn_app().await;
    let token = fresh_token(&app, &["reporting"]).await;
    let proxy = JwksProxy::start(&app, Some("public, max-age=60"));
    let verifier = verifier_through(&app, &proxy, Duration::from_secs(10)).await;
    proxy.go_down();
    actix_rt::time::sleep(MIN_CACHE_LIFETIME).await;

    let mut results = Vec::new();
    for _ in 0..20 {
        results.push(verifier.verify(&token).await);
    }

    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let refetches = proxy.fetches() - 1;
    assert!(
        refetches <= 1,
        "{refetches} fetches while keymint was away, for 20 verifications"
    );
}

#[actix_rt::test]
async fn concurrent_verifies_after_cache_expiry_fetch_the_jwks_once() {
    let app = spawn_app().await;
    let token = fresh_token(&app, &["reporting"]).await;
    let proxy = JwksProxy::start(&app, Some("public, max-age=60"));
    let verifier = verifier_through(&app, &proxy, Duration::from_secs(10)).await;
    actix_rt::time::sleep(MIN_CACHE_LIFETIME).await;

    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (verifier, token) = (Arc::clone(&verifier), token.clone());
            actix_rt::spawn(async move { verifier.verify(&token).await })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }

    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(proxy.fetches(), 2, "one fetch at connect, one refresh");
}

/// A downstream API with `/reports` guarded by `Scoped<Reporting>` and
/// `/settings` by `Scoped<Configuration>`; each echoes the caller.
fn downstream_api(verifier: Arc<Verifier>) -> String {
    let verifier = web::Data::from(verifier);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(verifier.clone())
            .route(
                "/reports",
                web::get().to(|token: Scoped<Reporting>| async move {
                    HttpResponse::Ok().json(json!({
                        "client_id": token.claims().client_id(),
                        "account": token.claims().account_id(),
                    }))
                }),
            )
            .route(
                "/settings",
                web::get().to(|token: Scoped<Configuration>| async move {
                    HttpResponse::Ok().json(json!({"client_id": token.claims().client_id()}))
                }),
            )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    actix_rt::spawn(server);
    format!("http://{address}")
}

fn challenge(response: &reqwest::Response) -> &str {
    response.headers()["www-authenticate"].to_str().unwrap()
}

#[actix_rt::test]
async fn guard_without_a_token_asks_for_bearer() {
    let app = spawn_app().await;
    let api = downstream_api(verifier_for(&app).await);

    let response = app.http.get(format!("{api}/reports")).send().await.unwrap();

    assert_eq!(response.status(), 401);
    assert_eq!(challenge(&response), "Bearer");
}

#[actix_rt::test]
async fn guard_refuses_an_invalid_token_with_invalid_token() {
    let app = spawn_app().await;
    let token = fresh_token(&app, &["reporting"]).await;
    let api = downstream_api(verifier_for(&app).await);

    let mut responses = Vec::new();
    for bad in [tampered(&token), "not-a-token".to_owned()] {
        let response = app
            .http
            .get(format!("{api}/reports"))
            .bearer_auth(bad)
            .send()
            .await
            .unwrap();
        responses.push(response);
    }

    for response in &responses {
        assert_eq!(response.status(), 401);
        let challenge = challenge(response);
        assert!(challenge.starts_with("Bearer "), "{challenge}");
        assert!(
            challenge.contains(r#"error="invalid_token""#),
            "{challenge}"
        );
    }
}

#[actix_rt::test]
async fn guard_refuses_a_token_without_the_scope_with_insufficient_scope() {
    let app = spawn_app().await;
    let token = fresh_token(&app, &["configuration"]).await;
    let api = downstream_api(verifier_for(&app).await);

    let refused = app
        .http
        .get(format!("{api}/reports"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let admitted = app
        .http
        .get(format!("{api}/settings"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();

    assert_eq!(refused.status(), 403);
    let challenge = challenge(&refused);
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(
        challenge.contains(r#"error="insufficient_scope""#),
        "{challenge}"
    );
    assert!(challenge.contains(r#"scope="reporting""#), "{challenge}");
    assert_eq!(admitted.status(), 200);
}

#[actix_rt::test]
async fn guard_hands_the_claims_of_a_token_with_the_scope_to_the_handler() {
    let app = spawn_app().await;
    let client = app.client_with(&["reporting"]).await;
    let token = app.token_for(&client, None).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let api = downstream_api(verifier_for(&app).await);

    let response = app
        .http
        .get(format!("{api}/reports"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"client_id": client.client_id, "account": client.account_id})
    );
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// A `PUBLIC KEY` PEM document, as an attacker would read it from disk.
fn pem_of(der: &[u8]) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|line| std::str::from_utf8(line).unwrap())
        .collect();
    format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        lines.join("\n")
    )
}
