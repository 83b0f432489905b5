//! Off-boarding, governed: `archive-tenant` takes a tenant out of every fan-out and keeps its schema;
//! `drop-tenant` drops the schema of an ARCHIVED tenant, and its role if it has one, only when the caller
//! types the schema's name, and keeps the registry row (ARCHIVED, with a note). No other command drops a
//! schema or a role.

use serde::Serialize;
use sqlx::{AssertSqlSafe, Connection};

use crate::registry::{COLUMNS, Tenant, TenantStatus, tenant_from_row};
use crate::settings::{RunSettings, pg_duration};
use crate::statements::{in_transaction, query, query_as};
use crate::{Database, EngineError, OrgId, RunContext, Summary, error::Context, locks, roles, runs};

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

/// The tenant, refused for `command` when it lives on another shard.
async fn find(db: &Database, org: &OrgId, command: &str) -> Result<Tenant, EngineError> {
    let row = in_transaction(db.pool(), async |conn| {
        query(AssertSqlSafe(format!("SELECT {COLUMNS} FROM public.tenants WHERE org_id = $1")))
            .bind(org.as_str())
            .fetch_optional(conn)
            .await
    })
    .await
    .context("reading the registry")?
    .ok_or_else(|| EngineError::Tenant { org_id: org.clone(), problem: "is not in the registry".into() })?;
    let tenant = tenant_from_row(&row).context("reading the registry")?;
    tenant.require_local(command)?;
    Ok(tenant)
}

/// Sets the tenant ARCHIVED: excluded from every fan-out, schema kept.
pub async fn archive_tenant(db: &Database, org: &OrgId, run: &RunContext) -> Result<OffboardReport, EngineError> {
    let mut conn = db.pool().acquire().await.context("connecting")?;
    crate::bootstrap::require(&mut conn).await?;
    drop(conn);
    let mut tenant = find(db, org, "archive-tenant").await?;
    let changed = tenant.status != TenantStatus::Archived;
    if changed {
        runs::start(db.pool(), run).await?;
        let result = archive_locked(db, &tenant).await;
        finish(db, run, result.is_ok()).await?;
        result?;
        tenant.status = TenantStatus::Archived;
    }
    Ok(OffboardReport { run_id: run.run_id, tenant, changed })
}

/// Archives under the tenant's lock, so that no fan-out has the tenant in flight (its commit would
/// set the status back).
async fn archive_locked(db: &Database, tenant: &Tenant) -> Result<(), EngineError> {
    let mut tx = db.pool().begin().await.context("starting the archive")?;
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

/// Drops an ARCHIVED tenant's schema, and its role, when `confirm` is its schema name; the row stays, with a
/// note. The report's tenant is as it was before the drop.
pub async fn drop_tenant(
    db: &Database,
    org: &OrgId,
    confirm: &str,
    settings: &RunSettings,
    run: &RunContext,
) -> Result<OffboardReport, EngineError> {
    let mut conn = db.pool().acquire().await.context("connecting")?;
    crate::bootstrap::require(&mut conn).await?;
    let tenant = find(db, org, "drop-tenant").await?;
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
    runs::start(db.pool(), run).await?;
    let mut tx = conn.begin().await.context("starting the drop")?;
    let (locked,): (bool,) =
        query_as("SELECT pg_try_advisory_xact_lock($1) FROM (SELECT set_config('lock_timeout', $2, true)) s")
            .bind(locks::tenant(&tenant.schema))
            .bind(pg_duration(Some(settings.lock_timeout)))
            .fetch_one(&mut *tx)
            .await
            .context("locking the tenant")?;
    let result = match locked {
        false => Err(EngineError::Busy { org_id: org.clone() }),
        true => drop_locked(&mut tx, &tenant, run).await,
    };
    let outcome = match result {
        Ok(()) => tx.commit().await.context("committing the drop"),
        Err(e) => Err(e),
    };
    finish(db, run, outcome.is_ok()).await?;
    outcome?;
    Ok(OffboardReport { run_id: run.run_id, tenant, changed: true })
}

/// Completes the run's audit row: one tenant, succeeded or failed.
async fn finish(db: &Database, run: &RunContext, succeeded: bool) -> Result<(), EngineError> {
    let summary = Summary { succeeded: usize::from(succeeded), failed: usize::from(!succeeded), ..Summary::default() };
    runs::finish(db.pool(), run.run_id, &summary, if succeeded { "succeeded" } else { "failed" }).await
}

async fn drop_locked(conn: &mut sqlx::PgConnection, tenant: &Tenant, run: &RunContext) -> Result<(), EngineError> {
    let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", tenant.schema.quoted());
    sqlx::raw_sql(AssertSqlSafe(sql))
        .execute(&mut *conn)
        .await
        .context(format!("dropping schema {}", tenant.schema))?;
    if let Some(role) = &tenant.role {
        roles::drop_role(conn, role).await?;
    }
    query(
        "UPDATE public.tenants SET schema_version = NULL, migration_count = NULL, updated_at = clock_timestamp(), \
         role_name = NULL, note = format('schema %s%s dropped at %s by run %s', schema_name, \
         ' and role ' || role_name, clock_timestamp(), $2::text) WHERE id = $1",
    )
    .bind(tenant.id)
    .bind(run.run_id.to_string())
    .execute(conn)
    .await
    .context("recording the drop in the registry")?;
    Ok(())
}
