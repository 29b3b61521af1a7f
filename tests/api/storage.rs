//! What reaches the database: never a client secret in clear.

use diesel::sql_types::Text;
use diesel::{QueryableByName, RunQueryDsl};
use keymint::storage::{Backend, DbConnection, StorageError};

use crate::helpers::{TestApp, spawn_app};

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    line: String,
}

/// Every row of every table as text.
async fn dump(app: &TestApp) -> String {
    let backend = app.database.backend();
    let tables = [
        "accounts",
        "users",
        "clients",
        "audit_events",
        "signing_keys",
    ];
    app.db
        .run(move |conn: &mut DbConnection| {
            let mut out = String::new();
            for table in tables {
                let query = match backend {
                    Backend::Postgres => {
                        format!("SELECT CAST(row_to_json(t) AS TEXT) AS line FROM {table} t")
                    }
                    // SQLite has no row-to-text; list every column instead.
                    Backend::Sqlite => sqlite_row_query(table),
                };
                let lines: Vec<Line> = diesel::sql_query(query)
                    .load(conn)
                    .map_err(StorageError::from)?;
                for line in lines {
                    out.push_str(&line.line);
                    out.push('\n');
                }
            }
            Ok::<_, StorageError>(out)
        })
        .await
        .unwrap()
}

fn sqlite_row_query(table: &str) -> String {
    let columns = match table {
        "accounts" => "id, name, partner, created_at",
        "users" => "id, account_id, email, role, password_hash, created_at",
        "clients" => {
            "id, client_id, account_id, name, secret_hash, scopes, created_at, created_by, revoked_at, last_used_at"
        }
        "audit_events" => "id, account_id, actor, action, target, source_ip, occurred_at, detail",
        _ => "kid, alg, status, public_jwk, private_key, created_at, activated_at, retire_after",
    };
    let concat = columns
        .split(", ")
        .map(|column| format!("coalesce(CAST({column} AS TEXT), '')"))
        .collect::<Vec<_>>()
        .join(" || ' ' || ");
    format!("SELECT {concat} AS line FROM {table}")
}

#[actix_rt::test]
async fn database_never_holds_a_plaintext_secret() {
    let app = spawn_app().await;
    let client = app.client_with(&["reporting"]).await;
    app.token_for(&client, None).await;

    let dump = dump(&app).await;

    assert!(
        dump.contains(&client.client_id),
        "the dump reads the clients table"
    );
    assert!(!dump.contains(&client.client_secret));
    let secret_body = &client.client_secret[4..47];
    assert!(!dump.contains(secret_body));
    if app.database.backend() == Backend::Sqlite {
        let path = app.database.url.expose_secret().to_owned();
        for file in [path.clone(), format!("{path}-wal")] {
            let bytes = std::fs::read(&file).unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains(secret_body), "{file} holds the secret");
        }
    }
}

#[actix_rt::test]
async fn private_signing_keys_are_stored_sealed() {
    let app = spawn_app().await;

    let dump = dump(&app).await;

    let sealed_lines = dump.lines().filter(|line| line.contains("v1.")).count();
    assert!(sealed_lines >= 2, "{dump}");
    assert!(!dump.contains("PRIVATE KEY"));
}
