//! The fan-out: bounded concurrency over tenants in registry order, one collector of results,
//! cancellation that stops scheduling while in-flight tenants finish, and a failure budget.

use std::sync::atomic::{AtomicUsize, Ordering};

use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::events::{Event, Outcome, Reporter, TenantResult};
use crate::{OrgId, SchemaName};

/// Controls of one fan-out.
#[derive(Debug, Clone, Default)]
pub struct FanoutControl {
    /// Stop scheduling new tenants after this many failures.
    pub max_failures: Option<usize>,
    /// Cancelled by the caller (Ctrl-C): stop scheduling; in-flight tenants commit or roll back.
    pub cancel: CancellationToken,
}

/// Something a fan-out visits: a registered tenant, or an org being provisioned.
pub(crate) trait Target {
    fn org_id(&self) -> &OrgId;
    fn schema(&self) -> &SchemaName;
    /// The shard that holds (or will hold) its schema.
    fn shard(&self) -> &str;
}

impl<T: Target> Target for &T {
    fn org_id(&self) -> &OrgId {
        (*self).org_id()
    }

    fn schema(&self) -> &SchemaName {
        (*self).schema()
    }

    fn shard(&self) -> &str {
        (*self).shard()
    }
}

/// The failure budget and cancellation of one run, shared by all its stages.
#[derive(Debug)]
pub(crate) struct Budget<'a> {
    control: &'a FanoutControl,
    failures: AtomicUsize,
}

impl<'a> Budget<'a> {
    pub(crate) fn new(control: &'a FanoutControl) -> Self {
        Self { control, failures: AtomicUsize::new(0) }
    }

    /// Why no new tenant may start, if one may not.
    fn stop_reason(&self) -> Option<&'static str> {
        if self.control.cancel.is_cancelled() {
            Some("not started: the run was interrupted")
        } else if self.control.max_failures.is_some_and(|max| self.failures.load(Ordering::Relaxed) >= max) {
            Some("not started: --max-failures reached")
        } else {
            None
        }
    }
}

/// Runs `work` on every target, at most `concurrency` at once. Results come back in the order of
/// `targets`; each is also reported as it finishes.
pub(crate) async fn fan_out<'a, T, F, Fut>(
    targets: &'a [T],
    concurrency: usize,
    budget: &Budget<'_>,
    reporter: &dyn Reporter,
    work: F,
) -> Vec<TenantResult>
where
    T: Target,
    F: Fn(&'a T) -> Fut,
    Fut: Future<Output = TenantResult>,
{
    let work = &work;
    let mut results: Vec<(usize, TenantResult)> = futures::stream::iter(targets.iter().enumerate())
        .map(|(index, target)| async move {
            let result = match budget.stop_reason() {
                Some(reason) => not_started(target, reason),
                None => work(target).await,
            };
            if result.outcome == Outcome::Failed {
                budget.failures.fetch_add(1, Ordering::Relaxed);
            }
            reporter.report(&Event::TenantFinished(result.clone()));
            (index, result)
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, r)| r).collect()
}

/// The result of a target the run did not start.
pub(crate) fn not_started(target: &impl Target, reason: &str) -> TenantResult {
    untouched(target, Outcome::Skipped, None, Some(reason.to_owned()))
}

/// The result of a target whose shard could not be reached.
pub(crate) fn unreachable(target: &impl Target, error: &str) -> TenantResult {
    untouched(target, Outcome::Unreachable, Some(error.to_owned()), None)
}

/// The result of a target nothing was done to.
pub(crate) fn untouched(
    target: &impl Target,
    outcome: Outcome,
    error: Option<String>,
    reason: Option<String>,
) -> TenantResult {
    TenantResult {
        org_id: target.org_id().clone(),
        schema: target.schema().clone(),
        outcome,
        versions: Vec::new(),
        error,
        reason,
        elapsed: std::time::Duration::ZERO,
        plan_error: None,
        shard: target.shard().to_owned(),
    }
}
