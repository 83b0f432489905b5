//! `set-search-path`: changing search_path redirects every later unqualified name.

use pg_query::NodeEnum;

use crate::ast;
use crate::catalog::{Check, RuleInfo, RuleScope, RuleSeverity};
use crate::context::Context;

pub(crate) const RULE: RuleInfo = RuleInfo {
    id: "set-search-path",
    severity: RuleSeverity::Error,
    scope: RuleScope::All,
    lock: None,
    rewrite: None,
    why: "Later unqualified names resolve elsewhere (into `public`, or another tenant); a session-level \
          SET also leaks into the next tenant on a pooled connection.",
    safe: Some("leave search_path to the runner; qualify shared objects"),
    check: Check::Statement(check),
};

const SEARCH_PATH: &str = "search_path";

fn check(stmt: &NodeEnum, _cx: &Context<'_>, out: &mut Vec<String>) {
    let set = match stmt {
        NodeEnum::VariableSetStmt(s) => Some(s),
        NodeEnum::AlterRoleSetStmt(s) => s.setstmt.as_ref(),
        NodeEnum::AlterDatabaseSetStmt(s) => s.setstmt.as_ref(),
        _ => None,
    };
    if set.is_some_and(|s| s.name.eq_ignore_ascii_case(SEARCH_PATH)) {
        out.push("statement changes search_path".to_owned());
    }
    if ast::set_config_calls(stmt).iter().any(|(name, _)| name.is_some_and(|n| n.eq_ignore_ascii_case(SEARCH_PATH))) {
        out.push("set_config('search_path', …) changes search_path".to_owned());
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{assert_allowed, assert_finds, assert_lint_ok, case};

    #[test]
    fn fires_on_every_way_of_setting_it() {
        assert_finds("set search_path to public;", "set-search-path");
        assert_finds("set local search_path = tid_x;", "set-search-path");
        assert_finds("reset search_path;", "set-search-path");
        assert_finds("select set_config('search_path', 'public', true);", "set-search-path");
        case("alter role app set search_path = public;").master().finds("set-search-path");
    }

    #[test]
    fn function_set_clauses_are_fine() {
        assert_lint_ok(
            "create function f() returns int language sql set search_path from current as 'select 1';",
            "set-search-path",
        );
        assert_lint_ok("set local lock_timeout = '1s';", "set-search-path");
    }

    #[test]
    fn can_be_allowed() {
        assert_allowed(
            "-- tenantctl:allow set-search-path reason=\"x\"\nset local search_path = a;",
            "set-search-path",
        );
    }
}
