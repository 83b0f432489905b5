//! Shards: the PostgreSQL servers that hold tenant schemas besides the control database, and
//! `migrate-master`'s work on each: under that server's global lock, the configured extensions and
//! the files of `shard_master_dir`, tracked in `public.tenantctl_shard_migrations`. Shards are
//! independent: one that fails or cannot be reached is reported, and the others still finish.

use futures::future::join_all;
use serde::Serialize;
use sqlx::{AssertSqlSafe, PgConnection};
use tenantctl_migrations::{Migration, MigrationSet};

use crate::master::{Apply, MasterStep, dedicated, finish_locked, lock_unless, plan_pending, planned, run_steps};
use crate::tracking::{TrackingTable, next_batch};
use crate::{
    ConnectSettings, Database, EngineError, ErrorKind, Gate, Reporter, RunSettings, error::Context, extensions, runs,
};

/// The name of the shard that is the control database itself.
pub const DEFAULT_SHARD: &str = "default";

/// A shard to work on.
#[derive(Debug, Clone)]
pub struct ShardTarget {
    /// Its name, as in `public.tenants.shard`.
    pub name: String,
    /// How to reach it; `None` for `default`, the control database.
    pub connect: Option<ConnectSettings>,
    /// Tenants worked on at once on it (`[shards.<name>] concurrency`).
    pub concurrency: usize,
}

impl ShardTarget {
    /// The shard named `name` among `shards`, or why there is none.
    pub(crate) fn find<'s>(shards: &'s [ShardTarget], name: &str) -> Result<&'s ShardTarget, String> {
        shards.iter().find(|s| s.name == name).ok_or_else(|| {
            format!(
                "shard `{name}` is not configured ([shards.{name}] in tenantctl.toml, or TENANTCTL_SHARD_{}_URL)",
                name.to_uppercase()
            )
        })
    }

    /// Its database: a pool of its own, or the control database's for `default`.
    pub(crate) async fn open(&self, control: &Database) -> Result<Database, EngineError> {
        match &self.connect {
            Some(settings) => Database::connect(settings).await,
            None => Ok(control.clone()),
        }
    }

    /// Closes a pool [`ShardTarget::open`] opened (the control database's stays open).
    pub(crate) async fn close(&self, db: &Database) {
        if self.connect.is_some() {
            db.close().await;
        }
    }
}

/// How a shard's part of a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ShardOutcome {
    /// Every pending file applied (or, in a dry run, planned).
    Succeeded,
    /// Refused or stopped by an error; files applied before it stay applied.
    Failed,
    /// Could not be connected to; nothing was done there.
    Unreachable,
}

/// What `migrate-master` did on one shard.
#[derive(Debug)]
pub struct ShardReport {
    /// The shard's name.
    pub name: String,
    /// How it ended.
    pub outcome: ShardOutcome,
    /// Files applied (or, in a dry run, that would be), in order.
    pub applied: Vec<MasterStep>,
    /// The batch number of the files applied.
    pub batch: Option<i32>,
    /// Why it failed or was unreachable (its message never holds a password).
    pub error: Option<EngineError>,
}

/// What `migrate-master` needs on every shard.
#[derive(Debug)]
pub struct ShardRequest<'a> {
    /// The files of `shard_master_dir` (empty when there is none).
    pub set: &'a MigrationSet,
    /// Extensions to ensure in `public`.
    pub extensions: &'a [String],
    /// Timeouts.
    pub settings: &'a RunSettings,
    /// Files the linter blocks.
    pub gate: &'a Gate,
    /// Change nothing, list what would run.
    pub dry_run: bool,
    /// The run whose audit row in the control database also records the shards that failed (none
    /// in a dry run).
    pub run_id: Option<uuid::Uuid>,
}

/// Runs `migrate-master`'s shard work on every shard at once: a slow or unreachable shard delays
/// no other, and none stops another. The reports come in the order of `shards`. The error is the
/// control database's, when it cannot record failed shards.
pub async fn migrate_shards(
    control: &Database,
    shards: &[ShardTarget],
    request: &ShardRequest<'_>,
    reporter: &dyn Reporter,
) -> Result<Vec<ShardReport>, EngineError> {
    let reports = join_all(shards.iter().map(|shard| migrate_shard(control, shard, request, reporter))).await;
    let failed = reports.iter().filter(|r| r.error.is_some()).count();
    if let Some(run_id) = request.run_id.filter(|_| failed > 0) {
        runs::fail_later(control.pool(), run_id, failed).await?;
    }
    Ok(reports)
}

async fn migrate_shard(
    control: &Database,
    shard: &ShardTarget,
    request: &ShardRequest<'_>,
    reporter: &dyn Reporter,
) -> ShardReport {
    let db = match shard.open(control).await {
        Ok(db) => db,
        Err(error) => return report(&shard.name, Vec::new(), None, Err(error)),
    };
    let (steps, batch, result) = migrate_on(&db, request, reporter).await;
    shard.close(&db).await;
    report(&shard.name, steps, batch, result)
}

/// The steps done, their batch, and the error that stopped the shard's work, if any.
type ShardWork = (Vec<MasterStep>, Option<i32>, Result<(), EngineError>);

async fn migrate_on(db: &Database, request: &ShardRequest<'_>, reporter: &dyn Reporter) -> ShardWork {
    let connected =
        async { Ok::<_, EngineError>((dedicated(db).await?, lock_unless(request.dry_run, db, reporter).await?)) };
    let (mut conn, lock) = match connected.await {
        Ok(connected) => connected,
        Err(error) => return (Vec::new(), None, Err(error)),
    };
    let (steps, batch, result) = migrate_locked(&mut conn, request, reporter).await;
    (steps, batch, finish_locked(lock, result).await)
}

async fn migrate_locked(conn: &mut PgConnection, request: &ShardRequest<'_>, reporter: &dyn Reporter) -> ShardWork {
    let table = TrackingTable::shard();
    let planned_work = plan(conn, &table, request).await;
    let (batch, pending) = match planned_work {
        Ok(planned_work) => planned_work,
        Err(error) => return (Vec::new(), None, Err(error)),
    };
    if request.dry_run {
        return (planned(&pending), None, Ok(()));
    }
    let work = pending.into_iter().map(|m| (m, &m.up)).collect();
    let (steps, result) = run_steps(conn, &table, work, request.settings, &Apply::Up(batch), reporter).await;
    let batch = (!steps.is_empty()).then_some(batch);
    (steps, batch, result)
}

/// The next batch number and the files to apply, planned (and gated) before anything changes; then,
/// unless this is a dry run, the extensions and the tracking table are ensured.
async fn plan<'s>(
    conn: &mut PgConnection,
    table: &TrackingTable,
    request: &ShardRequest<'s>,
) -> Result<(i32, Vec<&'s Migration>), EngineError> {
    let applied = table.read_if_exists(conn).await.context("reading public.tenantctl_shard_migrations")?;
    let pending = plan_pending(&applied, request.set, request.gate, request.settings)?;
    if !request.dry_run {
        extensions::create_missing(conn, request.extensions).await?;
        sqlx::raw_sql(AssertSqlSafe(table.create_if_missing_sql()))
            .execute(&mut *conn)
            .await
            .context("creating public.tenantctl_shard_migrations")?;
    }
    Ok((next_batch(&applied), pending))
}

fn report(name: &str, applied: Vec<MasterStep>, batch: Option<i32>, result: Result<(), EngineError>) -> ShardReport {
    let outcome = match &result {
        Ok(()) => ShardOutcome::Succeeded,
        Err(error) if error.kind() == ErrorKind::Unreachable => ShardOutcome::Unreachable,
        Err(_) => ShardOutcome::Failed,
    };
    ShardReport { name: name.to_owned(), outcome, applied, batch, error: result.err() }
}
