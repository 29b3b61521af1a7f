//! `GET /admin/v1/me` and TOTP enrolment (`POST /admin/v1/me/totp`,
//! `POST /admin/v1/me/totp/confirm`).

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use keymint::domain::Role;
use serde_json::{Value, json};

use crate::helpers::{assert_problem, keys, seconds_from_now, spawn_app};

#[actix_rt::test]
async fn owner_with_a_password_session_may_not_create_clients() {
    let app = spawn_app().await;
    let account = app.account(true).await;
    let owner = app.user_in(&account.id, Role::Owner).await;
    let token = app.login(&owner).await;

    let me = app.me(&token).await;

    assert_eq!(
        keys(&me),
        [
            "account",
            "can_create_clients",
            "create_blocked_reason",
            "session",
            "user"
        ]
    );
    for member in ["id", "email", "role"] {
        assert!(keys(&me["user"]).contains(&member), "{member} in {me}");
    }
    assert_eq!(me["user"]["id"], owner.id);
    assert_eq!(me["user"]["email"], owner.email);
    assert_eq!(me["user"]["role"], "owner");
    assert_eq!(
        me["account"],
        json!({"id": account.id, "name": account.name, "partner": true})
    );
    assert_eq!(keys(&me["session"]), ["expires_at", "method", "mfa"]);
    assert_eq!(me["session"]["method"], "password");
    assert_eq!(me["session"]["mfa"], false);
    assert!((28_790..=28_800).contains(&seconds_from_now(&me["session"]["expires_at"])));
    assert_eq!(me["can_create_clients"], false);
    assert_eq!(me["create_blocked_reason"], "mfa_or_sso_required");
}

#[actix_rt::test]
async fn member_may_not_create_clients_even_with_mfa() {
    let app = spawn_app().await;
    let account = app.account(false).await;
    let member = app.user_in(&account.id, Role::Member).await;
    let password_session = app.login(&member).await;
    let (_, mfa_session) = app.user_with_mfa_session(&account.id, Role::Member).await;

    let with_password = app.me(&password_session).await;
    let with_mfa = app.me(&mfa_session).await;

    for me in [&with_password, &with_mfa] {
        assert_eq!(me["user"]["role"], "member");
        assert_eq!(me["account"]["partner"], false);
        assert_eq!(me["can_create_clients"], false);
        assert_eq!(me["create_blocked_reason"], "owner_role_required");
    }
    assert_eq!(with_mfa["session"]["method"], "password+totp");
}

#[actix_rt::test]
async fn owner_with_an_mfa_session_may_create_clients() {
    let app = spawn_app().await;
    let (owner, token) = app.owner_with_mfa_session().await;

    let me = app.me(&token).await;

    assert_eq!(me["user"]["id"], owner.id);
    assert_eq!(me["session"]["method"], "password+totp");
    assert_eq!(me["session"]["mfa"], true);
    assert_eq!(me["can_create_clients"], true);
    assert_eq!(me["create_blocked_reason"], Value::Null);
}

#[actix_rt::test]
async fn starting_enrolment_returns_a_base32_secret_and_otpauth_uri() {
    let app = spawn_app().await;
    let owner = app.owner().await;
    let token = app.login(&owner).await;

    let response = app.admin_post(&token, "/me/totp", &json!({})).await;

    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(keys(&body), ["otpauth_uri", "secret"]);
    let secret = body["secret"].as_str().unwrap();
    let bytes = crate::helpers::decode_base32(secret).expect("base32");
    assert!(bytes.len() >= 16, "at least 128 bits");
    let uri = body["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    for part in [
        format!("secret={secret}"),
        "algorithm=SHA1".into(),
        "digits=6".into(),
        "period=30".into(),
    ] {
        assert!(uri.contains(&part), "{part} in {uri}");
    }
}

#[actix_rt::test]
async fn confirming_with_a_correct_code_enables_totp_but_keeps_the_session_as_it_was() {
    let app = spawn_app().await;
    let owner = app.owner().await;
    let token = app.login(&owner).await;
    let mut totp = app.start_totp(&token).await;

    let response = app.confirm_totp(&token, &totp.current_code()).await;

    assert_eq!(response.status(), 204);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let me = app.me(&token).await;
    assert_eq!(me["session"]["method"], "password");
    assert_eq!(me["session"]["mfa"], false);
    assert_eq!(me["create_blocked_reason"], "mfa_or_sso_required");
    let without_otp = app
        .post_login(&json!({"email": owner.email, "password": owner.password}))
        .await;
    assert_problem(without_otp, 401, "otp_required").await;
}

#[actix_rt::test]
async fn confirming_with_a_wrong_code_is_invalid_otp_and_leaves_totp_off() {
    let app = spawn_app().await;
    let owner = app.owner().await;
    let token = app.login(&owner).await;
    let totp = app.start_totp(&token).await;

    let wrong = app.confirm_totp(&token, &totp.wrong_code()).await;
    let malformed = app.confirm_totp(&token, "12 34 56").await;

    assert_problem(wrong, 422, "invalid_otp").await;
    assert_problem(malformed, 422, "invalid_otp").await;
    app.login(&owner).await;
}

#[actix_rt::test]
async fn confirming_without_starting_is_totp_not_started() {
    let app = spawn_app().await;
    let owner = app.owner().await;
    let token = app.login(&owner).await;

    let response = app.confirm_totp(&token, "123456").await;

    assert_problem(response, 409, "totp_not_started").await;
}

#[actix_rt::test]
async fn enrolling_again_after_enabling_is_totp_already_enabled() {
    let app = spawn_app().await;
    let owner = app.owner().await;
    let token = app.login(&owner).await;
    let mut totp = app.enable_totp(&token).await;
    let mfa_session = app.login_with_otp(&owner, &totp.next_code()).await;

    let restart = app.admin_post(&mfa_session, "/me/totp", &json!({})).await;
    let reconfirm = app.confirm_totp(&token, "123456").await;

    assert_problem(restart, 409, "totp_already_enabled").await;
    assert_problem(reconfirm, 409, "totp_already_enabled").await;
}

#[actix_rt::test]
async fn restarting_enrolment_replaces_the_pending_secret() {
    let app = spawn_app().await;
    let owner = app.owner().await;
    let token = app.login(&owner).await;
    let mut first = app.start_totp(&token).await;
    let mut second = app.start_totp(&token).await;
    assert_ne!(first.base32, second.base32);

    let stale = app.confirm_totp(&token, &first.current_code()).await;
    let fresh = app.confirm_totp(&token, &second.current_code()).await;

    assert_problem(stale, 422, "invalid_otp").await;
    assert_eq!(fresh.status(), 204);
}

#[actix_rt::test]
async fn totp_secret_is_stored_sealed() {
    let app = spawn_app().await;
    let owner = app.owner().await;
    let token = app.login(&owner).await;
    let mut totp = app.start_totp(&token).await;
    let pending_dump = app.dump(&["users", "sessions", "audit_events"]).await;
    let confirmed = app.confirm_totp(&token, &totp.current_code()).await;
    assert_eq!(confirmed.status(), 204);

    let enabled_dump = app.dump(&["users", "sessions", "audit_events"]).await;

    for dump in [&pending_dump, &enabled_dump] {
        assert!(dump.contains(&owner.id), "the dump reads the users table");
        let encodings = [
            totp.base32.clone(),
            totp.base32.to_lowercase(),
            STANDARD.encode(totp.bytes()),
            URL_SAFE_NO_PAD.encode(totp.bytes()),
            hex(totp.bytes()),
            hex(totp.bytes()).to_uppercase(),
        ];
        for encoded in encodings {
            assert!(!dump.contains(&encoded), "{encoded} is stored in clear");
        }
        assert!(
            !dump.contains(&token),
            "the session token is stored in clear"
        );
    }
    let user_line = enabled_dump
        .lines()
        .find(|line| line.contains(&owner.email))
        .unwrap();
    assert!(user_line.contains("v1."), "a sealed secret: {user_line}");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
