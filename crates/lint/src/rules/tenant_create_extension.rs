//! `tenant-create-extension`: extensions are per database; from a tenant migration they land in
//! the first tenant's schema.

use pg_query::NodeEnum;
use pg_query::protobuf::ObjectType;

use crate::catalog::{Check, RuleInfo, RuleScope, RuleSeverity};
use crate::context::Context;

pub(crate) const RULE: RuleInfo = RuleInfo {
    id: "tenant-create-extension",
    severity: RuleSeverity::Error,
    scope: RuleScope::Tenant,
    lock: None,
    rewrite: None,
    why: "The extension is installed into the first tenant's schema; later tenants skip it and cannot \
          see its types, and off-boarding that tenant drops other tenants' columns.",
    safe: Some("CREATE EXTENSION … WITH SCHEMA public (or `extensions`) in a master migration"),
    check: Check::Statement(check),
};

fn check(stmt: &NodeEnum, _cx: &Context<'_>, out: &mut Vec<String>) {
    let what = match stmt {
        NodeEnum::CreateExtensionStmt(s) => format!("CREATE EXTENSION {}", s.extname),
        NodeEnum::AlterExtensionStmt(s) => format!("ALTER EXTENSION {}", s.extname),
        NodeEnum::AlterExtensionContentsStmt(s) => format!("ALTER EXTENSION {}", s.extname),
        NodeEnum::DropStmt(s) if s.remove_type() == ObjectType::ObjectExtension => "DROP EXTENSION".to_owned(),
        _ => return,
    };
    out.push(format!("{what} in a tenant migration"));
}

#[cfg(test)]
mod tests {
    use crate::test_support::{assert_allowed, assert_finds, case};

    #[test]
    fn fires_in_tenant_scope() {
        assert_finds("create extension if not exists citext;", "tenant-create-extension");
        assert_finds("drop extension citext;", "tenant-create-extension");
    }

    #[test]
    fn fine_in_master_scope() {
        case("create extension if not exists citext with schema public;").master().ok("tenant-create-extension");
        case("-- tenantctl:scope master\ncreate extension citext;").ok("tenant-create-extension");
    }

    #[test]
    fn can_be_allowed() {
        assert_allowed(
            "-- tenantctl:allow tenant-create-extension reason=\"x\"\ncreate extension citext;",
            "tenant-create-extension",
        );
    }
}
