//! `status`: read-only views of the master schema, the registry and one tenant. Never creates or
//! changes anything, not even on a fresh database.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{AssertSqlSafe, PgConnection, Row};
use tenantctl_migrations::{MigrationSet, Version};

use crate::registry::{COLUMNS, Isolation, Tenant, TenantStatus, tenant_from_row, up_to_date_mirror};
use crate::sharded::ShardPools;
use crate::statements::{query, query_as, query_scalar};
use crate::tracking::{AppliedRow, TrackingTable};
use crate::{Database, EngineError, OrgId, ShardTarget, bootstrap, error::Context, tenant_database};

/// The master schema's state.
#[derive(Debug, Clone, Serialize)]
pub struct MasterStatus {
    /// Newest applied master migration; `None` when nothing is applied.
    pub version: Option<Version>,
    /// Master files not applied yet.
    pub pending: Vec<String>,
}

/// Tenant counts.
#[derive(Debug, Clone, Serialize)]
pub struct TenantCounts {
    /// Every registered tenant.
    pub total: i64,
    /// Per status, zeros included.
    pub by_status: BTreeMap<&'static str, i64>,
    /// ACTIVE and FAILED tenants without every tenant migration.
    pub behind: i64,
    /// Per isolation (`schema`, `database`), zeros included.
    pub by_isolation: BTreeMap<&'static str, i64>,
}

/// A FAILED tenant and why.
#[derive(Debug, Clone, Serialize)]
pub struct FailedTenant {
    /// The org.
    pub org_id: String,
    /// Its schema.
    pub schema: String,
    /// The full error.
    pub error: Option<String>,
}

/// A recent run from `public.tenantctl_runs`.
#[derive(Debug, Clone, Serialize)]
pub struct RecentRun {
    /// Its id.
    pub id: uuid::Uuid,
    /// The command.
    pub command: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it finished (none: running, or killed).
    pub finished_at: Option<DateTime<Utc>>,
    /// Its outcome.
    pub outcome: Option<String>,
    /// Tenants succeeded.
    pub succeeded: Option<i32>,
    /// Tenants failed.
    pub failed: Option<i32>,
    /// Tenants skipped.
    pub skipped: Option<i32>,
}

/// The whole picture.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    /// False when tenantctl never ran `migrate-master` on this database.
    pub initialized: bool,
    /// The master schema.
    pub master: MasterStatus,
    /// The registry.
    pub tenants: TenantCounts,
    /// Every FAILED tenant.
    pub failed: Vec<FailedTenant>,
    /// The last runs, newest first.
    pub recent_runs: Vec<RecentRun>,
}

impl StatusReport {
    /// `status --check`: false when any tenant is FAILED, behind, or MOVING (a move in progress, or
    /// one killed that must be resumed or aborted: the tenant is read-only meanwhile).
    pub fn healthy(&self) -> bool {
        let moving = self.tenants.by_status.get(TenantStatus::Moving.as_str()).copied().unwrap_or(0);
        self.failed.is_empty() && self.tenants.behind == 0 && moving == 0
    }
}

/// Reads the status.
pub async fn status(
    db: &Database,
    master_set: &MigrationSet,
    tenant_set: &MigrationSet,
) -> Result<StatusReport, EngineError> {
    let mut tx = db.pool().begin().await.context("connecting")?;
    let report = status_in(&mut tx, master_set, tenant_set).await?;
    tx.commit().await.context("reading the status")?;
    Ok(report)
}

async fn status_in(
    conn: &mut PgConnection,
    master_set: &MigrationSet,
    tenant_set: &MigrationSet,
) -> Result<StatusReport, EngineError> {
    let bootstrapped = bootstrap::current(conn).await?;
    let initialized = bootstrapped > 0;
    let applied = match initialized {
        true => TrackingTable::master().read_if_exists(conn).await.context("reading master migrations")?,
        false => Vec::new(),
    };
    let master =
        MasterStatus { version: applied.iter().map(|r| r.version).max(), pending: pending(master_set, &applied) };
    let mut by_status: BTreeMap<&'static str, i64> = TenantStatus::ALL.iter().map(|s| (s.as_str(), 0)).collect();
    let mut by_isolation: BTreeMap<&'static str, i64> =
        [Isolation::Schema, Isolation::Database].iter().map(|i| (i.as_str(), 0)).collect();
    if !initialized {
        let tenants = TenantCounts { total: 0, by_status, behind: 0, by_isolation };
        return Ok(StatusReport { initialized, master, tenants, failed: Vec::new(), recent_runs: Vec::new() });
    }
    let counts: Vec<(String, i64)> = query_as("SELECT status, count(*) FROM public.tenants GROUP BY status")
        .fetch_all(&mut *conn)
        .await
        .context("counting tenants")?;
    for (status, n) in counts {
        if let Some(slot) =
            TenantStatus::ALL.iter().find(|s| s.as_str() == status).and_then(|s| by_status.get_mut(s.as_str()))
        {
            *slot = n;
        }
    }
    // A registry not upgraded yet (status reads it anyway) has schema tenants only.
    let sql = match bootstrapped >= bootstrap::DATABASE_ISOLATION {
        true => "SELECT database_name IS NOT NULL, count(*) FROM public.tenants GROUP BY 1",
        false => "SELECT false, count(*) FROM public.tenants",
    };
    let isolations: Vec<(bool, i64)> = query_as(sql).fetch_all(&mut *conn).await.context("counting tenants")?;
    for (database, n) in isolations {
        let isolation = if database { Isolation::Database } else { Isolation::Schema };
        by_isolation.insert(isolation.as_str(), n);
    }
    let (latest, count) = up_to_date_mirror(tenant_set);
    let behind: i64 = query_scalar(
        "SELECT count(*) FROM public.tenants WHERE status IN ('ACTIVE', 'FAILED') \
         AND (schema_version IS DISTINCT FROM $1 OR migration_count IS DISTINCT FROM $2)",
    )
    .bind(latest)
    .bind(count)
    .fetch_one(&mut *conn)
    .await
    .context("counting tenants behind")?;
    let failed: Vec<(String, String, Option<String>)> = query_as(
        "SELECT org_id, schema_name, last_error FROM public.tenants WHERE status = 'FAILED' ORDER BY created_at, id",
    )
    .fetch_all(&mut *conn)
    .await
    .context("reading failed tenants")?;
    let recent_runs = recent_runs(conn).await?;
    Ok(StatusReport {
        initialized,
        master,
        tenants: TenantCounts { total: by_status.values().sum(), by_status, behind, by_isolation },
        failed: failed.into_iter().map(|(org_id, schema, error)| FailedTenant { org_id, schema, error }).collect(),
        recent_runs,
    })
}

async fn recent_runs(conn: &mut PgConnection) -> Result<Vec<RecentRun>, EngineError> {
    let rows = query(
        "SELECT id, command, started_at, finished_at, outcome, succeeded, failed, skipped \
         FROM public.tenantctl_runs ORDER BY started_at DESC LIMIT 5",
    )
    .fetch_all(conn)
    .await
    .context("reading recent runs")?;
    let run = |row: &sqlx::postgres::PgRow| -> Result<RecentRun, sqlx::Error> {
        Ok(RecentRun {
            id: row.try_get("id")?,
            command: row.try_get("command")?,
            started_at: row.try_get("started_at")?,
            finished_at: row.try_get("finished_at")?,
            outcome: row.try_get("outcome")?,
            succeeded: row.try_get("succeeded")?,
            failed: row.try_get("failed")?,
            skipped: row.try_get("skipped")?,
        })
    };
    rows.iter().map(run).collect::<Result<_, _>>().context("reading recent runs")
}

/// One tenant in detail.
#[derive(Debug, Clone, Serialize)]
pub struct TenantDetail {
    /// The registry row.
    pub tenant: Tenant,
    /// Its last error, if any.
    pub last_error: Option<String>,
    /// Its tracking table.
    pub applied: Vec<AppliedRow>,
    /// Files it has not applied.
    pub pending: Vec<String>,
}

/// `status --tenant ORG_ID`.
/// `status --tenant ORG_ID`: the registry row, and the tracking table on the tenant's shard.
pub async fn tenant_status(
    db: &Database,
    tenant_set: &MigrationSet,
    org: &OrgId,
    shards: &[ShardTarget],
) -> Result<TenantDetail, EngineError> {
    let mut tx = db.pool().begin().await.context("connecting")?;
    let mut detail = tenant_status_in(&mut tx, tenant_set, org).await?;
    tx.commit().await.context("reading the status")?;
    if detail.tenant.remote() {
        detail.applied = remote_applied(db, &detail.tenant, shards).await?;
        detail.pending = pending(tenant_set, &detail.applied);
    }
    Ok(detail)
}

/// The tracking table of a tenant of another shard, read there.
async fn remote_applied(
    db: &Database,
    tenant: &Tenant,
    shards: &[ShardTarget],
) -> Result<Vec<AppliedRow>, EngineError> {
    ShardPools::scoped(db, shards, [tenant.shard.as_str()], async |pools| {
        let shard = pools.pool(&tenant.shard)?;
        let Some(database) = &tenant.database else {
            let mut conn = shard.acquire().await.context("connecting to the tenant's shard")?;
            return TrackingTable::tenant(tenant.home())
                .read_if_exists(&mut conn)
                .await
                .context("reading the tracking table");
        };
        let pool = tenant_database::open(shard, &database.name)
            .await
            .context(format!("connecting to the tenant's database {}", database.name))?;
        let read = async {
            let mut conn = pool.acquire().await.context("connecting to the tenant's database")?;
            TrackingTable::tenant(tenant.home()).read_if_exists(&mut conn).await.context("reading the tracking table")
        }
        .await;
        pool.close().await;
        read
    })
    .await
}

async fn tenant_status_in(
    conn: &mut PgConnection,
    tenant_set: &MigrationSet,
    org: &OrgId,
) -> Result<TenantDetail, EngineError> {
    bootstrap::require(conn).await?;
    let row = query(AssertSqlSafe(format!("SELECT {COLUMNS}, last_error FROM public.tenants WHERE org_id = $1")))
        .bind(org.as_str())
        .fetch_optional(&mut *conn)
        .await
        .context("reading the registry")?
        .ok_or_else(|| EngineError::Tenant { org_id: org.clone(), problem: "is not in the registry".into() })?;
    let tenant = tenant_from_row(&row).context("reading the registry")?;
    let last_error: Option<String> = row.try_get("last_error").context("reading the registry")?;
    // A tenant of another shard has its tracking table there: the caller reads it.
    let applied = match tenant.remote() {
        true => Vec::new(),
        false => {
            TrackingTable::tenant(tenant.home()).read_if_exists(conn).await.context("reading the tracking table")?
        }
    };
    let pending = pending(tenant_set, &applied);
    Ok(TenantDetail { tenant, last_error, applied, pending })
}

/// The files of `set` whose version is not in `applied`.
pub(crate) fn pending(set: &MigrationSet, applied: &[AppliedRow]) -> Vec<String> {
    set.iter().filter(|m| !applied.iter().any(|a| a.version == m.version)).map(|m| m.up.file_name()).collect()
}
