//! The runner for one tenant schema. Its work is a series of steps; each step is one transaction
//! that takes the tenant's advisory lock, sets its search_path and timeouts, reads the tracking
//! table, applies (or reverts) the leading transactional part of the plan, records it with the run's
//! batch number, updates the registry mirror and commits. A no-transaction migration is a step of
//! its own, outside any transaction ([`crate::no_transaction`]). Lock timeouts and lost connections
//! are retried with backoff; any other failure rolls the step back and marks the tenant FAILED.

use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::{AssertSqlSafe, Connection, PgConnection, PgPool, Postgres};
use tenantctl_migrations::{
    Migration, MigrationSet, PlanError, RollbackTarget, Script, TransactionMode, Version, plan_down, plan_up,
};

use crate::bookkeeping::{self, Change, Mirror};
use crate::central::Central;
use crate::error::describe;
use crate::events::{Event, Outcome, Reporter, TenantResult};
use crate::recycle::Recycler;
use crate::registry::{self, Tenant, TenantStatus};
use crate::settings::{RunSettings, TenantRoles, pg_duration};
use crate::statements::{query, query_as, query_scalar};
use crate::tracking::{AppliedRow, Ran, TrackingTable, next_batch};
use crate::{locks, no_transaction, roles, tenant_database};

/// What to do to each tenant.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Direction<'a> {
    /// Apply pending migrations; with `phase`, only those of its versions. When provisioning,
    /// `create_schema` first creates the schema, and the tenant's role as it says.
    Up {
        create_schema: Option<&'a TenantRoles>,
        allow_out_of_order: bool,
        central: &'a Central,
        phase: Option<&'a [Version]>,
    },
    /// Revert migrations.
    Down { target: RollbackTarget },
}

impl Direction<'_> {
    fn script(self, migration: &Migration) -> &Script {
        match self {
            Self::Up { .. } => &migration.up,
            // `plan_down` only plans migrations that have a down file.
            Self::Down { .. } => migration.down.as_ref().unwrap_or(&migration.up),
        }
    }
}

/// Everything a tenant's work needs, shared by every tenant of a run.
#[derive(Clone, Copy)]
pub(crate) struct Job<'a> {
    /// The pool of the shard that holds the tenant's schema.
    pub(crate) pool: &'a PgPool,
    /// The control database's pool: the registry.
    pub(crate) control: &'a PgPool,
    pub(crate) set: &'a MigrationSet,
    pub(crate) settings: &'a RunSettings,
    pub(crate) direction: Direction<'a>,
    pub(crate) reporter: &'a dyn Reporter,
    pub(crate) recycler: &'a Recycler,
    /// Only read and plan; change nothing (`--dry-run`, and the pre-flight check of rollbacks).
    pub(crate) plan_only: bool,
}

/// Why a step failed, and whether trying it again may help.
pub(crate) struct Failure {
    pub(crate) message: String,
    pub(crate) retryable: bool,
    plan_error: Option<PlanError>,
    /// The tenant's shard could not be reached: nothing about the tenant changed.
    unreachable: bool,
}

impl Failure {
    fn plan(error: PlanError) -> Self {
        Self { message: error.to_string(), retryable: false, plan_error: Some(error), unreachable: false }
    }

    pub(crate) fn db(context: Option<&str>, error: &sqlx::Error) -> Self {
        let message = match context {
            Some(c) => format!("{c}: {}", describe(error)),
            None => describe(error),
        };
        Self { message, retryable: is_transient(error), plan_error: None, unreachable: false }
    }

    pub(crate) fn fatal(message: String) -> Self {
        Self { message, retryable: false, plan_error: None, unreachable: false }
    }

    /// No connection: to a tenant of another shard than the control database, its shard is
    /// unreachable; otherwise a failure with `context`, as any other.
    fn unreachable(tenant: &Tenant, context: Option<&str>, error: &sqlx::Error) -> Self {
        match tenant.remote() {
            true => {
                let context = format!("shard {} unreachable", tenant.shard);
                Self { unreachable: true, ..Self::db(Some(&context), error) }
            }
            false => Self::db(context, error),
        }
    }
}

/// Lock timeouts, deadlocks, serialization failures and lost connections are worth another attempt.
pub(crate) fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => {
            matches!(db.code().as_deref(), Some("55P03" | "40P01" | "40001" | "57P01" | "57P02" | "57P03"))
        }
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::WorkerCrashed | sqlx::Error::Protocol(_) => true,
        _ => false,
    }
}

/// What one step did.
pub(crate) enum Step {
    /// These versions were applied or reverted (planned, in plan-only mode); `more` when the plan
    /// has further steps.
    Did { versions: Vec<Version>, more: bool },
    /// Nothing, for this reason.
    Nothing(&'static str),
}

pub(crate) const HELD_ELSEWHERE: &str = "another tenantctl run holds this tenant";
const ARCHIVED_MEANWHILE: &str = "archived since the run started";
const MOVING_MEANWHILE: &str = "being moved to another shard (move-tenant)";
const MOVED_MEANWHILE: &str = "moved to another shard since the run started";
const UP_TO_DATE: &str = "up to date";
const NOTHING_TO_REVERT: &str = "nothing to roll back";

/// What the steps of one tenant share: the batch number, and a rollback's plan, fixed at the first
/// step so that later steps continue it rather than plan anew.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    pub(crate) batch: Option<i32>,
    revert: Option<Vec<Version>>,
}

/// Runs the job on one tenant, step by step, with retries; a final failure marks the tenant FAILED.
/// A tenant of database isolation is reached on a connection of its own to its database, closed
/// when the tenant is done.
pub(crate) async fn run(job: Job<'_>, tenant: &Tenant) -> TenantResult {
    let Some(database) = &tenant.database else {
        return run_on(job, tenant).await;
    };
    let started = Instant::now();
    match tenant_database::open(job.pool, &database.name).await {
        Ok(pool) => {
            let result = run_on(Job { pool: &pool, ..job }, tenant).await;
            pool.close().await;
            result
        }
        Err(e) => {
            let failure = match tenant_database::is_missing(&e) {
                true => Failure::fatal(format!(
                    "database {} does not exist on shard {}, though the registry lists the tenant as {} (dropped by \
                     hand? see `tenantctl verify`)",
                    database.name,
                    tenant.shard,
                    tenant.status.as_str()
                )),
                false => Failure::unreachable(tenant, Some("connecting to the tenant's database"), &e),
            };
            finish(job, tenant, started, Vec::new(), Err(failure)).await
        }
    }
}

async fn run_on(job: Job<'_>, tenant: &Tenant) -> TenantResult {
    let started = Instant::now();
    let mut progress = Progress::default();
    let mut versions = Vec::new();
    let result = loop {
        match step_with_retries(job, tenant, &mut progress).await {
            Ok(Step::Did { versions: done, more }) => {
                versions.extend(done);
                if !more {
                    break Ok(None);
                }
            }
            Ok(Step::Nothing(reason)) => break Ok(versions.is_empty().then_some(reason)),
            Err(f) => break Err(f),
        }
    };
    finish(job, tenant, started, versions, result).await
}

/// The tenant's result; a failure marks it FAILED (unless only planning).
async fn finish(
    job: Job<'_>,
    tenant: &Tenant,
    started: Instant,
    versions: Vec<Version>,
    result: Result<Option<&str>, Failure>,
) -> TenantResult {
    let mut plan_error = None;
    let (outcome, error, reason) = match result {
        Ok(None) => (Outcome::Succeeded, None, None),
        Ok(Some(reason)) => (Outcome::Skipped, None, Some(reason.to_owned())),
        Err(f) if f.unreachable => (Outcome::Unreachable, Some(f.message), None),
        Err(f) => {
            plan_error = f.plan_error;
            let message = match job.plan_only {
                true => f.message,
                false => registry::mark_failed(job.control, tenant, f.message).await,
            };
            (Outcome::Failed, Some(message), None)
        }
    };
    TenantResult {
        org_id: tenant.org_id.clone(),
        schema: tenant.schema.clone(),
        outcome,
        versions,
        error,
        reason,
        elapsed: started.elapsed(),
        plan_error,
        shard: tenant.shard.clone(),
    }
}

async fn step_with_retries(job: Job<'_>, tenant: &Tenant, progress: &mut Progress) -> Result<Step, Failure> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match step(job, tenant, progress, attempt > 1).await {
            Err(f) if f.retryable && attempt <= job.settings.lock_retries => {
                let delay = job.settings.retry_backoff.saturating_mul(1 << (attempt - 1).min(16));
                job.reporter.report(&Event::Retrying {
                    org_id: tenant.org_id.clone(),
                    attempt,
                    delay,
                    error: f.message.clone(),
                });
                tokio::time::sleep(delay).await;
            }
            Err(mut f) if f.retryable => {
                f.message = format!("{} (gave up after {attempt} attempts)", f.message);
                return Err(f);
            }
            other => return other,
        }
    }
}

/// What a transaction decided.
enum InTransaction<'m> {
    /// Commit (unless plan-only), then write the registry's part when it is elsewhere, then report
    /// this step.
    Commit(Step, Option<Mirror>),
    /// Roll back, then run this no-transaction migration on the same connection, as `role`.
    NoTransaction { migration: &'m Migration, more: bool, completes: bool, role: Option<String> },
}

/// One transaction of work on the tenant; a retry first makes sure its connection is alive.
///
/// A tenant of another shard than the registry is also held by a session-level lock on its shard
/// from before its transaction until its mirror is written on the control database: otherwise
/// another run could take the tenant between the shard's commit and the mirror's update, and a
/// stale mirror would land after that run's. Behind a transaction pooler there is no session to
/// hold it; see the README.
async fn step(job: Job<'_>, tenant: &Tenant, progress: &mut Progress, retry: bool) -> Result<Step, Failure> {
    let mut conn =
        acquire(job.pool, retry).await.map_err(|e| Failure::unreachable(tenant, Some("no connection"), &e))?;
    let guarded = tenant.remote() && !job.plan_only && job.settings.keep_prepared();
    if guarded {
        let locked = session_lock(&mut conn, tenant, true).await.map_err(|e| Failure::unreachable(tenant, None, &e))?;
        if !locked {
            return Ok(Step::Nothing(HELD_ELSEWHERE));
        }
    }
    let (outcome, pid, no_transaction) = step_on(job, tenant, progress, &mut conn).await;
    // A no-transaction migration releases every session lock itself, after writing its mirror.
    if guarded && !no_transaction && !session_lock(&mut conn, tenant, false).await.unwrap_or(false) {
        // The lock was lost with the connection: another run may have had the tenant since, and the
        // mirror just written may be stale. Unknown is always true.
        let _ = registry::forget_mirror(job.control, tenant.id).await;
        conn.close_on_drop();
    }
    // A connection that saw an error may be dead (a terminated backend) or in an unknown state:
    // never hand it to the retry or the next tenant.
    if outcome.is_err() || pid.is_some_and(|pid| job.recycler.served(pid)) {
        conn.close_on_drop();
    }
    outcome
}

/// Takes (without waiting) or releases the tenant's session-level lock on its shard. Only on a direct
/// connection (never behind a transaction pooler), where a statement's parameters may go out alone.
async fn session_lock(conn: &mut PgConnection, tenant: &Tenant, take: bool) -> Result<bool, sqlx::Error> {
    let sql = if take { "SELECT pg_try_advisory_lock($1)" } else { "SELECT pg_advisory_unlock($1)" };
    query_scalar(sql).bind(locks::tenant(&tenant.schema)).fetch_one(conn).await
}

/// The step's transaction and what follows it; also the backend's pid, and whether a no-transaction
/// migration ran.
async fn step_on(
    job: Job<'_>,
    tenant: &Tenant,
    progress: &mut Progress,
    conn: &mut PoolConnection<Postgres>,
) -> (Result<Step, Failure>, Option<i32>, bool) {
    if tenant.remote() && matches!(job.direction, Direction::Down { .. }) && !job.plan_only {
        // The mirror may go down: unknown first, the true value after the shard's commit.
        if let Err(e) = registry::forget_mirror(job.control, tenant.id).await {
            return (Err(Failure::db(Some("clearing the registry mirror"), &e)), None, false);
        }
    }
    let mut tx = match conn.begin().await {
        Ok(tx) => tx,
        Err(e) => return (Err(Failure::unreachable(tenant, None, &e)), None, false),
    };
    let (decided, pid) = in_transaction(job, tenant, &mut tx, progress).await;
    let outcome = match decided {
        Ok(InTransaction::Commit(step, mirror)) if !job.plan_only => match tx.commit().await {
            Ok(()) => write_mirror(job, mirror).await.map(|()| step),
            Err(e) => Err(Failure::db(Some("commit"), &e)),
        },
        Ok(InTransaction::Commit(step, _)) => {
            let _ = tx.rollback().await;
            Ok(step)
        }
        Ok(InTransaction::NoTransaction { migration, more, completes, role }) => {
            let done = match tx.rollback().await {
                Ok(()) => {
                    let script = job.direction.script(migration);
                    let role = role.as_deref();
                    let work = no_transaction::Work { job, tenant, progress, migration, script, completes, role };
                    no_transaction::run(conn, work)
                        .await
                        .map(|done| done.unwrap_or(Step::Did { versions: vec![migration.version], more }))
                }
                Err(e) => Err(Failure::db(None, &e)),
            };
            return (done, pid, true);
        }
        Err(f) => {
            // Best effort: on a broken connection the server rolls back by itself.
            let _ = tx.rollback().await;
            Err(f)
        }
    };
    (outcome, pid, false)
}

/// Writes the registry's part of a step on a tenant of another shard, after the shard's commit.
pub(crate) async fn write_mirror(job: Job<'_>, mirror: Option<Mirror>) -> Result<(), Failure> {
    match mirror {
        None => Ok(()),
        Some(mirror) => mirror
            .write(job.control)
            .await
            .map_err(|e| Failure::db(Some("updating the registry after the shard's commit"), &e)),
    }
}

/// A pooled connection; `live` pings it first, and closes it for a new one when the ping fails:
/// after a lost connection, the pool's idle connections may be as dead as the one that failed.
async fn acquire(pool: &PgPool, live: bool) -> Result<PoolConnection<Postgres>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    if live {
        for _ in 0..pool.size() {
            if conn.ping().await.is_ok() {
                break;
            }
            conn.close_on_drop();
            conn = pool.acquire().await?;
        }
    }
    Ok(conn)
}

/// The step's work inside its transaction; also returns the backend's pid, for recycling.
async fn in_transaction<'m>(
    job: Job<'m>,
    tenant: &Tenant,
    conn: &mut PgConnection,
    progress: &mut Progress,
) -> (Result<InTransaction<'m>, Failure>, Option<i32>) {
    let prepared = match prepare(conn, tenant, job.settings).await {
        // The registry is elsewhere: the status is read there, now that the lock is ours.
        Ok(p) if p.locked && tenant.remote() => match registry::status_of(job.control, tenant.id).await {
            Ok((status, shard)) => Ok(Prepared { status, shard, ..p }),
            Err(e) => return (Err(Failure::db(Some("reading the registry"), &e)), Some(p.pid)),
        },
        other => other,
    };
    match prepared {
        Err(e) => (Err(Failure::db(None, &e)), None),
        Ok(Prepared { locked: false, pid, .. }) => {
            (Ok(InTransaction::Commit(Step::Nothing(HELD_ELSEWHERE), None)), Some(pid))
        }
        Ok(Prepared { status: Some(TenantStatus::Archived), pid, .. }) => {
            (Ok(InTransaction::Commit(Step::Nothing(ARCHIVED_MEANWHILE), None)), Some(pid))
        }
        Ok(Prepared { status: Some(TenantStatus::Moving), pid, .. }) => {
            (Ok(InTransaction::Commit(Step::Nothing(MOVING_MEANWHILE), None)), Some(pid))
        }
        // The copy under this lock is no longer the tenant's: `move-tenant` flipped it to another shard.
        Ok(Prepared { shard: Some(shard), pid, .. }) if shard != tenant.shard => {
            (Ok(InTransaction::Commit(Step::Nothing(MOVED_MEANWHILE), None)), Some(pid))
        }
        Ok(Prepared { status, pid, .. }) => {
            // The status now, under the lock: another run may have finished the tenant meanwhile.
            let current = Tenant { status: status.unwrap_or(tenant.status), ..tenant.clone() };
            (locked_work(job, &current, conn, progress).await, Some(pid))
        }
    }
}

async fn locked_work<'m>(
    job: Job<'m>,
    tenant: &Tenant,
    conn: &mut PgConnection,
    progress: &mut Progress,
) -> Result<InTransaction<'m>, Failure> {
    let table = TrackingTable::tenant(tenant.home());
    let role = match job.direction {
        Direction::Up { create_schema: Some(roles), .. } if !job.plan_only => {
            roles::create_schema(conn, tenant, roles, job.control).await?
        }
        _ => tenant.role.clone(),
    };
    let rows = match job.direction {
        Direction::Up { .. } if !job.plan_only => table.ensure_and_read(conn).await,
        _ => table.read_if_exists(conn).await,
    }
    .map_err(|e| match e.as_database_error().and_then(|d| d.code()).as_deref() {
        Some("3F000") => Failure::fatal(format!(
            "schema {} does not exist, though the registry lists the tenant as {} (dropped by hand? see `tenantctl verify`)",
            tenant.home(),
            tenant.status.as_str()
        )),
        _ => Failure::db(Some("reading the tracking table"), &e),
    })?;
    let batch = *progress.batch.get_or_insert_with(|| next_batch(&rows));
    let (plan, whole) = plan(job, tenant, &rows, progress)?;
    if job.plan_only {
        let versions: Vec<Version> = plan.iter().map(|m| m.version).collect();
        let nothing = if matches!(job.direction, Direction::Up { .. }) { UP_TO_DATE } else { NOTHING_TO_REVERT };
        let step = if versions.is_empty() { Step::Nothing(nothing) } else { Step::Did { versions, more: false } };
        return Ok(InTransaction::Commit(step, None));
    }
    let head: Vec<&Migration> = plan
        .iter()
        .copied()
        .take_while(|m| job.direction.script(m).transaction == TransactionMode::Transaction)
        .collect();
    let completes = head.len() == whole;
    if head.is_empty() && !plan.is_empty() {
        let (migration, more, completes) = (plan[0], plan.len() > 1, whole == 1);
        return Ok(InTransaction::NoTransaction { migration, more, completes, role });
    }
    let ran = apply_as(conn, role.as_deref(), &head, job.settings, |m| job.direction.script(m)).await?;
    let done: Vec<Version> = ran.iter().map(|r| r.migration.version).collect();
    let applied: Vec<Version> = rows.iter().map(|r| r.version).collect();
    let change = match job.direction {
        Direction::Up { central, .. } => Change::Applied { ran: &ran, batch, central },
        Direction::Down { .. } => Change::Reverted(&done),
    };
    let mirror = bookkeeping::record(conn, tenant, &applied, change, completes, job.settings.keep_prepared())
        .await
        .map_err(|e| Failure::db(Some("recording"), &e))?;
    let changed = !done.is_empty() || (completes && tenant.status != TenantStatus::Active);
    let step = match (changed, job.direction) {
        (true, _) => Step::Did { versions: done, more: plan.len() > head.len() },
        (false, Direction::Up { .. }) => Step::Nothing(UP_TO_DATE),
        (false, Direction::Down { .. }) => Step::Nothing(NOTHING_TO_REVERT),
    };
    Ok(InTransaction::Commit(step, mirror))
}

/// The migrations this step may run, in order, and how many the tenant's whole plan still holds
/// (a phase of a fan-out may hold fewer).
fn plan<'m>(
    job: Job<'m>,
    tenant: &Tenant,
    rows: &[AppliedRow],
    progress: &mut Progress,
) -> Result<(Vec<&'m Migration>, usize), Failure> {
    let applied: Vec<_> = rows.iter().map(AppliedRow::as_applied).collect();
    match job.direction {
        Direction::Up { allow_out_of_order, phase, central, .. } => {
            let pending = plan_up(&applied, job.set, allow_out_of_order).map_err(|e| match e {
                // The run checked every file against its central checksum before any tenant: a
                // mismatch here is this tenant's tracking row, not the file.
                PlanError::ChecksumMismatch { version, path } if central.contains(version) => Failure::fatal(format!(
                    "checksum mismatch for migration {version}: the tracking row in {}.tenantctl_migrations differs from \
                     {}, which is unchanged since it was first applied (the tracking table was altered by hand: \
                     restore the row's checksum from public.tenantctl_tenant_migrations)",
                    tenant.schema,
                    path.display()
                )),
                other => Failure::plan(other),
            })?;
            let whole = pending.len();
            // A phase runs its migrations only while no older one is still pending: order holds even
            // when an earlier phase did not finish for this tenant.
            let in_phase = pending.into_iter().take_while(|m| phase.is_none_or(|p| p.contains(&m.version))).collect();
            Ok((in_phase, whole))
        }
        Direction::Down { target } => {
            let still_applied = |v: &Version| applied.iter().any(|a| a.version == *v);
            let revert: Vec<&Migration> = match &progress.revert {
                None => plan_down(&applied, job.set, target).map_err(Failure::plan)?,
                Some(fixed) => fixed.iter().filter(|v| still_applied(v)).filter_map(|v| job.set.get(*v)).collect(),
            };
            progress.revert = Some(revert.iter().map(|m| m.version).collect());
            let whole = revert.len();
            Ok((revert, whole))
        }
    }
}

/// What the first statement of a step found.
struct Prepared {
    /// The tenant's advisory lock was free and is now ours.
    locked: bool,
    /// The backend's pid, for recycling.
    pid: i32,
    /// The tenant's status in the registry now.
    status: Option<TenantStatus>,
    /// The tenant's shard in the registry now.
    shard: Option<String>,
}

/// Takes the tenant's advisory lock (without waiting), sets the transaction's settings and reads
/// the tenant's status and shard, in one round trip; those only when the registry is in the tenant's
/// database.
async fn prepare(conn: &mut PgConnection, tenant: &Tenant, settings: &RunSettings) -> Result<Prepared, sqlx::Error> {
    let prepare = |registry: &str, join: &str| {
        format!(
            "SELECT pg_try_advisory_xact_lock($1), pg_backend_pid(), {registry}
               FROM (SELECT set_config('search_path', $2, true), set_config('lock_timeout', $3, true),
                            set_config('statement_timeout', $4, true),
                            set_config('client_min_messages', 'warning', true)) s {join}"
        )
    };
    let sql = match tenant.remote() {
        true => prepare("NULL::text, NULL::text", ""),
        false => prepare("t.status, t.shard", "LEFT JOIN public.tenants t ON t.id = $5"),
    };
    let statement = query_as(AssertSqlSafe(sql))
        .persistent(settings.keep_prepared())
        .bind(locks::tenant(&tenant.schema))
        .bind(format!("{}, public", tenant.home().quoted()))
        .bind(pg_duration(Some(settings.lock_timeout)))
        .bind(pg_duration(settings.statement_timeout));
    let statement = if tenant.remote() { statement } else { statement.bind(tenant.id) };
    let (locked, pid, status, shard): (bool, i32, Option<String>, Option<String>) = statement.fetch_one(conn).await?;
    Ok(Prepared { locked, pid, status: status.as_deref().and_then(TenantStatus::parse), shard })
}

/// [`apply`] as the tenant's role, when it has one: the role owns what the migrations create, while the
/// tracking table and the registry are written as the connecting user.
async fn apply_as<'m>(
    conn: &mut PgConnection,
    role: Option<&str>,
    migrations: &[&'m Migration],
    settings: &RunSettings,
    script: impl Fn(&'m Migration) -> &'m Script,
) -> Result<Vec<Ran<'m>>, Failure> {
    let Some(role) = role.filter(|_| !migrations.is_empty()) else {
        return apply(conn, migrations, settings, script).await;
    };
    roles::assume(conn, role, true).await?;
    let ran = apply(conn, migrations, settings, script).await?;
    roles::reset(conn, true).await?;
    Ok(ran)
}

/// Runs each script in order inside the current transaction, honouring per-file timeouts.
async fn apply<'m>(
    conn: &mut PgConnection,
    migrations: &[&'m Migration],
    settings: &RunSettings,
    script: impl Fn(&'m Migration) -> &'m Script,
) -> Result<Vec<Ran<'m>>, Failure> {
    let mut ran = Vec::with_capacity(migrations.len());
    for &migration in migrations {
        let script = script(migration);
        let file = script.file_name();
        let overridden = script.lock_timeout.is_some() || script.statement_timeout.is_some();
        if overridden {
            let statement = script.statement_timeout.or(settings.statement_timeout);
            set_timeouts(conn, script.lock_timeout.unwrap_or(settings.lock_timeout), statement, settings)
                .await
                .map_err(|e| Failure::db(Some(&file), &e))?;
        }
        let started = Instant::now();
        sqlx::raw_sql(AssertSqlSafe(script.sql.as_str()))
            .execute(&mut *conn)
            .await
            .map_err(|e| Failure::db(Some(&file), &e))?;
        ran.push(Ran { migration, elapsed: started.elapsed() });
        if overridden {
            set_timeouts(conn, settings.lock_timeout, settings.statement_timeout, settings)
                .await
                .map_err(|e| Failure::db(Some(&file), &e))?;
        }
    }
    Ok(ran)
}

async fn set_timeouts(
    conn: &mut PgConnection,
    lock: Duration,
    statement: Option<Duration>,
    settings: &RunSettings,
) -> Result<(), sqlx::Error> {
    query("SELECT set_config('lock_timeout', $1, true), set_config('statement_timeout', $2, true)")
        .persistent(settings.keep_prepared())
        .bind(pg_duration(Some(lock)))
        .bind(pg_duration(statement))
        .execute(conn)
        .await
        .map(|_| ())
}
