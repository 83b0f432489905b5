//! `transaction-control`: BEGIN, COMMIT, SAVEPOINT… inside a migration the runner wraps itself.

use pg_query::NodeEnum;

use crate::catalog::{Check, RuleInfo, RuleScope, RuleSeverity};
use crate::context::Context;

pub(crate) const RULE: RuleInfo = RuleInfo {
    id: "transaction-control",
    severity: RuleSeverity::Error,
    scope: RuleScope::All,
    lock: None,
    rewrite: None,
    why: "The runner owns one transaction per tenant per file: a COMMIT in the file commits the \
          runner's transaction, so its later ROLLBACK undoes nothing.",
    safe: Some("remove the statements; use `-- tenantctl:no-transaction` when autocommit is needed"),
    check: Check::Statement(check),
};

fn check(stmt: &NodeEnum, _cx: &Context<'_>, out: &mut Vec<String>) {
    if let NodeEnum::TransactionStmt(t) = stmt {
        let kind = t.kind().as_str_name().trim_start_matches("TRANS_STMT_").replace('_', " ");
        out.push(format!("transaction control ({kind}) inside a migration"));
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{assert_allowed, assert_finds, assert_lint_ok};

    #[test]
    fn fires_on_begin_and_commit() {
        let f = assert_finds("begin;\ncreate table t (a int);\ncommit;", "transaction-control");
        assert_eq!(f.len(), 2);
        assert!(f[0].message.contains("BEGIN"), "{}", f[0].message);
    }

    #[test]
    fn plain_statements_are_fine() {
        assert_lint_ok("create table t (a int);", "transaction-control");
    }

    #[test]
    fn can_be_allowed() {
        assert_allowed(
            "-- tenantctl:allow transaction-control reason=\"savepoint\"\nsavepoint a;",
            "transaction-control",
        );
    }
}
