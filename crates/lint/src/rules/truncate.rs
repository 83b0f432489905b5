//! `truncate`: TRUNCATE empties tables under ACCESS EXCLUSIVE, and is not MVCC-safe.

use pg_query::NodeEnum;

use crate::ast;
use crate::catalog::{Check, RuleInfo, RuleScope, RuleSeverity};
use crate::context::Context;

pub(crate) const RULE: RuleInfo = RuleInfo {
    id: "truncate",
    severity: RuleSeverity::Error,
    scope: RuleScope::All,
    lock: Some("ACCESS EXCLUSIVE on each table, plus the CASCADE targets"),
    rewrite: Some("new relfilenode; not MVCC-safe for concurrent snapshots"),
    why: "Deletes every row of every tenant's table at once.",
    safe: Some("a batched DELETE … WHERE in a later file, or an approved `-- tenantctl:allow truncate reason=\"…\"`"),
    check: Check::Statement(check),
};

fn check(stmt: &NodeEnum, cx: &Context<'_>, out: &mut Vec<String>) {
    let NodeEnum::TruncateStmt(truncate) = stmt else {
        return;
    };
    let existing: Vec<String> = truncate
        .relations
        .iter()
        .filter_map(ast::range_var)
        .filter(|rv| !cx.is_new(rv))
        .map(ast::display_relation)
        .collect();
    if !existing.is_empty() {
        out.push(format!("TRUNCATE `{}` deletes every row", existing.join("`, `")));
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{assert_allowed, assert_finds, assert_lint_ok};

    #[test]
    fn fires_on_truncate() {
        assert_finds("truncate users cascade;", "truncate");
    }

    #[test]
    fn a_table_of_this_file_is_fine() {
        assert_lint_ok("create table staging (a int); truncate staging;", "truncate");
    }

    #[test]
    fn can_be_allowed() {
        assert_allowed("-- tenantctl:allow truncate reason=\"cache table\"\ntruncate cache;", "truncate");
    }
}
