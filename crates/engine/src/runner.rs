//! The runner for one tenant schema: one transaction that takes the tenant's advisory lock, sets its
//! search_path and timeouts, reads the tracking table, applies (or reverts) what the plan says,
//! records it, updates the registry mirror, and commits. Lock timeouts and lost connections are
//! retried with backoff; any other failure rolls back and marks the tenant FAILED.

use std::time::{Duration, Instant};

use sqlx::{AssertSqlSafe, Connection, PgConnection, PgPool};
use tenantctl_migrations::{Migration, MigrationSet, PlanError, RollbackTarget, Script, Version, plan_down, plan_up};

use crate::central::Central;
use crate::error::describe;
use crate::events::{Event, Outcome, Reporter, TenantResult};
use crate::recycle::Recycler;
use crate::registry::{self, Tenant, TenantStatus};
use crate::settings::{RunSettings, pg_duration};
use crate::tracking::{AppliedRow, Ran, TrackingTable, next_batch};
use crate::{SchemaName, locks};

/// What to do to each tenant.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Direction<'a> {
    /// Apply pending migrations (creating the schema first when provisioning).
    Up { create_schema: bool, allow_out_of_order: bool, central: &'a Central },
    /// Revert migrations.
    Down { target: RollbackTarget },
}

/// Everything a tenant's work needs, shared by every tenant of a run.
#[derive(Clone, Copy)]
pub(crate) struct Job<'a> {
    pub(crate) pool: &'a PgPool,
    pub(crate) set: &'a MigrationSet,
    pub(crate) settings: &'a RunSettings,
    pub(crate) direction: Direction<'a>,
    pub(crate) reporter: &'a dyn Reporter,
    pub(crate) recycler: &'a Recycler,
    /// Only read and plan; change nothing (`--dry-run`, and the pre-flight check of rollbacks).
    pub(crate) plan_only: bool,
}

/// Why an attempt failed, and whether trying again may help.
struct Failure {
    message: String,
    retryable: bool,
    plan_error: Option<PlanError>,
}

impl Failure {
    fn plan(error: PlanError) -> Self {
        Self { message: error.to_string(), retryable: false, plan_error: Some(error) }
    }

    fn db(context: Option<&str>, error: &sqlx::Error) -> Self {
        let message = match context {
            Some(c) => format!("{c}: {}", describe(error)),
            None => describe(error),
        };
        Self { message, retryable: is_transient(error), plan_error: None }
    }
}

/// Lock timeouts, deadlocks, serialization failures and lost connections are worth another attempt.
fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => {
            matches!(db.code().as_deref(), Some("55P03" | "40P01" | "40001" | "57P01" | "57P02" | "57P03"))
        }
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Protocol(_) => true,
        _ => false,
    }
}

enum Done {
    /// Migrations ran (or were planned, in plan-only mode).
    Changed(Vec<Version>),
    /// Nothing to do.
    Nothing(&'static str),
}

/// Runs the job on one tenant, with retries; a final failure marks the tenant FAILED.
pub(crate) async fn run(job: Job<'_>, tenant: &Tenant) -> TenantResult {
    let started = Instant::now();
    let mut attempt = 0;
    let result = loop {
        attempt += 1;
        match attempt_once(job, tenant).await {
            Ok(done) => break Ok(done),
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
            Err(f) => break Err(f),
        }
    };
    let mut plan_error = None;
    let (outcome, versions, error, reason) = match result {
        Ok(Done::Changed(versions)) => (Outcome::Succeeded, versions, None, None),
        Ok(Done::Nothing(reason)) => (Outcome::Skipped, Vec::new(), None, Some(reason.to_owned())),
        Err(f) => {
            plan_error = f.plan_error;
            let message =
                if f.retryable { format!("{} (gave up after {attempt} attempts)", f.message) } else { f.message };
            let message = match job.plan_only {
                true => message,
                false => match registry::mark_failed(job.pool, tenant.id, &message).await {
                    Ok(()) => message,
                    Err(e) => format!("{message}; marking it FAILED also failed: {}", describe(&e)),
                },
            };
            (Outcome::Failed, Vec::new(), Some(message), None)
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
    }
}

async fn attempt_once(job: Job<'_>, tenant: &Tenant) -> Result<Done, Failure> {
    let mut conn = job.pool.acquire().await.map_err(|e| Failure::db(Some("no connection"), &e))?;
    let mut tx = conn.begin().await.map_err(|e| Failure::db(None, &e))?;
    let (outcome, pid) = in_transaction(job, tenant, &mut tx).await;
    let outcome = match outcome {
        Ok(done) if !job.plan_only => tx.commit().await.map(|()| done).map_err(|e| Failure::db(Some("commit"), &e)),
        other => {
            // Best effort: on a broken connection the server rolls back by itself.
            let _ = tx.rollback().await;
            other
        }
    };
    if pid.is_some_and(|pid| job.recycler.served(pid)) {
        conn.close_on_drop();
    }
    outcome
}

const HELD_ELSEWHERE: &str = "another tenantctl run holds this tenant";
const UP_TO_DATE: &str = "up to date";
const NOTHING_TO_REVERT: &str = "nothing to roll back";

/// The tenant's work inside its transaction; also returns the backend's pid, for recycling.
async fn in_transaction(
    job: Job<'_>,
    tenant: &Tenant,
    conn: &mut PgConnection,
) -> (Result<Done, Failure>, Option<i32>) {
    match prepare(conn, &tenant.schema, job.settings).await {
        Err(e) => (Err(Failure::db(None, &e)), None),
        Ok((false, pid)) => (Ok(Done::Nothing(HELD_ELSEWHERE)), Some(pid)),
        Ok((true, pid)) => (locked_work(job, tenant, conn).await, Some(pid)),
    }
}

async fn locked_work(job: Job<'_>, tenant: &Tenant, conn: &mut PgConnection) -> Result<Done, Failure> {
    let table = TrackingTable::tenant(&tenant.schema);
    match job.direction {
        Direction::Up { create_schema, allow_out_of_order, central } => {
            let rows = if job.plan_only {
                table.read_if_exists(conn).await
            } else {
                if create_schema {
                    let sql = format!("CREATE SCHEMA IF NOT EXISTS {}", tenant.schema.quoted());
                    sqlx::raw_sql(AssertSqlSafe(sql))
                        .execute(&mut *conn)
                        .await
                        .map_err(|e| Failure::db(Some("creating the schema"), &e))?;
                }
                table.ensure_and_read(conn).await
            }
            .map_err(|e| Failure::db(Some("reading the tracking table"), &e))?;
            let applied: Vec<_> = rows.iter().map(AppliedRow::as_applied).collect();
            let pending = plan_up(&applied, job.set, allow_out_of_order).map_err(Failure::plan)?;
            if job.plan_only {
                return Ok(planned(&pending, UP_TO_DATE));
            }
            let ran = apply(conn, &pending, job.settings, |m| &m.up).await?;
            if !ran.is_empty() {
                table.record(conn, &ran, next_batch(&rows)).await.map_err(|e| Failure::db(Some("recording"), &e))?;
                central.record_new(conn, &ran).await.map_err(|e| Failure::db(Some("recording centrally"), &e))?;
            }
            let mut versions: Vec<Version> = rows.iter().map(|r| r.version).collect();
            versions.extend(ran.iter().map(|r| r.migration.version));
            update_mirror(conn, tenant, &versions).await?;
            let changed = !ran.is_empty() || create_schema || tenant.status != TenantStatus::Active;
            Ok(match changed {
                true => Done::Changed(ran.iter().map(|r| r.migration.version).collect()),
                false => Done::Nothing(UP_TO_DATE),
            })
        }
        Direction::Down { target } => {
            let rows =
                table.read_if_exists(conn).await.map_err(|e| Failure::db(Some("reading the tracking table"), &e))?;
            let applied: Vec<_> = rows.iter().map(AppliedRow::as_applied).collect();
            let revert = plan_down(&applied, job.set, target).map_err(Failure::plan)?;
            if job.plan_only || revert.is_empty() {
                return Ok(planned(&revert, NOTHING_TO_REVERT));
            }
            let ran = apply(conn, &revert, job.settings, |m| m.down.as_ref().unwrap_or(&m.up)).await?;
            let reverted: Vec<Version> = ran.iter().map(|r| r.migration.version).collect();
            table.forget(conn, &reverted).await.map_err(|e| Failure::db(Some("updating the tracking table"), &e))?;
            let remaining: Vec<Version> = rows.iter().map(|r| r.version).filter(|v| !reverted.contains(v)).collect();
            update_mirror(conn, tenant, &remaining).await?;
            Ok(Done::Changed(reverted))
        }
    }
}

fn planned(migrations: &[&Migration], nothing: &'static str) -> Done {
    match migrations.is_empty() {
        true => Done::Nothing(nothing),
        false => Done::Changed(migrations.iter().map(|m| m.version).collect()),
    }
}

/// Takes the tenant's advisory lock (without waiting) and sets the transaction's settings, in one
/// round trip. False when another run holds the tenant. Also returns the backend's pid.
async fn prepare(
    conn: &mut PgConnection,
    schema: &SchemaName,
    settings: &RunSettings,
) -> Result<(bool, i32), sqlx::Error> {
    sqlx::query_as(
        "SELECT pg_try_advisory_xact_lock($1), pg_backend_pid() FROM (SELECT
             set_config('search_path', $2, true), set_config('lock_timeout', $3, true),
             set_config('statement_timeout', $4, true), set_config('client_min_messages', 'warning', true)) s",
    )
    .bind(locks::tenant(schema))
    .bind(format!("{}, public", schema.quoted()))
    .bind(pg_duration(Some(settings.lock_timeout)))
    .bind(pg_duration(settings.statement_timeout))
    .fetch_one(conn)
    .await
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
            set_timeouts(
                conn,
                script.lock_timeout.unwrap_or(settings.lock_timeout),
                script.statement_timeout.or(settings.statement_timeout),
            )
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
            set_timeouts(conn, settings.lock_timeout, settings.statement_timeout)
                .await
                .map_err(|e| Failure::db(Some(&file), &e))?;
        }
    }
    Ok(ran)
}

async fn set_timeouts(conn: &mut PgConnection, lock: Duration, statement: Option<Duration>) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT set_config('lock_timeout', $1, true), set_config('statement_timeout', $2, true)")
        .bind(pg_duration(Some(lock)))
        .bind(pg_duration(statement))
        .execute(conn)
        .await
        .map(|_| ())
}

async fn update_mirror(conn: &mut PgConnection, tenant: &Tenant, versions: &[Version]) -> Result<(), Failure> {
    let newest = versions.iter().max().map(|v| v.as_i64());
    let count = i32::try_from(versions.len()).unwrap_or(i32::MAX);
    registry::mark_current(conn, tenant.id, newest, count)
        .await
        .map_err(|e| Failure::db(Some("updating the registry"), &e))
}
