//! `enum-value-used-before-commit`: a label added by ALTER TYPE … ADD VALUE cannot be used before
//! the transaction that added it commits.

use pg_query::NodeEnum;
use pg_query::NodeRef;
use pg_query::protobuf::a_const;

use crate::catalog::{Check, RuleInfo, RuleScope, RuleSeverity};
use crate::context::Context;
use crate::walk;

pub(crate) const RULE: RuleInfo = RuleInfo {
    id: "enum-value-used-before-commit",
    severity: RuleSeverity::Error,
    scope: RuleScope::All,
    lock: Some("ADD VALUE takes only an EXCLUSIVE lock on the type"),
    rewrite: None,
    why: "`ERROR: unsafe use of new value … of enum type` on every tenant.",
    safe: Some("add the value in one migration and use it in a later one (with BEFORE/AFTER)"),
    check: Check::Statement(check),
};

fn check(stmt: &NodeEnum, cx: &Context<'_>, out: &mut Vec<String>) {
    // Below 12 ADD VALUE cannot run in a transaction at all (non-transactional-statement).
    let labels = cx.file.enum_labels();
    if cx.pg_version < 12 || !cx.transactional || labels.is_empty() {
        return;
    }
    let mut used: Vec<&str> = Vec::new();
    walk::walk_enum(stmt, &mut |n| {
        if let NodeRef::AConst(c) = n {
            if let Some(a_const::Val::Sval(s)) = &c.val {
                if labels.contains(&s.sval) && !used.contains(&s.sval.as_str()) {
                    used.push(&s.sval);
                }
            }
        }
    });
    for label in used {
        out.push(format!("enum label '{label}' is used in the transaction that added it"));
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{assert_allowed, assert_finds, assert_lint_ok, case};

    const ADD: &str = "alter type status add value 'archived';\n";

    #[test]
    fn fires_when_the_label_is_used_in_the_same_transaction() {
        assert_finds(&format!("{ADD}update items set s = 'archived' where id = 1;"), "enum-value-used-before-commit");
        assert_finds(&format!("{ADD}select 'archived'::status;"), "enum-value-used-before-commit");
    }

    #[test]
    fn a_later_file_or_other_strings_are_fine() {
        case(ADD).then("update items set s = 'archived' where id = 1;").ok("enum-value-used-before-commit");
        assert_lint_ok(&format!("{ADD}update items set s = 'active' where id = 1;"), "enum-value-used-before-commit");
    }

    #[test]
    fn can_be_allowed() {
        assert_allowed(
            &format!("{ADD}-- tenantctl:allow enum-value-used-before-commit reason=\"x\"\nselect 'archived'::status;"),
            "enum-value-used-before-commit",
        );
    }
}
