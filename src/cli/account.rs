//! `keymint account …`.

use clap::Subcommand;

use crate::cli::print_json;
use crate::config::Settings;
use crate::service::accounts;
use crate::service::audit::Actor;
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
}

/// Runs an account command.
pub fn run(command: AccountCommand, settings: &Settings) -> anyhow::Result<()> {
    match command {
        AccountCommand::Create { name, partner } => {
            let mut conn = startup::open_connection(settings)?;
            let account = accounts::create(&mut conn, &name, partner, &Actor::Cli)?;
            print_json(&account)
        }
    }
}
