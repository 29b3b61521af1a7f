//! Tracing setup: one subscriber writing to stderr, filtered by
//! `KEYMINT_LOG`, as text or JSON lines by `KEYMINT_LOG_FORMAT`.

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, SettingError};

/// Installs the global subscriber. Fails with a setting error when the
/// filter does not parse; a second call in one process is ignored.
pub fn init(filter: &str, format: LogFormat) -> Result<(), SettingError> {
    let filter = EnvFilter::try_new(filter).map_err(|err| SettingError::log_filter(&err))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.with_ansi(false).try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
    Ok(())
}
