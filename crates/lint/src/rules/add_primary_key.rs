//! `add-primary-key`: ADD PRIMARY KEY builds its index (and checks NOT NULL) under ACCESS EXCLUSIVE.

use pg_query::NodeEnum;
use pg_query::protobuf::ConstrType;

use crate::ast;
use crate::catalog::{Check, RuleInfo, RuleScope, RuleSeverity};
use crate::context::Context;

pub(crate) const RULE: RuleInfo = RuleInfo {
    id: "add-primary-key",
    severity: RuleSeverity::Error,
    scope: RuleScope::All,
    lock: Some("ACCESS EXCLUSIVE"),
    rewrite: Some("index build, plus an implicit SET NOT NULL scan of nullable key columns"),
    why: "Nothing can read or write the table while the index is built and the columns are checked.",
    safe: Some(
        "make the columns NOT NULL with the set-not-null pattern, CREATE UNIQUE INDEX CONCURRENTLY i, \
         then ADD CONSTRAINT pk PRIMARY KEY USING INDEX i",
    ),
    check: Check::Statement(check),
};

fn check(stmt: &NodeEnum, cx: &Context<'_>, out: &mut Vec<String>) {
    for (table, cmd) in cx.existing_alter_cmds(stmt) {
        for c in ast::new_constraints(cmd) {
            if c.contype() == ConstrType::ConstrPrimary && c.indexname.is_empty() {
                out.push(format!(
                    "PRIMARY KEY on `{}` builds its index under ACCESS EXCLUSIVE",
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
    fn fires_on_primary_key_without_an_index() {
        assert_finds("alter table users add primary key (id);", "add-primary-key");
        assert_finds("alter table users add column id bigint primary key;", "add-primary-key");
    }

    #[test]
    fn using_index_is_fine() {
        assert_lint_ok("alter table users add constraint pk primary key using index users_id;", "add-primary-key");
        assert_lint_ok("create table t (id int); alter table t add primary key (id);", "add-primary-key");
    }

    #[test]
    fn can_be_allowed() {
        assert_allowed(
            "-- tenantctl:allow add-primary-key reason=\"tiny\"\nalter table users add primary key (id);",
            "add-primary-key",
        );
    }
}
