//! Crash safety: `keymint serve` killed with SIGKILL in the middle of a
//! burst of client creations and revocations keeps every promise it made.
//! After a restart on the same database and keys directory, each 201 is a
//! client that works with the secret it returned, each 204 is a client
//! refused and shown `revoked`, and every stored client is whole: active
//! or revoked, with the audit events its creation and revocation write in
//! the same transaction.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use keymint::crypto::SecretHash;
use keymint::storage::{StorageError, clients};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Served, binary_setup, dump_tables};

/// Clients made before the burst, which the burst revokes.
const TO_REVOKE: usize = 12;
/// Creations in the burst.
const CREATIONS: usize = 48;
/// Requests the burst keeps in flight.
const IN_FLIGHT: usize = 6;
/// Answers the burst gets before the server is killed.
const KILL_AFTER: usize = 16;

/// One request of the burst.
#[derive(Clone, Debug)]
enum Op {
    Create(usize),
    Revoke { id: String },
}

/// What one request of the burst got back.
#[derive(Debug)]
enum Answer {
    Created {
        id: String,
        client_id: String,
        secret: String,
    },
    Revoked {
        id: String,
    },
    /// An HTTP answer other than success (such as a 503 while dying).
    Status(u16),
    /// The connection failed or was cut: the server was gone.
    Nothing(Op),
}

/// Sends one request of the burst and records its answer.
async fn send(http: &reqwest::Client, base: &str, session: &str, op: Op) -> Answer {
    let request = match &op {
        Op::Create(n) => http
            .post(format!("{base}/admin/v1/clients"))
            .json(&json!({"name": format!("burst {n}"), "scopes": ["reporting"]})),
        Op::Revoke { id } => http.delete(format!("{base}/admin/v1/clients/{id}")),
    };
    let Ok(response) = request.bearer_auth(session).send().await else {
        return Answer::Nothing(op);
    };
    let status = response.status().as_u16();
    // A body cut off by the kill is no answer either.
    let Ok(text) = response.text().await else {
        return Answer::Nothing(op);
    };
    match (&op, status) {
        (Op::Create(_), 201) => {
            let body: Value = serde_json::from_str(&text).unwrap();
            Answer::Created {
                id: body["id"].as_str().unwrap().to_owned(),
                client_id: body["client_id"].as_str().unwrap().to_owned(),
                secret: body["client_secret"].as_str().unwrap().to_owned(),
            }
        }
        (Op::Revoke { id }, 204) => Answer::Revoked { id: id.clone() },
        _ => Answer::Status(status),
    }
}

/// Events of the audit trail with `action`, counted by target.
fn targets_of(events: &[Value], action: &str) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for event in events.iter().filter(|event| event["action"] == action) {
        let target = event["target"].as_str().unwrap().to_owned();
        *counts.entry(target).or_default() += 1;
    }
    counts
}

#[actix_rt::test]
async fn sigkill_during_a_burst_of_creations_and_revocations_loses_no_answered_change() {
    let (binary, _database, dir) = binary_setup();
    let log = dir.path().join("serve.log");
    let account = binary.account("Crash Co");
    let (email, password) = binary.owner(&account);
    let mut served = Served::start(&binary, &log).await;
    let session = served.mfa_login(&email, &password).await.session;
    let mut secrets = HashMap::new();
    let mut ops = Vec::new();
    for n in 0..TO_REVOKE {
        let body = json!({"name": format!("to revoke {n}"), "scopes": ["reporting"]});
        let created = served
            .admin(Method::POST, &session, "/clients", Some(&body))
            .await;
        assert_eq!(created.status(), 201);
        let created: Value = created.json().await.unwrap();
        let (id, client_id) = (
            created["id"].as_str().unwrap(),
            created["client_id"].clone(),
        );
        secrets.insert(client_id.as_str().unwrap().to_owned(), {
            created["client_secret"].as_str().unwrap().to_owned()
        });
        ops.push(Op::Revoke { id: id.to_owned() });
    }
    // Creations with a revocation after every fourth.
    let mut revocations = ops.into_iter();
    let mut ops = Vec::new();
    for n in 0..CREATIONS {
        ops.push(Op::Create(n));
        if n % 4 == 3 {
            ops.extend(revocations.next());
        }
    }
    let (http, base) = (served.http.clone(), served.base.clone());
    let answered = Arc::new(AtomicUsize::new(0));

    let burst = futures_util::stream::iter(ops.clone())
        .map(|op| {
            let (http, base, session, answered) = (&http, &base, &session, &answered);
            async move {
                let answer = send(http, base, session, op).await;
                if !matches!(answer, Answer::Nothing(_)) {
                    answered.fetch_add(1, Ordering::SeqCst);
                }
                answer
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect::<Vec<Answer>>();
    let killer = async {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while answered.load(Ordering::SeqCst) < KILL_AFTER {
            assert!(std::time::Instant::now() < deadline, "the burst stalled");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        served.kill_9();
        answered.load(Ordering::SeqCst)
    };
    let (answers, answered_at_kill) = tokio::join!(burst, killer);
    let mut served = Served::start(&binary, &log).await;

    let unanswered = answers
        .iter()
        .filter(|answer| matches!(answer, Answer::Nothing(_)))
        .count();
    assert!(answered_at_kill >= KILL_AFTER);
    assert!(unanswered > 0, "the kill came after the burst: {answers:?}");
    let mut created = HashMap::new();
    let mut revoked = HashSet::new();
    for answer in &answers {
        match answer {
            Answer::Created {
                id,
                client_id,
                secret,
            } => {
                created.insert(id.clone(), client_id.clone());
                secrets.insert(client_id.clone(), secret.clone());
            }
            Answer::Revoked { id } => {
                revoked.insert(id.clone());
            }
            // A dying server may answer 503 (or nothing): the change may
            // or may not have been made, and either is checked below.
            Answer::Status(status) => assert_eq!(*status, 503, "{answer:?}"),
            Answer::Nothing(_) => {}
        }
    }
    assert!(!created.is_empty() && !revoked.is_empty(), "{answers:?}");

    // Every answered creation works with the secret it returned.
    for client_id in created.values() {
        let response = served.token(client_id, &secrets[client_id]).await;
        assert_eq!(response.status(), 200, "created {client_id} lost");
    }
    // Every answered revocation holds.
    for id in &revoked {
        let client = served.admin_json(&session, &format!("/clients/{id}")).await;
        assert_eq!(client["status"], "revoked", "{client}");
        let client_id = client["client_id"].as_str().unwrap();
        let response = served.token(client_id, &secrets[client_id]).await;
        assert_eq!(response.status(), 401, "revoked {client_id} accepted");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_client");
    }
    // Nothing is half-written: every stored client is whole, in the audit
    // trail exactly as its state says, and usable exactly when active.
    let listed = served.admin_json(&session, "/clients").await["clients"]
        .as_array()
        .unwrap()
        .clone();
    let events = served.audit_events(&session).await;
    let created_events = targets_of(&events, "client.created");
    let revoked_events = targets_of(&events, "client.revoked");
    let creations_unanswered = answers
        .iter()
        .filter(|answer| matches!(answer, Answer::Nothing(Op::Create(_))))
        .count();
    let unknown = listed
        .iter()
        .filter(|client| !secrets.contains_key(client["client_id"].as_str().unwrap()))
        .count();
    assert!(
        unknown <= creations_unanswered,
        "{unknown} clients from nowhere"
    );
    assert_eq!(listed.len(), TO_REVOKE + created.len() + unknown);
    for client in &listed {
        let client_id = client["client_id"].as_str().unwrap();
        assert_eq!(client["scopes"], json!(["reporting"]), "{client}");
        assert_eq!(created_events.get(client_id), Some(&1), "{client}");
        let expected_revocations = match client["status"].as_str().unwrap() {
            "active" => 0,
            "revoked" => 1,
            other => panic!("status {other} of {client}"),
        };
        assert_eq!(
            revoked_events.get(client_id).copied().unwrap_or(0),
            expected_revocations,
            "{client}"
        );
        if let Some(secret) = secrets.get(client_id) {
            let status = served.token(client_id, secret).await.status();
            let expected = if expected_revocations == 0 { 200 } else { 401 };
            assert_eq!(status, expected, "{client}");
        }
    }
    assert_eq!(created_events.len(), listed.len(), "events of lost clients");
    // The database holds no other client, and every row has a secret hash
    // a secret can be checked against.
    let db = binary.db();
    let stored = dump_tables(&db, &["clients"]).await;
    assert_eq!(stored.lines().count(), listed.len(), "{stored}");
    let rows = db
        .run(move |conn| clients::list_for_account(conn, &account).map_err(StorageError::from))
        .await
        .unwrap();
    for row in rows {
        let hash = SecretHash::from_stored(&row.secret_hash);
        assert!(hash.is_some(), "the secret hash of {}", row.client_id);
        let view = listed
            .iter()
            .find(|c| c["client_id"] == row.client_id.as_str());
        let revoked = view.unwrap()["status"] == "revoked";
        assert_eq!(row.revoked_at.is_some(), revoked, "{}", row.client_id);
    }
    served.stop().await;
}
