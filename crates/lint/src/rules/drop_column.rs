//! `drop-column`: DROP COLUMN breaks application code that still reads the column.

use pg_query::NodeEnum;
use pg_query::protobuf::AlterTableType;

use crate::ast;
use crate::catalog::{Check, RuleInfo, RuleScope, RuleSeverity};
use crate::context::Context;

pub(crate) const RULE: RuleInfo = RuleInfo {
    id: "drop-column",
    severity: RuleSeverity::Warning,
    scope: RuleScope::All,
    lock: Some("ACCESS EXCLUSIVE, brief"),
    rewrite: None,
    why: "Application code that still names the column fails; the data is gone.",
    safe: Some("contract phase only, after the application has stopped using the column"),
    check: Check::Statement(check),
};

fn check(stmt: &NodeEnum, _cx: &Context<'_>, out: &mut Vec<String>) {
    let Some((table, cmds)) = ast::alter_table(stmt) else {
        return;
    };
    for cmd in cmds.filter(|c| c.subtype() == AlterTableType::AtDropColumn) {
        out.push(format!("DROP COLUMN `{}` from `{}`", cmd.name, ast::display_relation(table)));
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{assert_allowed, assert_finds, assert_lint_ok};

    #[test]
    fn fires_on_drop_column() {
        let f = assert_finds("alter table users drop column legacy;", "drop-column");
        assert_eq!(f[0].severity, crate::Severity::Warning);
    }

    #[test]
    fn other_alters_are_fine() {
        assert_lint_ok("alter table users drop constraint c;", "drop-column");
    }

    #[test]
    fn can_be_allowed() {
        assert_allowed(
            "-- tenantctl:allow drop-column reason=\"unused since v12\"\nalter table users drop column legacy;",
            "drop-column",
        );
    }
}
