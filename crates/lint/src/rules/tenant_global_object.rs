//! `tenant-global-object`: cluster- or database-wide objects created from a tenant migration.

use pg_query::NodeEnum;

use crate::catalog::{Check, RuleInfo, RuleScope, RuleSeverity};
use crate::context::Context;

pub(crate) const RULE: RuleInfo = RuleInfo {
    id: "tenant-global-object",
    severity: RuleSeverity::Error,
    scope: RuleScope::Tenant,
    lock: None,
    rewrite: None,
    why: "These objects are cluster- or database-wide, and the statement runs once per tenant.",
    safe: Some("use a master migration or provisioning code"),
    check: Check::Statement(check),
};

fn check(stmt: &NodeEnum, _cx: &Context<'_>, out: &mut Vec<String>) {
    let what = match stmt {
        NodeEnum::CreateSchemaStmt(_) => "CREATE SCHEMA",
        NodeEnum::CreateRoleStmt(_) => "CREATE ROLE",
        NodeEnum::AlterRoleStmt(_) | NodeEnum::AlterRoleSetStmt(_) => "ALTER ROLE",
        NodeEnum::DropRoleStmt(_) => "DROP ROLE",
        NodeEnum::GrantRoleStmt(_) => "GRANT role",
        NodeEnum::CreatedbStmt(_) => "CREATE DATABASE",
        NodeEnum::AlterDatabaseStmt(_) | NodeEnum::AlterDatabaseSetStmt(_) => "ALTER DATABASE",
        NodeEnum::AlterSystemStmt(_) => "ALTER SYSTEM",
        NodeEnum::CreateTableSpaceStmt(_) => "CREATE TABLESPACE",
        NodeEnum::CreateEventTrigStmt(_) => "CREATE EVENT TRIGGER",
        NodeEnum::CreatePublicationStmt(_) => "CREATE PUBLICATION",
        NodeEnum::CreateSubscriptionStmt(_) => "CREATE SUBSCRIPTION",
        NodeEnum::CreateForeignServerStmt(_) => "CREATE SERVER",
        NodeEnum::CreateUserMappingStmt(_) => "CREATE USER MAPPING",
        NodeEnum::CreateCastStmt(_) => "CREATE CAST",
        _ => return,
    };
    out.push(format!("{what} creates or changes a global object from a tenant migration"));
}

#[cfg(test)]
mod tests {
    use crate::test_support::{assert_allowed, assert_finds, assert_lint_ok, case};

    #[test]
    fn fires_in_tenant_scope() {
        assert_finds("create role reporting;", "tenant-global-object");
        assert_finds("create schema audit;", "tenant-global-object");
        assert_finds("create publication p for all tables;", "tenant-global-object");
    }

    #[test]
    fn fine_in_master_scope_and_for_tables() {
        case("create role reporting;").master().ok("tenant-global-object");
        assert_lint_ok("create table t (a int);", "tenant-global-object");
    }

    #[test]
    fn can_be_allowed() {
        assert_allowed("-- tenantctl:allow tenant-global-object reason=\"x\"\ncreate role r;", "tenant-global-object");
    }
}
