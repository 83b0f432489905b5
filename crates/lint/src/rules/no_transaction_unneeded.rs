//! `no-transaction-unneeded`: a `-- tenantctl:no-transaction` file that needs no autocommit.

use super::non_transactional_statement::autocommit_only;
use crate::catalog::{Check, RuleInfo, RuleScope, RuleSeverity};
use crate::context::FileFacts;
use crate::report::Span;

pub(crate) const RULE: RuleInfo = RuleInfo {
    id: "no-transaction-unneeded",
    severity: RuleSeverity::Warning,
    scope: RuleScope::All,
    lock: None,
    rewrite: None,
    why: "The file gives up atomicity for nothing: a failure part-way leaves tenants half-migrated.",
    safe: Some("remove `-- tenantctl:no-transaction`"),
    check: Check::File(check),
};

fn check(facts: &FileFacts<'_>) -> Option<(Span, String)> {
    let directive = facts.no_transaction?;
    let needed = facts.statements.iter().any(|s| autocommit_only(s, facts.pg_version).is_some());
    (!needed).then(|| (directive, "no statement of this file needs `tenantctl:no-transaction`".to_owned()))
}

#[cfg(test)]
mod tests {
    use crate::test_support::{assert_allowed, assert_finds, assert_lint_ok};

    #[test]
    fn fires_when_nothing_needs_it() {
        let f = assert_finds("-- tenantctl:no-transaction\ncreate table t (a int);", "no-transaction-unneeded");
        assert_eq!((f[0].line, f[0].column), (1, 1));
    }

    #[test]
    fn fine_when_a_statement_needs_it() {
        assert_lint_ok("-- tenantctl:no-transaction\ncreate index concurrently i on t (a);", "no-transaction-unneeded");
        assert_lint_ok("create table t (a int);", "no-transaction-unneeded");
    }

    #[test]
    fn can_be_allowed_for_the_file() {
        assert_allowed(
            "-- tenantctl:no-transaction\n-- tenantctl:allow-file no-transaction-unneeded reason=\"long backfill\"\nupdate t set a = 1 where a is null;",
            "no-transaction-unneeded",
        );
    }
}
