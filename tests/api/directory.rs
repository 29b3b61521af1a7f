//! The in-memory client directory in front of the database: unknown ids
//! are remembered across revocation polls, and forgotten by the poll once
//! a client with that id has been created (by the CLI or another
//! instance), so it works here within the revocation bound.

use keymint::crypto::{ClientId, ClientSecret};
use keymint::domain::ClientRecordId;
use keymint::service::directory::ClientDirectory;
use keymint::storage::clients::{self, NewClient};
use keymint::storage::{DbConnection, StorageError};

use crate::helpers::{TestApp, spawn_app};

fn copy(secret: &ClientSecret) -> ClientSecret {
    ClientSecret::parse(secret.expose_secret()).unwrap()
}

/// Stores a client with exactly these credentials, as another instance
/// would.
fn insert_elsewhere(app: &TestApp, account_id: &str, client_id: &ClientId, secret: &ClientSecret) {
    let (account_id, client_id) = (account_id.to_owned(), client_id.as_str().to_owned());
    let hash = secret.hash().to_stored();
    app.db
        .run_blocking(move |conn: &mut DbConnection| {
            let id = ClientRecordId::generate();
            let new = NewClient {
                id: id.as_str(),
                client_id: &client_id,
                account_id: &account_id,
                name: "made elsewhere",
                secret_hash: &hash,
                scopes: "reporting",
                created_at: keymint::storage::now(),
                created_by: "cli",
            };
            clients::insert(conn, &new).map_err(StorageError::from)
        })
        .unwrap();
}

fn poll(app: &TestApp, directory: &ClientDirectory) {
    app.db.run_blocking(|conn| directory.poll(conn)).unwrap();
}

#[actix_rt::test]
async fn an_unknown_id_is_remembered_across_polls_until_a_client_takes_it() {
    let app = spawn_app().await;
    let account = app.account(false).await;
    let directory = ClientDirectory::default();
    let (client_id, secret) = (ClientId::generate(), ClientSecret::generate());

    let before = directory
        .authenticate(&app.db, client_id.clone(), copy(&secret))
        .await;
    poll(&app, &directory);
    insert_elsewhere(&app, &account.id, &client_id, &secret);
    let remembered = directory
        .authenticate(&app.db, client_id.clone(), copy(&secret))
        .await;
    poll(&app, &directory);
    let after = directory
        .authenticate(&app.db, client_id.clone(), copy(&secret))
        .await;

    assert!(before.is_err(), "an id nobody has is refused");
    assert!(
        remembered.is_err(),
        "a poll before the creation must not make the directory forget the unknown id"
    );
    let client = after.expect("the poll after the creation forgets the unknown id");
    assert_eq!(client.client_id.as_str(), client_id.as_str());
}
