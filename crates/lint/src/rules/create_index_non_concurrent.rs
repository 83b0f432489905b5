//! `create-index-non-concurrent`: a plain CREATE INDEX blocks writes for the whole build.

use pg_query::NodeEnum;

use crate::ast;
use crate::catalog::{Check, RuleInfo, RuleScope, RuleSeverity};
use crate::context::Context;

pub(crate) const RULE: RuleInfo = RuleInfo {
    id: "create-index-non-concurrent",
    severity: RuleSeverity::Error,
    scope: RuleScope::All,
    lock: Some("SHARE on the table for the whole build: reads run, INSERT/UPDATE/DELETE block"),
    rewrite: Some("full scan and sort; no table rewrite"),
    why: "Every tenant's table refuses writes while its index builds.",
    safe: Some(
        "CREATE INDEX CONCURRENTLY in a `-- tenantctl:no-transaction` file; after a failure, \
         DROP INDEX CONCURRENTLY IF EXISTS the invalid leftover before retrying",
    ),
    check: Check::Statement(check),
};

fn check(stmt: &NodeEnum, cx: &Context<'_>, out: &mut Vec<String>) {
    let NodeEnum::IndexStmt(index) = stmt else {
        return;
    };
    let Some(table) = &index.relation else { return };
    if !index.concurrent && !cx.is_new(table) {
        let unique = if index.unique { "UNIQUE " } else { "" };
        out.push(format!(
            "CREATE {unique}INDEX on `{}` without CONCURRENTLY blocks writes until the index is built",
            ast::display_relation(table)
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{assert_allowed, assert_finds, assert_lint_ok};

    #[test]
    fn fires_on_a_plain_index_of_an_existing_table() {
        let f = assert_finds("create unique index users_email on users (email);", "create-index-non-concurrent");
        assert_eq!((f[0].line, f[0].column), (1, 1));
    }

    #[test]
    fn concurrent_builds_and_new_tables_are_fine() {
        assert_lint_ok(
            "-- tenantctl:no-transaction\ncreate index concurrently i on users (email);",
            "create-index-non-concurrent",
        );
        assert_lint_ok("create table t (id int); create index i on t (id);", "create-index-non-concurrent");
    }

    #[test]
    fn can_be_allowed() {
        assert_allowed(
            "-- tenantctl:allow create-index-non-concurrent reason=\"tiny table\"\ncreate index i on users (email);",
            "create-index-non-concurrent",
        );
    }
}
