//! `keymint token verify`: checks a token against the published keys in
//! the database and prints its header and claims, or why it fails, for
//! operators debugging a rejection.

use std::io::Read;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clap::Subcommand;
use serde_json::{Value, json};

use crate::cli::print_json;
use crate::config::Settings;
use crate::startup;
use crate::storage::{StorageError, clients, signing_keys};
use crate::verify::{KeyCache, Rules, ring_provider, validate};

/// Token commands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Verify an access token; prints `{"header", "claims"}` or exits
    /// non-zero with the reason it fails.
    Verify {
        /// The token; read from standard input when omitted.
        token: Option<String>,
    },
}

/// Runs a token command.
pub fn run(command: TokenCommand, settings: &Settings) -> anyhow::Result<()> {
    let TokenCommand::Verify { token } = command;
    let token = match token {
        Some(token) => token,
        None => read_stdin()?,
    };
    let token = token.trim();
    ring_provider::install();
    let mut conn = startup::open_connection(settings)?;
    let rows = signing_keys::list_published(&mut conn).map_err(StorageError::from)?;
    let jwks = json!({ "keys": rows.iter().filter_map(|row| serde_json::from_str::<Value>(&row.public_jwk).ok()).collect::<Vec<_>>() });
    let keys = KeyCache::from_json(jwks.to_string().as_bytes())?;
    let rules = Rules::new(&settings.issuer, &settings.audience);

    let claims = validate(token, &keys, &rules).map_err(|err| {
        anyhow::anyhow!(
            "token rejected: {err} (expected iss {}, aud {})",
            rules.issuer,
            rules.audience
        )
    })?;
    let client =
        clients::find_by_client_id(&mut conn, &claims.client_id).map_err(StorageError::from)?;
    match client {
        None => bail!(
            "token rejected: its client {} does not exist",
            claims.client_id
        ),
        Some(row) if row.revoked_at.is_some() => {
            bail!(
                "token rejected: its client {} has been revoked",
                claims.client_id
            )
        }
        Some(_) => {}
    }
    print_json(&json!({ "header": segment(token, 0)?, "claims": claims }))
}

fn read_stdin() -> anyhow::Result<String> {
    let mut input = String::new();
    std::io::stdin()
        .take(64 * 1024)
        .read_to_string(&mut input)
        .context("failed to read the token from standard input")?;
    Ok(input)
}

fn segment(token: &str, index: usize) -> anyhow::Result<Value> {
    let part = token
        .split('.')
        .nth(index)
        .context("the token is not a JWT")?;
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .context("the token is not a JWT")?;
    serde_json::from_slice(&bytes).context("the token is not a JWT")
}
