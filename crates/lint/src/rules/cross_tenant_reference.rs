//! `cross-tenant-reference`: a statement that names a tenant schema explicitly.

use crate::catalog::{Check, RuleInfo, RuleScope, RuleSeverity};
use crate::context::Context;
use crate::schemas;
use pg_query::NodeEnum;

pub(crate) const RULE: RuleInfo = RuleInfo {
    id: "cross-tenant-reference",
    severity: RuleSeverity::Error,
    scope: RuleScope::All,
    lock: None,
    rewrite: None,
    why: "A tenant reads or writes another tenant's data (a tenant-isolation breach), and the \
          migration behaves differently per tenant.",
    safe: Some("seed data from a master-owned shared table, or from a data file through the runner"),
    check: Check::Statement(check),
};

fn check(stmt: &NodeEnum, cx: &Context<'_>, out: &mut Vec<String>) {
    let node = stmt;
    let mut named: Vec<&str> = schemas::target_schemas(node);
    named.extend(schemas::named_schemas(node));
    named.extend(schemas::referenced_qualifiers(node));
    let mut seen: Vec<&str> = Vec::new();
    for schema in named {
        if cx.is_tenant_schema(schema) && !seen.contains(&schema) {
            seen.push(schema);
            out.push(format!("statement names tenant schema `{schema}`"));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{assert_allowed, assert_finds, assert_lint_ok, case};

    #[test]
    fn fires_on_tenant_qualifiers_anywhere() {
        assert_finds("insert into users select * from tid_template.users;", "cross-tenant-reference");
        assert_finds("create table t (c tid_0001.citext);", "cross-tenant-reference");
        assert_finds("select tid_a.f();", "cross-tenant-reference");
        assert_finds("select tid_a.users.id from users;", "cross-tenant-reference");
        case("drop schema tid_abc cascade;").master().finds("cross-tenant-reference");
        assert_finds("grant usage on schema tid_abc to app;", "cross-tenant-reference");
    }

    #[test]
    fn other_schemas_are_fine() {
        assert_lint_ok("insert into users select * from public.seed;", "cross-tenant-reference");
        assert_lint_ok("select 'tid_abc.users';", "cross-tenant-reference");
    }

    #[test]
    fn can_be_allowed() {
        assert_allowed(
            "-- tenantctl:allow cross-tenant-reference reason=\"one-off\"\nselect * from tid_a.users;",
            "cross-tenant-reference",
        );
    }
}
