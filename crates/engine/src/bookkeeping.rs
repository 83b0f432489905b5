//! The bookkeeping of one tenant step, in one statement: the tenant's tracking rows, the central
//! record of versions new to it, and the registry mirror. One round trip however many migrations
//! the step ran, and the same SQL text for every tenant, so that it is prepared once per
//! connection: the tracking table is named unqualified, and the caller has put the tenant's schema
//! first on the transaction's `search_path` (PostgreSQL re-analyses a prepared statement when the
//! `search_path` changes).

use sqlx::postgres::PgArguments;
use sqlx::{AssertSqlSafe, PgConnection, PgPool, Postgres};
use tenantctl_migrations::Version;

use crate::central::Central;
use crate::registry::Tenant;
use crate::statements::{in_transaction, query};
use crate::tracking::{Ran, columns};

type Query<'q> = sqlx::query::Query<'q, Postgres, PgArguments>;

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
/// [`crate::RunSettings::keep_prepared`]. A tenant on another shard than the registry gets only its
/// tracking rows here: the registry's part comes back as a [`Mirror`], to be written on the control
/// database once this transaction has committed (so that the mirror is never ahead of the tracking
/// table, whatever happens between the two commits).
pub(crate) async fn record(
    conn: &mut PgConnection,
    tenant: &Tenant,
    applied: &[Version],
    change: Change<'_>,
    activate: bool,
    keep_prepared: bool,
) -> Result<Option<Mirror>, sqlx::Error> {
    let now = after(applied, change);
    let mut mirror = Mirror {
        tenant_id: tenant.id,
        newest: now.iter().max().map(|v| v.as_i64()),
        count: i32::try_from(now.len()).unwrap_or(i32::MAX),
        activate,
        central: (Vec::new(), Vec::new(), Vec::new()),
    };
    match change {
        Change::Applied { ran, batch, central } => {
            let (versions, names, checksums, durations) = columns(ran);
            let new: Vec<Ran<'_>> = ran.iter().filter(|r| !central.contains(r.migration.version)).copied().collect();
            if tenant.remote() {
                let (new_versions, new_names, new_checksums, _) = columns(&new);
                mirror.central = (new_versions, new_names, new_checksums);
                if !ran.is_empty() {
                    query(
                        "INSERT INTO tenantctl_migrations (version, name, checksum, batch, duration_ms)
                         SELECT version, name, checksum, $5, duration_ms
                           FROM unnest($1::bigint[], $2::text[], $3::text[], $4::int[])
                             AS ran (version, name, checksum, duration_ms)",
                    )
                    .persistent(keep_prepared)
                    .bind(versions)
                    .bind(names)
                    .bind(checksums)
                    .bind(durations)
                    .bind(batch)
                    .execute(conn)
                    .await?;
                }
                return Ok(Some(mirror));
            }
            let new: Vec<i64> = new.iter().map(|r| r.migration.version.as_i64()).collect();
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
            mirror
                .bind(query(AssertSqlSafe(sql)).persistent(keep_prepared))
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
            let reverted: Vec<i64> = reverted.iter().map(|v| v.as_i64()).collect();
            if tenant.remote() {
                if !reverted.is_empty() {
                    query("DELETE FROM tenantctl_migrations WHERE version = ANY($1)")
                        .persistent(keep_prepared)
                        .bind(reverted)
                        .execute(conn)
                        .await?;
                }
                return Ok(Some(mirror));
            }
            let sql = format!("WITH forgotten AS (DELETE FROM tenantctl_migrations WHERE version = ANY($5)) {MIRROR}");
            mirror.bind(query(AssertSqlSafe(sql)).persistent(keep_prepared)).bind(reverted).execute(conn).await?;
        }
    }
    Ok(None)
}

/// The registry's part of a step on a tenant of another shard: its mirror and ACTIVE status, and the
/// central record of the versions new to the fleet. Written after the shard's commit.
#[derive(Debug)]
pub(crate) struct Mirror {
    tenant_id: i64,
    newest: Option<i64>,
    count: i32,
    activate: bool,
    central: (Vec<i64>, Vec<String>, Vec<String>),
}

impl Mirror {
    /// Binds [`MIRROR`]'s first four parameters.
    fn bind<'q>(&self, q: Query<'q>) -> Query<'q> {
        q.bind(self.tenant_id).bind(self.newest).bind(self.count).bind(self.activate)
    }

    /// Writes it on the control database.
    pub(crate) async fn write(self, pool: &PgPool) -> Result<(), sqlx::Error> {
        let sql = format!(
            "WITH central AS (
                 INSERT INTO public.tenantctl_tenant_migrations (version, name, checksum)
                 SELECT * FROM unnest($5::bigint[], $6::text[], $7::text[]) ORDER BY 1
                 ON CONFLICT (version) DO NOTHING)
             {MIRROR}"
        );
        let (versions, names, checksums) = &self.central;
        in_transaction(pool, async |conn| {
            self.bind(query(AssertSqlSafe(sql))).bind(versions).bind(names).bind(checksums).execute(conn).await
        })
        .await?;
        Ok(())
    }
}
/// The versions a tenant has after `change`.
fn after(applied: &[Version], change: Change<'_>) -> Vec<Version> {
    match change {
        Change::Applied { ran, .. } => applied.iter().copied().chain(ran.iter().map(|r| r.migration.version)).collect(),
        Change::Reverted(reverted) => applied.iter().copied().filter(|v| !reverted.contains(v)).collect(),
    }
}
