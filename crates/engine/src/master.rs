//! `migrate-master` and `rollback-master`: the shared schema, under the global lock. Each master
//! migration runs in its own transaction with its tracking row; one batch number per run.

use std::time::Instant;

use serde::Serialize;
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use tenantctl_migrations::{
    Migration, MigrationSet, RollbackTarget, Script, TransactionMode, Version, plan_down, plan_up,
};

use crate::locks::GlobalLock;
use crate::settings::pg_duration;
use crate::statements::query;
use crate::tracking::{AppliedRow, Ran, TrackingTable, next_batch};
use crate::{
    Database, EngineError, Event, Gate, Reporter, RunContext, RunSettings, Summary, bootstrap, error::Context,
    extensions, runs,
};

/// One master migration applied, reverted, or (dry run) planned.
#[derive(Debug, Clone, Serialize)]
pub struct MasterStep {
    /// Its version.
    pub version: Version,
    /// Its file.
    pub file: String,
    /// How long it took (0 in a dry run).
    pub duration_ms: u128,
}

/// What a master command did.
#[derive(Debug, Clone, Serialize)]
pub struct MasterReport {
    /// The run's id (none for a dry run).
    pub run_id: Option<uuid::Uuid>,
    /// Whether nothing was changed.
    pub dry_run: bool,
    /// Bootstrap steps applied to tenantctl's own tables.
    pub bootstrap_steps: usize,
    /// Migrations applied or reverted, in order.
    pub migrations: Vec<MasterStep>,
    /// The batch number of the migrations applied.
    pub batch: Option<i32>,
}

/// What `migrate-master` needs besides the database.
#[derive(Debug)]
pub struct MasterRequest<'a> {
    /// The master migration set.
    pub set: &'a MigrationSet,
    /// Extensions to ensure in `public`.
    pub extensions: &'a [String],
    /// Timeouts.
    pub settings: &'a RunSettings,
    /// Migrations the linter blocks.
    pub gate: &'a Gate,
    /// Change nothing, list what would run.
    pub dry_run: bool,
    /// Audit context.
    pub run: &'a RunContext,
}

/// Creates or upgrades the bootstrap tables, ensures extensions, and applies pending master migrations.
/// Plans (and passes the gate) before changing anything.
pub async fn migrate_master(
    db: &Database,
    request: MasterRequest<'_>,
    reporter: &dyn Reporter,
) -> Result<MasterReport, EngineError> {
    let mut conn = dedicated(db).await?;
    let lock = lock_unless(request.dry_run, db, reporter).await?;
    let result = migrate_locked(&mut conn, db, &request, reporter).await;
    finish_locked(lock, result).await
}

async fn migrate_locked(
    conn: &mut PgConnection,
    db: &Database,
    request: &MasterRequest<'_>,
    reporter: &dyn Reporter,
) -> Result<MasterReport, EngineError> {
    let bootstrap_version = bootstrap::current(conn).await?;
    let applied = read_applied(conn, bootstrap_version > 0).await?;
    let pending = plan_pending(&applied, request.set, request.gate, request.settings)?;
    if request.dry_run {
        let steps = usize::try_from(bootstrap::latest() - bootstrap_version).unwrap_or(0);
        return Ok(report(None, steps, planned(&pending), None));
    }
    let bootstrap_steps = bootstrap::upgrade(conn).await?;
    extensions::create_missing(conn, request.extensions).await?;
    let batch = next_batch(&applied);
    let work = pending.into_iter().map(|m| (m, &m.up)).collect();
    let steps = run_recorded(conn, db, request.run, work, request.settings, Apply::Up(batch), reporter).await?;
    let batch = (!steps.is_empty()).then_some(batch);
    Ok(report(Some(request.run.run_id), bootstrap_steps, steps, batch))
}

/// The migrations of `set` not in `applied`, in version order, once the checksums of the applied
/// ones match their files, the gate lets them pass, and the connection can run them.
pub(crate) fn plan_pending<'s>(
    applied: &[AppliedRow],
    set: &'s MigrationSet,
    gate: &Gate,
    settings: &RunSettings,
) -> Result<Vec<&'s Migration>, EngineError> {
    let pending = plan_up(&applied.iter().map(AppliedRow::as_applied).collect::<Vec<_>>(), set, false)?;
    gate.check(pending.iter().map(|m| m.version))?;
    settings.check_sessions(pending.iter().map(|m| &m.up))?;
    Ok(pending)
}

/// What `rollback-master` needs besides the database.
#[derive(Debug)]
pub struct MasterRollback<'a> {
    /// The master migration set.
    pub set: &'a MigrationSet,
    /// What to revert.
    pub target: RollbackTarget,
    /// Timeouts.
    pub settings: &'a RunSettings,
    /// Down files the linter blocks.
    pub gate: &'a Gate,
    /// Change nothing, list what would be reverted.
    pub dry_run: bool,
    /// Audit context.
    pub run: &'a RunContext,
}

/// Reverts master migrations with their down files, newest first. Refused as a whole, before
/// anything is reverted, when one of them has no down file.
pub async fn rollback_master(
    db: &Database,
    request: MasterRollback<'_>,
    reporter: &dyn Reporter,
) -> Result<MasterReport, EngineError> {
    let mut conn = dedicated(db).await?;
    bootstrap::require(&mut conn).await?;
    let lock = lock_unless(request.dry_run, db, reporter).await?;
    let result = rollback_locked(&mut conn, db, &request, reporter).await;
    finish_locked(lock, result).await
}

async fn rollback_locked(
    conn: &mut PgConnection,
    db: &Database,
    request: &MasterRollback<'_>,
    reporter: &dyn Reporter,
) -> Result<MasterReport, EngineError> {
    let applied = read_applied(conn, true).await?;
    let revert =
        plan_down(&applied.iter().map(AppliedRow::as_applied).collect::<Vec<_>>(), request.set, request.target)?;
    request.gate.check(revert.iter().map(|m| m.version))?;
    request.settings.check_sessions(revert.iter().filter_map(|m| m.down.as_ref()))?;
    if request.dry_run {
        return Ok(report(None, 0, planned(&revert), None));
    }
    // `plan_down` guarantees every planned migration has a down file.
    let work = revert.into_iter().filter_map(|m| m.down.as_ref().map(|down| (m, down))).collect();
    let steps = run_recorded(conn, db, request.run, work, request.settings, Apply::Down, reporter).await?;
    Ok(report(Some(request.run.run_id), 0, steps, None))
}

/// The global lock, unless this is a dry run.
pub(crate) async fn lock_unless(
    dry_run: bool,
    db: &Database,
    reporter: &dyn Reporter,
) -> Result<Option<GlobalLock>, EngineError> {
    match dry_run {
        true => Ok(None),
        false => GlobalLock::acquire(db.pool(), reporter).await.map(Some),
    }
}

/// Releases the global lock (if held) whatever the result; the result's error comes first.
pub(crate) async fn finish_locked<T>(
    lock: Option<GlobalLock>,
    result: Result<T, EngineError>,
) -> Result<T, EngineError> {
    let released = match lock {
        Some(lock) => lock.release().await,
        None => Ok(()),
    };
    let report = result?;
    released?;
    Ok(report)
}

/// Records the run, applies or reverts each script in order (stopping at the first failure), and
/// records the run's end with what was done.
async fn run_recorded(
    conn: &mut PgConnection,
    db: &Database,
    run: &RunContext,
    work: Vec<(&Migration, &Script)>,
    settings: &RunSettings,
    apply: Apply,
    reporter: &dyn Reporter,
) -> Result<Vec<MasterStep>, EngineError> {
    runs::start(db.pool(), run).await?;
    let (steps, result) = run_steps(conn, &TrackingTable::master(), work, settings, &apply, reporter).await;
    let summary = Summary { succeeded: steps.len(), failed: usize::from(result.is_err()), ..Summary::default() };
    runs::finish(db.pool(), run.run_id, &summary, if result.is_ok() { "succeeded" } else { "failed" }).await?;
    result.map(|()| steps)
}

/// Applies or reverts each script in order on `conn`, recorded in `table`, stopping at the first
/// failure: the steps done, and the error that stopped them.
pub(crate) async fn run_steps(
    conn: &mut PgConnection,
    table: &TrackingTable,
    work: Vec<(&Migration, &Script)>,
    settings: &RunSettings,
    apply: &Apply,
    reporter: &dyn Reporter,
) -> (Vec<MasterStep>, Result<(), EngineError>) {
    let mut steps = Vec::new();
    for (migration, script) in work {
        match run_one(conn, table, migration, script, settings, apply).await {
            Ok(step) => {
                let elapsed = std::time::Duration::from_millis(u64::try_from(step.duration_ms).unwrap_or(u64::MAX));
                reporter.report(&Event::MasterMigration { version: step.version, file: step.file.clone(), elapsed });
                steps.push(step);
            }
            Err(e) => return (steps, Err(e)),
        }
    }
    (steps, Ok(()))
}

/// A connection of its own, out of the pool: a no-transaction master migration sets session
/// settings on it, and closing it on any exit path keeps them out of the pool.
pub(crate) async fn dedicated(db: &Database) -> Result<PgConnection, EngineError> {
    let conn = db.pool().acquire().await.context("connecting")?;
    Ok(conn.detach())
}

async fn read_applied(conn: &mut PgConnection, bootstrapped: bool) -> Result<Vec<AppliedRow>, EngineError> {
    if !bootstrapped {
        return Ok(Vec::new());
    }
    TrackingTable::master().read_if_exists(conn).await.context("reading public.tenantctl_master_migrations")
}

/// Which way a script goes, and the batch an applied one joins.
pub(crate) enum Apply {
    /// Applied, as this batch.
    Up(i32),
    /// Reverted.
    Down,
}

/// Runs one master script and records it: in one transaction, or for a no-transaction file, its
/// statements one at a time and the record after the last one succeeded.
async fn run_one(
    conn: &mut PgConnection,
    table: &TrackingTable,
    migration: &Migration,
    script: &Script,
    settings: &RunSettings,
    apply: &Apply,
) -> Result<MasterStep, EngineError> {
    let file = script.file_name();
    let failed = |error| EngineError::MasterMigration { file: file.clone(), error };
    let started = Instant::now();
    let lock_timeout = pg_duration(Some(script.lock_timeout.unwrap_or(settings.lock_timeout)));
    let statement_timeout = pg_duration(script.statement_timeout.or(settings.statement_timeout));
    let mut tx = match script.transaction {
        TransactionMode::Transaction => {
            let mut tx = conn.begin().await.map_err(failed)?;
            set_timeouts(&mut tx, &lock_timeout, &statement_timeout, true).await.map_err(failed)?;
            sqlx::raw_sql(AssertSqlSafe(script.sql.as_str())).execute(&mut *tx).await.map_err(failed)?;
            tx
        }
        TransactionMode::None => {
            set_timeouts(conn, &lock_timeout, &statement_timeout, false).await.map_err(failed)?;
            for statement in script.statements.iter().flatten() {
                sqlx::raw_sql(AssertSqlSafe(statement.as_str())).execute(&mut *conn).await.map_err(failed)?;
            }
            sqlx::raw_sql("RESET lock_timeout; RESET statement_timeout").execute(&mut *conn).await.map_err(failed)?;
            conn.begin().await.map_err(failed)?
        }
    };
    let elapsed = started.elapsed();
    match apply {
        Apply::Up(batch) => table.record(&mut tx, &[Ran { migration, elapsed }], *batch).await,
        Apply::Down => table.forget(&mut tx, &[migration.version]).await,
    }
    .map_err(failed)?;
    tx.commit().await.map_err(failed)?;
    Ok(MasterStep { version: migration.version, file, duration_ms: elapsed.as_millis() })
}

async fn set_timeouts(conn: &mut PgConnection, lock: &str, statement: &str, local: bool) -> Result<(), sqlx::Error> {
    query("SELECT set_config('lock_timeout', $1, $3), set_config('statement_timeout', $2, $3)")
        .bind(lock)
        .bind(statement)
        .bind(local)
        .execute(conn)
        .await
        .map(|_| ())
}

pub(crate) fn planned(migrations: &[&Migration]) -> Vec<MasterStep> {
    migrations.iter().map(|m| MasterStep { version: m.version, file: m.up.file_name(), duration_ms: 0 }).collect()
}

fn report(
    run_id: Option<uuid::Uuid>,
    bootstrap_steps: usize,
    migrations: Vec<MasterStep>,
    batch: Option<i32>,
) -> MasterReport {
    MasterReport { run_id, dry_run: run_id.is_none(), bootstrap_steps, migrations, batch }
}
