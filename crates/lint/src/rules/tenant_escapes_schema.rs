//! `tenant-escapes-schema`: a tenant migration that writes into a named, non-tenant schema.

use crate::catalog::{Check, RuleInfo, RuleScope, RuleSeverity};
use crate::context::Context;
use crate::schemas;
use pg_query::NodeEnum;

pub(crate) const RULE: RuleInfo = RuleInfo {
    id: "tenant-escapes-schema",
    severity: RuleSeverity::Error,
    scope: RuleScope::Tenant,
    lock: None,
    rewrite: None,
    why: "The first tenant creates or alters the shared object; every other tenant errors or silently \
          no-ops, and DML runs once per tenant. On PostgreSQL 15 a non-owner cannot CREATE in `public`.",
    safe: Some(
        "use unqualified names (the runner's search_path selects the tenant); shared objects belong in master migrations",
    ),
    check: Check::Statement(check),
};

fn check(stmt: &NodeEnum, cx: &Context<'_>, out: &mut Vec<String>) {
    let mut seen: Vec<&str> = Vec::new();
    for schema in schemas::target_schemas(stmt) {
        // A tenant-schema qualifier is cross-tenant-reference's finding.
        // In database isolation the tenant's own database schema (`public`) is no shared schema.
        if !cx.is_tenant_schema(schema) && !cx.is_own_schema(schema) && !seen.contains(&schema) {
            seen.push(schema);
            out.push(format!("tenant migration writes into schema `{schema}`, outside the tenant's schema"));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{assert_allowed, assert_finds, assert_lint_ok, case};

    #[test]
    fn fires_on_qualified_targets_in_tenant_scope() {
        assert_finds("create table public.settings (a int);", "tenant-escapes-schema");
        assert_finds("insert into public.audit (a) values (1);", "tenant-escapes-schema");
        assert_finds("drop function public.f(int);", "tenant-escapes-schema");
        assert_finds("alter table users set schema public;", "tenant-escapes-schema");
    }

    #[test]
    fn references_master_scope_and_tenant_qualifiers_are_fine() {
        assert_lint_ok(
            "create table users (email public.citext references public.plans (id));",
            "tenant-escapes-schema",
        );
        assert_lint_ok("insert into users select * from public.seed;", "tenant-escapes-schema");
        case("create table public.settings (a int);").master().ok("tenant-escapes-schema");
        assert_lint_ok("create table tid_abc.t (a int);", "tenant-escapes-schema");
    }

    #[test]
    fn in_database_isolation_the_tenant_database_schema_is_its_own() {
        case("create table public.settings (a int);").database_schema("public").ok("tenant-escapes-schema");
        case("insert into app.audit (a) values (1);").database_schema("app").ok("tenant-escapes-schema");
        case("create table shared.settings (a int);").database_schema("public").finds("tenant-escapes-schema");
        case("create table public.settings (a int);").database_schema("app").finds("tenant-escapes-schema");
    }

    #[test]
    fn can_be_allowed() {
        assert_allowed(
            "-- tenantctl:allow tenant-escapes-schema reason=\"x\"\ncreate table public.t (a int);",
            "tenant-escapes-schema",
        );
    }
}
