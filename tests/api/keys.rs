//! The signing-key lifecycle as operators and the schedule drive it:
//! `keymint keys list` and `keys rotate`, rotation when the current key
//! reaches `KEYMINT_KEY_ROTATION_DAYS`, one winner when instances race to
//! rotate, and retirement that unpublishes a key and destroys its private
//! part once its tokens have expired.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
use keymint::crypto::MasterKey;
use keymint::keyring::lifecycle;
use keymint::storage::schema::signing_keys::dsl;
use keymint::storage::signing_keys::{self, SigningKeyRow};
use keymint::storage::{DbConnection, StorageError};
use serde_json::Value;

use crate::helpers::{TestApp, decode_segment, spawn_app, spawn_app_with};

fn keys_command(app: &TestApp, args: &[&str]) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_keymint"))
        .arg("keys")
        .args(args)
        .env_clear()
        .env("KEYMINT_DATABASE_URL", app.database.url.expose_secret())
        .env("KEYMINT_KEYS_DIR", &app.settings.keys_dir)
        .env("KEYMINT_LOG", "error")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "keys {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn all_keys(app: &TestApp) -> Vec<SigningKeyRow> {
    app.db
        .run_blocking(|conn| signing_keys::list_all(conn).map_err(StorageError::from))
        .unwrap()
}

fn kid_with_status(app: &TestApp, status: &str) -> String {
    let rows = all_keys(app);
    let matching: Vec<&SigningKeyRow> = rows.iter().filter(|row| row.status == status).collect();
    assert_eq!(matching.len(), 1, "one {status} key: {matching:?}");
    matching[0].kid.clone()
}

/// Moves the creation and activation times of every key `days` into the
/// past, as if the key set had been running that long.
fn age_keys(app: &TestApp, days: i64) {
    let then = keymint::storage::now() - TimeDelta::days(days);
    app.db
        .run_blocking(move |conn: &mut DbConnection| {
            diesel::update(dsl::signing_keys)
                .set((dsl::created_at.eq(then), dsl::activated_at.eq(Some(then))))
                .execute(conn)
                .map_err(StorageError::from)
        })
        .unwrap();
    app.db
        .run_blocking(move |conn: &mut DbConnection| {
            diesel::update(dsl::signing_keys.filter(dsl::status.eq("next")))
                .set(dsl::activated_at.eq(None::<chrono::NaiveDateTime>))
                .execute(conn)
                .map_err(StorageError::from)
        })
        .unwrap();
}

async fn jwks_kids(app: &TestApp) -> Vec<String> {
    let jwks: Value = app.get_json("/.well-known/jwks.json").await;
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["kid"].as_str().unwrap().to_owned())
        .collect()
}

async fn signing_kid(app: &TestApp) -> String {
    let client = app.client_with(&["reporting"]).await;
    let token = app.token_for(&client, None).await;
    let header = decode_segment(token["access_token"].as_str().unwrap(), 0);
    header["kid"].as_str().unwrap().to_owned()
}

/// Waits (bounded) until the server signs with `kid`.
async fn await_signing_kid(app: &TestApp, kid: &str, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        if signing_kid(app).await == kid {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the server never signed with {kid}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[actix_rt::test]
async fn keys_list_shows_the_current_and_the_published_next_key() {
    let app = spawn_app().await;

    let listed = keys_command(&app, &["list"]);

    let keys = listed["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "{listed}");
    let mut statuses: Vec<&str> = keys.iter().map(|k| k["status"].as_str().unwrap()).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, ["current", "next"]);
    for key in keys {
        assert_eq!(key["alg"], "ES256");
        assert!(key["kid"].as_str().unwrap().len() >= 43, "{key}");
        assert!(key["created_at"].as_str().unwrap().ends_with('Z'), "{key}");
        assert!(key.get("private_key").is_none(), "{key}");
    }
    let mut published = jwks_kids(&app).await;
    let mut listed_kids: Vec<String> = keys
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    published.sort_unstable();
    listed_kids.sort_unstable();
    assert_eq!(published, listed_kids);
}

#[actix_rt::test]
async fn keys_rotate_promotes_the_next_key_and_keeps_the_old_one_published() {
    let app = spawn_app().await;
    let old_current = kid_with_status(&app, "current");
    let old_next = kid_with_status(&app, "next");

    let rotated = keys_command(&app, &["rotate"]);

    assert_eq!(rotated["kid"], old_next.as_str());
    assert_eq!(rotated["alg"], "ES256");
    assert_eq!(kid_with_status(&app, "previous"), old_current);
    let new_next = kid_with_status(&app, "next");
    assert_ne!(new_next, old_current);
    assert_ne!(new_next, old_next);
    await_signing_kid(&app, &old_next, Duration::from_secs(20)).await;
    let published = jwks_kids(&app).await;
    for kid in [&old_current, &old_next, &new_next] {
        assert!(published.contains(kid), "{kid} missing from {published:?}");
    }
}

#[actix_rt::test]
async fn a_current_key_past_the_rotation_age_is_rotated_by_the_schedule() {
    let app = spawn_app_with(|settings| settings.key_rotation_days = Some(1)).await;
    let old_current = kid_with_status(&app, "current");
    let old_next = kid_with_status(&app, "next");

    age_keys(&app, 2);

    await_signing_kid(&app, &old_next, Duration::from_secs(20)).await;
    assert_eq!(kid_with_status(&app, "current"), old_next);
    assert_eq!(kid_with_status(&app, "previous"), old_current);
    let published = jwks_kids(&app).await;
    assert_eq!(published.len(), 3, "{published:?}");
    assert!(published.contains(&old_current));
}

#[actix_rt::test]
async fn with_the_schedule_off_an_old_key_is_not_rotated() {
    let app = spawn_app_with(|settings| settings.key_rotation_days = None).await;
    let current = kid_with_status(&app, "current");

    age_keys(&app, 10_000);
    tokio::time::sleep(keymint::keyring::RELOAD_INTERVAL * 3).await;

    assert_eq!(kid_with_status(&app, "current"), current);
    assert_eq!(signing_kid(&app).await, current);
}

#[actix_rt::test]
async fn instances_racing_a_scheduled_rotation_rotate_exactly_once() {
    let app = spawn_app_with(|settings| settings.key_rotation_days = Some(1)).await;
    let old_current = kid_with_status(&app, "current");
    let old_next = kid_with_status(&app, "next");
    let master = Arc::new(MasterKey::load(&app.settings.keys_dir).unwrap());
    let policy = keymint::startup::key_policy(&app.settings);
    age_keys(&app, 2);

    let racers: Vec<_> = (0..4)
        .map(|_| {
            let (db, master, policy) = (app.db.clone(), Arc::clone(&master), policy.clone());
            std::thread::spawn(move || {
                db.run_blocking(|conn| lifecycle::rotate(conn, &master, &policy, true))
                    .unwrap()
            })
        })
        .collect();
    let rotations: Vec<_> = racers.into_iter().map(|r| r.join().unwrap()).collect();

    // The server's own schedule races too; whoever won, one rotation
    // happened: one previous key, and every racer reports the same signer.
    let rows = all_keys(&app);
    let count = |status: &str| rows.iter().filter(|row| row.status == status).count();
    assert_eq!(count("previous"), 1, "{rows:?}");
    assert_eq!(count("current"), 1, "{rows:?}");
    assert_eq!(count("next"), 1, "{rows:?}");
    assert_eq!(kid_with_status(&app, "current"), old_next);
    assert_eq!(kid_with_status(&app, "previous"), old_current);
    assert!(rotations.iter().filter(|r| r.replaced.is_some()).count() <= 1);
    // A loser reports the key it saw signing: the old one while the
    // winner's transaction was still open, else the promoted one.
    for rotation in &rotations {
        assert!(
            rotation.kid == old_next || rotation.kid == old_current,
            "{rotations:?} {rows:?}"
        );
    }
}

#[actix_rt::test]
async fn a_previous_key_is_retired_after_the_overlap_and_its_private_part_destroyed() {
    let app = spawn_app().await;
    let old_current = kid_with_status(&app, "current");
    keys_command(&app, &["rotate"]);
    let previous = all_keys(&app)
        .into_iter()
        .find(|row| row.kid == old_current)
        .unwrap();
    let retire_after = previous
        .retire_after
        .expect("a previous key has a retirement time");
    let overlap = retire_after - keymint::storage::now();
    let expected = i64::from(app.settings.token_ttl) + 300 + 60;
    assert!(
        (expected - 5..=expected).contains(&overlap.num_seconds()),
        "overlap {overlap}"
    );

    let past = keymint::storage::now() - TimeDelta::seconds(1);
    let kid = old_current.clone();
    app.db
        .run_blocking(move |conn: &mut DbConnection| {
            diesel::update(dsl::signing_keys.filter(dsl::kid.eq(kid)))
                .set(dsl::retire_after.eq(Some(past)))
                .execute(conn)
                .map_err(StorageError::from)
        })
        .unwrap();

    let deadline = Instant::now() + Duration::from_secs(20);
    while jwks_kids(&app).await.contains(&old_current) {
        assert!(
            Instant::now() < deadline,
            "the previous key stayed published"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let retired = all_keys(&app)
        .into_iter()
        .find(|row| row.kid == old_current)
        .unwrap();
    assert_eq!(retired.status, "retired");
    assert!(retired.private_key.is_none(), "the private part survived");
    let listed = keys_command(&app, &["list"]);
    let statuses: Vec<&str> = listed["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|key| key["kid"] == old_current.as_str())
        .map(|key| key["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["retired"]);
}
