//! `add-column-volatile-default`: ADD COLUMN with a default that forces a table rewrite.

use pg_query::NodeEnum;
use pg_query::protobuf::ConstrType;

use crate::ast;
use crate::catalog::{Check, RuleInfo, RuleScope, RuleSeverity};
use crate::context::Context;
use crate::volatility;

pub(crate) const RULE: RuleInfo = RuleInfo {
    id: "add-column-volatile-default",
    severity: RuleSeverity::Error,
    scope: RuleScope::All,
    lock: Some("ACCESS EXCLUSIVE for the whole rewrite"),
    rewrite: Some("rewrite of the table and all its indexes"),
    why: "A volatile default (or any default before PostgreSQL 11, or a domain with a CHECK) is \
          evaluated for every existing row while nothing can read or write the table.",
    safe: Some(
        "ADD COLUMN without a default; then ALTER COLUMN … SET DEFAULT (new rows only); then backfill \
         in batches in a later file",
    ),
    check: Check::Statement(check),
};

fn check(stmt: &NodeEnum, cx: &Context<'_>, out: &mut Vec<String>) {
    for (table, cmd) in cx.existing_alter_cmds(stmt) {
        let Some(column) = ast::added_column(cmd) else {
            continue;
        };
        if ast::self_filling(column).is_some() {
            continue; // rule add-column-generated-or-serial
        }
        let Some(default) = ast::column_constraints(column)
            .filter(|c| c.contype() == ConstrType::ConstrDefault)
            .find_map(|c| c.raw_expr.as_deref())
        else {
            continue;
        };
        let why = if cx.pg_version < 11 {
            format!("any default rewrites the table before PostgreSQL 11 (target {})", cx.pg_version)
        } else if volatility::is_volatile(default) {
            "its default is volatile, so every existing row gets its own value".to_owned()
        } else if column.type_name.as_ref().is_some_and(|t| cx.model.is_checked_domain(t)) {
            "its type is a domain with a CHECK constraint".to_owned()
        } else {
            continue;
        };
        out.push(format!(
            "ADD COLUMN `{}` to `{}` rewrites the table: {why}",
            column.colname,
            ast::display_relation(table)
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{assert_allowed, assert_finds, assert_lint_ok, case};

    #[test]
    fn fires_on_volatile_defaults() {
        assert_finds(
            "alter table users add column token uuid default gen_random_uuid();",
            "add-column-volatile-default",
        );
        assert_finds(
            "alter table users add column at timestamptz default clock_timestamp();",
            "add-column-volatile-default",
        );
    }

    #[test]
    fn any_default_rewrites_before_11() {
        case("alter table users add column n int default 0;").pg(10).finds("add-column-volatile-default");
    }

    #[test]
    fn a_domain_with_a_check_rewrites() {
        case("create domain positive as int check (value > 0);")
            .then("alter table users add column n positive default 1;")
            .finds("add-column-volatile-default");
    }

    #[test]
    fn stable_and_constant_defaults_are_fine() {
        for default in ["0", "'pending'", "now()", "current_timestamp"] {
            assert_lint_ok(
                &format!("alter table users add column c text default {default};"),
                "add-column-volatile-default",
            );
        }
        assert_lint_ok("alter table users add column token uuid;", "add-column-volatile-default");
        assert_lint_ok(
            "alter table users alter column token set default gen_random_uuid();",
            "add-column-volatile-default",
        );
    }

    #[test]
    fn can_be_allowed() {
        assert_allowed(
            "-- tenantctl:allow add-column-volatile-default reason=\"small table\"\nalter table users add column c float default random();",
            "add-column-volatile-default",
        );
    }
}
