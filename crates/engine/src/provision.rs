//! `provision-tenant`: place each new org on a shard, register it there (PROVISIONING), then in one
//! transaction on its shard create the schema (and, with `--create-role`, the tenant's role), apply
//! every tenant migration and mark it ACTIVE (on another shard than the registry: ACTIVE after that
//! transaction committed). A failure rolls that transaction back and marks the tenant FAILED; a rerun
//! resumes FAILED and PROVISIONING tenants.

use sqlx::{AssertSqlSafe, PgConnection, PgPool};
use tenantctl_migrations::MigrationSet;

use crate::error::describe;
use crate::fanout::{Budget, FanoutControl, Target, untouched};
use crate::recycle::Recycler;
use crate::registry::{self, COLUMNS, Isolation, Tenant, TenantDatabase, TenantStatus, tenant_from_row};
use crate::runner::{self, Direction, Job};
use crate::sharded::{ShardPools, fan_out_shards};
use crate::statements::{in_transaction, per_tenant, query};
use crate::tenants::{FanoutReport, Recorded, run_recorded};
use crate::{
    Database, EngineError, Gate, OrgId, Outcome, Reporter, RunContext, RunSettings, SchemaName, SchemaNaming,
    ShardTarget, TenantResult, TenantRoles, bootstrap, central::Central, error::Context, extensions, placement, roles,
    tenant_database,
};

/// Everything provisioning needs besides the database.
#[derive(Debug)]
pub struct ProvisionRequest<'a> {
    /// The tenant migration set.
    pub set: &'a MigrationSet,
    /// The orgs, already validated.
    pub orgs: &'a [OrgId],
    /// How schema names are derived.
    pub naming: &'a SchemaNaming,
    /// Extensions to ensure in `public`.
    pub extensions: &'a [String],
    /// Whether new tenants get a role of their own.
    pub roles: &'a TenantRoles,
    /// Migrations the linter blocks: checked for those never applied to any tenant yet.
    pub gate: &'a Gate,
    /// Concurrency, timeouts, retries.
    pub settings: &'a RunSettings,
    /// Failure budget and cancellation.
    pub control: &'a FanoutControl,
    /// Audit context.
    pub run: &'a RunContext,
    /// The configured shards.
    pub shards: &'a [ShardTarget],
    /// How new tenants are isolated: a schema each, or a database each (`database_schema` in it).
    pub isolation: Isolation,
    /// Database isolation: the schema inside each new tenant's database that holds its migrations.
    pub database_schema: &'a SchemaName,
    /// The shard new orgs go to (`--shard`, a configured shard or `default`); `None`: the configured
    /// shard with the fewest tenants, or `default` when none is configured.
    pub shard: Option<&'a str>,
}

struct NewTenant {
    org_id: OrgId,
    schema: SchemaName,
    shard: String,
    database: Option<TenantDatabase>,
}

impl Target for NewTenant {
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

/// Provisions the orgs concurrently. Re-provisioning an ACTIVE org is skipped.
pub async fn provision(
    db: &Database,
    request: ProvisionRequest<'_>,
    reporter: &dyn Reporter,
) -> Result<FanoutReport, EngineError> {
    if request.isolation == Isolation::Database && request.roles.create {
        return Err(EngineError::TenantRoles(
            "tenant roles are not available with database isolation: the database separates the tenant".into(),
        ));
    }
    let mut conn = db.pool().acquire().await.context("connecting")?;
    bootstrap::require(&mut conn).await?;
    let central = Central::load(db.pool()).await?;
    central.check(request.set, true)?;
    request.gate.check(request.set.iter().map(|m| m.version).filter(|v| !central.contains(*v)))?;
    roles::check(&mut conn, request.roles).await?;
    // A new tenant gets every migration.
    request.settings.check_sessions(request.set.iter().map(|m| &m.up))?;
    extensions::ensure(db.pool(), &mut conn, request.extensions, reporter).await?;
    drop(conn);
    let mut orgs: Vec<OrgId> = Vec::with_capacity(request.orgs.len());
    for org in request.orgs {
        if !orgs.contains(org) {
            orgs.push(org.clone());
        }
    }
    let shards = placement::place(db.pool(), &orgs, request.shards, request.shard).await?;
    let targets: Vec<NewTenant> = orgs
        .into_iter()
        .zip(shards)
        .map(|(org_id, shard)| {
            let schema = request.naming.schema_for(&org_id);
            // The database is named like the schema would be: one hash identity for both kinds.
            let database = (request.isolation == Isolation::Database)
                .then(|| TenantDatabase { name: schema.as_str().to_owned(), schema: request.database_schema.clone() });
            NewTenant { schema, org_id, shard, database }
        })
        .collect();
    let needed = targets.iter().map(|t| t.shard.as_str());
    ShardPools::scoped(db, request.shards, needed, async |pools| {
        provision_on(db, pools, &request, &central, &targets, reporter).await
    })
    .await
}

async fn provision_on(
    db: &Database,
    pools: &ShardPools<'_>,
    request: &ProvisionRequest<'_>,
    central: &Central,
    targets: &[NewTenant],
    reporter: &dyn Reporter,
) -> Result<FanoutReport, EngineError> {
    pools.ensure_extensions(request.extensions, reporter).await?;
    pools.check_roles(request.roles).await?;
    let create_schema = Some(request.roles);
    let direction = Direction::Up { create_schema, allow_out_of_order: true, central, phase: None };
    let recycler = Recycler::new(request.settings.connection_max_tenants);
    let job = Job {
        pool: db.pool(),
        control: db.pool(),
        set: request.set,
        settings: request.settings,
        direction,
        reporter,
        recycler: &recycler,
        plan_only: false,
    };
    let control = request.control;
    let budget = Budget::new(control);
    let concurrency = request.settings.concurrency;
    let recorded = Recorded { dry_run: false, total: targets.len(), up_to_date: 0, sharded: pools.configured() };
    run_recorded(db, request.run, recorded, control, reporter, || {
        fan_out_shards(
            targets,
            pools,
            concurrency,
            |c| c,
            &budget,
            reporter,
            move |pool, t| provision_one(Job { pool, ..job }, t, request.extensions),
        )
    })
    .await
}

async fn provision_one(job: Job<'_>, new: &NewTenant, extensions: &[String]) -> TenantResult {
    let finished = |outcome, error: Option<String>, reason: Option<&str>| {
        untouched(new, outcome, error, reason.map(str::to_owned))
    };
    // Looked up before registering: a database that exists before the org has a row is not ours (ours
    // is created only after its row). Looked up after, it might be one that a concurrent run
    // provisioning the same org has just created.
    let found_before = match &new.database {
        None => false,
        Some(d) => match tenant_database::exists(job.pool, &d.name).await {
            Ok(found) => found,
            Err(e) => {
                let error = format!("looking up database {} on shard {}: {}", d.name, new.shard, describe(&e));
                return finished(Outcome::Failed, Some(error), None);
            }
        },
    };
    match register(job.control, new, job.settings).await {
        Err(e) => finished(Outcome::Failed, Some(format!("registering the tenant: {}", describe(&e))), None),
        Ok(Registered::Collision { owner }) => finished(
            Outcome::Failed,
            Some(format!(
                "schema {} derived from org `{}` already belongs to org `{owner}` (hash collision): \
                 the new org was not registered; raise schema_hash_len",
                new.schema, new.org_id
            )),
            None,
        ),
        Ok(Registered::Existing(t)) if t.status == TenantStatus::Active => {
            finished(Outcome::Skipped, None, Some("already provisioned and ACTIVE"))
        }
        Ok(Registered::Existing(t)) if t.status == TenantStatus::Archived => {
            finished(Outcome::Skipped, None, Some("ARCHIVED: not provisioned again"))
        }
        Ok(Registered::Existing(t)) if t.status == TenantStatus::Moving => {
            finished(Outcome::Skipped, None, Some("MOVING to another shard: finish or abort the move first"))
        }
        Ok(Registered::Existing(t)) if t.shard != new.shard => finished(
            Outcome::Failed,
            Some(format!("registered on shard {} by another run meanwhile: provision it again", t.shard)),
            None,
        ),
        Ok(Registered::New(tenant)) if found_before => {
            finished(Outcome::Failed, Some(foreign(job, &tenant).await), None)
        }
        Ok(Registered::Existing(tenant) | Registered::New(tenant)) if tenant.database.is_some() => {
            provision_database(job, &tenant, extensions).await
        }
        Ok(Registered::Existing(tenant) | Registered::New(tenant)) => runner::run(job, &tenant).await,
    }
}

/// A database of the new tenant's name was on its shard before the org had a row: it is not ours. The
/// row just inserted is removed again, and the org refused.
async fn foreign(job: Job<'_>, tenant: &Tenant) -> String {
    let name = tenant.database.as_ref().map_or(tenant.schema.as_str(), |d| d.name.as_str());
    let forgotten = in_transaction(job.control, async |conn| {
        query("DELETE FROM public.tenants WHERE id = $1 AND status = 'PROVISIONING'")
            .bind(tenant.id)
            .execute(conn)
            .await
    })
    .await;
    let also = forgotten.err().map(|e| format!("; removing its registry row also failed: {}", describe(&e)));
    format!(
        "database {name} already exists on shard {} but belongs to no tenant of this registry (made by hand, or \
         another registry's tenant): the org was not registered; drop or rename that database, or give this \
         registry its own schema_prefix{}",
        tenant.shard,
        also.unwrap_or_default()
    )
}

/// Creates (or, resuming, reuses) the tenant's database, then runs its migrations there; a failure to
/// create it marks the tenant FAILED, as a failing migration does.
async fn provision_database(job: Job<'_>, tenant: &Tenant, extensions: &[String]) -> TenantResult {
    let started = std::time::Instant::now();
    match tenant_database::create(job.pool, tenant, extensions, job.reporter).await {
        Ok(()) => runner::run(job, tenant).await,
        Err(failure) => {
            let message = registry::mark_failed(job.control, tenant, failure.message).await;
            TenantResult { elapsed: started.elapsed(), ..untouched(tenant, Outcome::Failed, Some(message), None) }
        }
    }
}

enum Registered {
    New(Tenant),
    Existing(Tenant),
    Collision { owner: String },
}

/// Inserts the registry row (PROVISIONING), or finds the org's row, or the other org owning its schema.
async fn register(pool: &PgPool, new: &NewTenant, settings: &RunSettings) -> Result<Registered, sqlx::Error> {
    per_tenant(pool, settings, async |conn| register_in(conn, new, settings.keep_prepared()).await).await
}

async fn register_in(conn: &mut PgConnection, new: &NewTenant, keep_prepared: bool) -> Result<Registered, sqlx::Error> {
    let insert = format!(
        "INSERT INTO public.tenants (org_id, schema_name, shard, database_name, database_schema) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING {COLUMNS}"
    );
    let inserted = query(AssertSqlSafe(insert))
        .persistent(keep_prepared)
        .bind(new.org_id.as_str())
        .bind(new.schema.as_str())
        .bind(&new.shard)
        .bind(new.database.as_ref().map(|d| d.name.as_str()))
        .bind(new.database.as_ref().map(|d| d.schema.as_str()))
        .fetch_optional(&mut *conn)
        .await?;
    if let Some(row) = inserted {
        return tenant_from_row(&row).map(Registered::New);
    }
    let select = format!("SELECT {COLUMNS} FROM public.tenants WHERE org_id = $1 OR schema_name = $2");
    let rows = query(AssertSqlSafe(select)).bind(new.org_id.as_str()).bind(new.schema.as_str()).fetch_all(conn).await?;
    let tenants = rows.iter().map(tenant_from_row).collect::<Result<Vec<_>, _>>()?;
    if let Some(own) = tenants.iter().find(|t| t.org_id == new.org_id) {
        return Ok(Registered::Existing(own.clone()));
    }
    match tenants.into_iter().next() {
        Some(other) => Ok(Registered::Collision { owner: other.org_id.to_string() }),
        None => Err(sqlx::Error::RowNotFound),
    }
}
