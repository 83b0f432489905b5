//! Linting a run of files: one schema model per scope across the up files, each down file on its
//! own, directives applied, verdicts decided.

use tenantctl_migrations::{Directive, Scope, TransactionMode, header_comments, parse_directive};

use crate::catalog::{Check, RuleInfo, RuleScope, RuleSeverity};
use crate::context::{Context, FileFacts, FileState};
use crate::directives::Directives;
use crate::model::Model;
use crate::report::{FileReport, Finding, Report, Severity, Span, Verdict};
use crate::rules;
use crate::source::{self, Source};

/// Settings of a lint run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintOptions {
    /// Target PostgreSQL major version (default 15).
    pub pg_version: u32,
    /// Scope of files that neither a directive nor their [`LintInput::scope`] places.
    pub scope: Scope,
    /// Prefix of tenant schema names (default `tid_`): tenant schemas match `^<prefix>[0-9a-z_]+$`.
    pub tenant_prefix: String,
    /// Database isolation: the schema of each tenant's own database that its migrations run in
    /// (`public` by default), which a tenant migration may then name. `None`: schema isolation, or a
    /// fleet mixing both, read the stricter way (a named non-tenant schema is shared).
    pub tenant_database_schema: Option<String>,
}

impl Default for LintOptions {
    fn default() -> Self {
        Self { pg_version: 15, scope: Scope::Tenant, tenant_prefix: "tid_".to_owned(), tenant_database_schema: None }
    }
}

/// Which half of a migration a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileRole {
    /// A forward migration: linted against, and added to, the run's schema model.
    Up,
    /// A rollback: linted on its own, where dropping tables and columns is only a warning.
    Down,
}

/// One file to lint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintInput {
    /// The path as it should be displayed.
    pub path: String,
    /// The file's text.
    pub sql: String,
    /// Up or down.
    pub role: FileRole,
    /// The scope of the file's directory, if known; a `-- tenantctl:scope` directive overrides it.
    pub scope: Option<Scope>,
}

/// Rules whose errors are warnings in down files: a rollback exists to undo what its up file created.
const RELAXED_IN_DOWN: [&str; 2] = ["drop-table", "drop-column"];

/// Lints files given in run order: up files share one schema model per scope.
pub fn lint(inputs: &[LintInput], options: &LintOptions) -> Report {
    let mut models = Models::default();
    Report::new(inputs.iter().map(|input| lint_file(input, options, &mut models)).collect())
}

/// The forward model of each scope.
#[derive(Debug, Default)]
struct Models {
    master: Model,
    tenant: Model,
}

impl Models {
    fn of(&mut self, scope: Scope) -> &mut Model {
        match scope {
            Scope::Master => &mut self.master,
            Scope::Tenant => &mut self.tenant,
        }
    }
}

/// A rule violation before directives and the file's role are applied.
struct Hit {
    rule: &'static RuleInfo,
    message: String,
    span: Span,
    statement: Option<usize>,
}

fn lint_file(input: &LintInput, options: &LintOptions, models: &mut Models) -> FileReport {
    let source = match Source::parse(&input.sql) {
        Ok(source) => source,
        Err(error) => return syntax_error(input, error),
    };
    let directives = Directives::read(&source);
    let scope = directives.scope.or(input.scope).unwrap_or(options.scope);
    let rules: Vec<&RuleInfo> =
        rules::ALL.iter().filter(|r| r.scope == RuleScope::All || scope == Scope::Tenant).collect();
    let mut own_model = Model::default();
    let model = match input.role {
        FileRole::Up => models.of(scope),
        FileRole::Down => &mut own_model,
    };

    let transactional = directives.no_transaction.is_none();
    let mut hits = invalid_directives(&directives);
    let mut file = FileState::default();
    let mut messages = Vec::new();
    let mut statements = Vec::new();
    for (index, node, span) in source.statements() {
        let cx = Context {
            pg_version: options.pg_version,
            tenant_prefix: &options.tenant_prefix,
            tenant_database_schema: options.tenant_database_schema.as_deref(),
            transactional,
            model,
            file: &file,
        };
        for &rule in &rules {
            if let Check::Statement(check) = rule.check {
                check(node, &cx, &mut messages);
                hits.extend(messages.drain(..).map(|message| Hit { rule, message, span, statement: Some(index) }));
            }
        }
        model.apply(node);
        file.apply(node);
        statements.push(node);
    }
    let facts = FileFacts { pg_version: options.pg_version, no_transaction: directives.no_transaction, statements };
    for &rule in &rules {
        if let Check::File(check) = rule.check {
            hits.extend(check(&facts).map(|(span, message)| Hit { rule, message, span, statement: None }));
        }
    }

    hits.sort_by_key(|h| h.span.start);
    let findings: Vec<Finding> = hits.into_iter().map(|hit| finding(hit, &source, &directives, input.role)).collect();
    let verdict = if findings.iter().any(|f| f.severity == Severity::Error) { Verdict::Blocked } else { Verdict::Pass };
    let transaction = if transactional { TransactionMode::Transaction } else { TransactionMode::None };
    FileReport { path: input.path.clone(), verdict, transaction, findings }
}

fn invalid_directives(directives: &Directives) -> Vec<Hit> {
    let rule = &rules::invalid_lint_directive::RULE;
    directives
        .invalid
        .iter()
        .map(|(span, message)| Hit { rule, message: message.clone(), span: *span, statement: None })
        .collect()
}

fn finding(hit: Hit, source: &Source<'_>, directives: &Directives, role: FileRole) -> Finding {
    let (line, column) = source.position(hit.span.start);
    let reason = hit.rule.suppressible().then(|| directives.allowance(hit.rule.id, hit.statement)).flatten();
    let severity = match (reason, hit.rule.severity) {
        (Some(_), _) => Severity::Allowed,
        (None, RuleSeverity::Warning) => Severity::Warning,
        (None, _) if role == FileRole::Down && RELAXED_IN_DOWN.contains(&hit.rule.id) => Severity::Warning,
        (None, _) => Severity::Error,
    };
    Finding {
        rule: hit.rule.id,
        severity,
        line,
        column,
        message: hit.message,
        lock: hit.rule.lock,
        rewrite: hit.rule.rewrite,
        safe: hit.rule.safe,
        statement: hit.statement,
        span: hit.span,
        reason: reason.map(str::to_owned),
    }
}

/// The report of a file that does not parse: one `syntax-error` finding, verdict ERROR.
fn syntax_error(input: &LintInput, error: source::SyntaxError) -> FileReport {
    let rule = &rules::syntax_error::RULE;
    let (line, column) = source::position_in(&input.sql, error.span.start);
    let no_transaction = header_comments(&input.sql)
        .unwrap_or_default()
        .iter()
        .any(|c| matches!(parse_directive(&c.text), Some(Ok(Directive::NoTransaction))));
    FileReport {
        path: input.path.clone(),
        verdict: Verdict::Error,
        transaction: if no_transaction { TransactionMode::None } else { TransactionMode::Transaction },
        findings: vec![Finding {
            rule: rule.id,
            severity: Severity::Error,
            line,
            column,
            message: error.message,
            lock: None,
            rewrite: None,
            safe: rule.safe,
            statement: None,
            span: error.span,
            reason: None,
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::case;

    fn input(path: &str, sql: &str, role: FileRole, scope: Option<Scope>) -> LintInput {
        LintInput { path: path.to_owned(), sql: sql.to_owned(), role, scope }
    }

    #[test]
    fn findings_point_at_the_first_token_after_comments() {
        let report = case("-- a table\n/* gone */  drop table users;").report();
        let f = &report.findings[0];
        assert_eq!((f.line, f.column, f.statement), (2, 13, Some(0)));
        assert_eq!(f.span.start, "-- a table\n/* gone */  ".len());
    }

    #[test]
    fn warnings_pass_and_errors_block() {
        assert_eq!(case("alter table users drop column legacy;").report().verdict, Verdict::Pass);
        assert_eq!(case("drop table users;").report().verdict, Verdict::Blocked);
        let allowed = case("-- tenantctl:allow drop-table reason=\"archived\"\ndrop table users;").report();
        assert_eq!(allowed.verdict, Verdict::Pass);
        assert_eq!(allowed.findings[0].reason.as_deref(), Some("archived"));
    }

    #[test]
    fn an_allow_covers_only_the_next_statement() {
        let report = case("-- tenantctl:allow drop-table reason=\"x\"\ndrop table a;\ndrop table b;").report();
        let severities: Vec<_> = report.findings.iter().map(|f| f.severity).collect();
        assert_eq!(severities, vec![Severity::Allowed, Severity::Error]);
    }

    #[test]
    fn down_files_stay_out_of_the_forward_model() {
        let inputs = [
            input("1.up.sql", "create table t (n varchar(20));", FileRole::Up, None),
            input("1.down.sql", "alter table t alter column n type varchar(10);", FileRole::Down, None),
            input("2.up.sql", "alter table t alter column n type varchar(30);", FileRole::Up, None),
        ];
        let report = lint(&inputs, &LintOptions::default());
        let rules: Vec<Vec<&str>> = report.files.iter().map(|f| f.findings.iter().map(|x| x.rule).collect()).collect();
        assert_eq!(rules, vec![vec![], vec!["alter-column-type"], vec![]]);
    }

    #[test]
    fn each_scope_has_its_own_model_and_directives_override_directories() {
        let inputs = [
            input("m1.sql", "create table t (n varchar(20));", FileRole::Up, Some(Scope::Master)),
            input("t1.sql", "alter table t alter column n type varchar(30);", FileRole::Up, None),
            input(
                "m2.sql",
                "-- tenantctl:scope master\nalter table t alter column n type varchar(30);",
                FileRole::Up,
                None,
            ),
        ];
        let report = lint(&inputs, &LintOptions::default());
        let blocked: Vec<Verdict> = report.files.iter().map(|f| f.verdict).collect();
        assert_eq!(blocked, vec![Verdict::Pass, Verdict::Blocked, Verdict::Pass]);
        assert_eq!(report.summary.blocked, 1);
    }

    #[test]
    fn no_transaction_files_report_their_mode() {
        let report = case("-- tenantctl:no-transaction\ncreate index concurrently i on t (a);").report();
        assert_eq!(report.transaction, TransactionMode::None);
        assert_eq!(case("select 1;").report().transaction, TransactionMode::Transaction);
    }
}
