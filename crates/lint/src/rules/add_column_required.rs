//! `add-column-required`: ADD COLUMN … NOT NULL without a default fails on any table with rows.

use pg_query::NodeEnum;
use pg_query::protobuf::ConstrType;

use crate::ast;
use crate::catalog::{Check, RuleInfo, RuleScope, RuleSeverity};
use crate::context::Context;

pub(crate) const RULE: RuleInfo = RuleInfo {
    id: "add-column-required",
    severity: RuleSeverity::Error,
    scope: RuleScope::All,
    lock: Some("ACCESS EXCLUSIVE"),
    rewrite: None,
    why: "On any table with rows it fails (`column … contains null values`), and the application's \
          existing INSERTs break.",
    safe: Some(
        "ADD COLUMN … NOT NULL DEFAULT <constant> (PostgreSQL 11+: no rewrite, no scan); or add it \
         nullable, backfill, then enforce with the set-not-null pattern",
    ),
    check: Check::Statement(check),
};

fn check(stmt: &NodeEnum, cx: &Context<'_>, out: &mut Vec<String>) {
    for (table, cmd) in cx.existing_alter_cmds(stmt) {
        let Some(column) = ast::added_column(cmd) else {
            continue;
        };
        if ast::has_constraint(column, ConstrType::ConstrNotnull)
            && !ast::has_constraint(column, ConstrType::ConstrDefault)
            && ast::self_filling(column).is_none()
        {
            out.push(format!(
                "ADD COLUMN `{}` NOT NULL without a default to `{}` fails on a table with rows",
                column.colname,
                ast::display_relation(table)
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{assert_allowed, assert_finds, assert_lint_ok};

    #[test]
    fn fires_on_not_null_without_default() {
        assert_finds("alter table users add column plan text not null;", "add-column-required");
    }

    #[test]
    fn a_constant_default_or_a_new_table_is_fine() {
        assert_lint_ok("alter table users add column plan text not null default 'free';", "add-column-required");
        assert_lint_ok("create table t (a int); alter table t add column b int not null;", "add-column-required");
        assert_lint_ok(
            "alter table users add column n bigint not null generated always as identity;",
            "add-column-required",
        );
    }

    #[test]
    fn can_be_allowed() {
        assert_allowed(
            "-- tenantctl:allow add-column-required reason=\"table is empty\"\nalter table users add column plan text not null;",
            "add-column-required",
        );
    }
}
