//! Helpers for rule tests: lint a snippet (or a run of snippets) and assert on one rule's findings.

use crate::{FileReport, FileRole, Finding, LintInput, LintOptions, Scope, Severity, lint};

/// A lint case: earlier files of the run, the file under test, and the options.
pub(crate) struct Case {
    earlier: Vec<String>,
    sql: String,
    role: FileRole,
    options: LintOptions,
}

/// A case linting `sql` alone, as a tenant up file on PostgreSQL 15.
pub(crate) fn case(sql: &str) -> Case {
    Case { earlier: Vec::new(), sql: sql.to_owned(), role: FileRole::Up, options: LintOptions::default() }
}

impl Case {
    /// Lints `sql` after this case's files, in the same run (the schema model carries over).
    pub(crate) fn then(mut self, sql: &str) -> Self {
        self.earlier.push(std::mem::replace(&mut self.sql, sql.to_owned()));
        self
    }

    /// Targets another PostgreSQL major version.
    pub(crate) fn pg(mut self, version: u32) -> Self {
        self.options.pg_version = version;
        self
    }

    /// Lints for database isolation, `schema` being the tenant's own schema in its database.
    pub(crate) fn database_schema(mut self, schema: &str) -> Self {
        self.options.tenant_database_schema = Some(schema.to_owned());
        self
    }

    /// Lints in master scope.
    pub(crate) fn master(mut self) -> Self {
        self.options.scope = Scope::Master;
        self
    }

    /// Lints the file under test as a down file.
    pub(crate) fn down(mut self) -> Self {
        self.role = FileRole::Down;
        self
    }

    /// The report of the file under test.
    pub(crate) fn report(&self) -> FileReport {
        let input = |(i, sql): (usize, &String), role| LintInput {
            path: format!("{:04}_case.sql", i + 1),
            sql: sql.clone(),
            role,
            scope: None,
        };
        let mut inputs: Vec<LintInput> = self.earlier.iter().enumerate().map(|e| input(e, FileRole::Up)).collect();
        inputs.push(input((self.earlier.len(), &self.sql), self.role));
        lint(&inputs, &self.options).files.pop().expect("one report per file")
    }

    fn of_rule(&self, rule: &str) -> (FileReport, Vec<Finding>) {
        let report = self.report();
        let findings = report.findings.iter().filter(|f| f.rule == rule).cloned().collect();
        (report, findings)
    }

    /// Asserts that `rule` fires, unsuppressed, and returns its findings.
    pub(crate) fn finds(&self, rule: &str) -> Vec<Finding> {
        let (report, findings) = self.of_rule(rule);
        assert!(
            findings.iter().any(|f| f.severity != Severity::Allowed),
            "expected `{rule}` to fire on:\n{}\nfindings: {:#?}",
            self.sql,
            report.findings
        );
        findings
    }

    /// Asserts that `rule` does not fire at all.
    pub(crate) fn ok(&self, rule: &str) {
        let (_, findings) = self.of_rule(rule);
        assert!(findings.is_empty(), "expected no `{rule}` on:\n{}\nfound: {findings:#?}", self.sql);
    }

    /// Asserts that `rule` fires but every finding of it is suppressed by a directive.
    pub(crate) fn allowed(&self, rule: &str) {
        let (report, findings) = self.of_rule(rule);
        assert!(
            !findings.is_empty() && findings.iter().all(|f| f.severity == Severity::Allowed),
            "expected `{rule}` to be allowed on:\n{}\nfindings: {:#?}",
            self.sql,
            report.findings
        );
    }
}

/// Asserts that `rule` fires on `sql` (a tenant up file, PostgreSQL 15).
pub(crate) fn assert_finds(sql: &str, rule: &str) -> Vec<Finding> {
    case(sql).finds(rule)
}

/// Asserts that `rule` does not fire on `sql`.
pub(crate) fn assert_lint_ok(sql: &str, rule: &str) {
    case(sql).ok(rule);
}

/// Asserts that `rule` fires on `sql` and is suppressed by the directive the snippet carries.
pub(crate) fn assert_allowed(sql: &str, rule: &str) {
    case(sql).allowed(rule);
}
