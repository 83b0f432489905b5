//! `detach-partition-non-concurrent`: DETACH PARTITION locks parent and partition exclusively.

use crate::ast;
use crate::catalog::{Check, RuleInfo, RuleScope, RuleSeverity};
use crate::context::Context;
use pg_query::NodeEnum;

pub(crate) const RULE: RuleInfo = RuleInfo {
    id: "detach-partition-non-concurrent",
    severity: RuleSeverity::Warning,
    scope: RuleScope::All,
    lock: Some("ACCESS EXCLUSIVE on the parent and the partition"),
    rewrite: None,
    why: "Queries on the whole partitioned table queue behind the lock.",
    safe: Some("DETACH PARTITION … CONCURRENTLY (PostgreSQL 14+) in a `-- tenantctl:no-transaction` file"),
    check: Check::Statement(check),
};

fn check(stmt: &NodeEnum, cx: &Context<'_>, out: &mut Vec<String>) {
    for (table, cmd) in cx.existing_alter_cmds(stmt) {
        let Some(partition) = ast::detach_partition(cmd) else { continue };
        if partition.concurrent && cx.pg_version < 14 {
            out.push(format!("DETACH PARTITION CONCURRENTLY needs PostgreSQL 14 (target {})", cx.pg_version));
        } else if !partition.concurrent {
            out.push(format!(
                "DETACH PARTITION from `{}` without CONCURRENTLY locks the parent exclusively",
                ast::display_relation(table)
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{assert_allowed, assert_finds, assert_lint_ok, case};

    #[test]
    fn fires_on_a_plain_detach() {
        assert_finds("alter table events detach partition events_2020;", "detach-partition-non-concurrent");
    }

    #[test]
    fn concurrently_is_fine() {
        assert_lint_ok(
            "-- tenantctl:no-transaction\nalter table events detach partition events_2020 concurrently;",
            "detach-partition-non-concurrent",
        );
    }

    #[test]
    fn concurrently_needs_14() {
        case("-- tenantctl:no-transaction\nalter table e detach partition p concurrently;")
            .pg(13)
            .finds("detach-partition-non-concurrent");
    }

    #[test]
    fn can_be_allowed() {
        assert_allowed(
            "-- tenantctl:allow detach-partition-non-concurrent reason=\"quiet\"\nalter table e detach partition p;",
            "detach-partition-non-concurrent",
        );
    }
}
