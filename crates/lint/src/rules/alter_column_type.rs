//! `alter-column-type`: ALTER COLUMN … TYPE rewrites the table unless the model proves the change
//! binary-coercible and no CHECK needs re-verifying.

use pg_query::NodeEnum;
use pg_query::protobuf::AlterTableType;

use crate::ast;
use crate::catalog::{Check, RuleInfo, RuleScope, RuleSeverity};
use crate::context::Context;
use crate::model::ColumnType;

pub(crate) const RULE: RuleInfo = RuleInfo {
    id: "alter-column-type",
    severity: RuleSeverity::Error,
    scope: RuleScope::All,
    lock: Some("ACCESS EXCLUSIVE"),
    rewrite: Some("rewrite of the table and its indexes (a binary-coercible change still re-checks CHECKs)"),
    why: "Every row is rewritten, or at least re-checked, while nothing can read or write the table.",
    safe: Some(
        "expand/contract: add a new column, dual-write with a trigger, backfill in batches, switch \
         reads, drop the old column",
    ),
    check: Check::Statement(check),
};

/// Whether `from` → `to` needs no rewrite (PostgreSQL 9.2+). `timestamp` → `timestamptz` is left
/// out: it is free only when the session's TimeZone is UTC, which a linter cannot know.
fn binary_coercible(from: &ColumnType, to: &ColumnType) -> bool {
    let widens = |old: Option<&i64>, new: Option<&i64>| match (old, new) {
        (_, None) => true,
        (Some(o), Some(n)) => n >= o,
        (None, Some(_)) => false,
    };
    if from.array != to.array {
        return false;
    }
    match (from.name.as_str(), to.name.as_str()) {
        _ if from == to => true,
        ("varchar", "text") | ("cidr", "inet") => true,
        ("text", "varchar") => to.typmods.is_empty(),
        ("varchar", "varchar") | ("varbit", "varbit") => widens(from.typmods.first(), to.typmods.first()),
        ("numeric", "numeric") => {
            to.typmods.is_empty()
                || (widens(from.typmods.first(), to.typmods.first())
                    && from.typmods.get(1).unwrap_or(&0) == to.typmods.get(1).unwrap_or(&0))
        }
        _ => false,
    }
}

fn check(stmt: &NodeEnum, cx: &Context<'_>, out: &mut Vec<String>) {
    for (table, cmd) in cx.existing_alter_cmds(stmt) {
        if cmd.subtype() != AlterTableType::AtAlterColumnType {
            continue;
        }
        let def = ast::column_def(cmd);
        let new = def.and_then(|d| d.type_name.as_ref()).and_then(ColumnType::from_type_name);
        let using = def.is_some_and(|d| d.raw_default.is_some());
        let why = match (cx.model.column_type(table, &cmd.name), new) {
            _ if using => "a USING expression rewrites every row",
            (None, _) | (_, None) => "the column's current type is not known from earlier migrations",
            (Some(old), Some(new)) if !binary_coercible(old, &new) => "the change is not binary-coercible",
            _ if cx.model.check_covers(table, &cmd.name) => "a CHECK constraint on the column is re-verified",
            _ => continue,
        };
        out.push(format!(
            "ALTER COLUMN `{}` TYPE on `{}` rewrites or scans the table: {why}",
            cmd.name,
            ast::display_relation(table)
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{assert_allowed, assert_finds, case};

    #[test]
    fn fires_when_the_old_type_is_unknown_or_the_change_rewrites() {
        assert_finds("alter table users alter column name type varchar(50);", "alter-column-type");
        case("create table users (id int);")
            .then("alter table users alter column id type bigint;")
            .finds("alter-column-type");
        case("create table users (n varchar(20));")
            .then("alter table users alter column n type varchar(10);")
            .finds("alter-column-type");
        case("create table users (n varchar(20));")
            .then("alter table users alter column n type varchar(50) using n::varchar(50);")
            .finds("alter-column-type");
    }

    #[test]
    fn a_known_binary_coercible_change_is_fine() {
        case("create table users (n varchar(20));")
            .then("alter table users alter column n type varchar(50);")
            .ok("alter-column-type");
        case("create table users (n varchar(20));")
            .then("alter table users alter column n type varchar(50);")
            .then("alter table users alter column n type text;")
            .ok("alter-column-type");
    }

    #[test]
    fn a_check_on_the_column_still_scans() {
        case("create table users (n varchar(20) check (n <> ''));")
            .then("alter table users alter column n type text;")
            .finds("alter-column-type");
    }

    #[test]
    fn can_be_allowed() {
        assert_allowed(
            "-- tenantctl:allow alter-column-type reason=\"small\"\nalter table users alter column id type bigint;",
            "alter-column-type",
        );
    }

    fn ty(name: &str, typmods: &[i64]) -> ColumnType {
        ColumnType { name: name.to_owned(), typmods: typmods.to_vec(), array: false }
    }

    #[test]
    fn widening_is_free_and_narrowing_is_not() {
        assert!(binary_coercible(&ty("varchar", &[20]), &ty("varchar", &[50])));
        assert!(binary_coercible(&ty("varchar", &[20]), &ty("text", &[])));
        assert!(!binary_coercible(&ty("varchar", &[20]), &ty("varchar", &[10])));
        assert!(binary_coercible(&ty("numeric", &[10, 2]), &ty("numeric", &[12, 2])));
        assert!(!binary_coercible(&ty("numeric", &[10, 2]), &ty("numeric", &[12, 4])));
        assert!(!binary_coercible(&ty("int4", &[]), &ty("int8", &[])));
        assert!(!binary_coercible(&ty("timestamp", &[]), &ty("timestamptz", &[])));
        assert!(binary_coercible(&ty("cidr", &[]), &ty("inet", &[])));
    }
}
