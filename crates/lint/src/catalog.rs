//! The rule catalog: what each rule is called, how severe it is, where it applies, and what to do
//! instead. The same data drives linting, `--list-rules`, `--explain` and the README table.

use serde::Serialize;

use pg_query::NodeEnum;

use crate::context::{Context, FileFacts};
use crate::report::Span;
use crate::rules::ALL;

/// How severe a rule's finding is before any directive suppresses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleSeverity {
    /// Blocks the file (verdict BLOCKED).
    Error,
    /// Printed, but the file still passes.
    Warning,
    /// The file cannot be linted at all (verdict ERROR).
    Fatal,
}

/// Which migration files a rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleScope {
    /// Master and tenant migrations.
    All,
    /// Tenant migrations only; skipped in master scope.
    Tenant,
}

/// One rule of the catalog.
#[derive(Debug, Serialize)]
pub struct RuleInfo {
    /// The rule id used in findings and `tenantctl:allow` directives.
    pub id: &'static str,
    /// Severity of an unsuppressed finding (in up files; see [`crate::FileRole`]).
    pub severity: RuleSeverity,
    /// Where the rule applies.
    pub scope: RuleScope,
    /// The lock the offending statement takes, if the rule is about locks.
    pub lock: Option<&'static str>,
    /// Whether the statement rewrites or scans the table.
    pub rewrite: Option<&'static str>,
    /// Why the statement is dangerous.
    pub why: &'static str,
    /// What to do instead.
    pub safe: Option<&'static str>,
    #[serde(skip)]
    pub(crate) check: Check,
}

impl RuleInfo {
    /// Whether a `tenantctl:allow` directive may name this rule.
    pub fn suppressible(&self) -> bool {
        !matches!(self.check, Check::Engine)
    }
}

/// How a rule looks at a file.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Check {
    /// Called once per statement; pushes one message per offending part of the statement.
    Statement(fn(&NodeEnum, &Context<'_>, &mut Vec<String>)),
    /// Called once per file, after its statements; returns where and why the file offends.
    File(fn(&FileFacts<'_>) -> Option<(Span, String)>),
    /// Reported by the linter itself (syntax errors, directive errors); never suppressible.
    Engine,
}

/// Every rule, in catalog order.
pub fn rules() -> &'static [RuleInfo] {
    &ALL
}

/// The rule with this id.
pub fn rule(id: &str) -> Option<&'static RuleInfo> {
    ALL.iter().find(|r| r.id == id)
}
