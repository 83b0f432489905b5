//! `public.tenantctl_runs`: the audit trail, one row per command that changes something.

use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::statements::{in_transaction, query};
use crate::{EngineError, Summary, error::Context};

/// Who ran what; the caller fills it in.
#[derive(Debug, Clone, Serialize)]
pub struct RunContext {
    /// The run's id.
    pub run_id: Uuid,
    /// The command (`migrate-tenants`).
    pub command: String,
    /// Its effective arguments, as JSON.
    pub arguments: serde_json::Value,
    /// Whether lint findings were overridden.
    pub allow_unsafe: bool,
    /// The OS user.
    pub os_user: Option<String>,
    /// The host.
    pub host: Option<String>,
}

pub(crate) async fn start(pool: &PgPool, run: &RunContext) -> Result<(), EngineError> {
    in_transaction(pool, async |conn| {
        query(
            "INSERT INTO public.tenantctl_runs (id, command, arguments, allow_unsafe, os_user, host) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(run.run_id)
        .bind(&run.command)
        .bind(&run.arguments)
        .bind(run.allow_unsafe)
        .bind(&run.os_user)
        .bind(&run.host)
        .execute(conn)
        .await
    })
    .await
    .context("recording the run in public.tenantctl_runs")?;
    Ok(())
}

/// Ends the run's row; tenants whose shard was unreachable count as failed: the run did not finish them.
pub(crate) async fn finish(pool: &PgPool, run_id: Uuid, summary: &Summary, outcome: &str) -> Result<(), EngineError> {
    let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
    in_transaction(pool, async |conn| {
        query(
            "UPDATE public.tenantctl_runs SET finished_at = clock_timestamp(), succeeded = $2, failed = $3, \
             skipped = $4, outcome = $5 WHERE id = $1",
        )
        .bind(run_id)
        .bind(count(summary.succeeded))
        .bind(count(summary.failed + summary.unreachable))
        .bind(count(summary.skipped + summary.up_to_date))
        .bind(outcome)
        .execute(conn)
        .await
    })
    .await
    .context("recording the end of the run in public.tenantctl_runs")?;
    Ok(())
}

/// Marks a finished run failed, counting `failed` more failures: shards that failed after the run's
/// own work was recorded.
pub(crate) async fn fail_later(pool: &PgPool, run_id: Uuid, failed: usize) -> Result<(), EngineError> {
    let failed = i32::try_from(failed).unwrap_or(i32::MAX);
    in_transaction(pool, async |conn| {
        query("UPDATE public.tenantctl_runs SET outcome = 'failed', failed = coalesce(failed, 0) + $2 WHERE id = $1")
            .bind(run_id)
            .bind(failed)
            .execute(conn)
            .await
    })
    .await
    .context("recording failed shards in public.tenantctl_runs")?;
    Ok(())
}
