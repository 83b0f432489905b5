//! What the engine tells its caller while it works. The engine never prints: it reports typed
//! events to a [`Reporter`] the caller passes in, and returns the results as data.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use tenantctl_migrations::{PlanError, Version};
use uuid::Uuid;

use crate::{OrgId, SchemaName};

/// What happened to one tenant in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Its work was done and committed.
    Succeeded,
    /// Its transaction was rolled back and it is marked FAILED.
    Failed,
    /// Nothing was done: nothing to do, another run holds it, or the run stopped before it.
    Skipped,
    /// Its shard could not be reached (before or during its work): nothing about it changed, it is
    /// not marked FAILED, and the next run picks it up.
    Unreachable,
}

/// The result of one tenant.
#[derive(Debug, Clone, Serialize)]
pub struct TenantResult {
    /// The org.
    pub org_id: OrgId,
    /// Its schema.
    pub schema: SchemaName,
    /// What happened.
    pub outcome: Outcome,
    /// Versions applied (migrate, provision) or reverted (rollback), in the order they ran.
    pub versions: Vec<Version>,
    /// The error (failed) or the reason (skipped).
    pub error: Option<String>,
    /// Why it was skipped, when it was.
    pub reason: Option<String>,
    /// Time spent on it, retries included.
    #[serde(skip)]
    pub elapsed: Duration,
    /// When it failed because its history and the files disagree: the planner's error.
    #[serde(skip)]
    pub plan_error: Option<PlanError>,
    /// The shard that holds its schema.
    #[serde(skip)]
    pub shard: String,
}

impl TenantResult {
    /// Folds the result of a later phase of the same tenant into this one.
    pub(crate) fn absorb(&mut self, later: TenantResult) {
        self.versions.extend(later.versions);
        self.elapsed += later.elapsed;
        match later.outcome {
            Outcome::Failed => {
                self.outcome = Outcome::Failed;
                self.error = later.error;
                self.reason = None;
                self.plan_error = later.plan_error;
            }
            Outcome::Succeeded if self.outcome != Outcome::Failed => {
                self.outcome = Outcome::Succeeded;
                self.reason = None;
            }
            Outcome::Unreachable => {
                self.outcome = Outcome::Unreachable;
                self.error = later.error;
                self.reason = None;
            }
            Outcome::Succeeded | Outcome::Skipped => {}
        }
    }
}

/// Counts of a finished run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Tenants whose work committed.
    pub succeeded: usize,
    /// Tenants rolled back and marked FAILED.
    pub failed: usize,
    /// Tenants left alone.
    pub skipped: usize,
    /// Tenants whose shard could not be reached (left as they were, not marked FAILED).
    pub unreachable: usize,
    /// Tenants the registry already showed as up to date (never connected to).
    pub up_to_date: usize,
    /// The counts per shard, when shards are configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by_shard: Option<BTreeMap<String, ShardCounts>>,
}

/// The counts of one shard's tenants in a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ShardCounts {
    /// Tenants whose work committed.
    pub succeeded: usize,
    /// Tenants rolled back and marked FAILED.
    pub failed: usize,
    /// Tenants left alone.
    pub skipped: usize,
    /// Tenants not reached.
    pub unreachable: usize,
}

impl ShardCounts {
    fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Succeeded => self.succeeded += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::Skipped => self.skipped += 1,
            Outcome::Unreachable => self.unreachable += 1,
        }
    }
}

impl Summary {
    /// Counts the results; `by_shard` adds the counts per shard.
    pub fn of(results: &[TenantResult], up_to_date: usize, by_shard: bool) -> Self {
        let mut total = ShardCounts::default();
        let mut shards: BTreeMap<String, ShardCounts> = BTreeMap::new();
        for r in results {
            total.add(r.outcome);
            shards.entry(r.shard.clone()).or_default().add(r.outcome);
        }
        Self {
            succeeded: total.succeeded,
            failed: total.failed,
            skipped: total.skipped,
            unreachable: total.unreachable,
            up_to_date,
            by_shard: by_shard.then_some(shards),
        }
    }
}

/// An event during a run.
#[derive(Debug, Clone)]
pub enum Event {
    /// A fan-out is about to start on `total` tenants.
    RunStarted {
        /// The run's id (also in `public.tenantctl_runs`).
        run_id: Uuid,
        /// How many tenants it will visit.
        total: usize,
    },
    /// One tenant finished.
    TenantFinished(TenantResult),
    /// A tenant hit a lock timeout or deadlock and will be retried.
    Retrying {
        /// The org.
        org_id: OrgId,
        /// Which attempt failed (1-based).
        attempt: u32,
        /// How long until the next one.
        delay: Duration,
        /// The error.
        error: String,
    },
    /// A master migration was applied or reverted.
    MasterMigration {
        /// Its version.
        version: Version,
        /// Its file.
        file: String,
        /// How long it took.
        elapsed: Duration,
    },
    /// The run is waiting for another tenantctl run's global lock.
    WaitingForLock,
}

/// Receives events. Implementations must be cheap: they are called from the run's hot path.
pub trait Reporter: Send + Sync {
    /// One event.
    fn report(&self, event: &Event);
}

/// A reporter that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Reporter for Silent {
    fn report(&self, _event: &Event) {}
}
