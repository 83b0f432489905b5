//! Results on stdout: text for people, one JSON document for scripts. Renderers write to any
//! `Write` so they are tested without a terminal.

use std::io::{self, Write};

use serde_json::{Value, json};
use tenantctl_engine::{
    FanoutReport, MasterReport, MoveOutcome, MoveReport, Outcome, ShardOutcome, ShardReport, ShardStatus, StatusReport,
    TenantDetail, TenantResult, VerifyReport,
};

/// How a fan-out's versions are named in its output.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Verb {
    /// `applied` (migrate, provision).
    Apply,
    /// `reverted` (rollback).
    Revert,
}

impl Verb {
    fn key(self) -> &'static str {
        match self {
            Self::Apply => "applied",
            Self::Revert => "reverted",
        }
    }
}

fn outcome_name(result: &TenantResult, dry_run: bool) -> &'static str {
    match (result.outcome, dry_run) {
        (Outcome::Succeeded, true) => "planned",
        (Outcome::Succeeded, false) => "succeeded",
        (Outcome::Failed, _) => "failed",
        (Outcome::Skipped, _) => "skipped",
        (Outcome::Unreachable, _) => "unreachable",
    }
}

/// One tenant's result as JSON (an element of `tenants`, or a line of `--format jsonl`).
pub(crate) fn tenant_result_json(t: &TenantResult, verb: Verb, dry_run: bool) -> Value {
    json!({
        "org_id": t.org_id,
        "schema": t.schema,
        "outcome": outcome_name(t, dry_run),
        verb.key(): t.versions,
        "error": t.error,
        "reason": t.reason,
        "duration_ms": t.elapsed.as_millis(),
    })
}

/// The JSON document of a fan-out; with `summary_only`, the closing object of `--format jsonl`.
pub(crate) fn fanout_json(report: &FanoutReport, verb: Verb, summary_only: bool) -> Value {
    let mut document = json!({
        "run_id": report.run_id,
        "dry_run": report.dry_run,
        "summary": report.summary,
    });
    if !summary_only {
        let tenants: Vec<Value> = report.tenants.iter().map(|t| tenant_result_json(t, verb, report.dry_run)).collect();
        document["tenants"] = Value::from(tenants);
    }
    document
}

/// A fan-out for people: failures in full, successes with `verbose`, and a summary line.
pub(crate) fn fanout_text(
    out: &mut dyn Write,
    command: &str,
    report: &FanoutReport,
    verb: Verb,
    verbose: bool,
) -> io::Result<()> {
    if report.dry_run {
        writeln!(out, "{command} --dry-run: nothing was changed")?;
    }
    for t in &report.tenants {
        let versions = t.versions.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
        match (t.outcome, report.dry_run) {
            (Outcome::Failed, _) => {
                let first_line = t.error.as_deref().unwrap_or_default().lines().next().unwrap_or_default();
                writeln!(out, "FAILED   {} ({}): {first_line}", t.org_id, t.schema)?;
            }
            (Outcome::Unreachable, _) => {
                let error = t.error.as_deref().unwrap_or_default();
                writeln!(out, "UNREACHABLE {} ({}) on shard {}: {error}", t.org_id, t.schema, t.shard)?;
            }
            (Outcome::Succeeded, true) => {
                writeln!(out, "would {}  {} ({}): {versions}", verb_word(verb), t.org_id, t.schema)?
            }
            (Outcome::Succeeded, false) if verbose => {
                writeln!(out, "ok       {} ({}): {} {versions}", t.org_id, t.schema, verb.key())?
            }
            (Outcome::Skipped, _) if verbose || report.dry_run => {
                writeln!(out, "skipped  {} ({}): {}", t.org_id, t.schema, t.reason.as_deref().unwrap_or_default())?;
            }
            _ => {}
        }
    }
    let s = &report.summary;
    let slowest: std::time::Duration = report.tenants.iter().map(|t| t.elapsed).max().unwrap_or_default();
    match report.dry_run {
        true => write!(
            out,
            "{command}: {} tenant(s) with work, {} failed to plan, {} with nothing to do",
            s.succeeded, s.failed, s.skipped
        )?,
        false => write!(out, "{command}: {} succeeded, {} failed, {} skipped", s.succeeded, s.failed, s.skipped)?,
    }
    if s.unreachable > 0 {
        write!(out, ", {} unreachable", s.unreachable)?;
    }
    if s.up_to_date > 0 {
        write!(out, ", {} already up to date", s.up_to_date)?;
    }
    writeln!(out, " (slowest tenant {} ms)", slowest.as_millis())?;
    for (shard, c) in s.by_shard.iter().flatten() {
        writeln!(
            out,
            "  shard {shard}: {} succeeded, {} failed, {} skipped, {} unreachable",
            c.succeeded, c.failed, c.skipped, c.unreachable
        )?;
    }
    Ok(())
}

fn verb_word(verb: Verb) -> &'static str {
    match verb {
        Verb::Apply => "apply",
        Verb::Revert => "revert",
    }
}

/// A master command's JSON document.
pub(crate) fn master_json(report: &MasterReport, verb: Verb) -> Value {
    json!({
        "run_id": report.run_id,
        "dry_run": report.dry_run,
        "bootstrap_steps": report.bootstrap_steps,
        "batch": report.batch,
        verb.key(): report.migrations,
    })
}

/// A master command for people.
pub(crate) fn master_text(out: &mut dyn Write, report: &MasterReport, verb: Verb) -> io::Result<()> {
    let prefix = if report.dry_run { "would " } else { "" };
    if report.bootstrap_steps > 0 {
        writeln!(out, "{prefix}create or upgrade tenantctl's tables ({} step(s))", report.bootstrap_steps)?;
    }
    for m in &report.migrations {
        match report.dry_run {
            true => writeln!(out, "would {} {}", verb_word(verb), m.file)?,
            false => writeln!(out, "{} {} ({} ms)", verb.key(), m.file, m.duration_ms)?,
        }
    }
    match (report.migrations.len(), report.batch) {
        (0, _) => writeln!(out, "master: nothing to {}", verb_word(verb)),
        (n, Some(batch)) => writeln!(out, "master: {n} migration(s) {} as batch {batch}", verb.key()),
        (n, None) => writeln!(
            out,
            "master: {n} migration(s) {}{}",
            if report.dry_run { "to " } else { "" },
            if report.dry_run { verb_word(verb) } else { verb.key() }
        ),
    }
}

/// `migrate-master`'s `shards` section: per shard name, what was applied, the outcome and the error.
pub(crate) fn shards_json(shards: &[ShardReport]) -> Value {
    let entry = |s: &ShardReport| {
        json!({
            "applied": s.applied,
            "batch": s.batch,
            "outcome": s.outcome,
            "error": s.error.as_ref().map(ToString::to_string),
        })
    };
    Value::Object(shards.iter().map(|s| (s.name.clone(), entry(s))).collect())
}

/// `migrate-master`'s shards for people: a line per file, and one per shard saying how it ended.
pub(crate) fn shards_text(out: &mut dyn Write, shards: &[ShardReport], dry_run: bool) -> io::Result<()> {
    for s in shards {
        for m in &s.applied {
            match dry_run {
                true => writeln!(out, "shard {}: would apply {}", s.name, m.file)?,
                false => writeln!(out, "shard {}: applied {} ({} ms)", s.name, m.file, m.duration_ms)?,
            }
        }
        let error = s.error.as_ref().map(ToString::to_string).unwrap_or_default();
        match (s.outcome, s.applied.len(), s.batch) {
            (ShardOutcome::Unreachable, _, _) => writeln!(out, "shard {}: UNREACHABLE: {error}", s.name)?,
            (ShardOutcome::Failed, _, _) => writeln!(out, "shard {}: FAILED: {error}", s.name)?,
            (ShardOutcome::Succeeded, 0, _) => writeln!(out, "shard {}: nothing to apply", s.name)?,
            (ShardOutcome::Succeeded, n, Some(batch)) => {
                writeln!(out, "shard {}: {n} migration(s) applied as batch {batch}", s.name)?
            }
            (ShardOutcome::Succeeded, n, None) => writeln!(out, "shard {}: {n} migration(s) to apply", s.name)?,
        }
    }
    Ok(())
}

/// `status`'s `shards` section: per shard name, its state.
pub(crate) fn shard_status_json(shards: &[ShardStatus]) -> Value {
    let entry = |s: &ShardStatus| {
        json!({
            "reachable": s.reachable,
            "error": s.error,
            "version": s.version,
            "pending": s.pending,
            "tenants": s.tenants,
        })
    };
    Value::Object(shards.iter().map(|s| (s.name.clone(), entry(s))).collect())
}

/// `status`'s shards for people (nothing when no shard is listed).
pub(crate) fn shard_status_text(out: &mut dyn Write, shards: &[ShardStatus]) -> io::Result<()> {
    if shards.is_empty() {
        return Ok(());
    }
    writeln!(out, "shards:")?;
    for s in shards {
        match &s.error {
            Some(error) => writeln!(out, "  {}: UNREACHABLE, {} tenant(s): {error}", s.name, s.tenants)?,
            None => {
                let version = s.version.map_or_else(|| "none".to_owned(), |v| v.to_string());
                let pending = s.pending.len();
                writeln!(
                    out,
                    "  {}: reachable, version {version}, {pending} pending, {} tenant(s)",
                    s.name, s.tenants
                )?;
            }
        }
        for file in &s.pending {
            writeln!(out, "    pending {file}")?;
        }
    }
    Ok(())
}

/// `status` as JSON.
pub(crate) fn status_json(report: &StatusReport) -> Value {
    serde_json::to_value(report).unwrap_or(Value::Null)
}

/// `status` for people.
pub(crate) fn status_text(out: &mut dyn Write, report: &StatusReport) -> io::Result<()> {
    if !report.initialized {
        writeln!(out, "tenantctl has not run on this database yet: run `tenantctl migrate-master`")?;
    }
    let version = report.master.version.map_or_else(|| "none".to_owned(), |v| v.to_string());
    writeln!(out, "master:  version {version}, {} pending", report.master.pending.len())?;
    for file in &report.master.pending {
        writeln!(out, "         pending {file}")?;
    }
    let by_status: Vec<String> = report.tenants.by_status.iter().map(|(s, n)| format!("{s} {n}")).collect();
    writeln!(out, "tenants: {} ({})", report.tenants.total, by_status.join(", "))?;
    writeln!(out, "behind:  {} tenant(s) without every tenant migration", report.tenants.behind)?;
    if report.tenants.by_isolation.get("database").is_some_and(|n| *n > 0) {
        let by: Vec<String> = report.tenants.by_isolation.iter().map(|(i, n)| format!("{i} {n}")).collect();
        writeln!(out, "isolation: {}", by.join(", "))?;
    }
    if !report.failed.is_empty() {
        writeln!(out, "failed tenants:")?;
        for f in &report.failed {
            writeln!(out, "  {} ({}): {}", f.org_id, f.schema, f.error.as_deref().unwrap_or("no error recorded"))?;
        }
    }
    if !report.recent_runs.is_empty() {
        writeln!(out, "recent runs:")?;
        for run in &report.recent_runs {
            let counts = match (run.succeeded, run.failed, run.skipped) {
                (Some(s), Some(f), Some(k)) => format!("{s} succeeded, {f} failed, {k} skipped"),
                _ => "did not finish".to_owned(),
            };
            let when = run.started_at.format("%Y-%m-%d %H:%M:%S UTC");
            writeln!(out, "  {when}  {:<17} {:<12} {counts}", run.command, run.outcome.as_deref().unwrap_or("-"))?;
        }
    }
    Ok(())
}

/// `status --tenant` as JSON.
pub(crate) fn tenant_json(detail: &TenantDetail) -> Value {
    json!({
        "org_id": detail.tenant.org_id,
        "schema": detail.tenant.schema,
        "isolation": detail.tenant.isolation(),
        "database": detail.tenant.database.as_ref().map(|d| &d.name),
        "database_schema": detail.tenant.database.as_ref().map(|d| &d.schema),
        "shard": detail.tenant.shard,
        "status": detail.tenant.status,
        "role": detail.tenant.role,
        "last_error": detail.last_error,
        "applied": detail.applied,
        "pending": detail.pending,
    })
}

/// `status --tenant` for people.
pub(crate) fn tenant_text(out: &mut dyn Write, detail: &TenantDetail) -> io::Result<()> {
    let t = &detail.tenant;
    writeln!(out, "{} ({}): {}", t.org_id, t.schema, t.status.as_str())?;
    match &t.database {
        Some(d) => writeln!(out, "isolation: database {} on shard {}, schema {}", d.name, t.shard, d.schema)?,
        None => writeln!(out, "isolation: schema on shard {}", t.shard)?,
    }
    if let Some(role) = &t.role {
        writeln!(out, "role: {role} (its migrations run as it)")?;
    }
    if let Some(error) = &detail.last_error {
        writeln!(out, "last error: {error}")?;
    }
    for a in &detail.applied {
        writeln!(
            out,
            "  applied  {:>14}  {}  batch {}  {}",
            a.version,
            a.name,
            a.batch,
            a.applied_at.format("%Y-%m-%d %H:%M:%S UTC")
        )?;
    }
    for p in &detail.pending {
        writeln!(out, "  pending  {p}")?;
    }
    Ok(())
}

/// `verify` as JSON.
pub(crate) fn verify_json(report: &VerifyReport) -> Value {
    serde_json::to_value(report).unwrap_or(Value::Null)
}

/// `verify` for people.
pub(crate) fn verify_text(out: &mut dyn Write, report: &VerifyReport) -> io::Result<()> {
    writeln!(out, "verify: {} tenant(s) in {} structure group(s)", report.tenants, report.groups.len())?;
    for g in &report.groups {
        let version = g.version.map_or_else(|| "none".to_owned(), |v| v.to_string());
        writeln!(out, "  version {version:>14}  {:>6} tenant(s)  structure {}", g.count, &g.fingerprint[..12])?;
    }
    if report.outliers.is_empty() {
        return writeln!(out, "no tenant differs from its peers");
    }
    writeln!(out, "{} tenant(s) differ:", report.outliers.len())?;
    for o in &report.outliers {
        let version = o.version.map_or_else(|| "none".to_owned(), |v| v.to_string());
        writeln!(out, "  {} ({}) at version {version}:", o.org_id, o.schema)?;
        for d in &o.differences {
            writeln!(out, "    {d}")?;
        }
    }
    Ok(())
}

/// `move-tenant`'s result, for people.
pub(crate) fn move_text(out: &mut dyn Write, report: &MoveReport) -> std::io::Result<()> {
    let who = format!("{} ({})", report.org_id, report.schema);
    match report.outcome {
        MoveOutcome::Aborted => writeln!(
            out,
            "{who}: move to shard {} aborted; ACTIVE on shard {} again, no copy left on {0}",
            report.from, report.to
        ),
        MoveOutcome::Dropped => {
            writeln!(out, "{who}: the copy left on shard {} by an earlier move is dropped", report.from)
        }
        MoveOutcome::Moved => {
            let rows: i64 = report.tables.iter().map(|t| t.rows).sum();
            let how = match (report.resumed, report.copied) {
                (true, false) => "resumed; the copy already there matched",
                (true, true) => "resumed and copied",
                _ => "copied",
            };
            writeln!(
                out,
                "{who}: moved from shard {} to {} ({how}; {} tables, {rows} rows, checksums equal)",
                report.from,
                report.to,
                report.tables.len()
            )?;
            writeln!(out, "MOVING (read-only) for {} ms", report.moving_ms)?;
            match &report.source_copy_on {
                Some(shard) => writeln!(
                    out,
                    "the old copy stays on shard {shard}: drop it with `tenantctl move-tenant {} --drop-source`",
                    report.org_id
                ),
                None => writeln!(out, "the old copy on shard {} is dropped", report.from),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use tenantctl_engine::{EngineError, MasterStep};
    use tenantctl_migrations::Version;

    use super::*;

    fn step(version: u64, file: &str) -> MasterStep {
        MasterStep { version: Version::new(version).unwrap(), file: file.to_owned(), duration_ms: 7 }
    }

    fn unreachable() -> EngineError {
        EngineError::Connect { target: "10.0.0.9:5432/app".into(), reason: "Connection refused".into() }
    }

    fn reports() -> Vec<ShardReport> {
        vec![
            ShardReport {
                name: "eu1".into(),
                outcome: ShardOutcome::Succeeded,
                applied: vec![step(1, "0001_a.up.sql"), step(2, "0002_b.up.sql")],
                batch: Some(3),
                error: None,
            },
            ShardReport {
                name: "us2".into(),
                outcome: ShardOutcome::Unreachable,
                applied: Vec::new(),
                batch: None,
                error: Some(unreachable()),
            },
        ]
    }

    fn text(write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> String {
        let mut out = Vec::new();
        write(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn result(org: &str, shard: &str, outcome: Outcome, error: Option<&str>) -> TenantResult {
        TenantResult {
            org_id: tenantctl_engine::OrgId::new(org).unwrap(),
            schema: tenantctl_engine::SchemaName::new("tid_0123456789").unwrap(),
            outcome,
            versions: Vec::new(),
            error: error.map(str::to_owned),
            reason: None,
            elapsed: std::time::Duration::ZERO,
            plan_error: None,
            shard: shard.to_owned(),
        }
    }

    #[test]
    fn a_fan_out_over_shards_shows_unreachable_tenants_and_counts_per_shard() {
        let tenants = vec![
            result("acme", "eu1", Outcome::Succeeded, None),
            result("globex", "us2", Outcome::Unreachable, Some("cannot connect to PostgreSQL at h:5432/app")),
        ];
        let summary = tenantctl_engine::Summary::of(&tenants, 3, true);
        let report = FanoutReport { run_id: None, dry_run: false, summary, tenants };
        insta::assert_snapshot!(text(|out| fanout_text(out, "migrate-tenants", &report, Verb::Apply, false)), @r"
        UNREACHABLE globex (tid_0123456789) on shard us2: cannot connect to PostgreSQL at h:5432/app
        migrate-tenants: 1 succeeded, 0 failed, 0 skipped, 1 unreachable, 3 already up to date (slowest tenant 0 ms)
          shard eu1: 1 succeeded, 0 failed, 0 skipped, 0 unreachable
          shard us2: 0 succeeded, 0 failed, 0 skipped, 1 unreachable
        ");
        let json = fanout_json(&report, Verb::Apply, true);
        assert_eq!(json["summary"]["unreachable"], 1);
        assert_eq!(
            json["summary"]["by_shard"]["us2"],
            serde_json::json!({"succeeded": 0, "failed": 0, "skipped": 0, "unreachable": 1})
        );
        let unsharded = tenantctl_engine::Summary::of(&report.tenants, 0, false);
        assert!(serde_json::to_value(unsharded).unwrap().get("by_shard").is_none(), "no by_shard without shards");
    }

    #[test]
    fn shards_of_migrate_master_as_text_and_json() {
        insta::assert_snapshot!(text(|out| shards_text(out, &reports(), false)), @r"
        shard eu1: applied 0001_a.up.sql (7 ms)
        shard eu1: applied 0002_b.up.sql (7 ms)
        shard eu1: 2 migration(s) applied as batch 3
        shard us2: UNREACHABLE: cannot connect to PostgreSQL at 10.0.0.9:5432/app: Connection refused
        ");
        let json = shards_json(&reports());
        assert_eq!(json["eu1"]["applied"][1]["file"], "0002_b.up.sql");
        assert_eq!(json["eu1"]["outcome"], "succeeded");
        assert_eq!(json["us2"]["outcome"], "unreachable");
        assert_eq!(json["us2"]["error"], unreachable().to_string());
    }

    #[test]
    fn shards_of_status_as_text() {
        let shards = [
            ShardStatus {
                name: "default".into(),
                reachable: true,
                error: None,
                version: None,
                pending: vec![],
                tenants: 4,
            },
            ShardStatus {
                name: "eu1".into(),
                reachable: true,
                error: None,
                version: Version::new(2),
                pending: vec!["0003_c.up.sql".into()],
                tenants: 1,
            },
            ShardStatus {
                name: "us2".into(),
                reachable: false,
                error: Some(unreachable().to_string()),
                version: None,
                pending: vec![],
                tenants: 0,
            },
        ];
        insta::assert_snapshot!(text(|out| shard_status_text(out, &shards)), @r"
        shards:
          default: reachable, version none, 0 pending, 4 tenant(s)
          eu1: reachable, version 2, 1 pending, 1 tenant(s)
            pending 0003_c.up.sql
          us2: UNREACHABLE, 0 tenant(s): cannot connect to PostgreSQL at 10.0.0.9:5432/app: Connection refused
        ");
        assert_eq!(text(|out| shard_status_text(out, &[])), "", "nothing without shards");
    }
}
