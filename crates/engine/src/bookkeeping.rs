//! The bookkeeping of one tenant step, in one statement: the tenant's tracking rows, the central
//! record of versions new to it, and the registry mirror. One round trip however many migrations
//! the step ran, and the same SQL text for every tenant, so that it is prepared once per
//! connection: the tracking table is named unqualified, and the caller has put the tenant's schema
//! first on the transaction's `search_path` (PostgreSQL re-analyses a prepared statement when the
//! `search_path` changes).

use sqlx::{AssertSqlSafe, PgConnection};
use tenantctl_migrations::Version;

use crate::central::Central;
use crate::registry::Tenant;
use crate::statements::query;
use crate::tracking::{Ran, columns};

/// The registry mirror of the tracking table: $1 the tenant, $2 its newest version, $3 how many it
/// has, $4 whether its whole plan is done (ACTIVE, error cleared).
const MIRROR: &str = "UPDATE public.tenants SET schema_version = $2, migration_count = $3, \
     updated_at = clock_timestamp(), status = CASE WHEN $4 THEN 'ACTIVE' ELSE status END, \
     last_error = CASE WHEN $4 THEN NULL ELSE last_error END WHERE id = $1";

/// What a step did to a tenant's history.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Change<'a> {
    /// These migrations ran, in this batch; `central` knows which versions are new to the fleet.
    Applied { ran: &'a [Ran<'a>], batch: i32, central: &'a Central },
    /// These versions were reverted.
    Reverted(&'a [Version]),
}

/// Records `change` on top of the tenant's `applied` versions, in the current transaction; with
/// `activate`, the tenant's whole plan is done and it becomes ACTIVE. `keep_prepared`: see
/// [`crate::RunSettings::keep_prepared`].
pub(crate) async fn record(
    conn: &mut PgConnection,
    tenant: &Tenant,
    applied: &[Version],
    change: Change<'_>,
    activate: bool,
    keep_prepared: bool,
) -> Result<(), sqlx::Error> {
    let now = after(applied, change);
    let newest = now.iter().max().map(|v| v.as_i64());
    let count = i32::try_from(now.len()).unwrap_or(i32::MAX);
    match change {
        Change::Applied { ran, batch, central } => {
            let (versions, names, checksums, durations) = columns(ran);
            let new: Vec<i64> = ran
                .iter()
                .map(|r| r.migration.version)
                .filter(|v| !central.contains(*v))
                .map(Version::as_i64)
                .collect();
            let sql = format!(
                "WITH ran (version, name, checksum, duration_ms) AS (
                     SELECT * FROM unnest($5::bigint[], $6::text[], $7::text[], $8::int[])),
                 tracked AS (
                     INSERT INTO tenantctl_migrations (version, name, checksum, batch, duration_ms)
                     SELECT version, name, checksum, $9, duration_ms FROM ran),
                 central AS (
                     INSERT INTO public.tenantctl_tenant_migrations (version, name, checksum)
                     SELECT version, name, checksum FROM ran WHERE version = ANY($10) ORDER BY version
                     ON CONFLICT (version) DO NOTHING)
                 {MIRROR}"
            );
            query(AssertSqlSafe(sql))
                .persistent(keep_prepared)
                .bind(tenant.id)
                .bind(newest)
                .bind(count)
                .bind(activate)
                .bind(versions)
                .bind(names)
                .bind(checksums)
                .bind(durations)
                .bind(batch)
                .bind(new)
                .execute(conn)
                .await?;
        }
        Change::Reverted(reverted) => {
            let sql = format!("WITH forgotten AS (DELETE FROM tenantctl_migrations WHERE version = ANY($5)) {MIRROR}");
            query(AssertSqlSafe(sql))
                .persistent(keep_prepared)
                .bind(tenant.id)
                .bind(newest)
                .bind(count)
                .bind(activate)
                .bind(reverted.iter().map(|v| v.as_i64()).collect::<Vec<_>>())
                .execute(conn)
                .await?;
        }
    }
    Ok(())
}

/// The versions a tenant has after `change`.
fn after(applied: &[Version], change: Change<'_>) -> Vec<Version> {
    match change {
        Change::Applied { ran, .. } => applied.iter().copied().chain(ran.iter().map(|r| r.migration.version)).collect(),
        Change::Reverted(reverted) => applied.iter().copied().filter(|v| !reverted.contains(v)).collect(),
    }
}
