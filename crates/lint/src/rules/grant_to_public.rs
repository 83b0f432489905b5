//! `grant-to-public`: GRANT … TO PUBLIC opens the tenant's data to every role.

use pg_query::NodeEnum;
use pg_query::protobuf::{GrantStmt, RoleSpecType};

use crate::catalog::{Check, RuleInfo, RuleScope, RuleSeverity};
use crate::context::Context;

pub(crate) const RULE: RuleInfo = RuleInfo {
    id: "grant-to-public",
    severity: RuleSeverity::Error,
    scope: RuleScope::All,
    lock: None,
    rewrite: None,
    why: "Every role, including other tenants' roles, can use the object.",
    safe: Some("grant to the tenant's role or an application role"),
    check: Check::Statement(check),
};

fn to_public(grant: &GrantStmt) -> bool {
    grant.is_grant
        && grant.grantees.iter().any(
            |g| matches!(g.node.as_ref(), Some(NodeEnum::RoleSpec(r)) if r.roletype() == RoleSpecType::RolespecPublic),
        )
}

fn check(stmt: &NodeEnum, _cx: &Context<'_>, out: &mut Vec<String>) {
    let grant = match stmt {
        NodeEnum::GrantStmt(g) => Some(g),
        NodeEnum::AlterDefaultPrivilegesStmt(d) => d.action.as_ref(),
        _ => None,
    };
    if grant.is_some_and(to_public) {
        out.push("GRANT … TO PUBLIC".to_owned());
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{assert_allowed, assert_finds, assert_lint_ok};

    #[test]
    fn fires_on_grants_to_public() {
        assert_finds("grant select on users to public;", "grant-to-public");
        assert_finds("alter default privileges grant select on tables to public;", "grant-to-public");
    }

    #[test]
    fn revokes_and_named_roles_are_fine() {
        assert_lint_ok("revoke all on users from public;", "grant-to-public");
        assert_lint_ok("grant select on users to app;", "grant-to-public");
    }

    #[test]
    fn can_be_allowed() {
        assert_allowed(
            "-- tenantctl:allow grant-to-public reason=\"x\"\ngrant select on t to public;",
            "grant-to-public",
        );
    }
}
