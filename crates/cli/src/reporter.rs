//! Progress on stderr: an indicatif bar when stderr is a terminal, otherwise a log line every few
//! seconds. The only place the CLI listens to engine events.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tenantctl_engine::{Event, Outcome, Reporter};

use crate::render::{self, Verb};

const LOG_EVERY: Duration = Duration::from_secs(5);

#[derive(Debug)]
struct Counts {
    total: usize,
    done: usize,
    failed: usize,
    started: Instant,
    last_log: Instant,
}

/// Renders engine events: progress on stderr, and with `--format jsonl` each tenant's result on stdout.
#[derive(Debug)]
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
    counts: Mutex<Counts>,
    jsonl: Option<Jsonl>,
}

/// How `--format jsonl` names each tenant's result: what the run does, and whether it only plans.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Jsonl {
    pub(crate) verb: Verb,
    pub(crate) dry_run: bool,
}

impl Progress {
    /// A bar when stderr is a terminal and output is not quieted; log lines otherwise.
    pub(crate) fn new(quiet: bool, jsonl: Option<Jsonl>) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{bar:30} {pos}/{len} tenants, {msg} failed, {per_sec}, ETA {eta}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
        let now = Instant::now();
        Self { bar, counts: Mutex::new(Counts { total: 0, done: 0, failed: 0, started: now, last_log: now }), jsonl }
    }

    /// Removes the bar before the summary is printed.
    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    fn log(&self, emit: impl FnOnce()) {
        match &self.bar {
            Some(bar) => bar.suspend(emit),
            None => emit(),
        }
    }

    fn tenant_finished(&self, failed: bool) {
        let Ok(mut counts) = self.counts.lock() else {
            return;
        };
        counts.done += 1;
        counts.failed += usize::from(failed);
        if let Some(bar) = &self.bar {
            bar.inc(1);
            bar.set_message(counts.failed.to_string());
            return;
        }
        if counts.last_log.elapsed() >= LOG_EVERY {
            counts.last_log = Instant::now();
            let rate = counts.done as f64 / counts.started.elapsed().as_secs_f64().max(0.001);
            let eta = (counts.total.saturating_sub(counts.done)) as f64 / rate.max(0.001);
            tracing::info!(
                "progress: {}/{} tenants done, {} failed, {rate:.1} tenants/s, ETA {eta:.0}s",
                counts.done,
                counts.total,
                counts.failed
            );
        }
    }
}

impl Reporter for Progress {
    fn report(&self, event: &Event) {
        match event {
            Event::RunStarted { run_id, total } => {
                if let Ok(mut counts) = self.counts.lock() {
                    counts.total = *total;
                    counts.started = Instant::now();
                    counts.last_log = counts.started;
                }
                if let Some(bar) = &self.bar {
                    bar.set_length(*total as u64);
                    bar.set_message("0");
                    bar.reset_elapsed();
                }
                tracing::debug!(%run_id, total, "run started");
            }
            Event::TenantFinished(result) => {
                if let Some(Jsonl { verb, dry_run }) = self.jsonl {
                    let line = render::tenant_result_json(result, verb, dry_run);
                    let mut stdout = std::io::stdout().lock();
                    // A closed stdout (a pipe to `head`) must not stop the run.
                    let _ = writeln!(stdout, "{line}").and_then(|()| stdout.flush());
                }
                let failed = result.outcome == Outcome::Failed;
                if failed {
                    self.log(|| {
                        tracing::warn!(
                            "tenant {} ({}) failed: {}",
                            result.org_id,
                            result.schema,
                            result.error.as_deref().unwrap_or_default()
                        );
                    });
                }
                self.tenant_finished(failed);
            }
            Event::Retrying { org_id, attempt, delay, error } => self.log(|| {
                tracing::warn!("tenant {org_id}: attempt {attempt} failed ({error}); retrying in {delay:?}");
            }),
            Event::MasterMigration { file, elapsed, .. } => {
                tracing::debug!("{file} done in {} ms", elapsed.as_millis());
            }
            Event::WaitingForLock => self.log(|| {
                tracing::warn!("another tenantctl run holds the global lock; waiting for it");
            }),
        }
    }
}
