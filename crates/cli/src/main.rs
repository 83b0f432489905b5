//! The `tenantctl` binary: parse arguments, set up logging and signals, run the command, print an
//! error once, and exit with the code the README documents.

mod args;
mod commands;
mod exit;
mod gate;
mod lint_cmd;
mod render;
mod reporter;
mod settings;
mod tls;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use clap::Parser;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use tracing_subscriber::EnvFilter;

use crate::args::{Cli, GlobalArgs, LogFormat};

fn main() -> ExitCode {
    if let Err(message) = load_dotenv() {
        return fail(&message, exit::INPUT);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return clap_error(&error),
    };
    init_tracing(&cli.global);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            return fail(&format!("cannot start the async runtime: {e}"), exit::FAILURE);
        }
    };
    let cancel = CancellationToken::new();
    let signal = Arc::new(AtomicU8::new(0));
    let run_id = uuid::Uuid::new_v4();
    let span = commands::run_span(&cli, run_id);
    runtime.spawn(watch_signals(cancel.clone(), Arc::clone(&signal)).instrument(span.clone()));
    let result = runtime.block_on(commands::run(cli, run_id, span, cancel));
    let code = match result {
        Ok(code) => code,
        Err(error) => {
            let code = exit::code_for(&error);
            let _ = fail(&format!("{error:#}"), code);
            code
        }
    };
    match signal.load(Ordering::SeqCst) {
        0 => exit::exit(code),
        interrupted => exit::exit(interrupted),
    }
}

/// Prints one line to stderr and returns the exit code.
fn fail(message: &str, code: u8) -> ExitCode {
    let one_line = message.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ");
    eprintln!("error: {one_line}");
    exit::exit(code)
}

/// Reads `.env` from the working directory; it never overrides variables already set.
fn load_dotenv() -> Result<(), String> {
    match dotenvy::dotenv() {
        Ok(_) => Ok(()),
        Err(dotenvy::Error::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!(".env: {e} (fix or remove the .env file in the working directory)")),
    }
}

/// Usage errors: one line and exit 2. Help and version go to stdout with exit 0.
fn clap_error(error: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = error.print();
        return match error.kind() {
            ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => exit::exit(exit::INPUT),
            _ => exit::exit(exit::SUCCESS),
        };
    }
    let rendered = error.render().to_string();
    let first: Vec<&str> = rendered.lines().take_while(|l| !l.trim().is_empty()).map(str::trim).collect();
    let message = first.join(" ");
    let message = message.strip_prefix("error: ").unwrap_or(&message);
    fail(&format!("{message} (see `tenantctl --help`)"), exit::INPUT)
}

fn init_tracing(global: &GlobalArgs) {
    let level = match (global.quiet, global.verbose) {
        (true, _) => "error",
        (false, 0) => "info",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let default = format!("warn,tenantctl={level},tenantctl_engine={level}");
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false);
    match global.log_format {
        // JSON lines carry the span fields, among them the run's id.
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(false).init(),
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).without_time().init(),
    }
}

/// First SIGINT or SIGTERM: stop scheduling tenants; in-flight ones commit or roll back.
async fn watch_signals(cancel: CancellationToken, signal: Arc<AtomicU8>) {
    use tokio::signal::unix::{SignalKind, signal as unix_signal};
    let (Ok(mut interrupt), Ok(mut terminate)) =
        (unix_signal(SignalKind::interrupt()), unix_signal(SignalKind::terminate()))
    else {
        return;
    };
    let code = tokio::select! {
        _ = interrupt.recv() => exit::SIGINT,
        _ = terminate.recv() => exit::SIGTERM,
    };
    signal.store(code, Ordering::SeqCst);
    tracing::warn!("interrupted: no new tenants are started; waiting for those in flight");
    cancel.cancel();
}
