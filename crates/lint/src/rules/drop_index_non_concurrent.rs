//! `drop-index-non-concurrent`: DROP INDEX takes ACCESS EXCLUSIVE on the table, and queues.

use pg_query::NodeEnum;
use pg_query::protobuf::ObjectType;

use crate::ast;
use crate::catalog::{Check, RuleInfo, RuleScope, RuleSeverity};
use crate::context::Context;

pub(crate) const RULE: RuleInfo = RuleInfo {
    id: "drop-index-non-concurrent",
    severity: RuleSeverity::Warning,
    scope: RuleScope::All,
    lock: Some("ACCESS EXCLUSIVE on the table and the index; brief, but it queues behind every query"),
    rewrite: None,
    why: "While it waits for the lock, every later query on the table waits behind it.",
    safe: Some("DROP INDEX CONCURRENTLY IF EXISTS in a `-- tenantctl:no-transaction` file"),
    check: Check::Statement(check),
};

fn check(stmt: &NodeEnum, cx: &Context<'_>, out: &mut Vec<String>) {
    let Some((drop, names)) = ast::drop_of(stmt, ObjectType::ObjectIndex) else {
        return;
    };
    if drop.concurrent {
        return;
    }
    let existing: Vec<String> =
        names.iter().filter(|n| n.last().is_some_and(|i| !cx.file.created_index(i))).map(|n| n.join(".")).collect();
    if !existing.is_empty() {
        out.push(format!("DROP INDEX `{}` without CONCURRENTLY locks its table exclusively", existing.join("`, `")));
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{assert_allowed, assert_finds, assert_lint_ok};

    #[test]
    fn fires_on_a_plain_drop_index() {
        assert_finds("drop index users_email;", "drop-index-non-concurrent");
    }

    #[test]
    fn concurrent_drops_and_indexes_of_this_file_are_fine() {
        assert_lint_ok(
            "-- tenantctl:no-transaction\ndrop index concurrently if exists users_email;",
            "drop-index-non-concurrent",
        );
        assert_lint_ok("create table t (a int); create index i on t (a); drop index i;", "drop-index-non-concurrent");
    }

    #[test]
    fn can_be_allowed() {
        assert_allowed(
            "-- tenantctl:allow drop-index-non-concurrent reason=\"unused\"\ndrop index i;",
            "drop-index-non-concurrent",
        );
    }
}
