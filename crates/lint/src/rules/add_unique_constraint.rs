//! `add-unique-constraint`: ADD … UNIQUE builds its index under ACCESS EXCLUSIVE.

use pg_query::NodeEnum;
use pg_query::protobuf::ConstrType;

use crate::ast;
use crate::catalog::{Check, RuleInfo, RuleScope, RuleSeverity};
use crate::context::Context;

pub(crate) const RULE: RuleInfo = RuleInfo {
    id: "add-unique-constraint",
    severity: RuleSeverity::Error,
    scope: RuleScope::All,
    lock: Some("ACCESS EXCLUSIVE while the unique index is built: SELECT blocks too"),
    rewrite: Some("index build (full scan and sort)"),
    why: "Nothing can read or write the table while the index is built.",
    safe: Some(
        "CREATE UNIQUE INDEX CONCURRENTLY i in a `-- tenantctl:no-transaction` file, then ADD CONSTRAINT \
         c UNIQUE USING INDEX i (catalog only)",
    ),
    check: Check::Statement(check),
};

fn check(stmt: &NodeEnum, cx: &Context<'_>, out: &mut Vec<String>) {
    for (table, cmd) in cx.existing_alter_cmds(stmt) {
        for c in ast::new_constraints(cmd) {
            if c.contype() == ConstrType::ConstrUnique && c.indexname.is_empty() {
                out.push(format!(
                    "UNIQUE constraint on `{}` builds its index under ACCESS EXCLUSIVE",
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
    fn fires_on_unique_without_an_index() {
        assert_finds("alter table users add constraint u unique (email);", "add-unique-constraint");
        assert_finds("alter table users add column code text unique;", "add-unique-constraint");
    }

    #[test]
    fn using_index_is_fine() {
        assert_lint_ok("alter table users add constraint u unique using index users_email;", "add-unique-constraint");
    }

    #[test]
    fn can_be_allowed() {
        assert_allowed(
            "-- tenantctl:allow add-unique-constraint reason=\"tiny\"\nalter table users add unique (email);",
            "add-unique-constraint",
        );
    }
}
