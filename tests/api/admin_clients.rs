//! `/admin/v1/clients`: who may list, create, read and revoke API keys,
//! what they see, and what the token endpoint makes of it.

use keymint::domain::Role;
use serde_json::{Value, json};

use crate::helpers::{
    TestClient, assert_oauth_error, assert_problem, keys, seconds_from_now, spawn_app,
};

const BASIC: &str = "grant_type=client_credentials";

#[actix_rt::test]
async fn member_gets_owner_role_required_on_every_client_and_audit_call() {
    let app = spawn_app().await;
    let account = app.account(false).await;
    let existing = app.client_in(&account.id, &["reporting"]).await;
    let (_, owner_token) = app.user_with_mfa_session(&account.id, Role::Owner).await;
    let (_, member_token) = app.user_with_mfa_session(&account.id, Role::Member).await;
    let listed: Value = app
        .admin_get(&owner_token, "/clients")
        .await
        .json()
        .await
        .unwrap();
    let one = format!("/clients/{}", listed["clients"][0]["id"].as_str().unwrap());
    let body = json!({"name": "member key", "scopes": ["reporting"]});

    let responses = [
        app.admin_get(&member_token, "/clients").await,
        app.admin_post(&member_token, "/clients", &body).await,
        app.admin_get(&member_token, &one).await,
        app.admin_delete(&member_token, &one).await,
        app.admin_get(&member_token, "/audit-events").await,
    ];

    for response in responses {
        assert_problem(response, 403, "owner_role_required").await;
    }
    let listed: Value = app
        .admin_get(&owner_token, "/clients")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["clients"].as_array().unwrap().len(), 1);
    assert_eq!(listed["clients"][0]["status"], "active");
    app.token_for(&existing, None).await;
}

#[actix_rt::test]
async fn session_and_role_are_checked_before_the_body() {
    let app = spawn_app().await;
    let account = app.account(false).await;
    let (_, member_token) = app.user_with_mfa_session(&account.id, Role::Member).await;
    let post = |token: Option<&str>| {
        let mut request = app
            .http
            .post(app.url("/admin/v1/clients"))
            .header("Content-Type", "text/plain")
            .body("{not json");
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };

    let anonymous = post(None).await.unwrap();
    let unknown = post(Some(&format!("kmsess_{}", "A".repeat(43))))
        .await
        .unwrap();
    let member = post(Some(&member_token)).await.unwrap();

    assert_problem(anonymous, 401, "session_required").await;
    assert_problem(unknown, 401, "session_required").await;
    assert_problem(member, 403, "owner_role_required").await;
}

#[actix_rt::test]
async fn owner_without_mfa_may_list_read_and_revoke_but_not_create() {
    let app = spawn_app().await;
    let owner = app.owner().await;
    let existing = app.client_in(&owner.account_id, &["reporting"]).await;
    let token = app.login(&owner).await;

    let listed = app.admin_get(&token, "/clients").await;
    let created = app
        .admin_post(
            &token,
            "/clients",
            &json!({"name": "ci", "scopes": ["reporting"]}),
        )
        .await;

    assert_eq!(listed.status(), 200);
    assert_eq!(listed.headers()["cache-control"], "no-store");
    let listed: Value = listed.json().await.unwrap();
    let clients = listed["clients"].as_array().unwrap();
    assert_eq!(clients.len(), 1, "{listed}");
    assert_eq!(clients[0]["client_id"], existing.client_id);
    assert_problem(created, 403, "mfa_or_sso_required").await;
    let one = format!("/clients/{}", clients[0]["id"].as_str().unwrap());
    assert_eq!(app.admin_get(&token, &one).await.status(), 200);
    assert_eq!(app.admin_delete(&token, &one).await.status(), 204);
    let after: Value = app
        .admin_get(&token, "/clients")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after["clients"].as_array().unwrap().len(), 1, "{after}");
    assert_eq!(after["clients"][0]["status"], "revoked");
}

#[actix_rt::test]
async fn owner_with_mfa_creates_a_client_whose_secret_works() {
    let app = spawn_app().await;
    let (owner, token) = app.owner_with_mfa_session().await;

    let response = app
        .admin_post(
            &token,
            "/clients",
            &json!({"name": "  CI deploy  ", "scopes": ["reporting", "configuration"]}),
        )
        .await;

    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = response.json().await.unwrap();
    assert_eq!(
        keys(&created),
        [
            "client_id",
            "client_secret",
            "created_at",
            "created_by",
            "id",
            "name",
            "scopes",
            "status"
        ]
    );
    assert_eq!(
        location,
        format!("/admin/v1/clients/{}", created["id"].as_str().unwrap())
    );
    assert_eq!(created["name"], "CI deploy");
    assert_eq!(created["scopes"], json!(["configuration", "reporting"]));
    assert_eq!(created["status"], "active");
    assert_eq!(created["created_by"], owner.id);
    assert!(seconds_from_now(&created["created_at"]).abs() < 60);
    let (client_id, secret) = (
        created["client_id"].as_str().unwrap(),
        created["client_secret"].as_str().unwrap(),
    );
    for credential in [client_id, secret] {
        assert!(
            credential
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
            "{credential}"
        );
    }
    assert!(
        secret.len() >= 43,
        "256 bits take at least 43 base64url characters"
    );
    let issued = app.post_token(BASIC, Some((client_id, secret))).await;
    assert_eq!(issued.status(), 200);
    let issued: Value = issued.json().await.unwrap();
    assert_eq!(issued["scope"], "configuration reporting");
    let fetched = app
        .admin_get(&token, &location.replace("/admin/v1", ""))
        .await;
    assert_eq!(fetched.status(), 200);
}

#[actix_rt::test]
async fn list_and_get_never_show_a_secret() {
    let app = spawn_app().await;
    let (owner, token) = app.owner_with_mfa_session().await;
    let created = app.create_client(&token, "ci", &["reporting"]).await;
    let secret = created["client_secret"].as_str().unwrap();
    let id = created["id"].as_str().unwrap();

    let listed = app
        .admin_get(&token, "/clients")
        .await
        .text()
        .await
        .unwrap();
    let fetched = app
        .admin_get(&token, &format!("/clients/{id}"))
        .await
        .text()
        .await
        .unwrap();

    for text in [&listed, &fetched] {
        assert!(!text.contains("client_secret"), "{text}");
        assert!(!text.contains(secret), "{text}");
        assert!(!text.contains(&secret[4..40]), "{text}");
    }
    let fetched: Value = serde_json::from_str(&fetched).unwrap();
    let listed: Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed["clients"], json!([fetched.clone()]));
    for member in ["id", "name", "client_id", "scopes", "status", "created_at"] {
        assert_eq!(fetched[member], created[member], "{member}");
    }
    assert_eq!(fetched["created_by"], owner.id);
    assert_eq!(fetched["created_by_email"], owner.email.as_str());
}

#[actix_rt::test]
async fn list_shows_only_the_accounts_own_clients() {
    let app = spawn_app().await;
    let (owner, token) = app.owner_with_mfa_session().await;
    let own = app.client_in(&owner.account_id, &["reporting"]).await;
    let foreign = app.client_with(&["reporting"]).await;

    let listed: Value = app
        .admin_get(&token, "/clients")
        .await
        .json()
        .await
        .unwrap();

    let client_ids: Vec<&str> = listed["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|client| client["client_id"].as_str().unwrap())
        .collect();
    assert_eq!(client_ids, [own.client_id.as_str()]);
    assert_ne!(foreign.client_id, own.client_id);
    assert_eq!(listed["clients"][0]["created_by"], "cli");
    assert!(
        listed["clients"][0]["created_by_email"].is_null(),
        "{listed}"
    );
}

#[actix_rt::test]
async fn partner_scope_needs_a_partner_account() {
    let app = spawn_app().await;
    let (_, regular) = app.owner_with_mfa_session().await;
    let partner_account = app.account(true).await;
    let (_, partner) = app
        .user_with_mfa_session(&partner_account.id, Role::Owner)
        .await;
    let body = json!({"name": "partner key", "scopes": ["account-management"]});

    let refused = app.admin_post(&regular, "/clients", &body).await;
    let allowed = app.admin_post(&partner, "/clients", &body).await;

    assert_problem(refused, 403, "scope_not_allowed").await;
    assert_eq!(allowed.status(), 201);
    let created: Value = allowed.json().await.unwrap();
    assert_eq!(created["scopes"], json!(["account-management"]));
    let client = TestClient {
        client_id: created["client_id"].as_str().unwrap().to_owned(),
        client_secret: created["client_secret"].as_str().unwrap().to_owned(),
        account_id: partner_account.id,
    };
    assert_eq!(
        app.token_for(&client, None).await["scope"],
        "account-management"
    );
}

#[actix_rt::test]
async fn invalid_names_and_scopes_are_validation_failed() {
    let app = spawn_app().await;
    let (_, token) = app.owner_with_mfa_session().await;
    let bodies = [
        json!({"name": "ci", "scopes": []}),
        json!({"name": "ci", "scopes": ["admin"]}),
        json!({"name": "ci", "scopes": ["reporting", "admin"]}),
        json!({"name": "ci", "scopes": ["Reporting"]}),
        json!({"name": "ci", "scopes": ["reporting", "reporting"]}),
        json!({"name": "", "scopes": ["reporting"]}),
        json!({"name": "   ", "scopes": ["reporting"]}),
        json!({"name": "x".repeat(101), "scopes": ["reporting"]}),
        json!({"name": "ci", "scopes": "reporting"}),
        json!({"name": "ci"}),
        json!({"scopes": ["reporting"]}),
    ];

    for body in bodies {
        let response = app.admin_post(&token, "/clients", &body).await;

        assert_problem(response, 422, "validation_failed").await;
    }
    let listed: Value = app
        .admin_get(&token, "/clients")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed, json!({"clients": []}));
}

#[actix_rt::test]
async fn names_of_up_to_100_characters_are_accepted() {
    let app = spawn_app().await;
    let (_, token) = app.owner_with_mfa_session().await;

    let ascii = app
        .create_client(&token, &"x".repeat(100), &["reporting"])
        .await;
    let accented = app
        .create_client(&token, &"é".repeat(100), &["reporting"])
        .await;

    assert_eq!(ascii["name"], "x".repeat(100));
    assert_eq!(accented["name"], "é".repeat(100));
}

#[actix_rt::test]
async fn another_accounts_client_is_not_found_like_a_random_id() {
    let app = spawn_app().await;
    let (_, token) = app.owner_with_mfa_session().await;
    let (_, other_token) = app.owner_with_mfa_session().await;
    let foreign = app
        .create_client(&other_token, "theirs", &["reporting"])
        .await;
    let foreign_path = format!("/clients/{}", foreign["id"].as_str().unwrap());
    let random_path = "/clients/0190c8a4-0000-7000-8000-000000000000";

    let get_foreign = app.admin_get(&token, &foreign_path).await;
    let get_random = app.admin_get(&token, random_path).await;
    let delete_foreign = app.admin_delete(&token, &foreign_path).await;
    let delete_random = app.admin_delete(&token, random_path).await;

    let expected = assert_problem(get_random, 404, "not_found").await;
    assert_eq!(
        assert_problem(get_foreign, 404, "not_found").await,
        expected
    );
    assert_eq!(
        assert_problem(delete_foreign, 404, "not_found").await,
        expected
    );
    assert_eq!(
        assert_problem(delete_random, 404, "not_found").await,
        expected
    );
    let still: Value = app
        .admin_get(&other_token, &foreign_path)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(still["status"], "active");
}

#[actix_rt::test]
async fn revoking_stops_the_client_at_once_and_is_idempotent() {
    let app = spawn_app().await;
    let (_, token) = app.owner_with_mfa_session().await;
    let created = app.create_client(&token, "ci", &["reporting"]).await;
    let path = format!("/clients/{}", created["id"].as_str().unwrap());
    let credentials = (
        created["client_id"].as_str().unwrap(),
        created["client_secret"].as_str().unwrap(),
    );
    assert_eq!(app.post_token(BASIC, Some(credentials)).await.status(), 200);

    let revoked = app.admin_delete(&token, &path).await;
    let refused = app.post_token(BASIC, Some(credentials)).await;
    let again = app.admin_delete(&token, &path).await;

    assert_eq!(revoked.status(), 204);
    assert_eq!(revoked.headers()["cache-control"], "no-store");
    assert_oauth_error(refused, 401, "invalid_client").await;
    assert_eq!(again.status(), 204);
    let fetched: Value = app.admin_get(&token, &path).await.json().await.unwrap();
    assert_eq!(fetched["status"], "revoked");
    assert!(
        seconds_from_now(&fetched["revoked_at"]).abs() < 60,
        "{fetched}"
    );
    let listed: Value = app
        .admin_get(&token, "/clients")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["clients"][0]["status"], "revoked");
}

#[actix_rt::test]
async fn last_used_at_appears_only_once_usage_is_flushed() {
    let app = spawn_app().await;
    let (_, token) = app.owner_with_mfa_session().await;
    let created = app.create_client(&token, "ci", &["reporting"]).await;
    let path = format!("/clients/{}", created["id"].as_str().unwrap());
    let before_use: Value = app.admin_get(&token, &path).await.json().await.unwrap();
    let credentials = (
        created["client_id"].as_str().unwrap(),
        created["client_secret"].as_str().unwrap(),
    );
    for _ in 0..3 {
        assert_eq!(app.post_token(BASIC, Some(credentials)).await.status(), 200);
    }
    let before_flush: Value = app.admin_get(&token, &path).await.json().await.unwrap();

    let usage = app.usage.clone();
    let flushed = app.db.run(move |conn| usage.flush(conn)).await.unwrap();

    let after_flush: Value = app.admin_get(&token, &path).await.json().await.unwrap();
    assert!(before_use["last_used_at"].is_null(), "{before_use}");
    assert!(before_flush["last_used_at"].is_null(), "{before_flush}");
    assert_eq!(flushed, 1, "three uses of one client are one write");
    let age = -seconds_from_now(&after_flush["last_used_at"]);
    assert!((0..120).contains(&age), "{after_flush}");
}
