//! One function per command: resolve settings, load files, call the engine, render, pick the exit code.

use std::io::{Read, Write};
use std::path::Path;

use anyhow::Context as _;
use tenantctl_engine::{
    Canary, Database, EngineError, ErrorKind, FanoutControl, FanoutReport, FanoutRequest, Gate, Isolation,
    MasterRequest, MasterRollback, MoveAction, MoveRequest, OrgId, ProvisionRequest, Rollout, RunContext, Selection,
    ShardReport, ShardRequest, ShardTarget, parse_waves,
};
use tenantctl_lint::{FileRole, Scope};
use tenantctl_migrations::{MigrationSet, RollbackTarget};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::args::{Cli, Command, Format, GlobalArgs, Kind, RoleArgs, RollbackArgs, RunArgs, TenantSelection};
use crate::exit::{self, InputError};
use crate::gate::{self, Checked, GateArgs};
use crate::render::{self, Verb};
use crate::reporter::{Jsonl, Progress};
use crate::settings::Settings;

/// What every command gets.
struct Ctx<'a> {
    global: &'a GlobalArgs,
    command: &'static str,
    cancel: CancellationToken,
    run_id: uuid::Uuid,
    gate: GateArgs,
}

/// The span every log line of a run is in: it carries the run's id.
pub(crate) fn run_span(cli: &Cli, run_id: uuid::Uuid) -> tracing::Span {
    tracing::info_span!("run", %run_id, command = cli.command.name())
}

/// Runs the parsed command line inside `span`; returns the exit code.
pub(crate) async fn run(
    cli: Cli,
    run_id: uuid::Uuid,
    span: tracing::Span,
    cancel: CancellationToken,
) -> anyhow::Result<u8> {
    let ctx = Ctx { global: &cli.global, command: cli.command.name(), cancel, run_id, gate: cli.command.gate_args() };
    dispatch(&ctx, &cli.command).instrument(span).await
}

async fn dispatch(ctx: &Ctx<'_>, command: &Command) -> anyhow::Result<u8> {
    match command {
        Command::MigrateMaster { dry_run, run, .. } => migrate_master(ctx, run, *dry_run).await,
        Command::RollbackMaster { rollback, run, .. } => rollback_master(ctx, run, rollback).await,
        Command::ProvisionTenant { org_ids, from_file, roles, shard, isolation, run, .. } => {
            let orgs = read_org_ids(org_ids, from_file.as_deref())?;
            provision(ctx, run, roles, shard.as_deref(), isolation.map(Into::into), orgs).await
        }
        Command::MigrateTenants { selection, dry_run, allow_out_of_order, run, .. } => {
            migrate_tenants(ctx, run, selection, *dry_run, *allow_out_of_order).await
        }
        Command::RollbackTenants { rollback, selection, run, .. } => {
            rollback_tenants(ctx, run, rollback, selection).await
        }
        Command::MakeMigration { kind, name, timestamp } => make_migration(ctx, *kind, name, *timestamp),
        Command::Lint(args) => crate::lint_cmd::run(ctx.global, args),
        Command::ArchiveTenant { org_id: raw, run } => offboard(ctx, run, raw, None).await,
        Command::DropTenant { org_id: raw, confirm, run } => offboard(ctx, run, raw, Some(confirm)).await,
        Command::MoveTenant { org_id: raw, to, drop_source, abort, run } => {
            let action = match (to, *abort) {
                (_, true) => MoveAction::Abort,
                (Some(shard), false) => MoveAction::To { shard: shard.clone(), drop_source: *drop_source },
                (None, false) => MoveAction::DropLeftover,
            };
            move_tenant(ctx, run, raw, action).await
        }
        Command::Status { tenant, check, verify, run } => status(ctx, run, tenant.as_deref(), *check, *verify).await,
        Command::Verify { run } => verify(ctx, run).await,
    }
}

impl Ctx<'_> {
    fn settings(&self, run: &RunArgs) -> Result<Settings, InputError> {
        Settings::resolve(self.global, run)
    }

    async fn connect(&self, settings: &Settings) -> anyhow::Result<Database> {
        let connect = settings.connection(self.global, self.command)?;
        Ok(Database::connect(&connect).await?)
    }

    fn run_context(&self) -> RunContext {
        RunContext {
            run_id: self.run_id,
            command: self.command.to_owned(),
            arguments: serde_json::Value::from(redacted_args()),
            allow_unsafe: self.gate.allow_unsafe,
            os_user: std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).ok(),
            host: std::env::var("HOSTNAME")
                .ok()
                .or_else(|| std::fs::read_to_string("/etc/hostname").ok().map(|h| h.trim().to_owned())),
        }
    }

    /// Lints the directory of `kind` for the gate in front of a run. Tenant migrations are read for
    /// database isolation (the tenant's database schema is its own) only when `isolation` (the run's
    /// new tenants, or the configured default) and every tenant in the registry are database tenants.
    async fn gate(
        &self,
        db: &Database,
        settings: &Settings,
        kind: Kind,
        role: FileRole,
        isolation: Isolation,
    ) -> anyhow::Result<Checked> {
        let (dir, scope) = match kind {
            Kind::Master => (&settings.master_dir, Scope::Master),
            Kind::Tenant => (&settings.tenant_dir, Scope::Tenant),
        };
        let database_only = kind == Kind::Tenant
            && isolation == Isolation::Database
            && tenantctl_engine::schema_tenants_in_use(db).await.is_ok_and(|any| !any);
        let own = database_only.then_some(settings.database_schema.as_str());
        gate::check(db, dir, scope, role, settings.naming.prefix(), own, self.gate).await
    }

    /// The shards `migrate-master` works on (`default` only when there is a `shard_master_dir`),
    /// with the gate over that directory.
    async fn shard_work(&self, db: &Database, settings: &Settings) -> anyhow::Result<ShardWork> {
        let mut targets = settings.shard_targets(self.command);
        targets.retain(|t| t.connect.is_some() || settings.shard_master_dir.is_some());
        let checked = match &settings.shard_master_dir {
            Some(dir) if !targets.is_empty() => Some(
                gate::check(db, dir, Scope::Master, FileRole::Up, settings.naming.prefix(), None, self.gate).await?,
            ),
            _ => None,
        };
        Ok(ShardWork { targets, checked })
    }

    fn progress(&self, verb: Verb, dry_run: bool) -> Progress {
        let jsonl = (self.global.format == Format::Jsonl).then_some(Jsonl { verb, dry_run });
        Progress::new(self.global.quiet, jsonl)
    }

    fn control(&self, selection: Option<&TenantSelection>) -> FanoutControl {
        FanoutControl {
            max_failures: selection.and_then(|s| s.max_failures).map(|n| n as usize),
            cancel: self.cancel.clone(),
        }
    }

    /// Prints a JSON document or text to stdout.
    fn print(
        &self,
        json: impl FnOnce() -> serde_json::Value,
        text: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> anyhow::Result<()> {
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        match self.global.format {
            Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&json())?)?,
            Format::Jsonl => writeln!(out, "{}", serde_json::to_string(&json())?)?,
            Format::Text => text(&mut out)?,
        }
        out.flush()?;
        Ok(())
    }

    /// Clears the progress bar, prints a fan-out's result and picks its exit code.
    fn finish_fanout(&self, progress: &Progress, report: &FanoutReport, verb: Verb) -> anyhow::Result<u8> {
        progress.finish();
        let verbose = self.global.verbose > 0;
        self.print(
            || render::fanout_json(report, verb, self.global.format == Format::Jsonl),
            |out| render::fanout_text(out, self.command, report, verb, verbose),
        )?;
        Ok(if report.has_failures() { exit::FAILURE } else { exit::SUCCESS })
    }
}

/// The command line for the audit trail, without the database URL (it may hold a password).
fn redacted_args() -> Vec<String> {
    let mut args = Vec::new();
    let mut skip_next = false;
    for arg in std::env::args().skip(1) {
        if std::mem::take(&mut skip_next) {
            args.push("***".to_owned());
        } else if arg == "--database-url" {
            skip_next = true;
            args.push(arg);
        } else if arg.starts_with("--database-url=") {
            args.push("--database-url=***".to_owned());
        } else {
            args.push(arg);
        }
    }
    args
}

/// `migrate-master`'s shards and the gate over `shard_master_dir`.
struct ShardWork {
    targets: Vec<ShardTarget>,
    checked: Option<Checked>,
}

impl ShardWork {
    /// Applies (or plans) the shard files on every shard at once.
    async fn run(&self, ctx: &Ctx<'_>, db: &Database, request: ShardRequest<'_>) -> anyhow::Result<Vec<ShardReport>> {
        if self.targets.is_empty() {
            return Ok(Vec::new());
        }
        Ok(tenantctl_engine::migrate_shards(db, &self.targets, &request, &ctx.progress(Verb::Apply, false)).await?)
    }

    /// Prints on stderr the findings of the files the gate refused on a shard.
    fn explain(&self, reports: &[ShardReport]) {
        for error in reports.iter().filter_map(|r| r.error.as_ref()) {
            self.checked.as_ref().inspect(|c| c.explain_refusal(error));
        }
    }

    fn gate(&self) -> Gate {
        self.checked.as_ref().map(|c| c.gate.clone()).unwrap_or_default()
    }
}

/// Whether a shard's files were refused (an edited applied file, a file out of order, the gate).
fn refused(shards: &[ShardReport]) -> bool {
    shards.iter().any(|s| s.error.as_ref().is_some_and(|e| e.kind() == ErrorKind::Input))
}

fn load(dir: &Path) -> anyhow::Result<MigrationSet> {
    Ok(MigrationSet::load(dir)?)
}

/// The files of `shard_master_dir`; none without one.
fn load_shard_set(settings: &Settings) -> anyhow::Result<MigrationSet> {
    match &settings.shard_master_dir {
        Some(dir) => load(dir),
        None => Ok(MigrationSet::from_migrations(Vec::new())),
    }
}

fn rollback_target(args: &RollbackArgs) -> RollbackTarget {
    match (args.steps, args.to) {
        (Some(n), _) => RollbackTarget::Steps(n),
        (None, Some(v)) => RollbackTarget::To(v),
        (None, None) => RollbackTarget::LastBatch,
    }
}

async fn migrate_master(ctx: &Ctx<'_>, run: &RunArgs, dry_run: bool) -> anyhow::Result<u8> {
    let settings = ctx.settings(run)?;
    let set = load(&settings.master_dir)?;
    let shard_set = load_shard_set(&settings)?;
    let db = ctx.connect(&settings).await?;
    let checked = ctx.gate(&db, &settings, Kind::Master, FileRole::Up, Isolation::Schema).await?;
    let shard_work = ctx.shard_work(&db, &settings).await?;
    let shard_gate = shard_work.gate();
    let shard_request = |dry_run, run_id| ShardRequest {
        set: &shard_set,
        extensions: &settings.extensions,
        settings: &settings.run,
        gate: &shard_gate,
        dry_run,
        run_id,
    };
    // Every shard's files are planned before the control database changes: a refused one stops
    // the run while nothing has changed anywhere.
    if !dry_run {
        let planned = shard_work.run(ctx, &db, shard_request(true, None)).await?;
        if refused(&planned) {
            shard_work.explain(&planned);
            ctx.print(
                || serde_json::json!({ "dry_run": false, "refused": true, "shards": render::shards_json(&planned) }),
                |out| {
                    render::shards_text(out, &planned, true)?;
                    writeln!(out, "migrate-master: refused on a shard before anything changed; fix its files and rerun")
                },
            )?;
            return Ok(exit::INPUT);
        }
    }
    let run_context = ctx.run_context();
    let request = MasterRequest {
        set: &set,
        extensions: &settings.extensions,
        settings: &settings.run,
        gate: &checked.gate,
        dry_run,
        run: &run_context,
    };
    let report =
        checked.guard(tenantctl_engine::migrate_master(&db, request, &ctx.progress(Verb::Apply, false)).await)?;
    let shards = shard_work.run(ctx, &db, shard_request(report.dry_run, report.run_id)).await?;
    shard_work.explain(&shards);
    ctx.print(
        || {
            let mut json = render::master_json(&report, Verb::Apply);
            if !shards.is_empty() {
                json["shards"] = render::shards_json(&shards);
            }
            json
        },
        |out| {
            render::master_text(out, &report, Verb::Apply)?;
            render::shards_text(out, &shards, dry_run)
        },
    )?;
    Ok(shards_exit_code(&shards))
}

/// 0 when every shard succeeded; 2 when a shard's files were refused (checksums, order); else 1
/// when a shard failed or could not be reached.
fn shards_exit_code(shards: &[ShardReport]) -> u8 {
    let kinds: Vec<ErrorKind> = shards.iter().filter_map(|s| s.error.as_ref().map(EngineError::kind)).collect();
    match kinds.as_slice() {
        [] => exit::SUCCESS,
        kinds if kinds.contains(&ErrorKind::Input) => exit::INPUT,
        _ => exit::FAILURE,
    }
}

async fn rollback_master(ctx: &Ctx<'_>, run: &RunArgs, rollback: &RollbackArgs) -> anyhow::Result<u8> {
    let settings = ctx.settings(run)?;
    let set = load(&settings.master_dir)?;
    let db = ctx.connect(&settings).await?;
    let checked = ctx.gate(&db, &settings, Kind::Master, FileRole::Down, Isolation::Schema).await?;
    let run_context = ctx.run_context();
    let request = MasterRollback {
        set: &set,
        target: rollback_target(rollback),
        settings: &settings.run,
        gate: &checked.gate,
        dry_run: rollback.dry_run,
        run: &run_context,
    };
    let report =
        checked.guard(tenantctl_engine::rollback_master(&db, request, &ctx.progress(Verb::Revert, false)).await)?;
    ctx.print(|| render::master_json(&report, Verb::Revert), |out| render::master_text(out, &report, Verb::Revert))?;
    Ok(exit::SUCCESS)
}

async fn provision(
    ctx: &Ctx<'_>,
    run: &RunArgs,
    roles: &RoleArgs,
    shard: Option<&str>,
    isolation: Option<Isolation>,
    orgs: Vec<OrgId>,
) -> anyhow::Result<u8> {
    let settings = ctx.settings(run)?;
    let roles = settings.tenant_roles(roles)?;
    let isolation = isolation.unwrap_or(settings.isolation);
    if isolation == Isolation::Database && roles.create {
        return Err(InputError::new(
            "--create-role is not available with database isolation: a tenant database already separates the \
             tenant; grant per-database privileges yourself, or provision with --isolation schema",
        )
        .into());
    }
    let shard = shard.map(|name| settings.shard_named(name)).transpose()?;
    let shards = settings.shard_targets(ctx.command);
    let set = load(&settings.tenant_dir)?;
    let db = ctx.connect(&settings).await?;
    let checked = ctx.gate(&db, &settings, Kind::Tenant, FileRole::Up, isolation).await?;
    let run_context = ctx.run_context();
    let progress = ctx.progress(Verb::Apply, false);
    let control = ctx.control(None);
    let request = ProvisionRequest {
        set: &set,
        orgs: &orgs,
        naming: &settings.naming,
        extensions: &settings.extensions,
        roles: &roles,
        gate: &checked.gate,
        settings: &settings.run,
        control: &control,
        run: &run_context,
        shards: &shards,
        shard,
        isolation,
        database_schema: &settings.database_schema,
    };
    let report = checked.guard(tenantctl_engine::provision(&db, request, &progress).await)?;
    ctx.finish_fanout(&progress, &report, Verb::Apply)
}

/// What both tenant fan-outs need, resolved from their arguments.
struct Fanout {
    settings: Settings,
    shards: Vec<ShardTarget>,
    set: MigrationSet,
    selection: Selection,
    rollout: Rollout,
    db: Database,
    run_context: RunContext,
    progress: Progress,
    control: FanoutControl,
    checked: Checked,
    dry_run: bool,
}

impl Fanout {
    async fn prepare(
        ctx: &Ctx<'_>,
        run: &RunArgs,
        tenants: &TenantSelection,
        verb: Verb,
        dry_run: bool,
    ) -> anyhow::Result<Self> {
        let settings = ctx.settings(run)?;
        let set = load(&settings.tenant_dir)?;
        let selection = selection(tenants)?;
        let rollout = rollout(tenants)?;
        let db = ctx.connect(&settings).await?;
        let role = match verb {
            Verb::Apply => FileRole::Up,
            Verb::Revert => FileRole::Down,
        };
        let checked = ctx.gate(&db, &settings, Kind::Tenant, role, settings.isolation).await?;
        Ok(Self {
            checked,
            shards: settings.shard_targets(ctx.command),
            settings,
            set,
            selection,
            rollout,
            db,
            run_context: ctx.run_context(),
            progress: ctx.progress(verb, dry_run),
            dry_run,
            control: ctx.control(Some(tenants)),
        })
    }

    fn request(&self) -> FanoutRequest<'_> {
        FanoutRequest {
            set: &self.set,
            selection: self.selection.clone(),
            settings: &self.settings.run,
            control: &self.control,
            rollout: self.rollout.clone(),
            gate: &self.checked.gate,
            dry_run: self.dry_run,
            run: &self.run_context,
            shards: &self.shards,
        }
    }
}

fn org_id(flag: &str, raw: &str) -> Result<OrgId, InputError> {
    OrgId::new(raw).map_err(|e| InputError::new(format!("{flag} {raw:?}: {e}")))
}

fn selection(selection: &TenantSelection) -> Result<Selection, InputError> {
    if selection.tenants.is_empty() {
        return Ok(Selection::All { include_failed: selection.include_failed });
    }
    let orgs = selection.tenants.iter().map(|raw| org_id("--tenant", raw)).collect::<Result<Vec<_>, _>>()?;
    Ok(Selection::Named(orgs))
}

fn rollout(selection: &TenantSelection) -> Result<Rollout, InputError> {
    let canary = match (selection.canary, selection.canary_tenants.as_slice()) {
        (Some(n), _) => Canary::First(n as usize),
        (None, []) => Canary::None,
        (None, names) => {
            Canary::Named(names.iter().map(|raw| org_id("--canary-tenant", raw)).collect::<Result<Vec<_>, _>>()?)
        }
    };
    let waves = match &selection.waves {
        Some(text) => parse_waves(text).map_err(|e| InputError::new(e.to_string()))?,
        None => Vec::new(),
    };
    Ok(Rollout { canary, waves })
}

async fn migrate_tenants(
    ctx: &Ctx<'_>,
    run: &RunArgs,
    tenants: &TenantSelection,
    dry_run: bool,
    allow_out_of_order: bool,
) -> anyhow::Result<u8> {
    let fanout = Fanout::prepare(ctx, run, tenants, Verb::Apply, dry_run).await?;
    let request = fanout.request();
    let result = tenantctl_engine::migrate_tenants(&fanout.db, request, allow_out_of_order, &fanout.progress).await;
    let report = fanout.checked.guard(result)?;
    ctx.finish_fanout(&fanout.progress, &report, Verb::Apply)
}

async fn rollback_tenants(
    ctx: &Ctx<'_>,
    run: &RunArgs,
    rollback: &RollbackArgs,
    tenants: &TenantSelection,
) -> anyhow::Result<u8> {
    let fanout = Fanout::prepare(ctx, run, tenants, Verb::Revert, rollback.dry_run).await?;
    let target = rollback_target(rollback);
    let request = fanout.request();
    let result = tenantctl_engine::rollback_tenants(&fanout.db, request, target, &fanout.progress).await;
    let report = fanout.checked.guard(result)?;
    ctx.finish_fanout(&fanout.progress, &report, Verb::Revert)
}

/// `archive-tenant`, or `drop-tenant` when `confirm` is given.
async fn offboard(ctx: &Ctx<'_>, run: &RunArgs, raw: &str, confirm: Option<&str>) -> anyhow::Result<u8> {
    let settings = ctx.settings(run)?;
    let org = org_id("org id", raw)?;
    let db = ctx.connect(&settings).await?;
    let run_context = ctx.run_context();
    let shards = settings.shard_targets(ctx.command);
    let report = match confirm {
        None => tenantctl_engine::archive_tenant(&db, &org, &shards, &run_context).await?,
        Some(confirm) => {
            tenantctl_engine::drop_tenant(&db, &org, confirm, &settings.run, &shards, &run_context).await?
        }
    };
    let t = &report.tenant;
    let done = match (confirm, report.changed) {
        (Some(_), _) if t.role.is_some() => "schema and role dropped; registry row kept as ARCHIVED",
        (Some(_), _) => "schema dropped; registry row kept as ARCHIVED",
        (None, true) => "ARCHIVED: excluded from every fan-out, schema kept",
        (None, false) => "already ARCHIVED",
    };
    ctx.print(|| serde_json::json!({"run_id": report.run_id, "org_id": t.org_id, "schema": t.schema, "status": t.status, "role": t.role, "changed": report.changed}),
        |out| writeln!(out, "{} ({}): {done}", t.org_id, t.schema))?;
    Ok(exit::SUCCESS)
}

/// `move-tenant`: every argument is checked (org id, shard, client programs) before connecting.
async fn move_tenant(ctx: &Ctx<'_>, run: &RunArgs, raw: &str, action: MoveAction) -> anyhow::Result<u8> {
    let settings = ctx.settings(run)?;
    let org = org_id("org id", raw)?;
    if let MoveAction::To { shard, .. } = &action {
        settings.shard_named(shard).map_err(|e| InputError::new(e.to_string().replacen("--shard", "--to", 1)))?;
    }
    let tools = settings.pg_tools()?;
    let control = settings.connection(ctx.global, ctx.command)?;
    let db = ctx.connect(&settings).await?;
    let shards = settings.shard_targets(ctx.command);
    let run_context = ctx.run_context();
    let request = MoveRequest {
        org: &org,
        action,
        shards: &shards,
        control: &control,
        tools: &tools,
        extensions: &settings.extensions,
        settings: &settings.run,
        run: &run_context,
    };
    let report = tenantctl_engine::move_tenant(&db, request).await?;
    ctx.print(|| serde_json::to_value(&report).unwrap_or_default(), |out| render::move_text(out, &report))?;
    Ok(exit::SUCCESS)
}

async fn verify(ctx: &Ctx<'_>, run: &RunArgs) -> anyhow::Result<u8> {
    let settings = ctx.settings(run)?;
    let tenant_set = load(&settings.tenant_dir)?;
    let db = ctx.connect(&settings).await?;
    let report = tenantctl_engine::verify(&db, &tenant_set, &settings.shard_targets(ctx.command)).await?;
    ctx.print(|| render::verify_json(&report), |out| render::verify_text(out, &report))?;
    Ok(if report.clean() { exit::SUCCESS } else { exit::FAILURE })
}

async fn status(ctx: &Ctx<'_>, run: &RunArgs, tenant: Option<&str>, check: bool, verify: bool) -> anyhow::Result<u8> {
    let settings = ctx.settings(run)?;
    let tenant_set = load(&settings.tenant_dir)?;
    if let Some(raw) = tenant {
        let org = org_id("--tenant", raw)?;
        let db = ctx.connect(&settings).await?;
        let shards = settings.shard_targets(ctx.command);
        let detail = tenantctl_engine::tenant_status(&db, &tenant_set, &org, &shards).await?;
        ctx.print(|| render::tenant_json(&detail), |out| render::tenant_text(out, &detail))?;
        return Ok(exit::SUCCESS);
    }
    let master_set = load(&settings.master_dir)?;
    let shard_set = load_shard_set(&settings)?;
    let db = ctx.connect(&settings).await?;
    let report = tenantctl_engine::status(&db, &master_set, &tenant_set).await?;
    let shards = match settings.has_shards() {
        true => tenantctl_engine::shard_status(&db, &settings.shard_targets(ctx.command), &shard_set).await?,
        false => Vec::new(),
    };
    let verified = match verify && report.initialized {
        true => Some(tenantctl_engine::verify(&db, &tenant_set, &settings.shard_targets(ctx.command)).await?),
        false => None,
    };
    ctx.print(
        || {
            let mut json = render::status_json(&report);
            if !shards.is_empty() {
                json["shards"] = render::shard_status_json(&shards);
            }
            if let Some(v) = &verified {
                json["verify"] = render::verify_json(v);
            }
            json
        },
        |out| {
            render::status_text(out, &report)?;
            render::shard_status_text(out, &shards)?;
            verified.as_ref().map_or(Ok(()), |v| render::verify_text(out, v))
        },
    )?;
    let healthy = report.healthy()
        && shards.iter().all(tenantctl_engine::ShardStatus::healthy)
        && verified.as_ref().is_none_or(|v| v.clean());
    Ok(if check && !healthy { exit::FAILURE } else { exit::SUCCESS })
}

fn make_migration(ctx: &Ctx<'_>, kind: Kind, raw_name: &str, timestamp: bool) -> anyhow::Result<u8> {
    let settings = ctx.settings(&RunArgs::default())?;
    let name = tenantctl_migrations::migration_name(raw_name).map_err(|e| InputError::new(e.to_string()))?;
    let dir = match kind {
        Kind::Master => &settings.master_dir,
        Kind::Tenant => &settings.tenant_dir,
    };
    let now = chrono::Utc::now().format("%Y%m%d%H%M%S").to_string();
    let scaffold = tenantctl_migrations::scaffold(dir, &name, timestamp, &now)?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (path, text) in [(&scaffold.up, &scaffold.up_text), (&scaffold.down, &scaffold.down_text)] {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .with_context(|| format!("creating {}", path.display()))?;
        file.write_all(text.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    }
    let (up, down) = (scaffold.up.display().to_string(), scaffold.down.display().to_string());
    ctx.print(|| serde_json::json!({"up": up, "down": down}), |out| writeln!(out, "{up}\n{down}"))?;
    Ok(exit::SUCCESS)
}

/// Org ids from the arguments and `--from-file` (`-` for stdin), all validated before any is used.
fn read_org_ids(args: &[String], from_file: Option<&Path>) -> Result<Vec<OrgId>, InputError> {
    let mut orgs = Vec::new();
    for (i, raw) in args.iter().enumerate() {
        orgs.push(OrgId::new(raw).map_err(|e| InputError::new(format!("org id {raw:?} (argument {}): {e}", i + 1)))?);
    }
    let Some(path) = from_file else {
        return Ok(orgs);
    };
    let (bytes, name) = if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| InputError::new(format!("reading org ids from stdin: {e}")))?;
        (bytes, "stdin".to_owned())
    } else {
        let bytes = std::fs::read(path).map_err(|e| InputError::new(format!("cannot read {}: {e}", path.display())))?;
        (bytes, path.display().to_string())
    };
    for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let text = std::str::from_utf8(line)
            .map_err(|_| InputError::new(format!("{name} line {}: not valid UTF-8 (save the file as UTF-8)", i + 1)))?;
        if text.trim().is_empty() || text.starts_with('#') {
            continue;
        }
        orgs.push(
            OrgId::new(text).map_err(|e| InputError::new(format!("{name} line {}: org id {text:?}: {e}", i + 1)))?,
        );
    }
    if orgs.is_empty() {
        return Err(InputError::new(format!("{name} holds no org id")));
    }
    Ok(orgs)
}
