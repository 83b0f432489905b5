//! `add-check-without-not-valid`: adding a CHECK scans the table under ACCESS EXCLUSIVE.

use pg_query::NodeEnum;
use pg_query::protobuf::ConstrType;

use crate::ast;
use crate::catalog::{Check, RuleInfo, RuleScope, RuleSeverity};
use crate::context::Context;

pub(crate) const RULE: RuleInfo = RuleInfo {
    id: "add-check-without-not-valid",
    severity: RuleSeverity::Error,
    scope: RuleScope::All,
    lock: Some("ACCESS EXCLUSIVE"),
    rewrite: Some("full scan"),
    why: "Every row is checked while nothing can read or write the table; an inline CHECK on a new \
          column scans too.",
    safe: Some("ADD CONSTRAINT … CHECK (…) NOT VALID, then VALIDATE CONSTRAINT in a later file"),
    check: Check::Statement(check),
};

fn check(stmt: &NodeEnum, cx: &Context<'_>, out: &mut Vec<String>) {
    for (table, cmd) in cx.existing_alter_cmds(stmt) {
        for c in ast::new_constraints(cmd) {
            if c.contype() == ConstrType::ConstrCheck && !c.skip_validation {
                let name = if c.conname.is_empty() { String::new() } else { format!(" `{}`", c.conname) };
                out.push(format!(
                    "CHECK{name} on `{}` without NOT VALID scans the table under ACCESS EXCLUSIVE",
                    ast::display_relation(table)
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{assert_allowed, assert_finds, assert_lint_ok};

    #[test]
    fn fires_on_validating_checks() {
        assert_finds("alter table users add constraint c check (age > 0);", "add-check-without-not-valid");
        assert_finds("alter table users add column age int check (age > 0);", "add-check-without-not-valid");
    }

    #[test]
    fn not_valid_is_fine() {
        assert_lint_ok("alter table users add constraint c check (age > 0) not valid;", "add-check-without-not-valid");
    }

    #[test]
    fn can_be_allowed() {
        assert_allowed(
            "-- tenantctl:allow add-check-without-not-valid reason=\"tiny\"\nalter table users add constraint c check (age > 0);",
            "add-check-without-not-valid",
        );
    }
}
