//! The copy of one tenant schema from one server to another: `pg_dump --schema` in PostgreSQL's
//! custom format, piped into `pg_restore --single-transaction --exit-on-error`, so that the copy on
//! the target is either complete or absent. Both programs get the connection through libpq's
//! environment (`PGHOST`, `PGPASSWORD`, ...): a password never appears on a command line.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use sqlx::postgres::PgSslMode;

use crate::{ConnectSettings, EngineError, SchemaName};

/// The PostgreSQL client programs `move-tenant` runs. They must be at least as new as the
/// source server (`pg_dump` refuses newer servers).
#[derive(Debug, Clone)]
pub struct PgTools {
    /// `pg_dump`.
    pub pg_dump: PathBuf,
    /// `pg_restore`.
    pub pg_restore: PathBuf,
}

/// What a copy takes from its source database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dumped {
    /// The tenant's schema in the shard's database.
    Schema,
    /// All of a tenant's own database. Its `public` schema then already exists on the target (made
    /// with the database), as pg_dump assumes of a whole database, where `--schema=public` would
    /// emit a `CREATE SCHEMA public` that fails there; the configured extensions, made on the target
    /// with its database, are created `IF NOT EXISTS`.
    Database,
}

/// Copies the tenant `schema` (its schema, or its own database: `dumped`) from `source` to `target`.
/// With `keep_owner` (a tenant with its own role, which must exist on the target) the objects keep
/// their owner; otherwise they belong to the target's connecting user, as the source's belonged to
/// the source's.
pub(crate) async fn copy(
    tools: &PgTools,
    source: &ConnectSettings,
    target: &ConnectSettings,
    schema: &SchemaName,
    dumped: Dumped,
    keep_owner: bool,
) -> Result<(), EngineError> {
    let mut dump = client(&tools.pg_dump, source, schema);
    dump.args(["--format=custom", "--no-sync"]);
    if dumped == Dumped::Schema {
        dump.arg(format!("--schema=\"{schema}\""));
    }
    let mut restore = client(&tools.pg_restore, target, schema);
    restore.args(["--single-transaction", "--exit-on-error"]);
    restore.arg(format!("--dbname={}", database(target)));
    if !keep_owner {
        dump.arg("--no-owner");
        restore.arg("--no-owner");
    }
    tokio::task::spawn_blocking(move || pipe(dump, restore))
        .await
        .map_err(|e| EngineError::Copy(format!("the copy's thread failed: {e}")))?
}

/// A client program connecting like `settings` (a host address or service of the caller's
/// environment would override the host), under [`application_name`].
fn client(program: &std::path::Path, settings: &ConnectSettings, schema: &SchemaName) -> Command {
    let mut command = Command::new(program);
    command.env_remove("PGHOSTADDR").env_remove("PGSERVICE").envs(libpq_env(settings));
    command.env("PGAPPNAME", application_name(schema));
    command
}

/// The `application_name` of the client programs copying `schema`: a killed tenantctl leaves them
/// running, and the next run on the tenant finds them by it (see [`end_orphans`]).
fn application_name(schema: &SchemaName) -> String {
    format!("tenantctl/move-tenant/{schema}")
}

/// Ends the sessions of client programs a killed run left copying `schema` on `pool`'s server (the
/// caller holds the tenant's lock, so no live run is copying it), waiting up to 5 s for each to go:
/// their restore would otherwise commit a copy after this run decided there was none.
pub(crate) async fn end_orphans(pool: &sqlx::PgPool, schema: &SchemaName) -> Result<(), EngineError> {
    use crate::error::Context as _;
    crate::statements::in_transaction(pool, async |conn| {
        crate::statements::query(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity \
              WHERE application_name = $1 AND pid <> pg_backend_pid()",
        )
        .bind(application_name(schema))
        .execute(conn)
        .await
    })
    .await
    .context("ending the client programs of an earlier, killed move")?;
    Ok(())
}

/// Runs `dump | restore`; an error carries the failing program's first lines of stderr.
fn pipe(mut dump: Command, mut restore: Command) -> Result<(), EngineError> {
    let spawn = |command: &mut Command| {
        let program = command.get_program().to_string_lossy().into_owned();
        command.stderr(Stdio::piped()).spawn().map_err(|e| EngineError::Copy(format!("cannot run {program}: {e}")))
    };
    // Neither holds tenantctl's own stdin or stdout: killed with it, they must not keep its pipes open.
    let mut dumping = spawn(dump.stdin(Stdio::null()).stdout(Stdio::piped()))?;
    let output = dumping.stdout.take().map_or_else(Stdio::null, Stdio::from);
    let mut restoring = match spawn(restore.stdin(output).stdout(Stdio::null())) {
        Ok(child) => child,
        Err(e) => {
            let _ = dumping.kill();
            let _ = dumping.wait();
            return Err(e);
        }
    };
    let dump_errors = collect(dumping.stderr.take());
    let restore_errors = collect(restoring.stderr.take());
    let restored = restoring.wait();
    let dumped = dumping.wait();
    let fail =
        |program: &str, status: std::io::Result<std::process::ExitStatus>, errors: std::thread::JoinHandle<String>| {
            let errors = errors.join().unwrap_or_default();
            match status {
                Ok(status) if status.success() => None,
                Ok(status) => Some(format!("{program} failed ({status}): {}", first_lines(&errors))),
                Err(e) => Some(format!("{program}: {e}")),
            }
        };
    let failures: Vec<String> = [fail("pg_dump", dumped, dump_errors), fail("pg_restore", restored, restore_errors)]
        .into_iter()
        .flatten()
        .collect();
    match failures.is_empty() {
        true => Ok(()),
        false => Err(EngineError::Copy(failures.join("; "))),
    }
}

fn collect(stderr: Option<std::process::ChildStderr>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut stderr) = stderr {
            let _ = stderr.read_to_string(&mut text);
        }
        text
    })
}

fn first_lines(text: &str) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).take(3).collect();
    if lines.is_empty() { "no message".to_owned() } else { lines.join(" / ") }
}

fn database(settings: &ConnectSettings) -> String {
    let options = &settings.options;
    options.get_database().unwrap_or(options.get_username()).to_owned()
}

/// libpq's environment for a connection like `settings`'s.
fn libpq_env(settings: &ConnectSettings) -> Vec<(&'static str, String)> {
    let options = &settings.options;
    let host = match options.get_socket() {
        Some(dir) => dir.display().to_string(),
        None => options.get_host().to_owned(),
    };
    let ssl_mode = match options.get_ssl_mode() {
        PgSslMode::Disable => "disable",
        PgSslMode::Allow => "allow",
        PgSslMode::Prefer => "prefer",
        PgSslMode::Require => "require",
        PgSslMode::VerifyCa => "verify-ca",
        PgSslMode::VerifyFull => "verify-full",
    };
    let mut env = vec![
        ("PGHOST", host),
        ("PGPORT", options.get_port().to_string()),
        ("PGUSER", options.get_username().to_owned()),
        ("PGDATABASE", database(settings)),
        ("PGSSLMODE", ssl_mode.to_owned()),
        ("PGCONNECT_TIMEOUT", settings.connect_timeout.as_secs().max(2).to_string()),
    ];
    if let Some(password) = &settings.password {
        env.push(("PGPASSWORD", password.expose().to_owned()));
    }
    env
}
