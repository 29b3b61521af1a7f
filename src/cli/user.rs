//! `keymint user …`.

use std::io::Read;

use anyhow::Context;
use clap::Subcommand;
use serde::Serialize;

use crate::cli::print_json;
use crate::config::Settings;
use crate::domain::Role;
use crate::service::audit::Actor;
use crate::service::users::{self, UserView};
use crate::startup;

/// User commands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; prints the user, with a generated password unless
    /// `--password-stdin` is given.
    Create {
        /// The account the user belongs to.
        #[arg(long)]
        account: String,
        /// Email address, used to sign in.
        #[arg(long)]
        email: String,
        /// `owner` or `member`.
        #[arg(long)]
        role: Role,
        /// Read the password from standard input (one line).
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Serialize)]
struct Created {
    #[serde(flatten)]
    user: UserView,
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<String>,
}

fn read_password() -> anyhow::Result<String> {
    let mut input = String::new();
    std::io::stdin()
        .take(4096)
        .read_to_string(&mut input)
        .context("failed to read the password from standard input")?;
    Ok(input
        .strip_suffix('\n')
        .map(|s| s.strip_suffix('\r').unwrap_or(s))
        .unwrap_or(&input)
        .into())
}

/// Runs a user command.
pub fn run(command: UserCommand, settings: &Settings) -> anyhow::Result<()> {
    match command {
        UserCommand::Create {
            account,
            email,
            role,
            password_stdin,
        } => {
            let password = password_stdin.then(read_password).transpose()?;
            let mut conn = startup::open_connection(settings)?;
            let (user, password) = users::create(
                &mut conn,
                &account,
                &email,
                role,
                password.as_deref(),
                &Actor::Cli,
            )?;
            print_json(&Created { user, password })
        }
    }
}
