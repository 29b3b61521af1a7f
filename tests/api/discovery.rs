//! JWKS and authorization-server metadata.

use keymint::crypto::SigningAlgorithm;

use crate::helpers::{decode_segment, spawn_app, spawn_app_with};

#[actix_rt::test]
async fn jwks_publishes_current_and_next_keys_without_private_parts() {
    let app = spawn_app().await;

    let response = app
        .http
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    let cache = response.headers()["cache-control"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cache.starts_with("public, max-age="), "{cache}");
    let body: serde_json::Value = response.json().await.unwrap();
    let keys = body["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    for key in keys {
        assert_eq!(key["kty"], "EC");
        assert_eq!(key["alg"], "ES256");
        assert_eq!(key["use"], "sig");
        assert_eq!(key["crv"], "P-256");
        assert!(key["kid"].as_str().is_some_and(|kid| kid.len() == 43));
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(key.get(private).is_none(), "{key}");
        }
    }
    assert_ne!(keys[0]["kid"], keys[1]["kid"]);
}

#[actix_rt::test]
async fn metadata_describes_the_server() {
    let app = spawn_app().await;
    let issuer = &app.settings.issuer;

    let body: serde_json::Value = app
        .get_json("/.well-known/oauth-authorization-server")
        .await;

    assert_eq!(body["issuer"], *issuer);
    assert_eq!(body["token_endpoint"], format!("{issuer}/oauth/token"));
    assert_eq!(body["jwks_uri"], format!("{issuer}/.well-known/jwks.json"));
    assert_eq!(
        body["grant_types_supported"],
        serde_json::json!(["client_credentials"])
    );
    assert_eq!(
        body["token_endpoint_auth_methods_supported"],
        serde_json::json!(["client_secret_basic", "client_secret_post"])
    );
    assert_eq!(
        body["scopes_supported"],
        serde_json::json!(["configuration", "reporting", "account-management"])
    );
}

#[actix_rt::test]
async fn keys_survive_a_restart_on_the_same_database() {
    let app = spawn_app().await;
    let before = app.jwks().await;

    let settings = app.settings.clone();
    let state = keymint::startup::prepare_state(settings).unwrap();
    let snapshot = state.keys.snapshot();

    assert_eq!(
        Some(snapshot.current().kid().to_owned()),
        before.keys[0].common.key_id
    );
    assert_eq!(snapshot.published().len(), 2);
}

#[actix_rt::test]
async fn each_signing_algorithm_issues_tokens_that_verify_against_its_jwks() {
    let cases = [
        (SigningAlgorithm::Es256, "ES256", "EC"),
        (SigningAlgorithm::EdDsa, "EdDSA", "OKP"),
        (SigningAlgorithm::Rs256, "RS256", "RSA"),
    ];
    for (algorithm, alg, kty) in cases {
        let app = spawn_app_with(|settings| settings.signing_alg = algorithm).await;
        let client = app.client_with(&["reporting"]).await;

        let body = app.token_for(&client, None).await;
        let token = body["access_token"].as_str().unwrap();
        let claims = app.verify(token).await.expect("the token verifies");
        let metadata: serde_json::Value = app
            .get_json("/.well-known/oauth-authorization-server")
            .await;

        assert_eq!(decode_segment(token, 0)["alg"], alg);
        assert_eq!(claims["sub"], client.client_id);
        let jwks = serde_json::to_value(app.jwks().await).unwrap();
        for key in jwks["keys"].as_array().unwrap() {
            assert_eq!(key["alg"], alg, "{key}");
            assert_eq!(key["kty"], kty, "{key}");
        }
        assert_eq!(
            metadata["access_token_signing_alg_values_supported"],
            serde_json::json!([alg])
        );
    }
}
