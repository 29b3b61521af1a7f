//! The `keymint` command tree: one clap enum, one module per command group.
//! Creating commands print exactly one JSON object on stdout; logs go to
//! stderr.

use clap::{Parser, Subcommand};
use serde::Serialize;

use crate::config::{Settings, SettingsArgs};

mod account;
mod client;
mod keys;
mod migrate;
mod serve;
mod token;
mod user;

/// OAuth 2.0 authorization server for machine-to-machine access.
#[derive(Debug, Parser)]
#[command(name = "keymint", version, about, propagate_version = true)]
pub struct Cli {
    /// Settings shared by every command.
    #[command(flatten)]
    pub settings: SettingsArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server until SIGINT or SIGTERM.
    Serve,
    /// Apply pending database migrations.
    Migrate,
    /// Manage accounts.
    #[command(subcommand)]
    Account(account::AccountCommand),
    /// Manage users.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Manage clients (API keys).
    #[command(subcommand)]
    Client(client::ClientCommand),
    /// List and rotate signing keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Inspect access tokens.
    #[command(subcommand)]
    Token(token::TokenCommand),
}

/// Runs the parsed command with validated settings.
pub fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve => serve::run(settings),
        Command::Migrate => migrate::run(&settings),
        Command::Account(command) => account::run(command, &settings),
        Command::User(command) => user::run(command, &settings),
        Command::Client(command) => client::run(command, &settings),
        Command::Token(command) => token::run(command, &settings),
        Command::Keys(command) => keys::run(command, &settings),
    }
}

/// Prints `value` as one line of JSON on stdout.
fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn command_tree_is_consistent() {
        Cli::command().debug_assert();
    }
}
