//! `set-not-null`: SET NOT NULL scans the table under ACCESS EXCLUSIVE unless a CHECK proves it.

use pg_query::NodeEnum;
use pg_query::protobuf::{AlterTableCmd, AlterTableType, ConstrType};

use crate::ast;
use crate::catalog::{Check, RuleInfo, RuleScope, RuleSeverity};
use crate::context::Context;

pub(crate) const RULE: RuleInfo = RuleInfo {
    id: "set-not-null",
    severity: RuleSeverity::Error,
    scope: RuleScope::All,
    lock: Some("ACCESS EXCLUSIVE"),
    rewrite: Some("full scan (`verifying table`)"),
    why: "The whole table is read while nothing can read or write it.",
    safe: Some(
        "file A: ADD CONSTRAINT c CHECK (col IS NOT NULL) NOT VALID; backfill; file B: VALIDATE \
         CONSTRAINT c, then SET NOT NULL (no scan, PostgreSQL 12+), then DROP CONSTRAINT c; on 18+, \
         ADD CONSTRAINT c NOT NULL col NOT VALID, then VALIDATE CONSTRAINT c in a later file",
    ),
    check: Check::Statement(check),
};

/// The columns a command makes NOT NULL with a scan: `ALTER COLUMN … SET NOT NULL`, or
/// PostgreSQL 18's `ADD CONSTRAINT c NOT NULL col` without NOT VALID.
fn columns_set_not_null(cmd: &AlterTableCmd) -> Vec<&str> {
    match ast::added_constraint(cmd) {
        Some(c) if c.contype() == ConstrType::ConstrNotnull && !c.skip_validation => ast::name_parts(&c.keys),
        Some(_) => Vec::new(),
        None if cmd.subtype() == AlterTableType::AtSetNotNull => vec![cmd.name.as_str()],
        None => Vec::new(),
    }
}

fn check(stmt: &NodeEnum, cx: &Context<'_>, out: &mut Vec<String>) {
    for (table, cmd) in cx.existing_alter_cmds(stmt) {
        for column in columns_set_not_null(cmd) {
            if cx.pg_version >= 12 && cx.model.proves_not_null(table, column) {
                continue;
            }
            out.push(format!(
                "SET NOT NULL on `{}`.`{column}` scans the table: no validated CHECK ({column} IS NOT NULL) is known",
                ast::display_relation(table),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{assert_allowed, assert_finds, assert_lint_ok, case};

    const SET: &str = "alter table users alter column email set not null;";

    #[test]
    fn fires_without_a_proof() {
        assert_finds(SET, "set-not-null");
        case("alter table users add constraint email_nn check (email is not null) not valid;")
            .then(SET)
            .finds("set-not-null");
        case("create table users (email text check (length(email) > 0));").then(SET).finds("set-not-null");
    }

    #[test]
    fn a_validated_check_from_an_earlier_file_proves_it() {
        case("create table users (id int, email text);")
            .then("alter table users add constraint email_nn check (email is not null) not valid;")
            .then("alter table users validate constraint email_nn;")
            .then(SET)
            .ok("set-not-null");
    }

    #[test]
    fn a_check_on_a_table_from_before_the_run_counts_too() {
        case("alter table users add constraint email_nn check (email is not null) not valid;")
            .then("alter table users validate constraint email_nn;")
            .then(SET)
            .ok("set-not-null");
    }

    #[test]
    fn postgres_18_not_null_constraints() {
        assert_finds("alter table users add constraint email_nn not null email;", "set-not-null");
        assert_lint_ok("alter table users add constraint email_nn not null email not valid;", "set-not-null");
    }

    #[test]
    fn the_proof_needs_12() {
        case("create table users (email text, constraint email_nn check (email is not null));")
            .then(SET)
            .pg(11)
            .finds("set-not-null");
    }

    #[test]
    fn can_be_allowed() {
        assert_allowed(&format!("-- tenantctl:allow set-not-null reason=\"small\"\n{SET}"), "set-not-null");
    }
}
