//! What reaches the database: never a client secret in clear.

use keymint::storage::Backend;

use crate::helpers::{TestApp, spawn_app};

/// Every row of every table as text.
async fn dump(app: &TestApp) -> String {
    app.dump(&[
        "accounts",
        "users",
        "clients",
        "audit_events",
        "signing_keys",
        "sessions",
        "sso_providers",
    ])
    .await
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
