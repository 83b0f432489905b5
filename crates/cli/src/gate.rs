//! The safety gate in front of a run: lint the whole migration directory as one run (so the schema
//! model knows what earlier files created), and tell the engine which versions are BLOCKED. The
//! engine refuses when one of them is about to run; the findings are printed here.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

use clap::Args;
use tenantctl_engine::{Database, EngineError, Gate};
use tenantctl_lint::{FileRole, LintOptions, Report, Scope, Verdict};
use tenantctl_migrations::{FileKind, FileName};

use crate::exit::InputError;

/// `--allow-unsafe`, for commands that apply or revert migrations.
#[derive(Debug, Args, Clone, Copy, Default)]
pub(crate) struct GateArgs {
    /// Run migrations the linter blocks anyway (recorded in public.tenantctl_runs).
    #[arg(long)]
    pub(crate) allow_unsafe: bool,
}

/// A gate and the lint report behind it.
#[derive(Debug)]
pub(crate) struct Checked {
    pub(crate) gate: Gate,
    report: Report,
}

/// Lints `dir` for the server `db` runs, and gates the up files (`role` Up) or the down files.
pub(crate) async fn check(
    db: &Database,
    dir: &Path,
    scope: Scope,
    role: FileRole,
    tenant_prefix: &str,
    tenant_database_schema: Option<&str>,
    args: GateArgs,
) -> anyhow::Result<Checked> {
    let pg_version = db.server_major_version().await?;
    let mut inputs = tenantctl_lint::collect(&[dir.to_owned()]).map_err(|e| InputError::new(e.to_string()))?;
    for input in &mut inputs {
        input.scope = input.scope.or(Some(scope));
    }
    let options = LintOptions {
        pg_version,
        scope,
        tenant_prefix: tenant_prefix.to_owned(),
        tenant_database_schema: tenant_database_schema.map(str::to_owned),
    };
    let report = tenantctl_lint::lint(&inputs, &options);
    let kind = match role {
        FileRole::Up => FileKind::Up,
        FileRole::Down => FileKind::Down,
    };
    let unsafe_versions: BTreeSet<_> = report
        .files
        .iter()
        .filter(|f| f.verdict != Verdict::Pass)
        .filter_map(|f| file_name(&f.path))
        .filter(|name| name.kind == kind)
        .map(|name| name.version)
        .collect();
    Ok(Checked { gate: Gate { unsafe_versions, allow_unsafe: args.allow_unsafe }, report })
}

fn file_name(path: &str) -> Option<FileName> {
    let name = Path::new(path).file_name()?.to_str()?;
    FileName::parse(name).ok().flatten()
}

impl Checked {
    /// Passes the engine's result through; when the gate refused, first prints the findings of the
    /// refused files on stderr.
    pub(crate) fn guard<T>(&self, result: Result<T, EngineError>) -> Result<T, EngineError> {
        if let Err(error) = &result {
            self.explain_refusal(error);
        }
        result
    }

    /// When `error` is the gate's refusal, prints the findings of the refused files on stderr.
    pub(crate) fn explain_refusal(&self, error: &EngineError) {
        if let EngineError::Unsafe { versions } = error {
            self.explain(versions);
        }
    }

    fn explain(&self, versions: &[tenantctl_migrations::Version]) {
        let files = self
            .report
            .files
            .iter()
            .filter(|f| file_name(&f.path).is_some_and(|n| versions.contains(&n.version)) && f.verdict != Verdict::Pass)
            .cloned()
            .collect();
        let refused = Report { files, ..self.report.clone() };
        let mut stderr = std::io::stderr().lock();
        let _ = tenantctl_lint::render_text(&refused, &mut stderr).and_then(|()| stderr.flush());
    }
}
