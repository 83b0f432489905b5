//! `add-exclusion-constraint`: ADD … EXCLUDE builds and checks an index under ACCESS EXCLUSIVE,
//! with no online alternative.

use pg_query::NodeEnum;
use pg_query::protobuf::ConstrType;

use crate::ast;
use crate::catalog::{Check, RuleInfo, RuleScope, RuleSeverity};
use crate::context::Context;

pub(crate) const RULE: RuleInfo = RuleInfo {
    id: "add-exclusion-constraint",
    severity: RuleSeverity::Error,
    scope: RuleScope::All,
    lock: Some("ACCESS EXCLUSIVE"),
    rewrite: Some("index build and check"),
    why: "Neither NOT VALID nor USING INDEX exists for exclusion constraints.",
    safe: Some(
        "create the constraint on a new table and migrate the data, or accept a maintenance window with \
         `-- tenantctl:allow add-exclusion-constraint reason=\"…\"`",
    ),
    check: Check::Statement(check),
};

fn check(stmt: &NodeEnum, cx: &Context<'_>, out: &mut Vec<String>) {
    for (table, cmd) in cx.existing_alter_cmds(stmt) {
        if ast::added_constraint(cmd).is_some_and(|c| c.contype() == ConstrType::ConstrExclusion) {
            out.push(format!(
                "EXCLUDE constraint on `{}` builds its index under ACCESS EXCLUSIVE",
                ast::display_relation(table)
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{assert_allowed, assert_finds, assert_lint_ok};

    const EXCLUDE: &str =
        "alter table bookings add constraint no_overlap exclude using gist (room with =, during with &&);";

    #[test]
    fn fires_on_exclude() {
        assert_finds(EXCLUDE, "add-exclusion-constraint");
    }

    #[test]
    fn a_new_table_is_fine() {
        assert_lint_ok(
            &format!("create table bookings (room int, during tstzrange);\n{EXCLUDE}"),
            "add-exclusion-constraint",
        );
    }

    #[test]
    fn can_be_allowed() {
        assert_allowed(
            &format!("-- tenantctl:allow add-exclusion-constraint reason=\"window\"\n{EXCLUDE}"),
            "add-exclusion-constraint",
        );
    }
}
