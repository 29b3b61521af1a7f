//! `keymint migrate`: apply pending migrations and report them.

use crate::config::Settings;
use crate::startup;

/// Applies pending migrations (opening the database applies them).
pub fn run(settings: &Settings) -> anyhow::Result<()> {
    startup::open_connection(settings)?;
    tracing::info!(database = %settings.database_url, "database is up to date");
    Ok(())
}
