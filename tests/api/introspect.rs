//! `POST /oauth/introspect` (RFC 7662) and `keymint token verify`: the two
//! ways to check a token without verifying the JWT yourself.

use std::process::Output;

use keymint::service::audit::Actor;
use keymint::service::clients;
use serde_json::{Value, json};

use crate::helpers::{
    TestApp, TestClient, assert_no_store, assert_oauth_error, decode_segment, spawn_app,
};
use crate::verify_helpers::{
    ServerKey, claims_for, expired_token, keymint_token_verify, now, signed_by_unknown_key,
    tampered,
};

/// Introspects `token` as `caller`, authenticated by `client_secret_basic`.
async fn introspect(app: &TestApp, caller: &TestClient, token: &str) -> reqwest::Response {
    app.http
        .post(app.url("/oauth/introspect"))
        .basic_auth(&caller.client_id, Some(&caller.client_secret))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("token={token}"))
        .send()
        .await
        .unwrap()
}

/// POSTs `form` to the introspection endpoint with no Authorization header.
async fn introspect_form(app: &TestApp, form: String) -> reqwest::Response {
    app.http
        .post(app.url("/oauth/introspect"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap()
}

async fn token_of(app: &TestApp, client: &TestClient) -> String {
    app.token_for(client, None).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Asserts an active answer describing `token` and returns its body.
async fn assert_active(response: reqwest::Response, token: &str) -> Value {
    assert_eq!(response.status(), 200);
    assert_no_store(&response);
    let body: Value = response.json().await.unwrap();
    let claims = decode_segment(token, 1);
    assert_eq!(body["active"], true, "{body}");
    for name in ["client_id", "scope", "sub", "aud", "iss", "exp", "iat"] {
        assert_eq!(body[name], claims[name], "{name} in {body}");
    }
    assert_eq!(body["token_type"], "Bearer", "{body}");
    body
}

/// Asserts the answer for a token that is not active: nothing but
/// `{"active": false}`.
async fn assert_inactive(response: reqwest::Response) {
    assert_eq!(response.status(), 200);
    assert_no_store(&response);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"active": false}));
}

#[actix_rt::test]
async fn valid_token_is_active_with_its_claims() {
    let app = spawn_app().await;
    let owner = app.client_with(&["configuration", "reporting"]).await;
    let resource_server = app.client_with(&["reporting"]).await;
    let token = token_of(&app, &owner).await;

    let response = introspect(&app, &resource_server, &token).await;

    let body = assert_active(response, &token).await;
    assert_eq!(body["client_id"], owner.client_id);
    assert_eq!(body["sub"], owner.client_id);
    assert_eq!(body["scope"], "configuration reporting");
    assert_eq!(body["iss"], app.settings.issuer);
    assert_eq!(body["aud"], app.settings.audience);
    assert_eq!(
        body["exp"].as_i64().unwrap() - body["iat"].as_i64().unwrap(),
        900
    );
}

#[actix_rt::test]
async fn post_authentication_introspects_too() {
    let app = spawn_app().await;
    let owner = app.client_with(&["reporting"]).await;
    let resource_server = app.client_with(&["reporting"]).await;
    let token = token_of(&app, &owner).await;
    let form = format!(
        "token={token}&client_id={}&client_secret={}",
        resource_server.client_id, resource_server.client_secret
    );

    let response = introspect_form(&app, form).await;

    let body = assert_active(response, &token).await;
    assert_eq!(body["client_id"], owner.client_id);
}

#[actix_rt::test]
async fn expired_token_is_inactive() {
    let app = spawn_app().await;
    let owner = app.client_with(&["reporting"]).await;
    let caller = app.client_with(&["reporting"]).await;
    let token = expired_token(&app, &ServerKey::of(&app).await, &owner);

    let response = introspect(&app, &caller, &token).await;

    assert_inactive(response).await;
}

#[actix_rt::test]
async fn token_with_a_bad_signature_is_inactive() {
    let app = spawn_app().await;
    let owner = app.client_with(&["reporting"]).await;
    let token = token_of(&app, &owner).await;

    let genuine = introspect(&app, &owner, &token).await;
    let forged = introspect(&app, &owner, &tampered(&token)).await;

    assert_active(genuine, &token).await;
    assert_inactive(forged).await;
}

#[actix_rt::test]
async fn garbage_is_inactive() {
    let app = spawn_app().await;
    let caller = app.client_with(&["reporting"]).await;

    for garbage in ["garbage", "a.b.c", "eyJhbGciOiJFUzI1NiJ9..", "..."] {
        let response = introspect(&app, &caller, garbage).await;

        assert_inactive(response).await;
    }
}

#[actix_rt::test]
async fn token_of_another_issuer_is_inactive() {
    let app = spawn_app().await;
    let owner = app.client_with(&["reporting"]).await;
    let mut claims = claims_for(&app, &owner, now());
    claims["iss"] = json!("https://auth.other.example");
    let foreign_key = signed_by_unknown_key(&claims);
    let server_key = ServerKey::of(&app).await.sign(&claims);

    let by_its_own_key = introspect(&app, &owner, &foreign_key).await;
    let by_keymints_key = introspect(&app, &owner, &server_key).await;

    assert_inactive(by_its_own_key).await;
    assert_inactive(by_keymints_key).await;
}

#[actix_rt::test]
async fn token_of_a_revoked_client_is_inactive_at_once() {
    let app = spawn_app().await;
    let owner = app.client_with(&["reporting"]).await;
    let caller = app.client_with(&["reporting"]).await;
    let token = token_of(&app, &owner).await;
    let before = introspect(&app, &caller, &token).await;
    let client_id = owner.client_id.clone();

    app.db
        .run(move |conn| clients::revoke_by_client_id(conn, &client_id, &Actor::Cli))
        .await
        .unwrap();
    let after = introspect(&app, &caller, &token).await;

    assert_active(before, &token).await;
    assert_inactive(after).await;
}

#[actix_rt::test]
async fn unauthenticated_introspection_is_invalid_client() {
    let app = spawn_app().await;
    let owner = app.client_with(&["reporting"]).await;
    let token = token_of(&app, &owner).await;

    let response = introspect_form(&app, format!("token={token}")).await;

    assert!(response.headers().get("www-authenticate").is_none());
    assert_oauth_error(response, 401, "invalid_client").await;
}

#[actix_rt::test]
async fn wrong_secret_is_invalid_client() {
    let app = spawn_app().await;
    let owner = app.client_with(&["reporting"]).await;
    let token = token_of(&app, &owner).await;
    let caller = app.client_with(&["reporting"]).await;
    let impostor = TestClient {
        client_secret: owner.client_secret.clone(),
        ..caller
    };
    let form = format!(
        "token={token}&client_id={}&client_secret={}",
        impostor.client_id, impostor.client_secret
    );

    let basic = introspect(&app, &impostor, &token).await;
    let post = introspect_form(&app, form).await;

    assert_eq!(
        basic.headers()["www-authenticate"],
        r#"Basic realm="keymint""#
    );
    assert_oauth_error(basic, 401, "invalid_client").await;
    assert!(post.headers().get("www-authenticate").is_none());
    assert_oauth_error(post, 401, "invalid_client").await;
}

#[actix_rt::test]
async fn missing_token_is_invalid_request() {
    let app = spawn_app().await;
    let caller = app.client_with(&["reporting"]).await;

    let response = app
        .http
        .post(app.url("/oauth/introspect"))
        .basic_auth(&caller.client_id, Some(&caller.client_secret))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("token_type_hint=access_token")
        .send()
        .await
        .unwrap();

    assert_oauth_error(response, 400, "invalid_request").await;
}

#[actix_rt::test]
async fn get_is_405_with_allow_post() {
    let app = spawn_app().await;

    let response = app
        .http
        .get(app.url("/oauth/introspect"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");
}

#[actix_rt::test]
async fn metadata_lists_the_introspection_endpoint() {
    let app = spawn_app().await;

    let metadata: Value = app
        .get_json("/.well-known/oauth-authorization-server")
        .await;

    assert_eq!(
        metadata["introspection_endpoint"],
        format!("{}/oauth/introspect", app.settings.issuer)
    );
}

/// The one JSON line `keymint token verify` prints for a good token.
fn verified(output: &Output) -> Value {
    let stdout = String::from_utf8(output.stdout.clone()).unwrap();
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(stdout.lines().count(), 1, "one line on stdout: {stdout}");
    serde_json::from_str(&stdout).unwrap()
}

/// The one line on stderr of a failed `keymint token verify`.
fn refusal(output: &Output) -> String {
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
async fn token_verify_prints_the_header_and_claims() {
    let app = spawn_app().await;
    let client = app.client_with(&["reporting"]).await;
    let token = token_of(&app, &client).await;
    let kid = app.jwks().await.keys[0].common.key_id.clone().unwrap();

    let printed = verified(&keymint_token_verify(&app, Some(&token), None));

    assert_eq!(
        printed["header"],
        json!({"alg": "ES256", "typ": "at+jwt", "kid": kid})
    );
    assert_eq!(printed["claims"], decode_segment(&token, 1));
    assert_eq!(printed["claims"]["client_id"], client.client_id);
    assert_eq!(printed["claims"]["acct"], client.account_id);
    assert_eq!(printed.as_object().unwrap().len(), 2, "{printed}");
}

#[actix_rt::test]
async fn token_verify_reads_the_token_from_stdin() {
    let app = spawn_app().await;
    let client = app.client_with(&["reporting"]).await;
    let token = token_of(&app, &client).await;

    let printed = verified(&keymint_token_verify(
        &app,
        None,
        Some(&format!("{token}\n")),
    ));

    assert_eq!(printed["claims"]["client_id"], client.client_id);
    assert_eq!(printed["claims"]["jti"], decode_segment(&token, 1)["jti"]);
}

#[actix_rt::test]
async fn token_verify_refuses_an_expired_token() {
    let app = spawn_app().await;
    let client = app.client_with(&["reporting"]).await;
    let token = expired_token(&app, &ServerKey::of(&app).await, &client);

    let line = refusal(&keymint_token_verify(&app, Some(&token), None));

    assert!(line.contains("expired"), "{line}");
}

#[actix_rt::test]
async fn token_verify_refuses_a_tampered_token() {
    let app = spawn_app().await;
    let client = app.client_with(&["reporting"]).await;
    let token = tampered(&token_of(&app, &client).await);

    let line = refusal(&keymint_token_verify(&app, Some(&token), None));

    assert!(line.contains("signature"), "{line}");
}

#[actix_rt::test]
async fn token_verify_refuses_a_token_of_a_revoked_client() {
    let app = spawn_app().await;
    let client = app.client_with(&["reporting"]).await;
    let token = token_of(&app, &client).await;
    let client_id = client.client_id.clone();
    app.db
        .run(move |conn| clients::revoke_by_client_id(conn, &client_id, &Actor::Cli))
        .await
        .unwrap();

    let line = refusal(&keymint_token_verify(&app, Some(&token), None));

    assert!(line.contains("revoked"), "{line}");
    assert!(line.contains(&client.client_id), "{line}");
}
