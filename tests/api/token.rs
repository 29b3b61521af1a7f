//! `POST /oauth/token`: every row of the interface's table.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use keymint::service::audit::Actor;
use keymint::service::clients;
use keymint::service::directory::REVOCATION_BOUND;

use crate::helpers::{assert_no_store, assert_oauth_error, decode_segment, spawn_app};

#[actix_rt::test]
async fn basic_auth_issues_a_token_with_every_client_scope() {
    let app = spawn_app().await;
    let client = app.client_with(&["reporting", "configuration"]).await;

    let response = app
        .post_token(
            "grant_type=client_credentials",
            Some((&client.client_id, &client.client_secret)),
        )
        .await;

    assert_eq!(response.status(), 200);
    assert_no_store(&response);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["scope"], "configuration reporting");
    assert_eq!(body.as_object().unwrap().len(), 4, "{body}");
}

#[actix_rt::test]
async fn post_auth_issues_a_token() {
    let app = spawn_app().await;
    let client = app.client_with(&["reporting"]).await;
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        client.client_id, client.client_secret
    );

    let response = app.post_token(&form, None).await;

    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["scope"], "reporting");
}

#[actix_rt::test]
async fn token_verifies_against_the_jwks_with_every_claim() {
    let app = spawn_app().await;
    let client = app.client_with(&["configuration", "reporting"]).await;

    let body = app.token_for(&client, None).await;
    let token = body["access_token"].as_str().unwrap();
    let claims = app.verify(token).await.expect("token verifies");

    let header = decode_segment(token, 0);
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["typ"], "at+jwt");
    let current_kid = app.jwks().await.keys[0].common.key_id.clone().unwrap();
    assert_eq!(header["kid"], current_kid);
    assert_eq!(claims["iss"], app.settings.issuer);
    assert_eq!(claims["aud"], app.settings.audience);
    assert_eq!(claims["sub"], client.client_id);
    assert_eq!(claims["client_id"], client.client_id);
    assert_eq!(claims["acct"], client.account_id);
    assert_eq!(claims["scope"], "configuration reporting");
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert_eq!(exp - iat, 900);
    assert!((iat - chrono::Utc::now().timestamp()).abs() < 60);
    assert!(claims["jti"].as_str().is_some_and(|jti| jti.len() >= 16));
}

#[actix_rt::test]
async fn every_token_has_a_unique_jti() {
    let app = spawn_app().await;
    let client = app.client_with(&["reporting"]).await;

    let first = app.token_for(&client, None).await;
    let second = app.token_for(&client, None).await;

    let jti = |body: &serde_json::Value| {
        decode_segment(body["access_token"].as_str().unwrap(), 1)["jti"].clone()
    };
    assert_ne!(jti(&first), jti(&second));
}

#[actix_rt::test]
async fn requested_scope_narrows_the_token() {
    let app = spawn_app().await;
    let client = app.client_with(&["configuration", "reporting"]).await;

    let body = app.token_for(&client, Some("reporting")).await;

    assert_eq!(body["scope"], "reporting");
    let claims = decode_segment(body["access_token"].as_str().unwrap(), 1);
    assert_eq!(claims["scope"], "reporting");
}

#[actix_rt::test]
async fn scope_the_client_lacks_is_invalid_scope() {
    let app = spawn_app().await;
    let client = app.client_with(&["reporting"]).await;
    let credentials = Some((client.client_id.as_str(), client.client_secret.as_str()));

    let lacking = app
        .post_token(
            "grant_type=client_credentials&scope=configuration",
            credentials,
        )
        .await;
    let partner_only = app
        .post_token(
            "grant_type=client_credentials&scope=account-management",
            credentials,
        )
        .await;

    assert_oauth_error(lacking, 400, "invalid_scope").await;
    assert_oauth_error(partner_only, 400, "invalid_scope").await;
}

#[actix_rt::test]
async fn unknown_scope_is_invalid_scope() {
    let app = spawn_app().await;
    let client = app.client_with(&["reporting"]).await;

    let response = app
        .post_token(
            "grant_type=client_credentials&scope=reporting%20admin",
            Some((&client.client_id, &client.client_secret)),
        )
        .await;

    assert_oauth_error(response, 400, "invalid_scope").await;
}

#[actix_rt::test]
async fn unknown_client_and_wrong_secret_get_the_same_invalid_client() {
    let app = spawn_app().await;
    let client = app.client_with(&["reporting"]).await;
    let other = app.client_with(&["reporting"]).await;
    let unknown_id = "kmc_AAAAAAAAAAAAAAAAAAAAAA";

    let unknown = app
        .post_token(
            "grant_type=client_credentials",
            Some((unknown_id, &client.client_secret)),
        )
        .await;
    let wrong = app
        .post_token(
            "grant_type=client_credentials",
            Some((&client.client_id, &other.client_secret)),
        )
        .await;

    for response in [unknown, wrong] {
        assert_eq!(
            response.headers()["www-authenticate"],
            r#"Basic realm="keymint""#
        );
        let body = assert_oauth_error(response, 401, "invalid_client").await;
        assert_eq!(body["error_description"], "client authentication failed");
    }
}

#[actix_rt::test]
async fn mistyped_secret_is_invalid_client() {
    let app = spawn_app().await;
    let client = app.client_with(&["reporting"]).await;
    let mut typo = client.client_secret.clone();
    typo.pop();
    typo.push(if client.client_secret.ends_with('A') {
        'B'
    } else {
        'A'
    });

    let response = app
        .post_token(
            "grant_type=client_credentials",
            Some((&client.client_id, &typo)),
        )
        .await;

    assert_oauth_error(response, 401, "invalid_client").await;
}

#[actix_rt::test]
async fn failed_post_auth_has_no_basic_challenge() {
    let app = spawn_app().await;
    let client = app.client_with(&["reporting"]).await;
    let other = app.client_with(&["reporting"]).await;
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        client.client_id, other.client_secret
    );

    let response = app.post_token(&form, None).await;

    assert!(response.headers().get("www-authenticate").is_none());
    assert_oauth_error(response, 401, "invalid_client").await;
}

#[actix_rt::test]
async fn no_credentials_is_invalid_client() {
    let app = spawn_app().await;

    let response = app.post_token("grant_type=client_credentials", None).await;

    assert_oauth_error(response, 401, "invalid_client").await;
}

#[actix_rt::test]
async fn client_revoked_through_the_api_is_refused_on_the_very_next_request() {
    let app = spawn_app().await;
    let (_, session) = app.owner_with_mfa_session().await;
    let created = app.create_client(&session, "ci", &["reporting"]).await;
    let credentials = (
        created["client_id"].as_str().unwrap(),
        created["client_secret"].as_str().unwrap(),
    );
    let issued = app
        .post_token("grant_type=client_credentials", Some(credentials))
        .await;
    assert_eq!(issued.status(), 200);

    let path = format!("/clients/{}", created["id"].as_str().unwrap());
    assert_eq!(app.admin_delete(&session, &path).await.status(), 204);
    let response = app
        .post_token("grant_type=client_credentials", Some(credentials))
        .await;

    assert_oauth_error(response, 401, "invalid_client").await;
}

#[actix_rt::test]
async fn client_revoked_elsewhere_is_refused_within_the_documented_bound() {
    let app = spawn_app().await;
    let client = app.client_with(&["reporting"]).await;
    app.token_for(&client, None).await;
    let client_id = client.client_id.clone();

    // As `keymint client revoke` or another instance does: straight in the
    // database, which this server learns of by polling.
    app.db
        .run(move |conn| clients::revoke_by_client_id(conn, &client_id, &Actor::Cli))
        .await
        .unwrap();
    let response = app
        .token_refused_within(&client.client_id, &client.client_secret, REVOCATION_BOUND)
        .await;

    assert_oauth_error(response, 401, "invalid_client").await;
}

#[actix_rt::test]
async fn malformed_requests_are_invalid_request() {
    let app = spawn_app().await;
    let client = app.client_with(&["reporting"]).await;
    let basic = Some((client.client_id.as_str(), client.client_secret.as_str()));
    let both = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        client.client_id, client.client_secret
    );
    let cases: [(&str, Option<(&str, &str)>); 4] = [
        ("scope=reporting", basic),
        (
            "grant_type=client_credentials&grant_type=client_credentials",
            basic,
        ),
        (
            "grant_type=client_credentials&scope=reporting&scope=reporting",
            basic,
        ),
        (&both, basic),
    ];

    for (form, credentials) in cases {
        let response = app.post_token(form, credentials).await;

        assert_oauth_error(response, 400, "invalid_request").await;
    }
}

#[actix_rt::test]
async fn body_that_is_not_a_form_is_invalid_request() {
    let app = spawn_app().await;
    let client = app.client_with(&["reporting"]).await;

    let response = app
        .http
        .post(app.url("/oauth/token"))
        .basic_auth(&client.client_id, Some(&client.client_secret))
        .json(&serde_json::json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();

    assert_oauth_error(response, 400, "invalid_request").await;
}

#[actix_rt::test]
async fn malformed_basic_headers_are_invalid_request() {
    let app = spawn_app().await;
    let headers = [
        "Basic ***not-base64***".to_owned(),
        format!("Basic {}", STANDARD.encode("no-colon-anywhere")),
        format!("Basic {}", STANDARD.encode("id\u{1}:secret")),
    ];

    for value in headers {
        let response = app
            .http
            .post(app.url("/oauth/token"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Authorization", value)
            .body("grant_type=client_credentials")
            .send()
            .await
            .unwrap();

        assert_oauth_error(response, 400, "invalid_request").await;
    }
}

#[actix_rt::test]
async fn other_grant_types_are_unsupported() {
    let app = spawn_app().await;
    let client = app.client_with(&["reporting"]).await;

    for grant in ["password", "authorization_code", "refresh_token", "urn:x"] {
        let response = app
            .post_token(
                &format!("grant_type={grant}"),
                Some((&client.client_id, &client.client_secret)),
            )
            .await;

        assert_oauth_error(response, 400, "unsupported_grant_type").await;
    }
}

#[actix_rt::test]
async fn other_methods_get_405_with_allow_post() {
    let app = spawn_app().await;

    for method in [
        reqwest::Method::GET,
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
    ] {
        let response = app
            .http
            .request(method, app.url("/oauth/token"))
            .send()
            .await
            .unwrap();

        assert_eq!(response.status(), 405);
        assert_eq!(response.headers()["allow"], "POST");
    }
}

#[actix_rt::test]
async fn oversized_body_is_refused_with_413() {
    let app = spawn_app().await;
    let form = format!("grant_type=client_credentials&pad={}", "x".repeat(8 * 1024));

    let response = app.post_token(&form, None).await;

    assert_oauth_error(response, 413, "invalid_request").await;
}
