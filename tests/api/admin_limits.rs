//! Brute-force limits on sign-ins: an address that fails too often gets
//! 429 with `Retry-After`; failures against one email from many addresses
//! only slow its owner down; a client presenting its correct secret is
//! never refused for the failures of its address. Apps here run with a
//! limit of 4 failures a minute, and requests come from several loopback
//! addresses (Linux routes all of 127.0.0.0/8 to the loopback interface;
//! macOS needs aliases).

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::json;

use crate::helpers::{TestApp, assert_problem, spawn_app_with};

const LIMIT: u32 = 4;

async fn spawn_limited_app() -> TestApp {
    spawn_app_with(|settings| settings.auth_failures_per_minute = Some(LIMIT)).await
}

/// An HTTP client whose requests come from `127.0.0.{last}`.
fn client_from(last: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)))
        .build()
        .unwrap()
}

async fn post_json(
    client: &reqwest::Client,
    app: &TestApp,
    path: &str,
    body: &serde_json::Value,
) -> reqwest::Response {
    client.post(app.url(path)).json(body).send().await.unwrap()
}

#[actix_rt::test]
async fn failures_from_one_address_get_429_there_and_nowhere_else() {
    let app = spawn_limited_app().await;
    let owner = app.owner().await;
    let wrong = json!({"email": owner.email, "password": "wrong"});
    let right = json!({"email": owner.email, "password": owner.password});
    let mut statuses = Vec::new();
    for _ in 0..LIMIT {
        statuses.push(app.post_login(&wrong).await.status().as_u16());
    }

    let refused = app.post_login(&wrong).await;
    let refused_right = app.post_login(&right).await;
    let elsewhere = post_json(&client_from(2), &app, "/admin/v1/sessions", &right).await;

    assert_eq!(statuses, [401; LIMIT as usize]);
    let body = assert_problem(refused, 429, "too_many_requests").await;
    assert_eq!(body["status"], 429);
    assert_problem(refused_right, 429, "too_many_requests").await;
    assert_eq!(elsewhere.status(), 201);
}

#[actix_rt::test]
async fn failures_for_one_email_from_many_addresses_only_slow_its_owner() {
    let app = spawn_limited_app().await;
    let owner = app.owner().await;
    let wrong = json!({"email": owner.email, "password": "wrong"});
    let attackers: Vec<reqwest::Client> = (10..15).map(client_from).collect();
    let attempts = attackers
        .iter()
        .flat_map(|client| [client, client])
        .map(|client| post_json(client, &app, "/admin/v1/sessions", &wrong));
    let statuses: Vec<u16> = join_all(attempts)
        .await
        .iter()
        .map(|response| response.status().as_u16())
        .collect();
    let started = Instant::now();

    let response = post_json(
        &client_from(2),
        &app,
        "/admin/v1/sessions",
        &json!({"email": owner.email, "password": owner.password}),
    )
    .await;

    assert_eq!(statuses, [401; 10], "each address stays under the limit");
    assert_eq!(response.status(), 201);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "the owner is slowed down: {:?}",
        started.elapsed()
    );
}

#[actix_rt::test]
async fn sso_failures_count_toward_the_address_limit() {
    let app = spawn_limited_app().await;
    let owner = app.owner().await;
    let garbage = json!({"id_token": "not-a-token"});
    for _ in 0..LIMIT {
        let response = app
            .http
            .post(app.url("/admin/v1/sessions/sso"))
            .json(&garbage)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
    }

    let sso = post_json(&app.http, &app, "/admin/v1/sessions/sso", &garbage).await;
    let password = app
        .post_login(&json!({"email": owner.email, "password": owner.password}))
        .await;

    assert_problem(sso, 429, "too_many_requests").await;
    assert_problem(password, 429, "too_many_requests").await;
}

#[actix_rt::test]
async fn token_endpoint_failures_count_toward_the_address_limit() {
    let app = spawn_limited_app().await;
    let client = app.client_with(&["reporting"]).await;
    let wrong = app.client_with(&["reporting"]).await;
    let basic = Some((client.client_id.as_str(), wrong.client_secret.as_str()));
    for _ in 0..LIMIT {
        let response = app.post_token("grant_type=client_credentials", basic).await;
        assert_eq!(response.status(), 401);
    }

    let refused = app.post_token("grant_type=client_credentials", basic).await;

    assert_eq!(refused.status(), 429);
    let retry: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
}

#[actix_rt::test]
async fn a_client_with_its_correct_secret_is_never_refused_for_failures_from_its_address() {
    let app = spawn_limited_app().await;
    let client = app.client_with(&["reporting"]).await;
    let guessed = app.client_with(&["reporting"]).await;
    let guess = Some((guessed.client_id.as_str(), client.client_secret.as_str()));
    let grant = "grant_type=client_credentials";
    for _ in 0..LIMIT {
        assert_eq!(app.post_token(grant, guess).await.status(), 401);
    }
    assert_eq!(app.post_token(grant, guess).await.status(), 429);

    let by_basic = app
        .post_token(grant, Some((&client.client_id, &client.client_secret)))
        .await;
    let by_post = app
        .post_token(
            &format!(
                "{grant}&client_id={}&client_secret={}",
                client.client_id, client.client_secret
            ),
            None,
        )
        .await;
    let introspected = app
        .http
        .post(app.url("/oauth/introspect"))
        .basic_auth(&client.client_id, Some(&client.client_secret))
        .form(&[("token", "not-a-token")])
        .send()
        .await
        .unwrap();
    let guessing_again = app.post_token(grant, guess).await;

    assert_eq!(by_basic.status(), 200);
    assert_eq!(by_post.status(), 200);
    assert_eq!(introspected.status(), 200);
    let body: serde_json::Value = introspected.json().await.unwrap();
    assert_eq!(body, json!({"active": false}));
    assert_eq!(
        guessing_again.status(),
        429,
        "a success from the address does not clear its failures"
    );
}

/// Sends a sign-in as a proxy at `127.0.0.{proxy}` would forward it for
/// `client`.
async fn login_forwarded(
    app: &TestApp,
    proxy: u8,
    client: &str,
    body: &serde_json::Value,
) -> reqwest::Response {
    client_from(proxy)
        .post(app.url("/admin/v1/sessions"))
        .header("X-Forwarded-For", client)
        .json(body)
        .send()
        .await
        .unwrap()
}

#[actix_rt::test]
async fn behind_a_trusted_proxy_one_guesser_does_not_lock_out_everyone_else() {
    let app = spawn_app_with(|settings| {
        settings.auth_failures_per_minute = Some(LIMIT);
        settings.trusted_proxies = "127.0.0.20/31".parse().unwrap();
    })
    .await;
    let owner = app.owner().await;
    let wrong = json!({"email": owner.email, "password": "guess"});
    for _ in 0..LIMIT {
        let response = login_forwarded(&app, 20, "203.0.113.9", &wrong).await;
        assert_eq!(response.status(), 401);
    }

    let guesser = login_forwarded(&app, 21, "203.0.113.9", &wrong).await;
    let right = json!({"email": owner.email, "password": owner.password});
    let owner_via_proxy = login_forwarded(&app, 20, "198.51.100.7", &right).await;

    assert_problem(guesser, 429, "too_many_requests").await;
    assert_eq!(owner_via_proxy.status(), 201);
    let token = owner_via_proxy.json::<serde_json::Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let events = app.audit_events(&token).await;
    let addresses: Vec<&str> = events
        .iter()
        .filter_map(|event| event["source_ip"].as_str())
        .collect();
    assert!(addresses.contains(&"198.51.100.7"), "{addresses:?}");
    assert!(addresses.contains(&"203.0.113.9"), "{addresses:?}");
    assert!(!addresses.contains(&"127.0.0.20"), "{addresses:?}");
}

#[actix_rt::test]
async fn a_forwarded_for_header_from_an_untrusted_peer_does_not_escape_the_limit() {
    let app = spawn_app_with(|settings| {
        settings.auth_failures_per_minute = Some(LIMIT);
        settings.trusted_proxies = "127.0.0.20".parse().unwrap();
    })
    .await;
    let owner = app.owner().await;
    let wrong = json!({"email": owner.email, "password": "guess"});
    for attempt in 0..LIMIT {
        let forged = format!("203.0.113.{attempt}");
        let response = login_forwarded(&app, 30, &forged, &wrong).await;
        assert_eq!(response.status(), 401);
    }

    let refused = login_forwarded(&app, 30, "203.0.113.200", &wrong).await;

    assert_problem(refused, 429, "too_many_requests").await;
}
