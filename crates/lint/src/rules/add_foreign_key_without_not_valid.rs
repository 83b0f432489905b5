//! `add-foreign-key-without-not-valid`: adding a validated FOREIGN KEY blocks writes to both tables
//! during the validation scan.

use pg_query::NodeEnum;
use pg_query::protobuf::ConstrType;

use crate::ast;
use crate::catalog::{Check, RuleInfo, RuleScope, RuleSeverity};
use crate::context::Context;

pub(crate) const RULE: RuleInfo = RuleInfo {
    id: "add-foreign-key-without-not-valid",
    severity: RuleSeverity::Error,
    scope: RuleScope::All,
    lock: Some("SHARE ROW EXCLUSIVE on both the referencing and the referenced table: writes to both block"),
    rewrite: Some("full validation scan of the referencing table"),
    why: "Writes to both tables block for the whole validation; a shared referenced table is locked \
          once per tenant.",
    safe: Some(
        "ADD CONSTRAINT … FOREIGN KEY … NOT VALID, then VALIDATE CONSTRAINT in a later file (SHARE UPDATE \
         EXCLUSIVE on the child, ROW SHARE on the parent)",
    ),
    check: Check::Statement(check),
};

fn check(stmt: &NodeEnum, cx: &Context<'_>, out: &mut Vec<String>) {
    for (table, cmd) in cx.existing_alter_cmds(stmt) {
        let Some(c) = ast::added_constraint(cmd) else {
            continue;
        };
        if c.contype() == ConstrType::ConstrForeign && !c.skip_validation {
            let parent = c.pktable.as_ref().map(ast::display_relation).unwrap_or_default();
            out.push(format!(
                "FOREIGN KEY from `{}` to `{parent}` without NOT VALID blocks writes to both during validation",
                ast::display_relation(table)
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{assert_allowed, assert_finds, assert_lint_ok};

    #[test]
    fn fires_on_a_validating_foreign_key() {
        assert_finds(
            "alter table orders add constraint fk foreign key (user_id) references users (id);",
            "add-foreign-key-without-not-valid",
        );
    }

    #[test]
    fn not_valid_inline_and_create_table_are_fine() {
        assert_lint_ok(
            "alter table orders add constraint fk foreign key (user_id) references users (id) not valid;",
            "add-foreign-key-without-not-valid",
        );
        assert_lint_ok(
            "alter table orders add column user_id int references users (id);",
            "add-foreign-key-without-not-valid",
        );
        assert_lint_ok("create table o (user_id int references users (id));", "add-foreign-key-without-not-valid");
    }

    #[test]
    fn can_be_allowed() {
        assert_allowed(
            "-- tenantctl:allow add-foreign-key-without-not-valid reason=\"empty\"\nalter table o add foreign key (u) references users (id);",
            "add-foreign-key-without-not-valid",
        );
    }
}
