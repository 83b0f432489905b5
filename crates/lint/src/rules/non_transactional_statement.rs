//! `non-transactional-statement`: statements PostgreSQL refuses inside a transaction block, in a
//! file that runs in one.

use pg_query::NodeEnum;
use pg_query::protobuf::ReindexObjectType;

use crate::ast;
use crate::catalog::{Check, RuleInfo, RuleScope, RuleSeverity};
use crate::context::Context;

pub(crate) const RULE: RuleInfo = RuleInfo {
    id: "non-transactional-statement",
    severity: RuleSeverity::Error,
    scope: RuleScope::All,
    lock: None,
    rewrite: None,
    why: "`ERROR: … cannot run inside a transaction block` on every tenant (a multi-statement query \
          string is an implicit transaction block too).",
    safe: Some(
        "put the statement alone (or with other autocommit-safe statements) in a file with the header \
         `-- tenantctl:no-transaction`",
    ),
    check: Check::Statement(check),
};

/// What in the statement cannot run inside a transaction block, if anything.
pub(crate) fn autocommit_only(node: &NodeEnum, pg_version: u32) -> Option<&'static str> {
    match node {
        NodeEnum::IndexStmt(s) if s.concurrent => Some("CREATE INDEX CONCURRENTLY"),
        NodeEnum::DropStmt(s) if s.concurrent => Some("DROP INDEX CONCURRENTLY"),
        NodeEnum::ReindexStmt(s) if ast::has_option(&s.params, "concurrently") => Some("REINDEX CONCURRENTLY"),
        NodeEnum::ReindexStmt(s) => match s.kind() {
            ReindexObjectType::ReindexObjectSchema => Some("REINDEX SCHEMA"),
            ReindexObjectType::ReindexObjectDatabase => Some("REINDEX DATABASE"),
            ReindexObjectType::ReindexObjectSystem => Some("REINDEX SYSTEM"),
            _ => None,
        },
        NodeEnum::VacuumStmt(s) if s.is_vacuumcmd => Some("VACUUM"),
        NodeEnum::AlterTableStmt(_) => ast::alter_table(node)
            .and_then(|(_, mut cmds)| cmds.find(|c| ast::detach_partition(c).is_some_and(|p| p.concurrent)))
            .map(|_| "DETACH PARTITION CONCURRENTLY"),
        NodeEnum::AlterEnumStmt(s) if s.old_val.is_empty() && pg_version < 12 => {
            Some("ALTER TYPE … ADD VALUE (before PostgreSQL 12)")
        }
        NodeEnum::CreatedbStmt(_) => Some("CREATE DATABASE"),
        NodeEnum::DropdbStmt(_) => Some("DROP DATABASE"),
        NodeEnum::AlterSystemStmt(_) => Some("ALTER SYSTEM"),
        NodeEnum::CreateTableSpaceStmt(_) => Some("CREATE TABLESPACE"),
        NodeEnum::DropTableSpaceStmt(_) => Some("DROP TABLESPACE"),
        NodeEnum::ClusterStmt(s) if s.relation.is_none() => Some("CLUSTER without a table"),
        _ => None,
    }
}

fn check(stmt: &NodeEnum, cx: &Context<'_>, out: &mut Vec<String>) {
    if let Some(what) = autocommit_only(stmt, cx.pg_version).filter(|_| cx.transactional) {
        out.push(format!("{what} cannot run inside the migration's transaction"));
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{assert_allowed, assert_finds, assert_lint_ok, case};

    #[test]
    fn fires_in_a_transactional_file() {
        assert_finds("create index concurrently i on users (email);", "non-transactional-statement");
        assert_finds("vacuum users;", "non-transactional-statement");
        assert_finds("drop index concurrently i;", "non-transactional-statement");
        case("alter type mood add value 'meh';").pg(11).finds("non-transactional-statement");
    }

    #[test]
    fn fine_in_a_no_transaction_file() {
        assert_lint_ok(
            "-- tenantctl:no-transaction\ncreate index concurrently i on users (email);",
            "non-transactional-statement",
        );
        assert_lint_ok("alter type mood add value 'meh';", "non-transactional-statement");
    }

    #[test]
    fn can_be_allowed() {
        assert_allowed(
            "-- tenantctl:allow non-transactional-statement reason=\"runner splits\"\nvacuum users;",
            "non-transactional-statement",
        );
    }
}
