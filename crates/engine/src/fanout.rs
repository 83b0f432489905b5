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
}

/// Runs `work` on every target, at most `concurrency` at once. Results come back in the order of
/// `targets`; each is also reported as it finishes.
pub(crate) async fn fan_out<'a, T, F, Fut>(
    targets: &'a [T],
    concurrency: usize,
    control: &FanoutControl,
    reporter: &dyn Reporter,
    work: F,
) -> Vec<TenantResult>
where
    T: Target,
    F: Fn(&'a T) -> Fut,
    Fut: Future<Output = TenantResult>,
{
    let failures = AtomicUsize::new(0);
    let stopped = |failures: &AtomicUsize| {
        control.cancel.is_cancelled()
            || control
                .max_failures
                .is_some_and(|max| failures.load(Ordering::Relaxed) >= max)
    };
    let work = &work;
    let mut results: Vec<(usize, TenantResult)> = futures::stream::iter(targets.iter().enumerate())
        .map(|(index, target)| {
            let failures = &failures;
            async move {
                let result = if stopped(failures) {
                    not_started(target, control)
                } else {
                    work(target).await
                };
                if result.outcome == Outcome::Failed {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
                reporter.report(&Event::TenantFinished(result.clone()));
                (index, result)
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, r)| r).collect()
}

fn not_started(target: &impl Target, control: &FanoutControl) -> TenantResult {
    let reason = match control.cancel.is_cancelled() {
        true => "not started: the run was interrupted",
        false => "not started: --max-failures reached",
    };
    TenantResult {
        org_id: target.org_id().clone(),
        schema: target.schema().clone(),
        outcome: Outcome::Skipped,
        versions: Vec::new(),
        error: None,
        reason: Some(reason.to_owned()),
        elapsed: std::time::Duration::ZERO,
        plan_error: None,
    }
}
