//! `move-tenant`: moves a tenant's schema (or, for database isolation, its own database) to another
//! shard. Under the tenant's lock on its source shard, the registry marks it MOVING (out of every
//! fan-out; the app treats it as read-only); the schema is copied (`pg_dump | pg_restore`, all or
//! nothing), both copies are compared (structure, rows, checksums, sequences), and one statement
//! flips the registry row to the target, ACTIVE. The source copy stays (recorded in `moved_from`)
//! unless `--drop-source`. A killed move stays MOVING: the same command resumes it (a copy on the
//! target is compared, and kept or made again), and `--abort` drops the target's copy and returns
//! the tenant to its source. A tenant of its own database is moved the same way, its database being
//! the copy: its lock is taken in its database on the source, the target's database is made only
//! once the registry says MOVING there (so a database of that name there is this move's), and the
//! whole database is dumped and restored into it.

use std::time::Instant;

use serde::Serialize;
use sqlx::{AssertSqlSafe, PgPool};

use crate::contents::{self, TableCheck};
use crate::locks::HeldLock;
use crate::registry::{COLUMNS, Tenant, TenantStatus, tenant_from_row};
use crate::schema_copy::{self, Dumped, PgTools};
use crate::settings::pg_duration;
use crate::sharded::ShardPools;
use crate::statements::{in_transaction, query};
use crate::{
    ConnectSettings, DEFAULT_SHARD, Database, EngineError, OrgId, RunContext, RunSettings, ShardTarget, Silent,
    Summary, error::Context, extensions, roles, runs, tenant_database,
};

/// What `move-tenant` is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoveAction {
    /// Move (or resume the move) to this shard; with `drop_source`, drop the source's copy after the flip.
    To {
        /// The target shard.
        shard: String,
        /// Drop the source's copy after the flip.
        drop_source: bool,
    },
    /// Roll back a move in progress: drop the target's copy, ACTIVE on the source again.
    Abort,
    /// Drop the copy an earlier move left on its old shard.
    DropLeftover,
}

/// Everything `move-tenant` needs.
#[derive(Debug)]
pub struct MoveRequest<'a> {
    /// The tenant.
    pub org: &'a OrgId,
    /// What to do.
    pub action: MoveAction,
    /// The configured shards.
    pub shards: &'a [ShardTarget],
    /// How to reach the control database (for the client programs when a copy is on `default`).
    pub control: &'a ConnectSettings,
    /// pg_dump and pg_restore.
    pub tools: &'a PgTools,
    /// Extensions to ensure on the target before the copy.
    pub extensions: &'a [String],
    /// `lock_timeout`: how long to wait for a run that holds the tenant.
    pub settings: &'a RunSettings,
    /// The run, for the audit trail.
    pub run: &'a RunContext,
}

/// What `move-tenant` did.
#[derive(Debug, Clone, Serialize)]
pub struct MoveReport {
    /// The run's id.
    pub run_id: uuid::Uuid,
    /// The org.
    pub org_id: OrgId,
    /// Its schema.
    pub schema: String,
    /// What was done.
    pub outcome: MoveOutcome,
    /// The shard the tenant was on.
    pub from: String,
    /// The shard it is on now.
    pub to: String,
    /// Whether a move in progress was resumed.
    pub resumed: bool,
    /// Whether the copy on the target was made by this run (false: an earlier run's, found equal).
    pub copied: bool,
    /// The tables compared, with their rows and checksums.
    pub tables: Vec<TableCheck>,
    /// The shard that still holds the old copy, if any.
    pub source_copy_on: Option<String>,
    /// Milliseconds this run kept the tenant MOVING (the app's read-only window).
    pub moving_ms: u128,
}

/// What a `move-tenant` run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MoveOutcome {
    /// The tenant is ACTIVE on the target.
    Moved,
    /// The move in progress was rolled back: ACTIVE on its source, no copy on the target.
    Aborted,
    /// The copy an earlier move left on its old shard was dropped.
    Dropped,
}

/// A registry row with the move's columns.
struct Row {
    tenant: Tenant,
    moving_to: Option<String>,
    moved_from: Option<String>,
}

/// Runs `move-tenant`.
pub async fn move_tenant(db: &Database, request: MoveRequest<'_>) -> Result<MoveReport, EngineError> {
    let mut conn = db.pool().acquire().await.context("connecting")?;
    crate::bootstrap::require(&mut conn).await?;
    drop(conn);
    let row = find(db.pool(), request.org).await?;
    let (from, to, resumed) = plan(&row, &request)?;
    for name in [&from, &to] {
        if *name != DEFAULT_SHARD {
            ShardTarget::find(request.shards, name).map_err(|problem| refuse(request.org, problem))?;
        }
    }
    ShardPools::scoped(db, request.shards, [from.as_str(), to.as_str()], async |pools| {
        let (source, target) = (pools.pool(&from)?, pools.pool(&to)?);
        // The database of the live copy, where its lock is taken (a leftover's drop takes none).
        let live = match request.action {
            MoveAction::DropLeftover => Place::Shard(source),
            _ => Place::open(source, &row.tenant, &from).await?,
        };
        runs::start(db.pool(), request.run).await?;
        let ends = Ends { control: db.pool(), source, live: live.pool(), target, from: &from, to: &to };
        let result = match &request.action {
            MoveAction::To { drop_source, .. } => move_locked(&ends, &row, &request, resumed, *drop_source).await,
            MoveAction::Abort => abort(&ends, &row, &request).await,
            MoveAction::DropLeftover => drop_leftover(&ends, &row, &request).await,
        };
        live.close().await;
        let summary = Summary {
            succeeded: usize::from(result.is_ok()),
            failed: usize::from(result.is_err()),
            ..Summary::default()
        };
        runs::finish(db.pool(), request.run.run_id, &summary, if result.is_ok() { "succeeded" } else { "failed" })
            .await?;
        result
    })
    .await
}

/// The source and target of the work, as shard names and the shards' pools.
struct Ends<'p> {
    control: &'p PgPool,
    source: &'p PgPool,
    /// The database of the source's copy: the source shard's, or the tenant's own there.
    live: &'p PgPool,
    target: &'p PgPool,
    from: &'p str,
    to: &'p str,
}

/// Where one copy of a tenant lives: in the shard's database (a schema tenant), or in the tenant's
/// own database on that shard, on a pool of its own that is closed when the work is done.
enum Place<'p> {
    Shard(&'p PgPool),
    Own(PgPool),
}

impl<'p> Place<'p> {
    /// The tenant's copy on `shard` (named `name`), which must exist.
    async fn open(shard: &'p PgPool, tenant: &Tenant, name: &str) -> Result<Self, EngineError> {
        let Some(database) = &tenant.database else { return Ok(Self::Shard(shard)) };
        // Three connections: the tenant's lock holds one while the copy is read on others.
        match tenant_database::open_with(shard, &database.name, 3).await {
            Ok(pool) => Ok(Self::Own(pool)),
            Err(e) if tenant_database::is_missing(&e) => Err(EngineError::Tenant {
                org_id: tenant.org_id.clone(),
                problem: format!("has no database {} on shard {name} (dropped by hand?)", database.name),
            }),
            Err(e) => Err(e).context(format!("connecting to database {} on shard {name}", database.name)),
        }
    }

    fn pool(&self) -> &PgPool {
        match self {
            Self::Shard(pool) => pool,
            Self::Own(pool) => pool,
        }
    }

    async fn close(self) {
        if let Self::Own(pool) = self {
            pool.close().await;
        }
    }
}

/// What a copy of the tenant is, for messages: its schema, or its database.
fn copy_name(tenant: &Tenant) -> String {
    match &tenant.database {
        Some(database) => format!("database {}", database.name),
        None => format!("schema {}", tenant.schema),
    }
}

/// Whether the shard holds a copy of the tenant (its schema, or its database).
async fn copy_exists(shard: &PgPool, tenant: &Tenant) -> Result<bool, EngineError> {
    match &tenant.database {
        Some(database) => tenant_database::exists(shard, &database.name)
            .await
            .context(format!("looking for database {}", database.name)),
        None => contents::schema_exists(shard, &tenant.schema).await,
    }
}

fn refuse(org: &OrgId, problem: impl Into<String>) -> EngineError {
    EngineError::Tenant { org_id: org.clone(), problem: problem.into() }
}

/// Checks the request against the registry row: the shards it works on, and whether it resumes.
fn plan(row: &Row, request: &MoveRequest<'_>) -> Result<(String, String, bool), EngineError> {
    let (org, tenant) = (request.org, &row.tenant);
    let here = tenant.shard.clone();
    match (&request.action, tenant.status, row.moving_to.as_deref()) {
        (MoveAction::To { shard, .. }, TenantStatus::Moving, Some(going)) if going == shard => {
            Ok((here, shard.clone(), true))
        }
        (MoveAction::To { .. } | MoveAction::DropLeftover, TenantStatus::Moving, going) => Err(refuse(
            org,
            format!("is MOVING to shard {}: resume with `--to {0}`, or roll back with `--abort`", going.unwrap_or("?")),
        )),
        (MoveAction::To { shard, .. }, TenantStatus::Active, _) if *shard == here => {
            Err(refuse(org, format!("is already on shard {here}")))
        }
        (MoveAction::To { .. }, TenantStatus::Active, _) if row.moved_from.is_some() => Err(refuse(
            org,
            format!(
                "still has the copy an earlier move left on shard {}: drop it first (`tenantctl move-tenant {org} \
                 --drop-source`)",
                row.moved_from.as_deref().unwrap_or_default()
            ),
        )),
        (MoveAction::To { shard, .. }, TenantStatus::Active, _) => Ok((here, shard.clone(), false)),
        (MoveAction::Abort, TenantStatus::Moving, Some(going)) => Ok((here, going.to_owned(), true)),
        (MoveAction::Abort, status, _) => {
            Err(refuse(org, format!("has no move in progress to abort (it is {} on shard {here})", status.as_str())))
        }
        (MoveAction::DropLeftover, TenantStatus::Active, _) => match &row.moved_from {
            Some(old) if *old != here => Ok((old.clone(), here, false)),
            _ => Err(refuse(org, format!("has no copy left by an earlier move (it is on shard {here})"))),
        },
        (_, status, _) => Err(refuse(
            org,
            format!(
                "is {}; only an ACTIVE tenant can be moved (a FAILED one must be migrated successfully first)",
                status.as_str()
            ),
        )),
    }
}

async fn find(pool: &PgPool, org: &OrgId) -> Result<Row, EngineError> {
    let sql = format!("SELECT {COLUMNS}, moving_to, moved_from FROM public.tenants WHERE org_id = $1");
    let row =
        in_transaction(pool, async |conn| query(AssertSqlSafe(sql)).bind(org.as_str()).fetch_optional(conn).await)
            .await
            .context("reading the registry")?
            .ok_or_else(|| refuse(org, "is not in the registry"))?;
    let read = || -> Result<Row, sqlx::Error> {
        use sqlx::Row as _;
        Ok(Row {
            tenant: tenant_from_row(&row)?,
            moving_to: row.try_get("moving_to")?,
            moved_from: row.try_get("moved_from")?,
        })
    };
    read().context("reading the registry")
}

/// Takes the tenant's lock on the shard that holds its live copy (or says who holds it), then reads
/// its row again: another move may have flipped or aborted it since it was read, and every move of
/// the tenant takes this lock first.
async fn lock(ends: &Ends<'_>, row: &Row, settings: &RunSettings) -> Result<HeldLock, EngineError> {
    let tenant = &row.tenant;
    let lock = HeldLock::tenant(ends.live, &tenant.schema, &pg_duration(Some(settings.lock_timeout)))
        .await?
        .ok_or_else(|| EngineError::Busy { org_id: tenant.org_id.clone() })?;
    let now = find(ends.control, &tenant.org_id).await?;
    let unchanged = now.tenant.status == tenant.status
        && now.tenant.shard == tenant.shard
        && now.moving_to == row.moving_to
        && now.moved_from == row.moved_from;
    if !unchanged {
        return Err(refuse(
            &tenant.org_id,
            "changed while this run waited for it (another move?): nothing was changed",
        ));
    }
    if tenant.status == TenantStatus::Moving {
        for pool in [ends.source, ends.target] {
            schema_copy::end_orphans(pool, &tenant.schema).await?;
        }
    }
    Ok(lock)
}

/// One statement on the registry ($1 the tenant, $2 a text); false when its condition no longer held
/// (no row changed).
async fn update(control: &PgPool, sql: &'static str, id: i64, text: &str, what: &str) -> Result<bool, EngineError> {
    let changed = in_transaction(control, async |conn| query(sql).bind(id).bind(text).execute(conn).await)
        .await
        .context(what.to_owned())?;
    Ok(changed.rows_affected() == 1)
}

const MARK_MOVING: &str = "UPDATE public.tenants SET status = 'MOVING', moving_to = $2, updated_at = clock_timestamp() \
                           WHERE id = $1 AND status = 'ACTIVE' AND moving_to IS NULL";
const BACK_TO_SOURCE: &str = "UPDATE public.tenants SET status = 'ACTIVE', moving_to = NULL, note = $2, \
                              updated_at = clock_timestamp() WHERE id = $1 AND status = 'MOVING'";
const FLIP: &str = "UPDATE public.tenants SET moved_from = shard, shard = moving_to, status = 'ACTIVE', moving_to = NULL, \
                    note = format('moved from shard %s to %s at %s by run %s; the copy on %1$s is kept until \
                    `tenantctl move-tenant %s --drop-source`', shard, moving_to, clock_timestamp(), $2::text, org_id), \
                    updated_at = clock_timestamp() WHERE id = $1 AND status = 'MOVING'";
const LEFTOVER_DROPPED: &str = "UPDATE public.tenants SET note = format('the copy on shard %s left by a move was dropped \
                                at %s by run %s', moved_from, clock_timestamp(), $2::text), moved_from = NULL, \
                                updated_at = clock_timestamp() WHERE id = $1";

async fn move_locked(
    ends: &Ends<'_>,
    row: &Row,
    request: &MoveRequest<'_>,
    resumed: bool,
    drop_source: bool,
) -> Result<MoveReport, EngineError> {
    let tenant = &row.tenant;
    let lock = lock(ends, row, request.settings).await?;
    if !resumed {
        if copy_exists(ends.target, tenant).await? {
            return Err(refuse(
                request.org,
                format!(
                    "cannot move to shard {}: {} already exists there and is not a copy a move of this tenant is \
                     making (a stale copy? check it, and drop it by hand if it is one); nothing was changed",
                    ends.to,
                    copy_name(tenant)
                ),
            ));
        }
        if !update(ends.control, MARK_MOVING, tenant.id, ends.to, "marking the tenant MOVING").await? {
            return Err(refuse(request.org, "changed while the move started (another run?): nothing was changed"));
        }
    }
    let started = Instant::now();
    let (copied, tables) = match copy_and_compare(ends, tenant, request).await {
        Ok(done) => done,
        Err(error) => return Err(roll_back(ends, tenant, request, error).await),
    };
    if !update(ends.control, FLIP, tenant.id, &request.run.run_id.to_string(), "flipping the registry row").await? {
        return Err(refuse(request.org, "is no longer MOVING (aborted by another run?): the registry was not flipped"));
    }
    let moving_ms = started.elapsed().as_millis();
    let mut source_copy_on = Some(ends.from.to_owned());
    let mut lock = Some(lock);
    if drop_source {
        if tenant.database.is_some()
            && let Some(lock) = lock.take()
        {
            // Dropping the source's database ends every session in it, the lock's too: the registry
            // already points to the target, so the lock is released first.
            lock.release().await?;
        }
        drop_copy(ends.source, tenant).await?;
        update(ends.control, LEFTOVER_DROPPED, tenant.id, &request.run.run_id.to_string(), "recording the drop")
            .await?;
        source_copy_on = None;
    }
    if let Some(lock) = lock {
        lock.release().await?;
    }
    Ok(MoveReport {
        run_id: request.run.run_id,
        org_id: tenant.org_id.clone(),
        schema: tenant.schema.to_string(),
        outcome: MoveOutcome::Moved,
        from: ends.from.to_owned(),
        to: ends.to.to_owned(),
        resumed,
        copied,
        tables,
        source_copy_on,
        moving_ms,
    })
}

/// Makes the target's copy (unless an earlier run's is there and equal) and compares it with the
/// source, read after the copy: a write the app made to the source meanwhile shows as a difference.
async fn copy_and_compare(
    ends: &Ends<'_>,
    tenant: &Tenant,
    request: &MoveRequest<'_>,
) -> Result<(bool, Vec<TableCheck>), EngineError> {
    if copy_exists(ends.target, tenant).await? {
        let (source, differences) = compare(ends, tenant).await?;
        if differences.is_empty() {
            return Ok((false, source.tables));
        }
        // An earlier run's copy that is not equal: made again.
        drop_copy(ends.target, tenant).await?;
    }
    prepare_target(ends.target, tenant, request).await?;
    let (from, to) = (copy_settings(request, ends.from, tenant)?, copy_settings(request, ends.to, tenant)?);
    let dumped = if tenant.database.is_some() { Dumped::Database } else { Dumped::Schema };
    schema_copy::copy(request.tools, &from, &to, &tenant.schema, dumped, tenant.role.is_some()).await?;
    let (source, differences) = compare(ends, tenant).await?;
    if !differences.is_empty() {
        let shown: Vec<String> = differences.into_iter().take(5).collect();
        return Err(EngineError::CopyDiffers(shown.join("; ")));
    }
    Ok((true, source.tables))
}

/// After a copy that failed or differs: drops whatever the target holds and returns the tenant to its
/// source, so that it is not left read-only. When that fails too, the tenant stays MOVING (resume or
/// `--abort`) and the first error is returned.
async fn roll_back(ends: &Ends<'_>, tenant: &Tenant, request: &MoveRequest<'_>, error: EngineError) -> EngineError {
    if drop_copy(ends.target, tenant).await.is_err() {
        return error;
    }
    let note = format!("move to shard {} rolled back by run {}: {error}", ends.to, request.run.run_id);
    match update(ends.control, BACK_TO_SOURCE, tenant.id, &note, "returning the tenant to its source").await {
        Ok(true) => EngineError::MoveRolledBack(Box::new(error)),
        _ => error,
    }
}

/// Both copies (the schema that holds the tenant's migrations), and what differs in the target's.
async fn compare(ends: &Ends<'_>, tenant: &Tenant) -> Result<(contents::Contents, Vec<String>), EngineError> {
    let source = contents::read(ends.live, tenant.home()).await?;
    let target = Place::open(ends.target, tenant, ends.to).await?;
    let read = contents::read(target.pool(), tenant.home()).await;
    target.close().await;
    let differences = source.differences(&read?);
    Ok((source, differences))
}

/// How the client programs reach the copy on `shard`: its database, or the tenant's own there.
fn copy_settings(request: &MoveRequest<'_>, shard: &str, tenant: &Tenant) -> Result<ConnectSettings, EngineError> {
    let mut settings = connect_settings(request, shard)?.clone();
    if let Some(database) = &tenant.database {
        settings.options = settings.options.database(&database.name);
    }
    Ok(settings)
}

fn connect_settings<'r>(request: &'r MoveRequest<'_>, shard: &str) -> Result<&'r ConnectSettings, EngineError> {
    if shard == DEFAULT_SHARD {
        return Ok(request.control);
    }
    let target = ShardTarget::find(request.shards, shard).map_err(|problem| refuse(request.org, problem))?;
    Ok(target.connect.as_ref().unwrap_or(request.control))
}

/// The extensions, and the tenant's role when it has one (roles are per server), on the target; for
/// a tenant of its own database, that database, made as provisioning makes it (its extensions in it).
/// It is made only once the registry says MOVING to the target: a database of the tenant's name there
/// is then this move's, which a resume compares and `--abort` drops.
async fn prepare_target(target: &PgPool, tenant: &Tenant, request: &MoveRequest<'_>) -> Result<(), EngineError> {
    if let Some(database) = &tenant.database {
        return tenant_database::create(target, tenant, request.extensions, &Silent)
            .await
            .map_err(|f| EngineError::Copy(format!("making database {} on the target: {}", database.name, f.message)));
    }
    let mut conn = target.acquire().await.context("connecting to the target shard")?;
    extensions::ensure(target, &mut conn, request.extensions, &Silent).await?;
    if let Some(role) = &tenant.role {
        roles::ensure_role(&mut conn, role).await?;
    }
    Ok(())
}

/// Drops one copy of the tenant's schema (never its role: on another database of the same server it
/// may still be the tenant's), or its database on `shard`, ending the sessions still in it.
async fn drop_copy(pool: &PgPool, tenant: &Tenant) -> Result<(), EngineError> {
    if let Some(database) = &tenant.database {
        return tenant_database::drop_database(pool, &database.name)
            .await
            .context(format!("dropping a copy of database {}", database.name));
    }
    let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", tenant.schema.quoted());
    sqlx::raw_sql(AssertSqlSafe(sql)).execute(pool).await.context(format!("dropping a copy of {}", tenant.schema))?;
    Ok(())
}

async fn abort(ends: &Ends<'_>, row: &Row, request: &MoveRequest<'_>) -> Result<MoveReport, EngineError> {
    let tenant = &row.tenant;
    let lock = lock(ends, row, request.settings).await?;
    drop_copy(ends.target, tenant).await?;
    let note = format!("move to shard {} aborted by run {}", ends.to, request.run.run_id);
    if !update(ends.control, BACK_TO_SOURCE, tenant.id, &note, "returning the tenant to its source").await? {
        return Err(refuse(request.org, "is no longer MOVING (finished by another run?)"));
    }
    lock.release().await?;
    Ok(report(request, tenant, MoveOutcome::Aborted, ends.to, ends.from))
}

async fn drop_leftover(ends: &Ends<'_>, row: &Row, request: &MoveRequest<'_>) -> Result<MoveReport, EngineError> {
    let tenant = &row.tenant;
    drop_copy(ends.source, tenant).await?;
    update(ends.control, LEFTOVER_DROPPED, tenant.id, &request.run.run_id.to_string(), "recording the drop").await?;
    Ok(report(request, tenant, MoveOutcome::Dropped, ends.from, ends.to))
}

/// The report of an abort (from the target back to the source) or of a leftover's drop.
fn report(request: &MoveRequest<'_>, tenant: &Tenant, outcome: MoveOutcome, from: &str, to: &str) -> MoveReport {
    MoveReport {
        run_id: request.run.run_id,
        org_id: tenant.org_id.clone(),
        schema: tenant.schema.to_string(),
        outcome,
        from: from.to_owned(),
        to: to.to_owned(),
        resumed: outcome == MoveOutcome::Aborted,
        copied: false,
        tables: Vec::new(),
        source_copy_on: None,
        moving_ms: 0,
    }
}
