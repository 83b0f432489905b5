//! `migrate-tenants` and `rollback-tenants`: the fan-out of the runner over the registry.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;
use tenantctl_migrations::{MigrationSet, PlanError, RollbackTarget, TransactionMode, Version};
use uuid::Uuid;

use crate::central::{self, Central};
use crate::fanout::{Budget, FanoutControl, not_started};
use crate::recycle::Recycler;
use crate::registry::{self, Selection};
use crate::rollout::{Canary, Rollout, stage_ends};
use crate::runner::{self, Direction, Job};
use crate::sharded::{ShardPools, fan_out_shards};
use crate::{
    Database, EngineError, Event, Gate, OrgId, Outcome, Reporter, RunContext, RunSettings, ShardTarget, Summary,
    TenantResult, bootstrap, error::Context, runs,
};

/// What a fan-out did (or, in a dry run, would do).
#[derive(Debug, Clone, Serialize)]
pub struct FanoutReport {
    /// The run's id; none for a dry run.
    pub run_id: Option<Uuid>,
    /// Whether nothing was changed.
    pub dry_run: bool,
    /// The counts.
    pub summary: Summary,
    /// One result per tenant visited, in registry order.
    pub tenants: Vec<TenantResult>,
}

impl FanoutReport {
    /// True when any tenant failed or could not be reached.
    pub fn has_failures(&self) -> bool {
        self.summary.failed + self.summary.unreachable > 0
    }
}

/// Everything a tenant fan-out needs besides the database.
#[derive(Debug)]
pub struct FanoutRequest<'a> {
    /// The tenant migration set.
    pub set: &'a MigrationSet,
    /// Which tenants.
    pub selection: Selection,
    /// Concurrency, timeouts, retries.
    pub settings: &'a RunSettings,
    /// Failure budget and cancellation.
    pub control: &'a FanoutControl,
    /// Canary and waves.
    pub rollout: Rollout,
    /// Migrations the linter blocks.
    pub gate: &'a Gate,
    /// Change nothing; plan per tenant.
    pub dry_run: bool,
    /// Audit context.
    pub run: &'a RunContext,
    /// The configured shards (tenants on `default` need none).
    pub shards: &'a [ShardTarget],
}

/// Applies pending tenant migrations to the selected tenants.
pub async fn migrate_tenants(
    db: &Database,
    request: FanoutRequest<'_>,
    allow_out_of_order: bool,
    reporter: &dyn Reporter,
) -> Result<FanoutReport, EngineError> {
    let central = prepare(db, request.set, allow_out_of_order).await?;
    let skip_current = matches!(request.selection, Selection::All { .. }).then_some(request.set);
    let (tenants, up_to_date) = registry::targets(db.pool(), &request.selection, skip_current).await?;
    if !tenants.is_empty() {
        // What may run: never applied anywhere, or above the least advanced target's mirror.
        let floor = registry::lowest_mirror(db.pool(), &tenants).await?;
        let may_run: Vec<_> =
            request.set.iter().filter(|m| !central.contains(m.version) || m.version.as_i64() > floor).collect();
        request.gate.check(may_run.iter().map(|m| m.version))?;
        request.settings.check_sessions(may_run.iter().map(|m| &m.up))?;
    }
    let direction = Direction::Up { create_schema: None, allow_out_of_order, central: &central, phase: None };
    let needed = tenants.iter().map(|t| t.shard.as_str());
    ShardPools::scoped(db, request.shards, needed, async |pools| {
        execute(db, pools, &request, direction, &tenants, up_to_date, reporter).await
    })
    .await
}

/// Reverts tenant migrations on the selected tenants. Every tenant's plan is checked first: a
/// migration without a down file anywhere in the range refuses the whole rollback before any change.
pub async fn rollback_tenants(
    db: &Database,
    request: FanoutRequest<'_>,
    target: RollbackTarget,
    reporter: &dyn Reporter,
) -> Result<FanoutReport, EngineError> {
    prepare(db, request.set, true).await?;
    let (tenants, _) = registry::targets(db.pool(), &request.selection, None).await?;
    let needed = tenants.iter().map(|t| t.shard.as_str());
    ShardPools::scoped(db, request.shards, needed, async |pools| {
        rollback_on(db, pools, &request, &tenants, target, reporter).await
    })
    .await
}

async fn rollback_on(
    db: &Database,
    pools: &ShardPools<'_>,
    request: &FanoutRequest<'_>,
    tenants: &[registry::Tenant],
    target: RollbackTarget,
    reporter: &dyn Reporter,
) -> Result<FanoutReport, EngineError> {
    let direction = Direction::Down { target };
    let recycler = Recycler::new(request.settings.connection_max_tenants);
    let job = job(db, request, direction, reporter, &recycler, true);
    let budget = Budget::new(request.control);
    let concurrency = request.settings.concurrency;
    let plans = fan_out_shards(
        tenants,
        pools,
        concurrency,
        |c| c,
        &budget,
        &crate::Silent,
        |pool, t| runner::run(Job { pool, ..job }, t),
    )
    .await;
    if let Some(missing) =
        plans.iter().find_map(|r| r.plan_error.clone().filter(|e| matches!(e, PlanError::MissingDown { .. })))
    {
        return Err(missing.into());
    }
    let reverting: BTreeSet<Version> = plans.iter().flat_map(|r| r.versions.iter().copied()).collect();
    request.gate.check(reverting.iter().copied())?;
    request.settings.check_sessions(reverting.iter().filter_map(|v| request.set.get(*v)?.down.as_ref()))?;
    let report = execute(db, pools, request, direction, tenants, 0, reporter).await?;
    if !request.dry_run {
        central::forget_unapplied(db.pool()).await?;
    }
    Ok(report)
}

/// Checks the registry exists and the files agree with what was applied anywhere.
async fn prepare(db: &Database, set: &MigrationSet, allow_out_of_order: bool) -> Result<Central, EngineError> {
    let mut conn = db.pool().acquire().await.context("connecting")?;
    bootstrap::require(&mut conn).await?;
    drop(conn);
    let central = Central::load(db.pool()).await?;
    central.check(set, allow_out_of_order)?;
    Ok(central)
}

fn job<'a>(
    db: &'a Database,
    request: &'a FanoutRequest<'a>,
    direction: Direction<'a>,
    reporter: &'a dyn Reporter,
    recycler: &'a Recycler,
    plan_only: bool,
) -> Job<'a> {
    let (pool, control) = (db.pool(), db.pool());
    Job { pool, control, set: request.set, settings: request.settings, direction, reporter, recycler, plan_only }
}

async fn execute(
    db: &Database,
    pools: &ShardPools<'_>,
    request: &FanoutRequest<'_>,
    direction: Direction<'_>,
    tenants: &[registry::Tenant],
    up_to_date: usize,
    reporter: &dyn Reporter,
) -> Result<FanoutReport, EngineError> {
    let recycler = Recycler::new(request.settings.connection_max_tenants);
    let job = job(db, request, direction, reporter, &recycler, request.dry_run);
    let (ordered, canary) = canary_first(tenants, &request.rollout.canary)?;
    let ends = stage_ends(ordered.len(), canary, &request.rollout.waves);
    let budget = Budget::new(request.control);
    let phases = phases(request.set);
    let recorded = Recorded { dry_run: request.dry_run, total: ordered.len(), up_to_date, sharded: pools.configured() };
    run_recorded(db, request.run, recorded, request.control, reporter, || async {
        let mut results = Vec::with_capacity(ordered.len());
        let mut start = 0;
        let mut halted: Option<String> = None;
        for (stage, &end) in ends.iter().enumerate() {
            let targets = &ordered[start..end];
            match &halted {
                Some(reason) => results.extend(targets.iter().map(|t| not_started(t, reason))),
                None => {
                    let done = match (&phases[..], job.direction) {
                        ([_, _, ..], Direction::Up { .. }) => run_phases(job, pools, targets, &phases, &budget).await,
                        _ => {
                            let concurrency = request.settings.concurrency;
                            fan_out_shards(
                                targets,
                                pools,
                                concurrency,
                                |c| c,
                                &budget,
                                reporter,
                                |pool, t| runner::run(Job { pool, ..job }, t),
                            )
                            .await
                        }
                    };
                    // A stage proves the migration only on tenants it reached: an unreachable one
                    // stops the rollout as a failed one does.
                    let failed = done.iter().any(|r| r.outcome == Outcome::Failed);
                    if failed || done.iter().any(|r| r.outcome == Outcome::Unreachable) {
                        let what = if failed { "had failures" } else { "could not reach every tenant" };
                        halted = Some(format!("not started: stage {} of the rollout {what}", stage + 1));
                    }
                    results.extend(done);
                }
            }
            start = end;
        }
        // Report in registry order, whatever order the stages ran in.
        let order: HashMap<&OrgId, usize> = tenants.iter().enumerate().map(|(i, t)| (&t.org_id, i)).collect();
        results.sort_by_key(|r| order.get(&r.org_id).copied());
        results
    })
    .await
}

/// The migration set in phases: runs of transactional migrations, and each no-transaction migration
/// alone. A fan-out runs one phase on every tenant before the next, so a concurrent index build never
/// waits for the fan-out's own tenant transactions.
fn phases(set: &MigrationSet) -> Vec<Phase> {
    let mut phases: Vec<Phase> = Vec::new();
    for m in set.iter() {
        let transactional = m.up.transaction == TransactionMode::Transaction;
        match phases.last_mut() {
            Some(last) if transactional && last.transactional => last.versions.push(m.version),
            _ => phases.push(Phase { versions: vec![m.version], transactional }),
        }
    }
    phases
}

/// A run of migrations a fan-out applies to every tenant before the next.
#[derive(Debug)]
struct Phase {
    versions: Vec<Version>,
    transactional: bool,
}

/// Runs each phase on the targets that have not failed yet, then reports each tenant's merged result.
async fn run_phases(
    job: Job<'_>,
    pools: &ShardPools<'_>,
    targets: &[registry::Tenant],
    phases: &[Phase],
    budget: &Budget<'_>,
) -> Vec<TenantResult> {
    let Direction::Up { create_schema, allow_out_of_order, central, .. } = job.direction else {
        return Vec::new();
    };
    let mut merged: Vec<Option<TenantResult>> = vec![None; targets.len()];
    for phase in phases {
        let direction = Direction::Up { create_schema, allow_out_of_order, central, phase: Some(&phase.versions) };
        let phase_job = Job { direction, reporter: &OnlyRetries(job.reporter), ..job };
        let eligible: Vec<registry::Tenant> = targets
            .iter()
            .zip(&merged)
            .filter(|(_, r)| r.as_ref().is_none_or(|r| !matches!(r.outcome, Outcome::Failed | Outcome::Unreachable)))
            .map(|(t, _)| t.clone())
            .collect();
        let no_transaction = job.settings.no_transaction_concurrency;
        let limit = |shard: usize| if phase.transactional { shard } else { shard.min(no_transaction) };
        let reporter = OnlyRetries(job.reporter);
        let concurrency = job.settings.concurrency;
        let done = fan_out_shards(&eligible, pools, concurrency, limit, budget, &reporter, |pool, t| {
            runner::run(Job { pool, ..phase_job }, t)
        })
        .await;
        for result in done {
            let Some(slot) = targets.iter().position(|t| t.org_id == result.org_id) else { continue };
            match &mut merged[slot] {
                Some(so_far) => so_far.absorb(result),
                empty => *empty = Some(result),
            }
        }
    }
    let results: Vec<TenantResult> = merged.into_iter().flatten().collect();
    for result in &results {
        job.reporter.report(&Event::TenantFinished(result.clone()));
    }
    results
}

/// Forwards everything but per-phase tenant results (a tenant's result is reported once, merged).
struct OnlyRetries<'a>(&'a dyn Reporter);

impl Reporter for OnlyRetries<'_> {
    fn report(&self, event: &Event) {
        if !matches!(event, Event::TenantFinished(_)) {
            self.0.report(event);
        }
    }
}

/// The targets with the canary tenants first (in registry order), and how many canaries there are.
fn canary_first(tenants: &[registry::Tenant], canary: &Canary) -> Result<(Vec<registry::Tenant>, usize), EngineError> {
    match canary {
        Canary::None => Ok((tenants.to_vec(), 0)),
        Canary::First(n) => Ok((tenants.to_vec(), *n)),
        Canary::Named(orgs) => {
            if let Some(missing) = orgs.iter().find(|o| !tenants.iter().any(|t| &t.org_id == *o)) {
                return Err(EngineError::Tenant {
                    org_id: missing.clone(),
                    problem: "is not among this run's target tenants (--canary-tenant)".into(),
                });
            }
            let (mut first, rest): (Vec<_>, Vec<_>) = tenants.iter().cloned().partition(|t| orgs.contains(&t.org_id));
            let canaries = first.len();
            first.extend(rest);
            Ok((first, canaries))
        }
    }
}

/// What [`run_recorded`] records about a run besides its results.
pub(crate) struct Recorded {
    /// Nothing is recorded.
    pub(crate) dry_run: bool,
    /// Tenants it will visit.
    pub(crate) total: usize,
    /// Tenants the registry showed as up to date.
    pub(crate) up_to_date: usize,
    /// Shards are configured: the summary counts per shard.
    pub(crate) sharded: bool,
}

/// Records the run (unless dry), reports its start, runs it, and records its end.
pub(crate) async fn run_recorded<F, Fut>(
    db: &Database,
    run: &RunContext,
    recorded: Recorded,
    control: &FanoutControl,
    reporter: &dyn Reporter,
    body: F,
) -> Result<FanoutReport, EngineError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Vec<TenantResult>>,
{
    let Recorded { dry_run, total, up_to_date, sharded } = recorded;
    if !dry_run {
        runs::start(db.pool(), run).await?;
    }
    reporter.report(&Event::RunStarted { run_id: run.run_id, total });
    let results = body().await;
    let summary = Summary::of(&results, up_to_date, sharded);
    if !dry_run {
        let outcome = match () {
            () if control.cancel.is_cancelled() => "interrupted",
            () if results.iter().any(|r| matches!(r.outcome, Outcome::Failed | Outcome::Unreachable)) => "failed",
            () => "succeeded",
        };
        runs::finish(db.pool(), run.run_id, &summary, outcome).await?;
    }
    Ok(FanoutReport { run_id: (!dry_run).then_some(run.run_id), dry_run, summary, tenants: results })
}
