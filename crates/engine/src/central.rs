//! `public.tenantctl_tenant_migrations`: every tenant migration as first applied anywhere, so an
//! edited file is caught before any tenant is touched.

use std::collections::BTreeMap;

use sqlx::{PgPool, Row};
use tenantctl_migrations::{MigrationSet, Version};

use crate::{EngineError, error::Context};

/// The versions recorded centrally, with their checksums (hex).
#[derive(Debug, Clone, Default)]
pub(crate) struct Central {
    recorded: BTreeMap<Version, String>,
}

impl Central {
    pub(crate) async fn load(pool: &PgPool) -> Result<Self, EngineError> {
        let reading = "reading public.tenantctl_tenant_migrations";
        let rows = sqlx::raw_sql("SELECT version, checksum FROM public.tenantctl_tenant_migrations")
            .fetch_all(pool)
            .await
            .context(reading)?;
        let mut recorded = BTreeMap::new();
        for row in rows {
            let (version, checksum): (i64, String) =
                (row.try_get(0).context(reading)?, row.try_get(1).context(reading)?);
            if let Some(version) = Version::from_i64(version) {
                recorded.insert(version, checksum);
            }
        }
        Ok(Self { recorded })
    }

    /// Whether this version was ever applied to a tenant.
    pub(crate) fn contains(&self, version: Version) -> bool {
        self.recorded.contains_key(&version)
    }

    /// Refuses files that differ from what was applied, an applied version whose file is gone, and
    /// a new file older than the newest applied version (unless out-of-order is allowed).
    pub(crate) fn check(&self, set: &MigrationSet, allow_out_of_order: bool) -> Result<(), EngineError> {
        for (version, checksum) in &self.recorded {
            let Some(m) = set.get(*version) else {
                return Err(tenantctl_migrations::PlanError::MissingFile { version: *version }.into());
            };
            if &m.checksum.to_hex() != checksum {
                return Err(EngineError::CentralChecksum { version: *version, path: m.up.path.display().to_string() });
            }
        }
        if let Some(&newest) = self.recorded.keys().next_back()
            && !allow_out_of_order
            && let Some(old) = set.iter().find(|m| m.version < newest && !self.recorded.contains_key(&m.version))
        {
            return Err(tenantctl_migrations::PlanError::OutOfOrder {
                pending: old.version,
                path: old.up.path.clone(),
                applied: newest,
            }
            .into());
        }
        Ok(())
    }
}

/// After a rollback: forget central records of versions no tenant can still have, so a reverted
/// migration may be edited and applied again. Conservative: nothing is forgotten while any live
/// tenant's mirror is unknown.
pub(crate) async fn forget_unapplied(pool: &PgPool) -> Result<(), EngineError> {
    sqlx::raw_sql(
        "DELETE FROM public.tenantctl_tenant_migrations
          WHERE version > (SELECT coalesce(max(schema_version), 0) FROM public.tenants)
            AND NOT EXISTS (SELECT 1 FROM public.tenants
                             WHERE schema_version IS NULL AND coalesce(migration_count, 1) <> 0
                               AND status <> 'ARCHIVED')",
    )
    .execute(pool)
    .await
    .context("updating public.tenantctl_tenant_migrations")?;
    Ok(())
}
