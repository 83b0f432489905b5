//! `cluster-or-vacuum-full`: CLUSTER and VACUUM FULL rewrite the table under ACCESS EXCLUSIVE.

use pg_query::NodeEnum;

use crate::ast;
use crate::catalog::{Check, RuleInfo, RuleScope, RuleSeverity};
use crate::context::Context;

pub(crate) const RULE: RuleInfo = RuleInfo {
    id: "cluster-or-vacuum-full",
    severity: RuleSeverity::Error,
    scope: RuleScope::All,
    lock: Some("ACCESS EXCLUSIVE"),
    rewrite: Some("full rewrite"),
    why: "The table is rewritten while nothing can read or write it.",
    safe: Some("ops tooling (pg_repack, pg_squeeze), never a migration"),
    check: Check::Statement(check),
};

fn check(stmt: &NodeEnum, cx: &Context<'_>, out: &mut Vec<String>) {
    match stmt {
        NodeEnum::ClusterStmt(cluster) => match &cluster.relation {
            Some(table) if cx.is_new(table) => {}
            Some(table) => out.push(format!("CLUSTER rewrites `{}`", ast::display_relation(table))),
            None => out.push("CLUSTER rewrites every clustered table".to_owned()),
        },
        NodeEnum::VacuumStmt(vacuum) if vacuum.is_vacuumcmd && ast::has_option(&vacuum.options, "full") => {
            out.push("VACUUM FULL rewrites the table".to_owned());
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{assert_allowed, assert_finds, assert_lint_ok};

    #[test]
    fn fires_on_cluster_and_vacuum_full() {
        assert_finds("cluster users using users_pkey;", "cluster-or-vacuum-full");
        assert_finds("-- tenantctl:no-transaction\nvacuum full users;", "cluster-or-vacuum-full");
        assert_finds("-- tenantctl:no-transaction\nvacuum (full, analyze) users;", "cluster-or-vacuum-full");
    }

    #[test]
    fn plain_vacuum_and_analyze_are_fine() {
        assert_lint_ok("-- tenantctl:no-transaction\nvacuum users;", "cluster-or-vacuum-full");
        assert_lint_ok("analyze users;", "cluster-or-vacuum-full");
    }

    #[test]
    fn can_be_allowed() {
        assert_allowed(
            "-- tenantctl:allow cluster-or-vacuum-full reason=\"ops\"\ncluster users;",
            "cluster-or-vacuum-full",
        );
    }
}
