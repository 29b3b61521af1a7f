//! `keymint keys …`: list signing keys and rotate them by hand.

use anyhow::Context;
use clap::Subcommand;
use serde::Serialize;

use crate::cli::print_json;
use crate::config::Settings;
use crate::crypto::MasterKey;
use crate::keyring::lifecycle;
use crate::service::rfc3339;
use crate::startup;
use crate::storage::{StorageError, signing_keys};

/// Key commands.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List every signing key with its state; prints `{"keys": […]}`.
    List,
    /// Rotate now: the published next key starts signing; prints the
    /// `{"kid", "alg"}` of the key that signs from now on. Running
    /// instances pick it up within seconds.
    Rotate,
}

#[derive(Serialize)]
struct KeyView {
    kid: String,
    alg: String,
    status: String,
    created_at: String,
    activated_at: Option<String>,
    retire_after: Option<String>,
}

#[derive(Serialize)]
struct KeyList {
    keys: Vec<KeyView>,
}

/// Runs a key command.
pub fn run(command: KeysCommand, settings: &Settings) -> anyhow::Result<()> {
    let mut conn = startup::open_connection(settings)?;
    match command {
        KeysCommand::List => {
            let rows = signing_keys::list_all(&mut conn).map_err(StorageError::from)?;
            let keys = rows
                .into_iter()
                .map(|row| KeyView {
                    kid: row.kid,
                    alg: row.alg,
                    status: row.status,
                    created_at: rfc3339(row.created_at),
                    activated_at: row.activated_at.map(rfc3339),
                    retire_after: row.retire_after.map(rfc3339),
                })
                .collect();
            print_json(&KeyList { keys })
        }
        KeysCommand::Rotate => {
            let master = MasterKey::load(&settings.keys_dir)
                .context("failed to load the master key from KEYMINT_KEYS_DIR")?;
            let policy = startup::key_policy(settings);
            let rotation = lifecycle::rotate(&mut conn, &master, &policy, false)?;
            print_json(&rotation)
        }
    }
}
