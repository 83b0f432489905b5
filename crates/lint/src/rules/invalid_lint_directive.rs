//! `invalid-lint-directive`: a `-- tenantctl:` comment that is wrong; it is ignored (reported by
//! the linter itself).

use crate::catalog::{Check, RuleInfo, RuleScope, RuleSeverity};

pub(crate) const RULE: RuleInfo = RuleInfo {
    id: "invalid-lint-directive",
    severity: RuleSeverity::Error,
    scope: RuleScope::All,
    lock: None,
    rewrite: None,
    why: "The directive is ignored, so the finding it meant to suppress still fires, or the header it \
          meant to set does not apply.",
    safe: Some(
        "`-- tenantctl:allow <rule>[,<rule>] reason=\"…\"` right before the statement; headers \
         (scope, no-transaction, timeouts) before the first statement",
    ),
    check: Check::Engine,
};

#[cfg(test)]
mod tests {
    use crate::test_support::{assert_finds, assert_lint_ok, case};

    #[test]
    fn fires_on_every_kind_of_bad_directive() {
        for sql in [
            "-- tenantctl:yolo\nselect 1;",
            "-- tenantctl:allow no-such-rule reason=\"x\"\nselect 1;",
            "-- tenantctl:allow drop-table\ndrop table t;",
            "-- tenantctl:allow drop-table reason=\"\"\ndrop table t;",
            "-- tenantctl:allow syntax-error reason=\"x\"\nselect 1;",
            "-- tenantctl:allow invalid-lint-directive reason=\"x\"\nselect 1;",
            "select 1;\n-- tenantctl:allow drop-table reason=\"x\"\n",
            "select 1;\n-- tenantctl:no-transaction\n",
            "select 1;\n-- tenantctl:scope master\nselect 2;",
            "-- tenantctl:scope everywhere\nselect 1;",
        ] {
            assert_finds(sql, "invalid-lint-directive");
        }
    }

    #[test]
    fn an_invalid_allow_suppresses_nothing() {
        let report = case("-- tenantctl:allow drop-table,nope reason=\"x\"\ndrop table t;").report();
        assert!(report.findings.iter().any(|f| f.rule == "drop-table" && f.severity == crate::Severity::Error));
    }

    #[test]
    fn valid_directives_are_fine() {
        assert_lint_ok(
            "-- tenantctl:scope tenant\n-- tenantctl:lock-timeout 30s\n-- tenantctl:allow drop-table reason=\"x\"\ndrop table t;",
            "invalid-lint-directive",
        );
        assert_lint_ok("select '-- tenantctl:yolo';", "invalid-lint-directive");
    }

    #[test]
    fn cannot_be_allowed() {
        case("-- tenantctl:allow-file invalid-lint-directive reason=\"x\"\n-- tenantctl:yolo\nselect 1;")
            .finds("invalid-lint-directive");
    }
}
