//! `add-column-generated-or-serial`: ADD COLUMN of a serial, identity or stored generated column.

use crate::ast::{self, SelfFilling};
use crate::catalog::{Check, RuleInfo, RuleScope, RuleSeverity};
use crate::context::Context;
use pg_query::NodeEnum;

pub(crate) const RULE: RuleInfo = RuleInfo {
    id: "add-column-generated-or-serial",
    severity: RuleSeverity::Error,
    scope: RuleScope::All,
    lock: Some("ACCESS EXCLUSIVE for the whole rewrite"),
    rewrite: Some("rewrite of the table, since every row needs its own value"),
    why: "Every existing row is rewritten while nothing can read or write the table.",
    safe: Some(
        "add a plain nullable column, fill it with a trigger and a batched backfill (or a sequence with \
         SET DEFAULT nextval(…) and a backfill); or build a new table",
    ),
    check: Check::Statement(check),
};

fn check(stmt: &NodeEnum, cx: &Context<'_>, out: &mut Vec<String>) {
    for (table, cmd) in cx.existing_alter_cmds(stmt) {
        let Some(column) = ast::added_column(cmd) else {
            continue;
        };
        let kind = match ast::self_filling(column) {
            Some(SelfFilling::Serial) => "serial",
            Some(SelfFilling::Identity) => "identity",
            Some(SelfFilling::Stored) => "stored generated",
            // VIRTUAL columns need no rewrite; before 18 the syntax meant a stored column.
            Some(SelfFilling::Virtual) if cx.pg_version < 18 => "generated",
            Some(SelfFilling::Virtual) | None => continue,
        };
        out.push(format!(
            "ADD COLUMN `{}` ({kind}) to `{}` rewrites the table",
            column.colname,
            ast::display_relation(table)
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{assert_allowed, assert_finds, assert_lint_ok, case};

    #[test]
    fn fires_on_serial_identity_and_stored() {
        assert_finds("alter table users add column n bigserial;", "add-column-generated-or-serial");
        assert_finds(
            "alter table users add column n int generated always as identity;",
            "add-column-generated-or-serial",
        );
        assert_finds(
            "alter table users add column n int generated always as (a + 1) stored;",
            "add-column-generated-or-serial",
        );
    }

    #[test]
    fn virtual_columns_are_fine_from_18() {
        let sql = "alter table users add column n int generated always as (a + 1) virtual;";
        case(sql).pg(18).ok("add-column-generated-or-serial");
        case(sql).pg(17).finds("add-column-generated-or-serial");
        assert_lint_ok("alter table users add column n bigint;", "add-column-generated-or-serial");
    }

    #[test]
    fn can_be_allowed() {
        assert_allowed(
            "-- tenantctl:allow add-column-generated-or-serial reason=\"empty table\"\nalter table users add column n serial;",
            "add-column-generated-or-serial",
        );
    }
}
