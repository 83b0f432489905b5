//! Off-boarding, governed: `archive-tenant` takes a tenant out of every fan-out and keeps its schema;
//! `drop-tenant` drops the schema of an ARCHIVED tenant, and its role if it has one, only when the caller
//! types the schema's name, and keeps the registry row (ARCHIVED, with a note). No other command drops a
//! schema or a role.

use serde::Serialize;
use sqlx::{AssertSqlSafe, PgConnection, PgPool};

use crate::registry::{self, COLUMNS, Tenant, TenantStatus, tenant_from_row};
use crate::settings::{RunSettings, pg_duration};
use crate::sharded::ShardPools;
use crate::statements::{in_transaction, query, query_as};
use crate::{
    Database, EngineError, OrgId, RunContext, ShardTarget, Summary, error::Context, locks, roles, runs, tenant_database,
};

/// What an off-boarding command did.
#[derive(Debug, Clone, Serialize)]
pub struct OffboardReport {
    /// The run's id.
    pub run_id: uuid::Uuid,
    /// The tenant, as it is now.
    pub tenant: Tenant,
    /// False when there was nothing to do (already archived).
    pub changed: bool,
}

async fn find(db: &Database, org: &OrgId) -> Result<Tenant, EngineError> {
    let row = in_transaction(db.pool(), async |conn| {
        query(AssertSqlSafe(format!("SELECT {COLUMNS} FROM public.tenants WHERE org_id = $1")))
            .bind(org.as_str())
            .fetch_optional(conn)
            .await
    })
    .await
    .context("reading the registry")?
    .ok_or_else(|| EngineError::Tenant { org_id: org.clone(), problem: "is not in the registry".into() })?;
    tenant_from_row(&row).context("reading the registry")
}

/// A MOVING tenant has a copy on two shards and a move to finish or abort first.
fn refuse_moving(tenant: &Tenant) -> Result<(), EngineError> {
    match tenant.status {
        TenantStatus::Moving => Err(EngineError::Tenant {
            org_id: tenant.org_id.clone(),
            problem: "is MOVING: finish the move (`tenantctl move-tenant` with the same --to) or roll it back \
                      (--abort) first"
                .into(),
        }),
        _ => Ok(()),
    }
}

/// Where the tenant's schema is: the control database, or a pool opened on its shard; and, for a
/// tenant of database isolation, a pool of one connection to its database.
struct Home<'a> {
    pools: ShardPools<'a>,
    control: &'a Database,
    database: Option<PgPool>,
}

impl<'a> Home<'a> {
    async fn open(control: &'a Database, tenant: &Tenant, shards: &[ShardTarget]) -> Result<Self, EngineError> {
        let pools = ShardPools::open(control, shards, [tenant.shard.as_str()]).await;
        let shard = match pools.pool(&tenant.shard) {
            Ok(shard) => shard,
            Err(error) => {
                pools.close().await;
                return Err(error);
            }
        };
        let database = match &tenant.database {
            None => None,
            Some(d) => match tenant_database::open(shard, &d.name).await {
                Ok(pool) => Some(pool),
                Err(error) => {
                    pools.close().await;
                    return Err(EngineError::Database { context: format!("connecting to database {}", d.name), error });
                }
            },
        };
        Ok(Self { pools, control, database })
    }

    /// The pool of the tenant's shard.
    fn shard(&self, tenant: &Tenant) -> &PgPool {
        self.pools.pool(&tenant.shard).unwrap_or(self.control.pool())
    }

    /// The pool of the tenant's own database, or of its shard.
    fn pool(&self, tenant: &Tenant) -> &PgPool {
        self.database.as_ref().unwrap_or_else(|| self.shard(tenant))
    }

    async fn close(&self) {
        if let Some(database) = &self.database {
            database.close().await;
        }
        self.pools.close().await;
    }
}

/// Sets the tenant ARCHIVED: excluded from every fan-out, schema kept.
pub async fn archive_tenant(
    db: &Database,
    org: &OrgId,
    shards: &[ShardTarget],
    run: &RunContext,
) -> Result<OffboardReport, EngineError> {
    let mut conn = db.pool().acquire().await.context("connecting")?;
    crate::bootstrap::require(&mut conn).await?;
    drop(conn);
    let mut tenant = find(db, org).await?;
    refuse_moving(&tenant)?;
    let changed = tenant.status != TenantStatus::Archived;
    if changed {
        let home = Home::open(db, &tenant, shards).await?;
        runs::start(db.pool(), run).await?;
        let result = archive_locked(&home, &tenant).await;
        home.close().await;
        finish(db, run, result.is_ok()).await?;
        result?;
        tenant.status = TenantStatus::Archived;
    }
    Ok(OffboardReport { run_id: run.run_id, tenant, changed })
}

/// Archives under the tenant's lock (on its shard), so that no fan-out has the tenant in flight (its
/// commit would set the status back).
async fn archive_locked(home: &Home<'_>, tenant: &Tenant) -> Result<(), EngineError> {
    const ARCHIVE: &str = "UPDATE public.tenants SET status = 'ARCHIVED', updated_at = clock_timestamp() WHERE id = $1";
    let mut tx = home.pool(tenant).begin().await.context("starting the archive")?;
    if tenant.remote() {
        // The lock on the shard, held while the control database records the archive.
        if !try_lock(&mut tx, tenant, None).await? {
            return Err(EngineError::Busy { org_id: tenant.org_id.clone() });
        }
        in_transaction(home.control.pool(), async |conn| query(ARCHIVE).bind(tenant.id).execute(conn).await)
            .await
            .context("archiving the tenant")?;
        return tx.commit().await.context("archiving the tenant");
    }
    let archived = query(
        "UPDATE public.tenants SET status = 'ARCHIVED', updated_at = clock_timestamp() \
          WHERE id = $1 AND pg_try_advisory_xact_lock($2)",
    )
    .bind(tenant.id)
    .bind(locks::tenant(&tenant.schema))
    .execute(&mut *tx)
    .await
    .context("archiving the tenant")?;
    if archived.rows_affected() == 0 {
        return Err(EngineError::Busy { org_id: tenant.org_id.clone() });
    }
    tx.commit().await.context("archiving the tenant")
}

/// Takes the tenant's lock without waiting, in the current transaction, with `lock_timeout` set.
async fn try_lock(
    conn: &mut PgConnection,
    tenant: &Tenant,
    settings: Option<&RunSettings>,
) -> Result<bool, EngineError> {
    let lock_timeout = pg_duration(settings.map(|s| s.lock_timeout));
    let (locked,): (bool,) =
        query_as("SELECT pg_try_advisory_xact_lock($1) FROM (SELECT set_config('lock_timeout', $2, true)) s")
            .bind(locks::tenant(&tenant.schema))
            .bind(lock_timeout)
            .fetch_one(conn)
            .await
            .context("locking the tenant")?;
    Ok(locked)
}

/// Drops an ARCHIVED tenant's schema, and its role, when `confirm` is its schema name; the row stays, with a
/// note. The report's tenant is as it was before the drop. On another shard than the registry, the
/// mirror is cleared first, the schema dropped on the shard, and the note written after.
pub async fn drop_tenant(
    db: &Database,
    org: &OrgId,
    confirm: &str,
    settings: &RunSettings,
    shards: &[ShardTarget],
    run: &RunContext,
) -> Result<OffboardReport, EngineError> {
    let mut conn = db.pool().acquire().await.context("connecting")?;
    crate::bootstrap::require(&mut conn).await?;
    let tenant = find(db, org).await?;
    if confirm != tenant.schema.as_str() {
        return Err(EngineError::Tenant {
            org_id: org.clone(),
            problem: format!("has schema {}; --confirm must name it exactly (got `{confirm}`)", tenant.schema),
        });
    }
    if tenant.status != TenantStatus::Archived {
        return Err(EngineError::Tenant {
            org_id: org.clone(),
            problem: format!("is {}: archive it first (`tenantctl archive-tenant`)", tenant.status.as_str()),
        });
    }
    drop(conn);
    let home = Home::open(db, &tenant, shards).await?;
    runs::start(db.pool(), run).await?;
    let outcome = drop_in(&home, &tenant, settings, run).await;
    home.close().await;
    finish(db, run, outcome.is_ok()).await?;
    outcome?;
    Ok(OffboardReport { run_id: run.run_id, tenant, changed: true })
}

async fn drop_in(
    home: &Home<'_>,
    tenant: &Tenant,
    settings: &RunSettings,
    run: &RunContext,
) -> Result<(), EngineError> {
    if tenant.remote() {
        registry::forget_mirror(home.control.pool(), tenant.id).await.context("clearing the registry mirror")?;
    }
    let mut tx = home.pool(tenant).begin().await.context("starting the drop")?;
    if !try_lock(&mut tx, tenant, Some(settings)).await? {
        return Err(EngineError::Busy { org_id: tenant.org_id.clone() });
    }
    if let (Some(database), Some(pool)) = (&tenant.database, &home.database) {
        // No run holds the tenant, and none starts one on an ARCHIVED tenant: its database goes, with any
        // session still connected to it (WITH (FORCE), PostgreSQL 13 or newer).
        tx.rollback().await.context("releasing the tenant's lock")?;
        pool.close().await;
        tenant_database::drop_database(home.shard(tenant), &database.name)
            .await
            .context(format!("dropping database {}", database.name))?;
        return in_transaction(home.control.pool(), async |conn| record_drop(conn, tenant, run).await)
            .await
            .context("recording the drop in the registry");
    }
    drop_schema(&mut tx, tenant).await?;
    if tenant.remote() {
        tx.commit().await.context("committing the drop")?;
        return in_transaction(home.control.pool(), async |conn| record_drop(conn, tenant, run).await)
            .await
            .context("recording the drop in the registry");
    }
    record_drop(&mut tx, tenant, run).await.context("recording the drop in the registry")?;
    tx.commit().await.context("committing the drop")
}

/// Completes the run's audit row: one tenant, succeeded or failed.
async fn finish(db: &Database, run: &RunContext, succeeded: bool) -> Result<(), EngineError> {
    let summary = Summary { succeeded: usize::from(succeeded), failed: usize::from(!succeeded), ..Summary::default() };
    runs::finish(db.pool(), run.run_id, &summary, if succeeded { "succeeded" } else { "failed" }).await
}

async fn drop_schema(conn: &mut PgConnection, tenant: &Tenant) -> Result<(), EngineError> {
    let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", tenant.schema.quoted());
    sqlx::raw_sql(AssertSqlSafe(sql))
        .execute(&mut *conn)
        .await
        .context(format!("dropping schema {}", tenant.schema))?;
    if let Some(role) = &tenant.role {
        roles::drop_role(conn, role).await?;
    }
    Ok(())
}

/// Clears the mirror and notes when and by which run the schema was dropped.
async fn record_drop(conn: &mut PgConnection, tenant: &Tenant, run: &RunContext) -> Result<(), sqlx::Error> {
    query(
        "UPDATE public.tenants SET schema_version = NULL, migration_count = NULL, updated_at = clock_timestamp(), \
         role_name = NULL, note = format('%s %s%s dropped at %s by run %s', \
         CASE WHEN database_name IS NULL THEN 'schema' ELSE 'database' END, schema_name, \
         ' and role ' || role_name, clock_timestamp(), $2::text) WHERE id = $1",
    )
    .bind(tenant.id)
    .bind(run.run_id.to_string())
    .execute(conn)
    .await?;
    Ok(())
}
