//! `keymint serve`: run the HTTP server until SIGINT or SIGTERM, then drain
//! in-flight requests and exit 0.

use crate::config::Settings;
use crate::startup;

/// Runs the server.
pub fn run(settings: Settings) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        let listener = startup::bind(&settings)?;
        let address = listener.local_addr()?;
        let issuer = settings.issuer.clone();
        let state = startup::prepare_state(settings)?;
        let (usage, db) = (state.usage.clone(), state.db.clone());
        let server = startup::start(listener, state)?;
        tracing::info!(listen = %address, issuer, "keymint is serving");
        server.await?;
        startup::flush_usage(&usage, &db).await;
        // Close every database connection before the process exits.
        drop(db);
        tracing::info!("keymint stopped");
        Ok(())
    })
}
