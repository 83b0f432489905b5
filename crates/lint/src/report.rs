//! The linter's output: findings per file, verdicts, and the summary of a run.

use serde::Serialize;
use tenantctl_migrations::TransactionMode;

/// The outcome for one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verdict {
    /// No unsuppressed error finding.
    Pass,
    /// At least one unsuppressed error finding.
    Blocked,
    /// The file does not parse.
    Error,
}

impl Verdict {
    /// The verdict as printed: `PASS`, `BLOCKED` or `ERROR`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "PASS",
            Self::Blocked => "BLOCKED",
            Self::Error => "ERROR",
        }
    }
}

/// How much a finding counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Blocks the file.
    Error,
    /// Printed only.
    Warning,
    /// Suppressed by a `tenantctl:allow` directive; printed only.
    Allowed,
}

impl Severity {
    /// The severity as printed: `error`, `warning` or `allowed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Allowed => "allowed",
        }
    }
}

/// A byte range of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Span {
    /// Offset of the first byte.
    pub start: usize,
    /// Offset just past the last byte.
    pub end: usize,
}

/// One rule violation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The rule id.
    pub rule: &'static str,
    /// How much the finding counts.
    pub severity: Severity,
    /// 1-based line of the offending statement's first token (or of the directive comment).
    pub line: usize,
    /// 1-based column, in characters, on that line.
    pub column: usize,
    /// What is wrong, naming the object.
    pub message: String,
    /// The lock the statement takes.
    pub lock: Option<&'static str>,
    /// Whether the statement rewrites or scans the table.
    pub rewrite: Option<&'static str>,
    /// What to do instead.
    pub safe: Option<&'static str>,
    /// 0-based index of the statement in the file, when the finding is about a statement.
    pub statement: Option<usize>,
    /// The bytes the finding is about.
    pub span: Span,
    /// For an `allowed` finding: the reason given by the directive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The findings and verdict of one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileReport {
    /// The path as given to the linter.
    pub path: String,
    /// PASS, BLOCKED or ERROR.
    pub verdict: Verdict,
    /// `transaction`, or `none` for a `-- tenantctl:no-transaction` file.
    pub transaction: TransactionMode,
    /// Findings in source order.
    pub findings: Vec<Finding>,
}

/// Counts of verdicts over a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Files linted.
    pub files: usize,
    /// Files that passed.
    pub pass: usize,
    /// Files that are blocked.
    pub blocked: usize,
    /// Files that do not parse.
    pub error: usize,
}

/// The result of linting a run of files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// One report per file, in the order linted.
    pub files: Vec<FileReport>,
    /// Verdict counts.
    pub summary: Summary,
}

impl Report {
    /// Builds the report and its summary.
    pub(crate) fn new(files: Vec<FileReport>) -> Self {
        let mut summary = Summary { files: files.len(), ..Summary::default() };
        for file in &files {
            match file.verdict {
                Verdict::Pass => summary.pass += 1,
                Verdict::Blocked => summary.blocked += 1,
                Verdict::Error => summary.error += 1,
            }
        }
        Self { files, summary }
    }

    /// Whether every file passed (the CLI exits 0 exactly then).
    pub fn passed(&self) -> bool {
        self.summary.pass == self.summary.files
    }
}
