//! `opaque-do-block`: the body of a DO block runs but is not linted.

use pg_query::NodeEnum;

use crate::catalog::{Check, RuleInfo, RuleScope, RuleSeverity};
use crate::context::Context;

pub(crate) const RULE: RuleInfo = RuleInfo {
    id: "opaque-do-block",
    severity: RuleSeverity::Warning,
    scope: RuleScope::All,
    lock: None,
    rewrite: None,
    why: "The body executes during the migration but is not linted; catalog lookups by name alone \
          find other tenants' objects.",
    safe: Some(
        "plain SQL with IF NOT EXISTS; if a DO block is unavoidable, filter catalog lookups by \
         `connamespace = current_schema()::regnamespace` and add `-- tenantctl:allow opaque-do-block reason=\"…\"`",
    ),
    check: Check::Statement(check),
};

fn check(stmt: &NodeEnum, _cx: &Context<'_>, out: &mut Vec<String>) {
    if matches!(stmt, NodeEnum::DoStmt(_)) {
        out.push("DO block: its body is not linted".to_owned());
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{assert_allowed, assert_finds, assert_lint_ok};

    #[test]
    fn fires_on_do() {
        assert_finds("do $$ begin perform 1; end $$;", "opaque-do-block");
    }

    #[test]
    fn plain_sql_is_fine() {
        assert_lint_ok("create table if not exists t (a int);", "opaque-do-block");
    }

    #[test]
    fn can_be_allowed() {
        assert_allowed(
            "-- tenantctl:allow opaque-do-block reason=\"filtered by namespace\"\ndo $$ begin end $$;",
            "opaque-do-block",
        );
    }
}
