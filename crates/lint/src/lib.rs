//! The migration safety linter of tenantctl: SQL text in, findings and verdicts out.
//!
//! It implements the rule catalog of `LINT_RULES.md` on the parse tree of PostgreSQL's own grammar
//! (libpg_query through the `pg_query` crate). Synchronous; never touches a database, never prints.
#![warn(missing_docs)]
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::exit)]

mod ast;
mod catalog;
mod collect;
mod context;
mod directives;
mod lint;
mod model;
mod render;
mod report;
mod rules;
mod schemas;
mod source;
#[cfg(test)]
mod test_support;
mod volatility;
mod volatility_table;
mod walk;

pub use catalog::{RuleInfo, RuleScope, RuleSeverity, rule, rules};
pub use collect::{CollectError, collect};
pub use lint::{FileRole, LintInput, LintOptions, lint};
pub use render::{render_explain, render_rules_markdown, render_text};
pub use report::{FileReport, Finding, Report, Severity, Span, Summary, Verdict};
pub use tenantctl_migrations::{Scope, TransactionMode};
