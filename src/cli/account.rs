//! `keymint account …`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;

use crate::cli::print_json;
use crate::config::Settings;
use crate::service::accounts;
use crate::service::audit::Actor;
use crate::service::sso;
use crate::startup;

/// Account commands.
#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Create an account; prints `{"id", "name", "partner"}`.
    Create {
        /// Display name.
        #[arg(long)]
        name: String,
        /// Make it a partner account (may hold `account-management`).
        #[arg(long)]
        partner: bool,
    },
    /// Trust an OpenID Connect IdP for the account's SSO sign-ins; prints
    /// `{"account_id", "issuer"}`.
    Sso {
        /// The account.
        #[arg(long)]
        account: String,
        /// The IdP's issuer (`iss` of its ID tokens).
        #[arg(long)]
        issuer: String,
        /// The audience its ID tokens carry (keymint's client id there).
        #[arg(long)]
        audience: String,
        /// A file holding the IdP's JWKS.
        #[arg(long)]
        jwks_file: PathBuf,
    },
}

/// Runs an account command.
pub fn run(command: AccountCommand, settings: &Settings) -> anyhow::Result<()> {
    match command {
        AccountCommand::Create { name, partner } => {
            let mut conn = startup::open_connection(settings)?;
            let account = accounts::create(&mut conn, &name, partner, &Actor::Cli)?;
            print_json(&account)
        }
        AccountCommand::Sso {
            account,
            issuer,
            audience,
            jwks_file,
        } => {
            let jwks = std::fs::read_to_string(&jwks_file)
                .with_context(|| format!("failed to read --jwks-file {}", jwks_file.display()))?;
            let mut conn = startup::open_connection(settings)?;
            let configured = sso::configure(&mut conn, &account, &issuer, &audience, &jwks)?;
            print_json(&configured)
        }
    }
}
