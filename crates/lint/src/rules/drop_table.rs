//! `drop-table`: DROP TABLE of a table this file did not create.

use pg_query::NodeEnum;
use pg_query::protobuf::ObjectType;

use crate::ast;
use crate::catalog::{Check, RuleInfo, RuleScope, RuleSeverity};
use crate::context::Context;

pub(crate) const RULE: RuleInfo = RuleInfo {
    id: "drop-table",
    severity: RuleSeverity::Error,
    scope: RuleScope::All,
    lock: Some("ACCESS EXCLUSIVE on the table and on every table it references by foreign key"),
    rewrite: None,
    why: "The data is gone, and the application may still use the table. (A warning in down files.)",
    safe: Some(
        "stop using the table in the application, archive the data, then drop it with \
         `-- tenantctl:allow drop-table reason=\"<ticket>\"`",
    ),
    check: Check::Statement(check),
};

fn check(stmt: &NodeEnum, cx: &Context<'_>, out: &mut Vec<String>) {
    let Some((_, names)) = ast::drop_of(stmt, ObjectType::ObjectTable) else {
        return;
    };
    let existing: Vec<String> =
        names.iter().filter(|n| n.last().is_some_and(|t| !cx.file.created_table(t))).map(|n| n.join(".")).collect();
    if !existing.is_empty() {
        out.push(format!("DROP TABLE `{}` deletes its data", existing.join("`, `")));
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{assert_allowed, assert_finds, assert_lint_ok, case};

    #[test]
    fn fires_on_dropping_an_existing_table() {
        assert_finds("drop table if exists users;", "drop-table");
    }

    #[test]
    fn a_table_of_this_file_strings_and_bodies_are_fine() {
        assert_lint_ok("create table tmp (a int); drop table tmp;", "drop-table");
        assert_lint_ok("select 'drop table users';", "drop-table");
        assert_lint_ok("do $body$ begin drop table users; end $body$;", "drop-table");
        assert_lint_ok("-- drop table users;\n/* drop table users; */ select 1;", "drop-table");
        assert_lint_ok(
            "create function f() returns void language plpgsql as $$ begin drop table users; end $$;",
            "drop-table",
        );
    }

    #[test]
    fn is_a_warning_in_down_files() {
        let f = case("drop table users;").down().finds("drop-table");
        assert_eq!(f[0].severity, crate::Severity::Warning);
    }

    #[test]
    fn can_be_allowed() {
        assert_allowed("-- tenantctl:allow drop-table reason=\"JIRA-12 archived\"\ndrop table users;", "drop-table");
    }
}
