//! `keymint client …`.

use clap::Subcommand;
use serde_json::json;

use crate::cli::print_json;
use crate::config::Settings;
use crate::service::audit::Actor;
use crate::service::clients::{self, NewClientRequest};
use crate::startup;

/// Client commands.
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Create a client; prints it with its secret, shown this once.
    Create {
        /// The account it belongs to.
        #[arg(long)]
        account: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// A scope to grant; repeat for several.
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
    },
    /// Revoke a client; the token endpoint refuses it from then on.
    Revoke {
        /// The client's OAuth client_id.
        #[arg(long)]
        client_id: String,
    },
}

/// Runs a client command.
pub fn run(command: ClientCommand, settings: &Settings) -> anyhow::Result<()> {
    let mut conn = startup::open_connection(settings)?;
    match command {
        ClientCommand::Create {
            account,
            name,
            scopes,
        } => {
            let request = NewClientRequest {
                account_id: &account,
                name: &name,
                scopes: &scopes,
                actor: &Actor::Cli,
                source_ip: None,
            };
            let created = clients::create(&mut conn, &request)?;
            print_json(&created)
        }
        ClientCommand::Revoke { client_id } => {
            clients::revoke_by_client_id(&mut conn, &client_id, &Actor::Cli)?;
            print_json(&json!({ "client_id": client_id, "status": "revoked" }))
        }
    }
}
