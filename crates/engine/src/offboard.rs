//! Off-boarding, governed: `archive-tenant` takes a tenant out of every fan-out and keeps its schema;
//! `drop-tenant` drops the schema of an ARCHIVED tenant only when the caller types its name, and keeps
//! the registry row (ARCHIVED, with a note). No other command drops a schema.

use serde::Serialize;
use sqlx::{AssertSqlSafe, Connection};

use crate::registry::{Tenant, TenantStatus, tenant_from_row};
use crate::settings::{RunSettings, pg_duration};
use crate::statements::{in_transaction, query, query_as};
use crate::{Database, EngineError, OrgId, RunContext, Summary, error::Context, locks, runs};

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
        query("SELECT id, org_id, schema_name, status FROM public.tenants WHERE org_id = $1")
            .bind(org.as_str())
            .fetch_optional(conn)
            .await
    })
    .await
    .context("reading the registry")?
    .ok_or_else(|| EngineError::Tenant { org_id: org.clone(), problem: "is not in the registry".into() })?;
    tenant_from_row(&row).context("reading the registry")
}

/// Sets the tenant ARCHIVED: excluded from every fan-out, schema kept.
pub async fn archive_tenant(db: &Database, org: &OrgId, run: &RunContext) -> Result<OffboardReport, EngineError> {
    let mut conn = db.pool().acquire().await.context("connecting")?;
    crate::bootstrap::require(&mut conn).await?;
    drop(conn);
    let mut tenant = find(db, org).await?;
    let changed = tenant.status != TenantStatus::Archived;
    if changed {
        runs::start(db.pool(), run).await?;
        in_transaction(db.pool(), async |conn| {
            query("UPDATE public.tenants SET status = 'ARCHIVED', updated_at = clock_timestamp() WHERE id = $1")
                .bind(tenant.id)
                .execute(conn)
                .await
        })
        .await
        .context("archiving the tenant")?;
        runs::finish(db.pool(), run.run_id, &Summary { succeeded: 1, ..Summary::default() }, "succeeded").await?;
        tenant.status = TenantStatus::Archived;
    }
    Ok(OffboardReport { run_id: run.run_id, tenant, changed })
}

/// Drops an ARCHIVED tenant's schema when `confirm` is its schema name; the row stays, with a note.
pub async fn drop_tenant(
    db: &Database,
    org: &OrgId,
    confirm: &str,
    settings: &RunSettings,
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
        false => Err(EngineError::Tenant { org_id: org.clone(), problem: "is held by another tenantctl run".into() }),
        true => drop_locked(&mut tx, &tenant, run).await,
    };
    let outcome = match result {
        Ok(()) => tx.commit().await.context("committing the drop").map(|()| "succeeded"),
        Err(e) => Err(e),
    };
    let summary = Summary {
        succeeded: usize::from(outcome.is_ok()),
        failed: usize::from(outcome.is_err()),
        ..Summary::default()
    };
    runs::finish(db.pool(), run.run_id, &summary, outcome.as_ref().map_or("failed", |o| o)).await?;
    outcome?;
    Ok(OffboardReport { run_id: run.run_id, tenant, changed: true })
}

async fn drop_locked(conn: &mut sqlx::PgConnection, tenant: &Tenant, run: &RunContext) -> Result<(), EngineError> {
    let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", tenant.schema.quoted());
    sqlx::raw_sql(AssertSqlSafe(sql))
        .execute(&mut *conn)
        .await
        .context(format!("dropping schema {}", tenant.schema))?;
    query(
        "UPDATE public.tenants SET schema_version = NULL, migration_count = NULL, updated_at = clock_timestamp(), \
         note = format('schema %s dropped at %s by run %s', schema_name, clock_timestamp(), $2::text) WHERE id = $1",
    )
    .bind(tenant.id)
    .bind(run.run_id.to_string())
    .execute(conn)
    .await
    .context("recording the drop in the registry")?;
    Ok(())
}
