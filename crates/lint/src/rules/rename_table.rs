//! `rename-table`: RENAME TO breaks application code that uses the old name.

use pg_query::NodeEnum;
use pg_query::protobuf::ObjectType;

use crate::ast;
use crate::catalog::{Check, RuleInfo, RuleScope, RuleSeverity};
use crate::context::Context;

pub(crate) const RULE: RuleInfo = RuleInfo {
    id: "rename-table",
    severity: RuleSeverity::Warning,
    scope: RuleScope::All,
    lock: Some("ACCESS EXCLUSIVE, brief"),
    rewrite: None,
    why: "Running application code uses the old name until it is redeployed.",
    safe: Some("create a view under the new name, deploy, then rename and drop the view together"),
    check: Check::Statement(check),
};

fn check(stmt: &NodeEnum, _cx: &Context<'_>, out: &mut Vec<String>) {
    let NodeEnum::RenameStmt(rename) = stmt else {
        return;
    };
    if rename.rename_type() == ObjectType::ObjectTable {
        let table = rename.relation.as_ref().map(ast::display_relation).unwrap_or_default();
        out.push(format!("RENAME TABLE `{table}` to `{}`", rename.newname));
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{assert_allowed, assert_finds, assert_lint_ok};

    #[test]
    fn fires_on_rename_table() {
        assert_finds("alter table users rename to accounts;", "rename-table");
    }

    #[test]
    fn renaming_a_column_is_not_renaming_a_table() {
        assert_lint_ok("alter table users rename column a to b;", "rename-table");
    }

    #[test]
    fn can_be_allowed() {
        assert_allowed(
            "-- tenantctl:allow rename-table reason=\"view in place\"\nalter table users rename to accounts;",
            "rename-table",
        );
    }
}
