//! The tenant registry, `public.tenants`: who the tenants are, their state, and the mirror of their
//! newest applied migration that lets a no-op fan-out finish in a constant number of queries.

use serde::Serialize;
use sqlx::{PgPool, Row, postgres::PgRow};
use tenantctl_migrations::MigrationSet;

use crate::statements::{in_transaction, query, query_as, query_scalar};
use crate::{EngineError, OrgId, SchemaName, error::Context};

/// A tenant's lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TenantStatus {
    /// Registered; its schema is being created (or a provision was interrupted).
    Provisioning,
    /// In service: every fan-out reaches it.
    Active,
    /// Its last migration or provisioning failed; `last_error` says why.
    Failed,
    /// Off-boarded: excluded from every fan-out.
    Archived,
    /// Being copied to another shard (`move-tenant`): excluded from every fan-out, read-only for the app.
    Moving,
}

impl TenantStatus {
    /// Every status, in display order.
    pub const ALL: [Self; 5] = [Self::Provisioning, Self::Active, Self::Failed, Self::Archived, Self::Moving];

    /// The text stored in the registry.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Provisioning => "PROVISIONING",
            Self::Active => "ACTIVE",
            Self::Failed => "FAILED",
            Self::Archived => "ARCHIVED",
            Self::Moving => "MOVING",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// A registry row.
#[derive(Debug, Clone, Serialize)]
pub struct Tenant {
    /// Registry id.
    pub id: i64,
    /// The org.
    pub org_id: OrgId,
    /// Its schema.
    pub schema: SchemaName,
    /// Its state.
    pub status: TenantStatus,
    /// Its own role (`provision-tenant --create-role`), which its migrations run as and which owns
    /// what they create; `None`: they run as the connecting user.
    pub role: Option<String>,
    /// The shard that holds its schema or database ([`crate::DEFAULT_SHARD`]: the control database's server).
    pub shard: String,
    /// Database isolation: its own database on its shard; `None`: its schema is in the shard's database.
    pub database: Option<TenantDatabase>,
}

/// Where a tenant of database isolation lives: its own database, and the schema in it that holds
/// its migrations and tracking table (recorded per tenant: the configured schema may change later).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TenantDatabase {
    /// The database's name (the tenant's identity `tid_<hash>`, as its schema name would be).
    pub name: String,
    /// The schema inside it (`public` unless configured otherwise).
    pub schema: SchemaName,
}

impl Tenant {
    /// Whether its transaction runs in another database than the registry's (another server, or
    /// its own database): its transaction and the registry update then cannot commit together.
    pub(crate) fn remote(&self) -> bool {
        self.shard != crate::DEFAULT_SHARD || self.database.is_some()
    }

    /// The schema its migrations run in: its own schema, or the configured one of its database.
    pub(crate) fn home(&self) -> &SchemaName {
        self.database.as_ref().map_or(&self.schema, |d| &d.schema)
    }

    /// How it is isolated.
    pub fn isolation(&self) -> Isolation {
        match self.database {
            None => Isolation::Schema,
            Some(_) => Isolation::Database,
        }
    }
}

/// How a tenant is isolated from the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Isolation {
    /// A schema of its own in its shard's database (the default).
    #[default]
    Schema,
    /// A database of its own on its shard.
    Database,
}

impl Isolation {
    /// The name used in configuration, flags and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Schema => "schema",
            Self::Database => "database",
        }
    }
}

/// Which tenants a fan-out visits.
#[derive(Debug, Clone)]
pub enum Selection {
    /// Every ACTIVE tenant, and FAILED ones too when `include_failed`.
    All {
        /// Also visit FAILED tenants.
        include_failed: bool,
    },
    /// Exactly these (each must be ACTIVE or FAILED).
    Named(Vec<OrgId>),
}

impl crate::fanout::Target for Tenant {
    fn org_id(&self) -> &OrgId {
        &self.org_id
    }

    fn schema(&self) -> &SchemaName {
        &self.schema
    }

    fn shard(&self) -> &str {
        &self.shard
    }
}

/// The registry columns [`tenant_from_row`] reads.
pub(crate) const COLUMNS: &str = "id, org_id, schema_name, status, role_name, shard, database_name, database_schema";

pub(crate) fn tenant_from_row(row: &PgRow) -> Result<Tenant, sqlx::Error> {
    let schema: String = row.try_get("schema_name")?;
    let status: String = row.try_get("status")?;
    Ok(Tenant {
        id: row.try_get("id")?,
        org_id: OrgId::from_registry(row.try_get("org_id")?),
        schema: SchemaName::new(&schema)
            .ok_or_else(|| sqlx::Error::Decode(format!("registry holds an invalid schema name `{schema}`").into()))?,
        status: TenantStatus::parse(&status)
            .ok_or_else(|| sqlx::Error::Decode(format!("registry holds an unknown status `{status}`").into()))?,
        role: row.try_get("role_name")?,
        shard: row.try_get("shard")?,
        database: database_from_row(row)?,
    })
}

fn database_from_row(row: &PgRow) -> Result<Option<TenantDatabase>, sqlx::Error> {
    let name: Option<String> = row.try_get("database_name")?;
    let schema: Option<String> = row.try_get("database_schema")?;
    let (Some(name), Some(schema)) = (name, schema) else { return Ok(None) };
    let schema = SchemaName::new(&schema).ok_or_else(|| {
        sqlx::Error::Decode(format!("registry holds an invalid database schema name `{schema}`").into())
    })?;
    Ok(Some(TenantDatabase { name, schema }))
}

/// Whether any tenant in the registry that is not ARCHIVED is a schema tenant: the gate then reads
/// tenant migrations the stricter way. An error (no registry yet, or an older one) is the caller's to
/// read the strict way.
pub async fn schema_tenants_in_use(db: &crate::Database) -> Result<bool, EngineError> {
    sqlx::raw_sql("SELECT EXISTS (SELECT FROM public.tenants WHERE database_name IS NULL AND status <> 'ARCHIVED')")
        .fetch_one(db.pool())
        .await
        .and_then(|row| row.try_get::<bool, _>(0))
        .context("reading the tenant registry")
}

/// The registry's mirror values for a tenant that has every migration of `set`.
pub(crate) fn up_to_date_mirror(set: &MigrationSet) -> (Option<i64>, i32) {
    (set.latest().map(|m| m.version.as_i64()), i32::try_from(set.len()).unwrap_or(i32::MAX))
}

/// The tenants a fan-out must visit, in registry order, and how many the mirror shows as already
/// up to date (`skip_up_to_date`; those are never connected to).
pub(crate) async fn targets(
    pool: &PgPool,
    selection: &Selection,
    skip_up_to_date: Option<&MigrationSet>,
) -> Result<(Vec<Tenant>, usize), EngineError> {
    match selection {
        Selection::Named(orgs) => named(pool, orgs).await.map(|t| (t, 0)),
        Selection::All { include_failed } => {
            let mut statuses = vec![TenantStatus::Active.as_str()];
            if *include_failed {
                statuses.push(TenantStatus::Failed.as_str());
            }
            let (latest, count) = skip_up_to_date.map(up_to_date_mirror).unzip();
            let filter = "status = ANY($1) AND ($2 = false OR schema_version IS DISTINCT FROM $3 \
                          OR migration_count IS DISTINCT FROM $4)";
            let sql = format!("SELECT {COLUMNS} FROM public.tenants WHERE {filter} ORDER BY created_at, id");
            let (rows, total) = in_transaction(pool, async |conn| {
                let rows = query(sqlx::AssertSqlSafe(sql))
                    .bind(&statuses)
                    .bind(skip_up_to_date.is_some())
                    .bind(latest.flatten())
                    .bind(count)
                    .fetch_all(&mut *conn)
                    .await?;
                let total: Option<i64> = match skip_up_to_date {
                    None => None,
                    Some(_) => Some(
                        query_scalar("SELECT count(*) FROM public.tenants WHERE status = ANY($1)")
                            .bind(&statuses)
                            .fetch_one(conn)
                            .await?,
                    ),
                };
                Ok((rows, total))
            })
            .await
            .context("reading the tenant registry")?;
            let tenants = rows
                .iter()
                .map(tenant_from_row)
                .collect::<Result<Vec<_>, _>>()
                .context("reading the tenant registry")?;
            let up_to_date = total.map_or(0, |t| usize::try_from(t).unwrap_or(0).saturating_sub(tenants.len()));
            Ok((tenants, up_to_date))
        }
    }
}

async fn named(pool: &PgPool, orgs: &[OrgId]) -> Result<Vec<Tenant>, EngineError> {
    let ids: Vec<&str> = orgs.iter().map(OrgId::as_str).collect();
    let sql = format!("SELECT {COLUMNS} FROM public.tenants WHERE org_id = ANY($1) ORDER BY created_at, id");
    let rows = in_transaction(pool, async |conn| query(sqlx::AssertSqlSafe(sql)).bind(&ids).fetch_all(conn).await)
        .await
        .context("reading the tenant registry")?;
    let tenants =
        rows.iter().map(tenant_from_row).collect::<Result<Vec<_>, _>>().context("reading the tenant registry")?;
    for org in orgs {
        match tenants.iter().find(|t| &t.org_id == org) {
            None => {
                return Err(EngineError::Tenant {
                    org_id: org.clone(),
                    problem: "is not in the registry (check the org id, or provision it first)".into(),
                });
            }
            Some(t) if !matches!(t.status, TenantStatus::Active | TenantStatus::Failed) => {
                return Err(EngineError::Tenant {
                    org_id: org.clone(),
                    problem: format!("is {}; only ACTIVE or FAILED tenants can be selected", t.status.as_str()),
                });
            }
            Some(_) => {}
        }
    }
    Ok(tenants)
}

/// The lowest registry mirror among these tenants (0 when one has nothing applied or is unknown).
pub(crate) async fn lowest_mirror(pool: &PgPool, tenants: &[Tenant]) -> Result<i64, EngineError> {
    let ids: Vec<i64> = tenants.iter().map(|t| t.id).collect();
    in_transaction(pool, async |conn| {
        query_scalar("SELECT coalesce(min(coalesce(schema_version, 0)), 0) FROM public.tenants WHERE id = ANY($1)")
            .bind(&ids)
            .fetch_one(conn)
            .await
    })
    .await
    .context("reading the tenant registry")
}

/// Marks a tenant FAILED with its error (after its transaction was rolled back), and returns the
/// message to report. Only while the row still names the shard the failure happened on and the
/// tenant is neither ARCHIVED nor MOVING: a failure on a copy that `move-tenant` has flipped away
/// from (e.g. its old database dropped under a run that read the registry before the move) says
/// nothing about the tenant.
pub(crate) async fn mark_failed(pool: &PgPool, tenant: &Tenant, error: String) -> String {
    let marked = in_transaction(pool, async |conn| {
        query(
            "UPDATE public.tenants SET status = 'FAILED', last_error = $2, updated_at = clock_timestamp() \
             WHERE id = $1 AND shard = $3 AND status NOT IN ('ARCHIVED', 'MOVING')",
        )
        .bind(tenant.id)
        .bind(&error)
        .bind(&tenant.shard)
        .execute(conn)
        .await
    })
    .await;
    match marked {
        Ok(done) if done.rows_affected() == 1 => error,
        Ok(_) => format!(
            "{error}; not marked FAILED: the tenant was moved, archived or is being moved since the run started \
             (see `tenantctl status --tenant {}`)",
            tenant.org_id
        ),
        Err(e) => format!("{error}; marking it FAILED also failed: {}", crate::error::describe(&e)),
    }
}

/// The tenant's status and shard now (read after its lock was taken on its shard: another run may
/// have finished, archived or moved it meanwhile).
pub(crate) async fn status_of(
    pool: &PgPool,
    tenant_id: i64,
) -> Result<(Option<TenantStatus>, Option<String>), sqlx::Error> {
    let row: Option<(String, String)> = in_transaction(pool, async |conn| {
        query_as("SELECT status, shard FROM public.tenants WHERE id = $1").bind(tenant_id).fetch_optional(conn).await
    })
    .await?;
    Ok(row.map_or((None, None), |(status, shard)| (TenantStatus::parse(&status), Some(shard))))
}

/// Sets the tenant's mirror to unknown (NULL), before a change on its shard that may lower it: the
/// mirror is never ahead of the tracking table, even when the process dies between the two commits.
pub(crate) async fn forget_mirror(pool: &PgPool, tenant_id: i64) -> Result<(), sqlx::Error> {
    in_transaction(pool, async |conn| {
        query(
            "UPDATE public.tenants SET schema_version = NULL, migration_count = NULL, \
             updated_at = clock_timestamp() WHERE id = $1",
        )
        .bind(tenant_id)
        .execute(conn)
        .await
    })
    .await?;
    Ok(())
}
