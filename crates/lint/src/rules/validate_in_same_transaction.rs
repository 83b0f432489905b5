//! `validate-in-same-transaction`: VALIDATE of a constraint added NOT VALID in the same transaction
//! keeps the ADD's strong lock through the scan.

use pg_query::NodeEnum;
use pg_query::protobuf::AlterTableType;

use crate::ast;
use crate::catalog::{Check, RuleInfo, RuleScope, RuleSeverity};
use crate::context::Context;

pub(crate) const RULE: RuleInfo = RuleInfo {
    id: "validate-in-same-transaction",
    severity: RuleSeverity::Error,
    scope: RuleScope::All,
    lock: Some("the ADD's ACCESS EXCLUSIVE (CHECK) or SHARE ROW EXCLUSIVE (FOREIGN KEY), held through the scan"),
    rewrite: Some("full scan under that lock"),
    why: "NOT VALID followed by VALIDATE in one transaction is no better than a plain ADD CONSTRAINT.",
    safe: Some("put the VALIDATE CONSTRAINT in a later file"),
    check: Check::Statement(check),
};

fn check(stmt: &NodeEnum, cx: &Context<'_>, out: &mut Vec<String>) {
    if !cx.transactional {
        return;
    }
    for (table, cmd) in cx.existing_alter_cmds(stmt) {
        if cmd.subtype() == AlterTableType::AtValidateConstraint && cx.file.added_not_valid(table, &cmd.name) {
            out.push(format!(
                "VALIDATE CONSTRAINT `{}` on `{}` runs in the transaction that added it NOT VALID",
                cmd.name,
                ast::display_relation(table)
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{assert_allowed, assert_finds, case};

    const ADD: &str = "alter table users add constraint c check (age > 0) not valid;\n";
    const VALIDATE: &str = "alter table users validate constraint c;";

    #[test]
    fn fires_when_add_and_validate_share_a_transaction() {
        let f = assert_finds(&format!("{ADD}{VALIDATE}"), "validate-in-same-transaction");
        assert_eq!(f[0].line, 2);
    }

    #[test]
    fn a_later_file_is_fine() {
        case(ADD).then(VALIDATE).ok("validate-in-same-transaction");
    }

    #[test]
    fn can_be_allowed() {
        assert_allowed(
            &format!("{ADD}-- tenantctl:allow validate-in-same-transaction reason=\"tiny\"\n{VALIDATE}"),
            "validate-in-same-transaction",
        );
    }
}
