//! `session-set`: a session-level setting survives COMMIT and leaks into the next tenant.

use pg_query::NodeEnum;
use pg_query::protobuf::VariableSetKind;

use crate::ast;
use crate::catalog::{Check, RuleInfo, RuleScope, RuleSeverity};
use crate::context::Context;

pub(crate) const RULE: RuleInfo = RuleInfo {
    id: "session-set",
    severity: RuleSeverity::Warning,
    scope: RuleScope::All,
    lock: None,
    rewrite: None,
    why: "The setting applies to the next tenant on the same pooled connection; `SET statement_timeout \
          = 0` disables the runner's guard.",
    safe: Some("SET LOCAL …"),
    check: Check::Statement(check),
};

fn check(stmt: &NodeEnum, _cx: &Context<'_>, out: &mut Vec<String>) {
    let is_search_path = |name: &str| name.eq_ignore_ascii_case("search_path");
    if let NodeEnum::VariableSetStmt(s) = stmt {
        let sets = matches!(
            s.kind(),
            VariableSetKind::VarSetValue | VariableSetKind::VarSetDefault | VariableSetKind::VarSetCurrent
        );
        if sets && !s.is_local && !is_search_path(&s.name) {
            out.push(format!("SET {} without LOCAL lasts for the session", s.name));
        }
    }
    for (name, session) in ast::set_config_calls(stmt) {
        if session && !name.is_some_and(is_search_path) {
            out.push(format!("set_config('{}', …, false) lasts for the session", name.unwrap_or("…")));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{assert_allowed, assert_finds, assert_lint_ok};

    #[test]
    fn fires_on_session_settings() {
        assert_finds("set statement_timeout = 0;", "session-set");
        assert_finds("set role admin;", "session-set");
        assert_finds("select set_config('work_mem', '1GB', false);", "session-set");
    }

    #[test]
    fn local_settings_and_search_path_are_fine_here() {
        assert_lint_ok("set local statement_timeout = '5min';", "session-set");
        assert_lint_ok("set search_path = public;", "session-set");
        assert_lint_ok("select set_config('work_mem', '1GB', true);", "session-set");
    }

    #[test]
    fn can_be_allowed() {
        assert_allowed("-- tenantctl:allow session-set reason=\"reset after\"\nset work_mem = '1GB';", "session-set");
    }
}
