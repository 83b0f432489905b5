//! Whether an expression calls a volatile function (LINT_RULES.md §1.7): a call is volatile unless
//! `pg_proc` marks every built-in function of that name non-volatile. User and unknown functions
//! count as volatile; SQL value functions (`CURRENT_TIMESTAMP`…) are not calls and count as stable.

use pg_query::NodeRef;
use pg_query::protobuf::{FuncCall, Node};

use crate::ast;
use crate::volatility_table::NON_VOLATILE;
use crate::walk;

fn is_volatile_call(call: &FuncCall) -> bool {
    match ast::name_parts(&call.funcname).as_slice() {
        [name] | ["pg_catalog", name] => NON_VOLATILE.binary_search(name).is_err(),
        _ => true,
    }
}

/// Whether the expression contains a volatile function call.
pub(crate) fn is_volatile(expr: &Node) -> bool {
    expr.node
        .as_ref()
        .is_some_and(|e| walk::any(e.to_ref(), |n| matches!(n, NodeRef::FuncCall(call) if is_volatile_call(call))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn volatile(expr: &str) -> bool {
        let tree = pg_query::parse(&format!("select {expr}"), 0).unwrap().protobuf;
        let node = tree.stmts[0].stmt.as_ref().unwrap().node.as_ref().unwrap();
        let pg_query::NodeEnum::SelectStmt(select) = node else { panic!() };
        is_volatile(&select.target_list[0])
    }

    #[test]
    fn the_pg_15_facts_hold() {
        for stable in [
            "now()",
            "transaction_timestamp()",
            "statement_timestamp()",
            "txid_current()",
            "current_timestamp",
            "0",
            "'pending'",
            "pg_catalog.now()",
            "lower('A')",
        ] {
            assert!(!volatile(stable), "{stable}");
        }
        for v in [
            "clock_timestamp()",
            "timeofday()",
            "random()",
            "gen_random_uuid()",
            "nextval('s')",
            "currval('s')",
            "my_fn()",
            "public.now()",
            "coalesce(null, random())",
        ] {
            assert!(volatile(v), "{v}");
        }
    }

    #[test]
    fn the_generated_table_is_sorted_for_binary_search() {
        assert!(NON_VOLATILE.windows(2).all(|w| w[0] < w[1]));
    }
}
