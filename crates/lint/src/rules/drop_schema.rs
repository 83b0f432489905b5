//! `drop-schema`: DROP SCHEMA, DROP DATABASE and DROP OWNED remove whole tenants or shared objects.

use pg_query::NodeEnum;
use pg_query::protobuf::ObjectType;

use crate::ast;
use crate::catalog::{Check, RuleInfo, RuleScope, RuleSeverity};
use crate::context::Context;

pub(crate) const RULE: RuleInfo = RuleInfo {
    id: "drop-schema",
    severity: RuleSeverity::Error,
    scope: RuleScope::All,
    lock: None,
    rewrite: None,
    why: "Drops whole tenants or shared objects, and with CASCADE everything that depends on them.",
    safe: Some("tenant off-boarding is a runner command with its own safeguards, not a migration"),
    check: Check::Statement(check),
};

fn check(stmt: &NodeEnum, _cx: &Context<'_>, out: &mut Vec<String>) {
    if let Some((_, names)) = ast::drop_of(stmt, ObjectType::ObjectSchema) {
        let names: Vec<String> = names.iter().map(|n| n.join(".")).collect();
        out.push(format!("DROP SCHEMA `{}`", names.join("`, `")));
    }
    match stmt {
        NodeEnum::DropdbStmt(d) => out.push(format!("DROP DATABASE `{}`", d.dbname)),
        NodeEnum::DropOwnedStmt(_) => out.push("DROP OWNED drops every object of the role".to_owned()),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{assert_allowed, assert_finds, assert_lint_ok};

    #[test]
    fn fires_on_drops_of_schemas_databases_and_owned() {
        assert_finds("drop schema legacy cascade;", "drop-schema");
        assert_finds("drop owned by app;", "drop-schema");
        assert_finds("-- tenantctl:no-transaction\ndrop database old;", "drop-schema");
    }

    #[test]
    fn dropping_a_table_is_not_dropping_a_schema() {
        assert_lint_ok("drop table t;", "drop-schema");
    }

    #[test]
    fn can_be_allowed() {
        assert_allowed("-- tenantctl:allow drop-schema reason=\"x\"\ndrop schema s;", "drop-schema");
    }
}
