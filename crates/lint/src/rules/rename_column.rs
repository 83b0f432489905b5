//! `rename-column`: RENAME COLUMN breaks application code that uses the old name.

use pg_query::NodeEnum;
use pg_query::protobuf::ObjectType;

use crate::ast;
use crate::catalog::{Check, RuleInfo, RuleScope, RuleSeverity};
use crate::context::Context;

pub(crate) const RULE: RuleInfo = RuleInfo {
    id: "rename-column",
    severity: RuleSeverity::Warning,
    scope: RuleScope::All,
    lock: Some("ACCESS EXCLUSIVE, brief"),
    rewrite: None,
    why: "Running application code uses the old name until it is redeployed.",
    safe: Some("add a new column, dual-write, backfill, switch, drop the old one; or rename only in the ORM"),
    check: Check::Statement(check),
};

fn check(stmt: &NodeEnum, _cx: &Context<'_>, out: &mut Vec<String>) {
    let NodeEnum::RenameStmt(rename) = stmt else {
        return;
    };
    if rename.rename_type() == ObjectType::ObjectColumn {
        let table = rename.relation.as_ref().map(ast::display_relation).unwrap_or_default();
        out.push(format!("RENAME COLUMN `{}` of `{table}` to `{}`", rename.subname, rename.newname));
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{assert_allowed, assert_finds, assert_lint_ok};

    #[test]
    fn fires_on_rename_column() {
        assert_finds("alter table users rename column name to full_name;", "rename-column");
    }

    #[test]
    fn other_renames_are_fine() {
        assert_lint_ok("alter table users rename constraint a to b;", "rename-column");
    }

    #[test]
    fn can_be_allowed() {
        assert_allowed(
            "-- tenantctl:allow rename-column reason=\"orm mapped\"\nalter table users rename a to b;",
            "rename-column",
        );
    }
}
