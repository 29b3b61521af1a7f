//! `GET /admin/v1/audit-events`: the account's trail of security events,
//! newest first, paged with a cursor, never holding a secret.

use std::time::Duration;

use keymint::service::audit::{self, Actor, Event};
use serde_json::{Value, json};

use crate::cli::{json_out, keymint};
use crate::helpers::{TestApp, assert_problem, seconds_from_now, spawn_app};

/// Events are ordered by a time-ordered id with millisecond resolution, so
/// steps meant to be ordered are kept a few milliseconds apart (see
/// `events_recorded_within_one_millisecond_stay_newest_first`).
async fn pause() {
    actix_rt::time::sleep(Duration::from_millis(3)).await;
}

/// `(action, actor, source_ip)` of each event.
fn summary(events: &[Value]) -> Vec<(String, String, Value)> {
    events
        .iter()
        .map(|event| {
            let field = |name: &str| event[name].as_str().unwrap().to_owned();
            (field("action"), field("actor"), event["source_ip"].clone())
        })
        .collect()
}

#[actix_rt::test]
async fn trail_records_every_admin_action_newest_first() {
    let app = spawn_app().await;
    let owner = app.owner().await;
    let password_session = app.login(&owner).await;
    pause().await;
    let mut totp = app.start_totp(&password_session).await;
    pause().await;
    let confirmed = app
        .confirm_totp(&password_session, &totp.current_code())
        .await;
    assert_eq!(confirmed.status(), 204);
    pause().await;
    let logout = app.admin_delete(&password_session, "/sessions/current");
    assert_eq!(logout.await.status(), 204);
    pause().await;
    let no_otp = json!({"email": owner.email, "password": owner.password});
    assert_eq!(app.post_login(&no_otp).await.status(), 401);
    let wrong_otp =
        json!({"email": owner.email, "password": owner.password, "otp": totp.wrong_code()});
    assert_eq!(app.post_login(&wrong_otp).await.status(), 401);
    let token = app.login_with_otp(&owner, &totp.next_code()).await;
    pause().await;
    let created = app.create_client(&token, "api key", &["reporting"]).await;
    pause().await;
    let path = format!("/clients/{}", created["id"].as_str().unwrap());
    assert_eq!(app.admin_delete(&token, &path).await.status(), 204);
    pause().await;
    let by_cli = json_out(&keymint(
        &app,
        &[
            "client",
            "create",
            "--account",
            &owner.account_id,
            "--name",
            "cli key",
            "--scope",
            "reporting",
        ],
    ));
    let cli_client_id = by_cli["client_id"].as_str().unwrap();
    pause().await;
    json_out(&keymint(
        &app,
        &["client", "revoke", "--client-id", cli_client_id],
    ));

    let events = app.audit_events(&token).await;

    let (user, ip, none) = (owner.id.as_str(), json!("127.0.0.1"), Value::Null);
    let mut expected = vec![
        ("account.created", "cli", &none),
        ("user.created", "cli", &none),
        ("login.succeeded", user, &ip),
        ("totp.enrolment_started", user, &ip),
        ("totp.enabled", user, &ip),
        ("logout", user, &ip),
        ("login.otp_required", user, &ip),
        ("login.failed", user, &ip),
        ("login.succeeded", user, &ip),
        ("client.created", user, &ip),
        ("client.revoked", user, &ip),
        ("client.created", "cli", &none),
        ("client.revoked", "cli", &none),
    ];
    expected.reverse();
    let expected: Vec<(String, String, Value)> = expected
        .into_iter()
        .map(|(action, actor, ip)| (action.to_owned(), actor.to_owned(), ip.clone()))
        .collect();
    assert_eq!(summary(&events), expected);
    let times: Vec<i64> = events
        .iter()
        .map(|event| seconds_from_now(&event["occurred_at"]))
        .collect();
    assert!(times.iter().all(|age| (-60..=0).contains(age)), "{times:?}");
    assert!(times.windows(2).all(|pair| pair[0] >= pair[1]), "{times:?}");
    assert_eq!(events[0]["target"], cli_client_id);
    assert_eq!(events[3]["target"], created["client_id"]);
    assert_eq!(events[4]["detail"]["method"], "password+totp");
    assert_eq!(events[5]["detail"]["reason"], "wrong_or_replayed_otp");
    assert_eq!(events[10]["detail"]["method"], "password");
}

#[actix_rt::test]
async fn cursor_pagination_walks_every_event_once() {
    let app = spawn_app().await;
    let owner = app.owner().await;
    let mut token = String::new();
    for _ in 0..5 {
        token = app.login(&owner).await;
    }
    let all = app.audit_events(&token).await;

    let mut walked = Vec::new();
    let mut sizes = Vec::new();
    let mut path = "/audit-events?limit=2".to_owned();
    loop {
        let response = app.admin_get(&token, &path).await;
        assert_eq!(response.status(), 200);
        let page: Value = response.json().await.unwrap();
        let events = page["events"].as_array().unwrap();
        sizes.push(events.len());
        walked.extend(events.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/audit-events?limit=2&before={cursor}"),
            None => break,
        }
    }

    assert_eq!(all.len(), 7, "account, user and five logins");
    assert_eq!(sizes, [2, 2, 2, 1]);
    assert_eq!(walked, all);
    let exact: Value = app
        .admin_get(&token, "/audit-events?limit=7")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(exact["events"].as_array().unwrap().len(), 7);
    assert!(exact["next_cursor"].is_null(), "{exact}");
}

#[actix_rt::test]
async fn limit_outside_1_to_200_is_validation_failed() {
    let app = spawn_app().await;
    let owner = app.owner().await;
    let token = app.login(&owner).await;

    for limit in ["0", "-1", "201"] {
        let response = app
            .admin_get(&token, &format!("/audit-events?limit={limit}"))
            .await;

        assert_problem(response, 422, "validation_failed").await;
    }
    let largest = app.admin_get(&token, "/audit-events?limit=200").await;
    assert_eq!(largest.status(), 200);
}

#[actix_rt::test]
async fn non_numeric_limit_is_validation_failed() {
    let app = spawn_app().await;
    let owner = app.owner().await;
    let token = app.login(&owner).await;

    for limit in ["abc", "", "1.5"] {
        let response = app
            .admin_get(&token, &format!("/audit-events?limit={limit}"))
            .await;

        assert_problem(response, 422, "validation_failed").await;
    }
}

#[actix_rt::test]
async fn failed_password_login_appears_in_the_users_account_trail() {
    let app = spawn_app().await;
    let owner = app.owner().await;
    let wrong = app
        .post_login(&json!({"email": owner.email, "password": "wrong"}))
        .await;
    assert_eq!(wrong.status(), 401);
    let token = app.login(&owner).await;

    let events = app.audit_events(&token).await;

    let failed = events
        .iter()
        .find(|event| event["action"] == "login.failed")
        .expect("the failed login is in the trail");
    assert_eq!(failed["target"], owner.id);
    assert_eq!(failed["source_ip"], "127.0.0.1");
    assert_eq!(failed["detail"]["reason"], "wrong_email_or_password");
}

#[actix_rt::test]
async fn events_of_other_accounts_never_appear() {
    let app = spawn_app().await;
    let (owner, token) = app.owner_with_mfa_session().await;
    let (other, other_token) = app.owner_with_mfa_session().await;
    let theirs = app
        .create_client(&other_token, "theirs", &["reporting"])
        .await;
    app.post_login(&json!({"email": other.email, "password": "wrong"}))
        .await;
    app.post_login(&json!({"email": "nobody@example.com", "password": "x"}))
        .await;

    let events = app.audit_events(&token).await;

    let text = serde_json::to_string(&events).unwrap();
    for foreign in [
        other.id.as_str(),
        other.account_id.as_str(),
        other.email.as_str(),
        theirs["client_id"].as_str().unwrap(),
        "nobody@example.com",
    ] {
        assert!(!text.contains(foreign), "{foreign} in {text}");
    }
    let actors: Vec<&str> = events
        .iter()
        .map(|event| event["actor"].as_str().unwrap())
        .collect();
    assert!(
        actors
            .iter()
            .all(|actor| *actor == owner.id || *actor == "cli"),
        "{actors:?}"
    );
    assert!(actors.contains(&owner.id.as_str()));
}

#[actix_rt::test]
async fn trail_never_reveals_a_secret() {
    let app = spawn_app().await;
    let owner = app.owner().await;
    let wrong_password = "not-the-password-but-close";
    app.post_login(&json!({"email": owner.email, "password": wrong_password}))
        .await;
    let password_session = app.login(&owner).await;
    let mut totp = app.enable_totp(&password_session).await;
    let token = app.login_with_otp(&owner, &totp.next_code()).await;
    let created = app.create_client(&token, "api key", &["reporting"]).await;
    let by_cli = json_out(&keymint(
        &app,
        &[
            "client",
            "create",
            "--account",
            &owner.account_id,
            "--name",
            "cli key",
            "--scope",
            "reporting",
        ],
    ));

    let text = app
        .admin_get(&token, "/audit-events?limit=200")
        .await
        .text()
        .await
        .unwrap();

    let api_secret = created["client_secret"].as_str().unwrap();
    let cli_secret = by_cli["client_secret"].as_str().unwrap();
    let secrets = [
        owner.password.as_str(),
        wrong_password,
        password_session.as_str(),
        &password_session["kmsess_".len()..],
        token.as_str(),
        totp.base32.as_str(),
        api_secret,
        &api_secret[4..40],
        cli_secret,
        &cli_secret[4..40],
    ];
    for secret in secrets {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    assert!(
        text.contains("client.created"),
        "the trail was read: {text}"
    );
}

#[actix_rt::test]
async fn events_recorded_within_one_millisecond_stay_newest_first() {
    let app = spawn_app().await;
    let owner = app.owner().await;
    let token = app.login(&owner).await;
    record_numbered_events(&app, &owner.account_id, 100).await;

    let events = app.audit_events(&token).await;

    let numbers: Vec<i64> = events
        .iter()
        .filter_map(|event| event["detail"]["n"].as_i64())
        .collect();
    let newest_first: Vec<i64> = (0..100).rev().collect();
    assert_eq!(numbers, newest_first);
}

/// Records `count` events in quick succession, numbered in `detail.n`.
async fn record_numbered_events(app: &TestApp, account_id: &str, count: i64) {
    let account_id = account_id.to_owned();
    app.db
        .run(move |conn| {
            for n in 0..count {
                let event = Event {
                    actor: &Actor::Cli,
                    account_id: Some(&account_id),
                    action: "test.numbered",
                    target: None,
                    source_ip: None,
                    detail: Some(json!({ "n": n })),
                };
                audit::record(conn, &event).map_err(keymint::storage::StorageError::from)?;
            }
            Ok::<_, keymint::storage::StorageError>(())
        })
        .await
        .unwrap();
}
