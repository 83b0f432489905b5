//! `delete-without-where`: DELETE without WHERE empties the table row by row.

use pg_query::NodeEnum;

use crate::ast;
use crate::catalog::{Check, RuleInfo, RuleScope, RuleSeverity};
use crate::context::Context;

pub(crate) const RULE: RuleInfo = RuleInfo {
    id: "delete-without-where",
    severity: RuleSeverity::Error,
    scope: RuleScope::All,
    lock: Some("ROW EXCLUSIVE plus a row lock on every row, until commit"),
    rewrite: None,
    why: "Deletes every row of every tenant's table.",
    safe: Some(
        "add a predicate and batch the delete; for a real purge, \
         `-- tenantctl:allow delete-without-where reason=\"…\"`",
    ),
    check: Check::Statement(check),
};

fn check(stmt: &NodeEnum, cx: &Context<'_>, out: &mut Vec<String>) {
    let NodeEnum::DeleteStmt(delete) = stmt else {
        return;
    };
    let Some(table) = &delete.relation else {
        return;
    };
    if delete.where_clause.is_none() && !cx.is_new(table) {
        out.push(format!("DELETE FROM `{}` without WHERE deletes every row", ast::display_relation(table)));
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{assert_allowed, assert_finds, assert_lint_ok};

    #[test]
    fn fires_without_where() {
        assert_finds("delete from sessions;", "delete-without-where");
        assert_finds("delete from sessions s using users u;", "delete-without-where");
    }

    #[test]
    fn a_predicate_is_fine() {
        assert_lint_ok("delete from sessions where expires_at < now();", "delete-without-where");
    }

    #[test]
    fn can_be_allowed() {
        assert_allowed(
            "-- tenantctl:allow delete-without-where reason=\"purge\"\ndelete from sessions;",
            "delete-without-where",
        );
    }
}
