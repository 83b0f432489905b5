//! `reindex-non-concurrent`: REINDEX locks the index exclusively, which blocks reads of the table too.

use pg_query::NodeEnum;

use crate::ast;
use crate::catalog::{Check, RuleInfo, RuleScope, RuleSeverity};
use crate::context::Context;

pub(crate) const RULE: RuleInfo = RuleInfo {
    id: "reindex-non-concurrent",
    severity: RuleSeverity::Error,
    scope: RuleScope::All,
    lock: Some(
        "SHARE on the table and ACCESS EXCLUSIVE on each index rebuilt; reads block too, since planning \
         any query locks every index of the table",
    ),
    rewrite: Some("rebuilds the index files"),
    why: "The table cannot be written, and in practice not read, until every index is rebuilt.",
    safe: Some(
        "REINDEX INDEX CONCURRENTLY (PostgreSQL 12+) in a `-- tenantctl:no-transaction` file; better, \
         run it as maintenance, not as a migration",
    ),
    check: Check::Statement(check),
};

fn check(stmt: &NodeEnum, cx: &Context<'_>, out: &mut Vec<String>) {
    let NodeEnum::ReindexStmt(reindex) = stmt else {
        return;
    };
    if ast::has_option(&reindex.params, "concurrently") {
        if cx.pg_version < 12 {
            out.push(format!("REINDEX CONCURRENTLY needs PostgreSQL 12 (target {})", cx.pg_version));
        }
        return;
    }
    let target = reindex.relation.as_ref();
    if target.is_some_and(|rv| cx.is_new(rv) || cx.file.created_index(&rv.relname)) {
        return;
    }
    let name = target.map_or_else(|| reindex.name.clone(), ast::display_relation);
    out.push(format!("REINDEX of `{name}` without CONCURRENTLY blocks reads and writes while it rebuilds"));
}

#[cfg(test)]
mod tests {
    use crate::test_support::{assert_allowed, assert_finds, assert_lint_ok, case};

    #[test]
    fn fires_on_every_plain_reindex() {
        assert_finds("reindex index users_email;", "reindex-non-concurrent");
        assert_finds("reindex table users;", "reindex-non-concurrent");
    }

    #[test]
    fn concurrently_is_fine() {
        assert_lint_ok(
            "-- tenantctl:no-transaction\nreindex (concurrently) index users_email;",
            "reindex-non-concurrent",
        );
        assert_lint_ok(
            "-- tenantctl:no-transaction\nreindex index concurrently users_email;",
            "reindex-non-concurrent",
        );
    }

    #[test]
    fn concurrently_needs_12() {
        case("-- tenantctl:no-transaction\nreindex index concurrently i;").pg(11).finds("reindex-non-concurrent");
    }

    #[test]
    fn can_be_allowed() {
        assert_allowed(
            "-- tenantctl:allow reindex-non-concurrent reason=\"bloat\"\nreindex index i;",
            "reindex-non-concurrent",
        );
    }
}
