//! `syntax-error`: the file does not parse; no other rule runs (reported by the linter itself).

use crate::catalog::{Check, RuleInfo, RuleScope, RuleSeverity};

pub(crate) const RULE: RuleInfo = RuleInfo {
    id: "syntax-error",
    severity: RuleSeverity::Fatal,
    scope: RuleScope::All,
    lock: None,
    rewrite: None,
    why: "The file would fail on every tenant.",
    safe: Some("fix the SQL"),
    check: Check::Engine,
};

#[cfg(test)]
mod tests {
    use crate::test_support::{assert_lint_ok, case};

    #[test]
    fn fires_with_verdict_error_and_a_position() {
        let report = case("create table t (a int);\n  create tabel u (b int);").report();
        assert_eq!(report.verdict, crate::Verdict::Error);
        assert_eq!(report.findings.len(), 1);
        let f = &report.findings[0];
        assert_eq!((f.rule, f.line, f.column), ("syntax-error", 2, 3));
    }

    #[test]
    fn valid_sql_is_fine() {
        assert_lint_ok("create table t (a int);", "syntax-error");
    }

    #[test]
    fn cannot_be_allowed() {
        let report = case("-- tenantctl:allow syntax-error reason=\"x\"\nselec 1;").report();
        assert_eq!(report.verdict, crate::Verdict::Error);
    }
}
