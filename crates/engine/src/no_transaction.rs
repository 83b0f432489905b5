//! No-transaction migrations (`-- tenantctl:no-transaction`, for `CREATE INDEX CONCURRENTLY` and its
//! kind). PostgreSQL runs a multi-statement query string as one implicit transaction, which such
//! statements refuse, so the file's statements are sent one at a time, outside any transaction, with
//! session-level settings that are reset before the connection goes back to the pool. The tenant is
//! guarded by a session-level advisory lock: unlike a transaction-scoped one it holds no snapshot, so
//! a concurrent index build does not wait for it. The migration is recorded only after its last
//! statement succeeded; a failure leaves the file partly applied (the one documented exception to
//! "fully migrated or untouched"), and a rerun runs the whole file again. All of this needs a session
//! of its own: behind a transaction pooler such migrations are refused before a run starts
//! ([`crate::RunSettings::check_sessions`]).

use sqlx::pool::PoolConnection;
use sqlx::{AssertSqlSafe, Connection, PgConnection, Postgres};
use tenantctl_migrations::{Migration, Script, Version};

use crate::bookkeeping::{self, Change};
use crate::registry::Tenant;
use crate::runner::{Direction, Failure, HELD_ELSEWHERE, Job, Progress, Step, is_transient, write_mirror};
use crate::settings::pg_duration;
use crate::statements::{query, query_as};
use crate::tracking::{Ran, TrackingTable};
use crate::{error::describe, locks, roles};

/// One no-transaction migration (or its down file) for one tenant.
pub(crate) struct Work<'a> {
    pub(crate) job: Job<'a>,
    pub(crate) tenant: &'a Tenant,
    pub(crate) progress: &'a Progress,
    pub(crate) migration: &'a Migration,
    pub(crate) script: &'a Script,
    /// This migration is the last of the tenant's plan: the tenant becomes ACTIVE when it is done.
    pub(crate) completes: bool,
    /// The tenant's role, which the statements run as.
    pub(crate) role: Option<&'a str>,
}

/// Runs the work. `Ok(None)`: done; `Ok(Some(step))`: nothing was done, for the step's reason.
pub(crate) async fn run(conn: &mut PoolConnection<Postgres>, work: Work<'_>) -> Result<Option<Step>, Failure> {
    let locked = prepare(conn, work.job, work.tenant, work.script).await;
    let result = match locked {
        Ok(true) => locked_run(conn, &work).await,
        Ok(false) => Ok(Some(Step::Nothing(HELD_ELSEWHERE))),
        Err(e) => Err(Failure::db(None, &e)),
    };
    // Session settings and the session lock must not outlive this migration on a pooled connection.
    let reset = "RESET ROLE; RESET search_path; RESET lock_timeout; RESET statement_timeout; \
                 RESET client_min_messages; SELECT pg_advisory_unlock_all()";
    if sqlx::raw_sql(reset).execute(&mut **conn).await.is_err() {
        conn.close_on_drop();
    }
    result
}

async fn prepare(conn: &mut PgConnection, job: Job<'_>, tenant: &Tenant, script: &Script) -> Result<bool, sqlx::Error> {
    let lock_timeout = script.lock_timeout.unwrap_or(job.settings.no_transaction_lock_timeout);
    let (locked,): (bool,) = query_as(
        "SELECT pg_try_advisory_lock($1) FROM (SELECT
             set_config('search_path', $2, false), set_config('lock_timeout', $3, false),
             set_config('statement_timeout', $4, false), set_config('client_min_messages', 'warning', false)) s",
    )
    .bind(locks::tenant(&tenant.schema))
    .bind(format!("{}, public", tenant.home().quoted()))
    .bind(pg_duration(Some(lock_timeout)))
    .bind(pg_duration(script.statement_timeout.or(job.settings.statement_timeout)))
    .fetch_one(conn)
    .await?;
    Ok(locked)
}

async fn locked_run(conn: &mut PgConnection, work: &Work<'_>) -> Result<Option<Step>, Failure> {
    let Work { job, tenant, progress, migration, script, completes, role } = *work;
    let table = TrackingTable::tenant(tenant.home());
    let rows = table.read_if_exists(conn).await.map_err(|e| Failure::db(Some("reading the tracking table"), &e))?;
    let applied: Vec<Version> = rows.iter().map(|r| r.version).collect();
    let up = matches!(job.direction, Direction::Up { .. });
    if applied.contains(&migration.version) == up {
        // Another run finished it between our transaction and this lock.
        return Ok(Some(Step::Nothing(HELD_ELSEWHERE)));
    }
    let started = std::time::Instant::now();
    if let Some(role) = role {
        roles::assume(conn, role, false).await?;
    }
    execute_statements(conn, script).await?;
    if role.is_some() {
        roles::reset(conn, false).await?;
    }
    let elapsed = started.elapsed();
    let mut tx = conn.begin().await.map_err(|e| Failure::db(None, &e))?;
    let record = |e: sqlx::Error| Failure::db(Some(&format!("{}: recording it", script.file_name())), &e);
    // The bookkeeping names the tracking table unqualified.
    query("SELECT set_config('search_path', $1, true)")
        .bind(tenant.home().quoted())
        .execute(&mut *tx)
        .await
        .map_err(record)?;
    let ran = [Ran { migration, elapsed }];
    let change = match job.direction {
        Direction::Up { central, .. } => Change::Applied { ran: &ran, batch: progress.batch.unwrap_or(1), central },
        Direction::Down { .. } => Change::Reverted(&[migration.version]),
    };
    let mirror = bookkeeping::record(&mut tx, tenant, &applied, change, completes, job.settings.keep_prepared())
        .await
        .map_err(record)?;
    tx.commit().await.map_err(record)?;
    write_mirror(job, mirror).await?;
    Ok(None)
}

/// Sends the statements one at a time. A failure names the statement and says what already ran.
async fn execute_statements(conn: &mut PgConnection, script: &Script) -> Result<(), Failure> {
    let statements = script.statements.as_deref().unwrap_or_default();
    for (index, statement) in statements.iter().enumerate() {
        if let Err(e) = sqlx::raw_sql(AssertSqlSafe(statement.as_str())).execute(&mut *conn).await {
            let file = script.file_name();
            let n = statements.len();
            let message = match index {
                0 => format!("{file}: statement 1 of {n} failed: {}; nothing of the file was applied", describe(&e)),
                i => format!(
                    "{file}: statement {} of {n} failed: {}; the file was partly applied (statements 1-{i} ran): \
                     fix it and rerun; it runs again from its first statement, so make it idempotent \
                     (e.g. DROP INDEX CONCURRENTLY IF EXISTS before CREATE INDEX CONCURRENTLY)",
                    i + 1,
                    describe(&e)
                ),
            };
            // Retrying is only safe while nothing of the file has been applied.
            return Err(if index == 0 && is_transient(&e) {
                Failure::db(Some(&format!("{file}: statement 1 of {n}")), &e)
            } else {
                Failure::fatal(message)
            });
        }
    }
    Ok(())
}
