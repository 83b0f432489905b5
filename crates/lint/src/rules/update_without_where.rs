//! `update-without-where`: UPDATE without WHERE rewrites every row in one transaction.

use pg_query::NodeEnum;

use crate::ast;
use crate::catalog::{Check, RuleInfo, RuleScope, RuleSeverity};
use crate::context::Context;

pub(crate) const RULE: RuleInfo = RuleInfo {
    id: "update-without-where",
    severity: RuleSeverity::Warning,
    scope: RuleScope::All,
    lock: Some("ROW EXCLUSIVE plus a row lock on every row, until commit"),
    rewrite: Some("every row gets a new tuple version: table bloat and WAL"),
    why: "A full-table backfill in one transaction; acceptable in its own file for bounded tenant tables.",
    safe: Some("batch it: WHERE col IS NULL AND id BETWEEN …"),
    check: Check::Statement(check),
};

fn check(stmt: &NodeEnum, cx: &Context<'_>, out: &mut Vec<String>) {
    let NodeEnum::UpdateStmt(update) = stmt else {
        return;
    };
    let Some(table) = &update.relation else {
        return;
    };
    if update.where_clause.is_none() && !cx.is_new(table) {
        out.push(format!("UPDATE `{}` without WHERE rewrites every row", ast::display_relation(table)));
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{assert_allowed, assert_finds, assert_lint_ok};

    #[test]
    fn fires_without_where() {
        let f = assert_finds("update users set plan = 'free';", "update-without-where");
        assert_eq!(f[0].severity, crate::Severity::Warning);
    }

    #[test]
    fn a_predicate_is_fine() {
        assert_lint_ok("update users set plan = 'free' where plan is null;", "update-without-where");
    }

    #[test]
    fn can_be_allowed() {
        assert_allowed(
            "-- tenantctl:allow update-without-where reason=\"small\"\nupdate users set a = 1;",
            "update-without-where",
        );
    }
}
