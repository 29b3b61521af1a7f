//! The `keymint` binary: parse the command line, start tracing, dispatch.

use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;

use keymint::cli::{self, Cli};
use keymint::telemetry;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err)
            if matches!(
                err.kind(),
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
            ) =>
        {
            let _ = err.print();
            return ExitCode::SUCCESS;
        }
        Err(err) => return fail(&err.render().to_string()),
    };
    let settings = match cli.settings.resolve() {
        Ok(settings) => settings,
        Err(err) => return fail(&err.to_string()),
    };
    if let Err(err) = telemetry::init(&settings.log, settings.log_format) {
        return fail(&err.to_string());
    }
    match cli::run(cli.command, settings) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => fail(&format!("{err:#}")),
    }
}

/// Prints the first line of `message` on stderr and exits non-zero.
fn fail(message: &str) -> ExitCode {
    let line = message
        .lines()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("failed");
    let line = line.trim().trim_start_matches("error: ");
    eprintln!("keymint: {line}");
    ExitCode::FAILURE
}
