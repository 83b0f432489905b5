//! `backfill-with-ddl`: a backfill in the same transaction as DDL on its table holds the DDL's
//! lock for the whole backfill.

use pg_query::NodeEnum;
use pg_query::protobuf::RangeVar;

use crate::ast;
use crate::catalog::{Check, RuleInfo, RuleScope, RuleSeverity};
use crate::context::Context;

pub(crate) const RULE: RuleInfo = RuleInfo {
    id: "backfill-with-ddl",
    severity: RuleSeverity::Error,
    scope: RuleScope::All,
    lock: Some("the earlier DDL's ACCESS EXCLUSIVE (or SHARE), held for the entire backfill"),
    rewrite: None,
    why: "Reads and/or writes of the table block for as long as the backfill runs.",
    safe: Some(
        "three files: expand (nullable column), migrate (the backfill), contract (CHECK NOT VALID, \
         VALIDATE, SET NOT NULL)",
    ),
    check: Check::Statement(check),
};

/// The table a data-changing statement writes: UPDATE, DELETE, or INSERT … SELECT.
fn backfill_target(node: &NodeEnum) -> Option<&RangeVar> {
    match node {
        NodeEnum::UpdateStmt(s) => s.relation.as_ref(),
        NodeEnum::DeleteStmt(s) => s.relation.as_ref(),
        NodeEnum::InsertStmt(s) => {
            let from_select = matches!(
                s.select_stmt.as_deref().and_then(|n| n.node.as_ref()),
                Some(NodeEnum::SelectStmt(sel)) if sel.values_lists.is_empty()
            );
            s.relation.as_ref().filter(|_| from_select)
        }
        _ => None,
    }
}

fn check(stmt: &NodeEnum, cx: &Context<'_>, out: &mut Vec<String>) {
    let Some(table) = backfill_target(stmt) else {
        return;
    };
    if cx.transactional && !cx.is_new(table) && cx.file.holds_strong_lock(table) {
        out.push(format!(
            "backfill of `{}` runs while an earlier statement of this transaction holds a strong lock on it",
            ast::display_relation(table)
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{assert_allowed, assert_finds, assert_lint_ok, case};

    #[test]
    fn fires_on_a_backfill_after_ddl_on_the_same_table() {
        let sql = "alter table users add column plan text;\nupdate users set plan = 'free' where plan is null;";
        let f = assert_finds(sql, "backfill-with-ddl");
        assert_eq!(f[0].line, 2);
        assert_finds("create index i on users (a);\ninsert into users select * from old_users;", "backfill-with-ddl");
    }

    #[test]
    fn separate_files_values_and_new_tables_are_fine() {
        case("alter table users add column plan text;")
            .then("update users set plan = 'free' where plan is null;")
            .ok("backfill-with-ddl");
        assert_lint_ok(
            "alter table users add column plan text;\ninsert into users (plan) values ('x');",
            "backfill-with-ddl",
        );
        assert_lint_ok(
            "create table t (a int);\nalter table t add column b int;\nupdate t set b = 1;",
            "backfill-with-ddl",
        );
    }

    #[test]
    fn can_be_allowed() {
        assert_allowed(
            "alter table users add column plan text;\n-- tenantctl:allow backfill-with-ddl reason=\"tiny\"\nupdate users set plan = 'x';",
            "backfill-with-ddl",
        );
    }
}
