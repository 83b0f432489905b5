//! `table-storage-rewrite`: SET TABLESPACE, SET LOGGED/UNLOGGED and SET ACCESS METHOD copy the
//! whole table under ACCESS EXCLUSIVE.

use pg_query::NodeEnum;
use pg_query::protobuf::AlterTableType;

use crate::ast;
use crate::catalog::{Check, RuleInfo, RuleScope, RuleSeverity};
use crate::context::Context;

pub(crate) const RULE: RuleInfo = RuleInfo {
    id: "table-storage-rewrite",
    severity: RuleSeverity::Error,
    scope: RuleScope::All,
    lock: Some("ACCESS EXCLUSIVE"),
    rewrite: Some("full copy of the table (new relfilenode)"),
    why: "The table is copied while nothing can read or write it.",
    safe: Some("not a migration step: run it as maintenance, or build a new table and swap"),
    check: Check::Statement(check),
};

fn check(stmt: &NodeEnum, cx: &Context<'_>, out: &mut Vec<String>) {
    if let NodeEnum::AlterTableMoveAllStmt(moved) = stmt {
        out.push(format!("ALTER … ALL IN TABLESPACE `{}` copies every table it moves", moved.orig_tablespacename));
    }
    for (table, cmd) in cx.existing_alter_cmds(stmt) {
        let what = match cmd.subtype() {
            AlterTableType::AtSetTableSpace => "SET TABLESPACE",
            AlterTableType::AtSetLogged => "SET LOGGED",
            AlterTableType::AtSetUnLogged => "SET UNLOGGED",
            AlterTableType::AtSetAccessMethod => "SET ACCESS METHOD",
            _ => continue,
        };
        out.push(format!("{what} copies `{}` under ACCESS EXCLUSIVE", ast::display_relation(table)));
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{assert_allowed, assert_finds, assert_lint_ok};

    #[test]
    fn fires_on_storage_changes() {
        assert_finds("alter table users set tablespace fast;", "table-storage-rewrite");
        assert_finds("alter table users set unlogged;", "table-storage-rewrite");
        assert_finds("alter table users set access method heap2;", "table-storage-rewrite");
        assert_finds("alter table all in tablespace a set tablespace b;", "table-storage-rewrite");
    }

    #[test]
    fn other_alters_are_fine() {
        assert_lint_ok("alter table users set (fillfactor = 90);", "table-storage-rewrite");
    }

    #[test]
    fn can_be_allowed() {
        assert_allowed(
            "-- tenantctl:allow table-storage-rewrite reason=\"ops\"\nalter table users set logged;",
            "table-storage-rewrite",
        );
    }
}
