//! Human-readable output: the report as text, one rule's explanation, and the README rule table.

use std::io::{self, Write};

use tenantctl_migrations::TransactionMode;

use crate::catalog::{RuleInfo, RuleScope, RuleSeverity, rules};
use crate::report::{Finding, Report};

fn transaction(mode: TransactionMode) -> &'static str {
    match mode {
        TransactionMode::Transaction => "transaction",
        TransactionMode::None => "no transaction",
    }
}

/// Writes the report: per file its verdict, transaction mode and findings, then a summary line.
pub fn render_text(report: &Report, out: &mut impl Write) -> io::Result<()> {
    for file in &report.files {
        writeln!(out, "{:<7} {} ({})", file.verdict.as_str(), file.path, transaction(file.transaction))?;
        for finding in &file.findings {
            write_finding(finding, out)?;
        }
    }
    let s = &report.summary;
    let noun = if s.files == 1 { "file" } else { "files" };
    writeln!(out, "{} {noun}: {} pass, {} blocked, {} error", s.files, s.pass, s.blocked, s.error)
}

fn write_finding(f: &Finding, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "  {}:{} {} [{}] {}", f.line, f.column, f.severity.as_str(), f.rule, f.message)?;
    if let Some(reason) = &f.reason {
        writeln!(out, "      allowed: {reason}")?;
    }
    if let Some(lock) = f.lock {
        writeln!(out, "      lock: {lock}")?;
    }
    if let Some(safe) = f.safe {
        writeln!(out, "      safe: {safe}")?;
    }
    Ok(())
}

fn severity(rule: &RuleInfo) -> &'static str {
    match rule.severity {
        RuleSeverity::Error if rule.suppressible() => "error",
        RuleSeverity::Error => "error (not suppressible)",
        RuleSeverity::Warning => "warning",
        RuleSeverity::Fatal => "verdict ERROR",
    }
}

fn scope(rule: &RuleInfo) -> &'static str {
    match rule.scope {
        RuleScope::All => "all",
        RuleScope::Tenant => "tenant",
    }
}

/// Writes everything the catalog says about one rule (`tenantctl lint --explain <rule>`).
pub fn render_explain(rule: &RuleInfo, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "{}: {} (scope: {})", rule.id, severity(rule), scope(rule))?;
    writeln!(out, "why: {}", rule.why)?;
    for (label, value) in [("lock", rule.lock), ("rewrite/scan", rule.rewrite), ("safe", rule.safe)] {
        if let Some(value) = value {
            writeln!(out, "{label}: {value}")?;
        }
    }
    Ok(())
}

/// Writes the README's rule table (Markdown), generated from [`rules`].
pub fn render_rules_markdown(out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "| # | rule | severity | scope | lock | safe alternative |")?;
    writeln!(out, "|---|---|---|---|---|---|")?;
    for (n, rule) in rules().iter().enumerate() {
        let cell = |s: Option<&str>| s.map_or_else(|| "—".to_owned(), |s| s.replace('|', "\\|"));
        writeln!(
            out,
            "| {} | `{}` | {} | {} | {} | {} |",
            n + 1,
            rule.id,
            severity(rule),
            scope(rule),
            cell(rule.lock),
            cell(rule.safe)
        )?;
    }
    Ok(())
}
