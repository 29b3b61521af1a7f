//! `POST /admin/v1/sessions` and `DELETE /admin/v1/sessions/current`:
//! password and TOTP logins, logout, expiry, and what a request without a
//! live session gets.

use chrono::TimeDelta;
use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
use keymint::domain::Role;
use keymint::storage::schema::sessions;
use keymint::storage::{self, StorageError};
use serde_json::{Value, json};

use crate::helpers::{assert_problem, keys, seconds_from_now, spawn_app};

#[actix_rt::test]
async fn password_login_opens_a_session() {
    let app = spawn_app().await;
    let owner = app.owner().await;

    let response = app
        .post_login(&json!({"email": owner.email.to_uppercase(), "password": owner.password}))
        .await;

    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.unwrap();
    for member in ["token", "expires_at", "mfa"] {
        assert!(keys(&body).contains(&member), "{member} in {body}");
    }
    let token = body["token"].as_str().unwrap();
    assert!(token.starts_with("kmsess_"), "{token}");
    assert_eq!(token.len(), "kmsess_".len() + 43);
    assert_eq!(body["mfa"], false);
    let lifetime = seconds_from_now(&body["expires_at"]);
    assert!((28_790..=28_800).contains(&lifetime), "{lifetime}");
    assert_eq!(app.me(token).await["user"]["id"], owner.id);
}

#[actix_rt::test]
async fn wrong_password_and_unknown_email_get_identical_invalid_credentials() {
    let app = spawn_app().await;
    let owner = app.owner().await;

    let wrong_password = app
        .post_login(&json!({"email": owner.email, "password": "not the password"}))
        .await;
    let unknown_email = app
        .post_login(&json!({"email": "nobody@example.com", "password": owner.password}))
        .await;
    let not_an_email = app
        .post_login(&json!({"email": "nobody", "password": owner.password}))
        .await;

    let first = assert_problem(wrong_password, 401, "invalid_credentials").await;
    let second = assert_problem(unknown_email, 401, "invalid_credentials").await;
    let third = assert_problem(not_an_email, 401, "invalid_credentials").await;
    assert_eq!(first, second);
    assert_eq!(first, third);
}

#[actix_rt::test]
async fn body_that_is_not_json_is_malformed_request() {
    let app = spawn_app().await;

    for body in [
        "{\"email\": ",
        "",
        "email=a@b.io&password=x",
        "{'email': 1}",
    ] {
        let response = app
            .http
            .post(app.url("/admin/v1/sessions"))
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();

        assert_problem(response, 400, "malformed_request").await;
    }
}

#[actix_rt::test]
async fn wrong_types_and_missing_fields_are_validation_failed() {
    let app = spawn_app().await;
    let bodies = [
        json!({"email": 1, "password": "x"}),
        json!({"email": "a@example.com"}),
        json!({"password": "x"}),
        json!({"email": "a@example.com", "password": "x", "otp": 123_456}),
        json!("a@example.com"),
        json!(null),
    ];

    for body in bodies {
        let response = app.post_login(&body).await;

        assert_problem(response, 422, "validation_failed").await;
    }
}

#[actix_rt::test]
async fn body_of_another_media_type_is_unsupported_media_type() {
    let app = spawn_app().await;
    let owner = app.owner().await;
    let json = json!({"email": owner.email, "password": owner.password}).to_string();

    for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
        let response = app
            .http
            .post(app.url("/admin/v1/sessions"))
            .header("Content-Type", content_type)
            .body(json.clone())
            .send()
            .await
            .unwrap();

        assert_problem(response, 415, "unsupported_media_type").await;
    }
}

#[actix_rt::test]
async fn oversized_body_is_payload_too_large() {
    let app = spawn_app().await;
    let body = json!({"email": "a@example.com", "password": "x".repeat(20 * 1024)});

    let response = app.post_login(&body).await;

    assert_problem(response, 413, "payload_too_large").await;
}

#[actix_rt::test]
async fn totp_user_without_otp_gets_otp_required() {
    let app = spawn_app().await;
    let owner = app.owner().await;
    let session = app.login(&owner).await;
    app.enable_totp(&session).await;

    let response = app
        .post_login(&json!({"email": owner.email, "password": owner.password}))
        .await;

    assert_problem(response, 401, "otp_required").await;
}

#[actix_rt::test]
async fn totp_user_with_a_correct_otp_gets_an_mfa_session() {
    let app = spawn_app().await;
    let owner = app.owner().await;
    let session = app.login(&owner).await;
    let mut totp = app.enable_totp(&session).await;

    let response = app
        .post_login(&json!({
            "email": owner.email, "password": owner.password, "otp": totp.next_code()
        }))
        .await;

    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["mfa"], true);
    let me = app.me(body["token"].as_str().unwrap()).await;
    assert_eq!(me["session"]["method"], "password+totp");
    assert_eq!(me["session"]["mfa"], true);
}

#[actix_rt::test]
async fn replayed_otp_is_invalid_credentials() {
    let app = spawn_app().await;
    let owner = app.owner().await;
    let session = app.login(&owner).await;
    let mut totp = app.enable_totp(&session).await;
    let code = totp.next_code();
    app.login_with_otp(&owner, &code).await;

    let replayed = app
        .post_login(&json!({"email": owner.email, "password": owner.password, "otp": code}))
        .await;

    assert_problem(replayed, 401, "invalid_credentials").await;
}

#[actix_rt::test]
async fn code_that_confirmed_enrolment_cannot_sign_in() {
    let app = spawn_app().await;
    let owner = app.owner().await;
    let session = app.login(&owner).await;
    let mut totp = app.start_totp(&session).await;
    let code = totp.current_code();
    let confirm = app.confirm_totp(&session, &code).await;
    assert_eq!(confirm.status(), 204);

    let response = app
        .post_login(&json!({"email": owner.email, "password": owner.password, "otp": code}))
        .await;

    assert_problem(response, 401, "invalid_credentials").await;
}

#[actix_rt::test]
async fn one_code_sent_twice_at_once_opens_one_session() {
    let app = spawn_app().await;
    let owner = app.owner().await;
    let session = app.login(&owner).await;
    let mut totp = app.enable_totp(&session).await;
    let body = json!({"email": owner.email, "password": owner.password, "otp": totp.next_code()});

    let (first, second) =
        futures_util::future::join(app.post_login(&body), app.post_login(&body)).await;

    let mut statuses = [first.status().as_u16(), second.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 401]);
}

#[actix_rt::test]
async fn wrong_otp_is_invalid_credentials() {
    let app = spawn_app().await;
    let owner = app.owner().await;
    let session = app.login(&owner).await;
    let totp = app.enable_totp(&session).await;

    for otp in [
        totp.wrong_code(),
        "12345".into(),
        "abcdef".into(),
        String::new(),
    ] {
        let response = app
            .post_login(&json!({"email": owner.email, "password": owner.password, "otp": otp}))
            .await;

        assert_problem(response, 401, "invalid_credentials").await;
    }
}

#[actix_rt::test]
async fn wrong_password_with_a_correct_otp_does_not_use_up_the_code() {
    let app = spawn_app().await;
    let owner = app.owner().await;
    let session = app.login(&owner).await;
    let mut totp = app.enable_totp(&session).await;
    let code = totp.next_code();

    let refused = app
        .post_login(&json!({"email": owner.email, "password": "wrong", "otp": code}))
        .await;
    let accepted = app
        .post_login(&json!({"email": owner.email, "password": owner.password, "otp": code}))
        .await;

    assert_problem(refused, 401, "invalid_credentials").await;
    assert_eq!(accepted.status(), 201);
}

#[actix_rt::test]
async fn logout_ends_the_session() {
    let app = spawn_app().await;
    let owner = app.owner().await;
    let token = app.login(&owner).await;

    let logout = app.admin_delete(&token, "/sessions/current").await;
    let after = app.admin_get(&token, "/me").await;
    let again = app.admin_delete(&token, "/sessions/current").await;

    assert_eq!(logout.status(), 204);
    assert_eq!(logout.headers()["cache-control"], "no-store");
    assert_problem(after, 401, "session_required").await;
    assert_problem(again, 401, "session_required").await;
}

#[actix_rt::test]
async fn logout_ends_only_the_calling_session() {
    let app = spawn_app().await;
    let owner = app.owner().await;
    let first = app.login(&owner).await;
    let second = app.login(&owner).await;

    let logout = app.admin_delete(&first, "/sessions/current").await;

    assert_eq!(logout.status(), 204);
    assert_eq!(app.me(&second).await["user"]["id"], owner.id);
}

#[actix_rt::test]
async fn expired_session_gets_session_required() {
    let app = spawn_app().await;
    let member = app.member().await;
    let token = app.login(&member).await;
    let user_id = member.id.clone();

    app.db
        .run(move |conn| {
            diesel::update(sessions::table.filter(sessions::user_id.eq(&user_id)))
                .set(sessions::expires_at.eq(storage::now() - TimeDelta::seconds(1)))
                .execute(conn)
                .map_err(StorageError::from)
        })
        .await
        .unwrap();
    let response = app.admin_get(&token, "/me").await;

    assert_problem(response, 401, "session_required").await;
}

#[actix_rt::test]
async fn missing_or_garbage_authorization_gets_session_required() {
    let app = spawn_app().await;
    let owner = app.owner().await;
    let token = app.login(&owner).await;
    let unknown = format!("kmsess_{}", "A".repeat(43));
    let headers = [
        None,
        Some("Bearer".to_owned()),
        Some("Bearer ".to_owned()),
        Some("Bearer garbage".to_owned()),
        Some(format!("Bearer {unknown}")),
        Some(format!("Bearer {token}x")),
        Some(format!("Basic {token}")),
        Some(token.clone()),
    ];

    for header in headers {
        let mut request = app.http.get(app.url("/admin/v1/me"));
        if let Some(value) = &header {
            request = request.header("Authorization", value);
        }

        let response = request.send().await.unwrap();

        assert_problem(response, 401, "session_required").await;
    }
}

#[actix_rt::test]
async fn bearer_scheme_is_case_insensitive() {
    let app = spawn_app().await;
    let member = app
        .user_in(&app.account(false).await.id, Role::Member)
        .await;
    let token = app.login(&member).await;

    let response = app
        .http
        .get(app.url("/admin/v1/me"))
        .header("Authorization", format!("bearer {token}"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
}

#[actix_rt::test]
async fn unknown_path_is_not_found_and_wrong_method_lists_allowed_ones() {
    let app = spawn_app().await;
    let owner = app.owner().await;
    let token = app.login(&owner).await;

    let missing = app.admin_get(&token, "/nothing-here").await;
    let wrong_method = app.admin_delete(&token, "/me").await;

    assert_problem(missing, 404, "not_found").await;
    let allow = wrong_method.headers()["allow"].clone();
    assert_problem(wrong_method, 405, "method_not_allowed").await;
    assert_eq!(allow, "GET");
}
