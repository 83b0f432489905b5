//! A pre-order walk over the parse tree, for rules that look for a node anywhere in a statement
//! (a volatile call, a tenant-qualified name, a string constant).
//!
//! It covers the statement and expression nodes that migrations use; other node kinds are leaves.
//! pg_query's own `nodes()` visits only the subset it needs for table extraction (for instance
//! not column definitions, constraints or type names), so it cannot serve here.

use pg_query::protobuf::{Node, SelectStmt, TypeName, WithClause};
use pg_query::{NodeEnum, NodeRef};

/// Calls `f` on `node` and every node below it.
pub(crate) fn walk<'a>(node: NodeRef<'a>, f: &mut dyn FnMut(NodeRef<'a>)) {
    f(node);
    children(node, f);
}

/// Whether `pred` holds for `node` or any node below it.
pub(crate) fn any<'a>(node: NodeRef<'a>, pred: impl Fn(NodeRef<'a>) -> bool) -> bool {
    let mut found = false;
    walk(node, &mut |n| found = found || pred(n));
    found
}

/// Walks a statement given as a [`NodeEnum`].
pub(crate) fn walk_enum<'a>(node: &'a NodeEnum, f: &mut dyn FnMut(NodeRef<'a>)) {
    walk(node.to_ref(), f);
}

fn one<'a>(node: &'a Node, f: &mut dyn FnMut(NodeRef<'a>)) {
    if let Some(n) = &node.node {
        walk(n.to_ref(), f);
    }
}

fn all<'a>(nodes: &'a [Node], f: &mut dyn FnMut(NodeRef<'a>)) {
    nodes.iter().for_each(|n| one(n, f));
}

fn opt<'a>(node: Option<&'a Node>, f: &mut dyn FnMut(NodeRef<'a>)) {
    node.into_iter().for_each(|n| one(n, f));
}

fn type_name<'a>(t: Option<&'a TypeName>, f: &mut dyn FnMut(NodeRef<'a>)) {
    t.into_iter().for_each(|t| walk(NodeRef::TypeName(t), f));
}

fn with<'a>(w: Option<&'a WithClause>, f: &mut dyn FnMut(NodeRef<'a>)) {
    w.into_iter().for_each(|w| all(&w.ctes, f));
}

fn select<'a>(s: &'a SelectStmt, f: &mut dyn FnMut(NodeRef<'a>)) {
    with(s.with_clause.as_ref(), f);
    for list in [&s.distinct_clause, &s.target_list, &s.from_clause, &s.group_clause] {
        all(list, f);
    }
    for list in [&s.window_clause, &s.values_lists, &s.sort_clause] {
        all(list, f);
    }
    for expr in [&s.where_clause, &s.having_clause, &s.limit_offset, &s.limit_count] {
        opt(expr.as_deref(), f);
    }
    for arm in [&s.larg, &s.rarg].into_iter().flatten() {
        walk(NodeRef::SelectStmt(arm), f);
    }
}

fn children<'a>(node: NodeRef<'a>, f: &mut dyn FnMut(NodeRef<'a>)) {
    match node {
        NodeRef::SelectStmt(s) => select(s, f),
        NodeRef::InsertStmt(s) => {
            with(s.with_clause.as_ref(), f);
            s.relation.iter().for_each(|r| f(NodeRef::RangeVar(r)));
            opt(s.select_stmt.as_deref(), f);
            if let Some(c) = &s.on_conflict_clause {
                all(&c.target_list, f);
                opt(c.where_clause.as_deref(), f);
            }
        }
        NodeRef::UpdateStmt(s) => {
            with(s.with_clause.as_ref(), f);
            s.relation.iter().for_each(|r| f(NodeRef::RangeVar(r)));
            all(&s.target_list, f);
            all(&s.from_clause, f);
            opt(s.where_clause.as_deref(), f);
        }
        NodeRef::DeleteStmt(s) => {
            with(s.with_clause.as_ref(), f);
            s.relation.iter().for_each(|r| f(NodeRef::RangeVar(r)));
            all(&s.using_clause, f);
            opt(s.where_clause.as_deref(), f);
        }
        NodeRef::MergeStmt(s) => {
            with(s.with_clause.as_ref(), f);
            s.relation.iter().for_each(|r| f(NodeRef::RangeVar(r)));
            opt(s.source_relation.as_deref(), f);
            opt(s.join_condition.as_deref(), f);
            all(&s.merge_when_clauses, f);
        }
        NodeRef::MergeWhenClause(c) => {
            opt(c.condition.as_deref(), f);
            all(&c.target_list, f);
            all(&c.values, f);
        }
        NodeRef::CreateStmt(s) => {
            s.relation.iter().for_each(|r| f(NodeRef::RangeVar(r)));
            all(&s.table_elts, f);
            all(&s.inh_relations, f);
            all(&s.constraints, f);
            type_name(s.of_typename.as_ref(), f);
        }
        NodeRef::ColumnDef(c) => {
            type_name(c.type_name.as_ref(), f);
            opt(c.raw_default.as_deref(), f);
            all(&c.constraints, f);
        }
        NodeRef::Constraint(c) => {
            opt(c.raw_expr.as_deref(), f);
            opt(c.where_clause.as_deref(), f);
            c.pktable.iter().for_each(|r| f(NodeRef::RangeVar(r)));
        }
        NodeRef::CreateTableAsStmt(s) => {
            if let Some(rel) = s.into.as_ref().and_then(|i| i.rel.as_ref()) {
                f(NodeRef::RangeVar(rel));
            }
            opt(s.query.as_deref(), f);
        }
        NodeRef::ViewStmt(s) => {
            s.view.iter().for_each(|r| f(NodeRef::RangeVar(r)));
            opt(s.query.as_deref(), f);
        }
        NodeRef::AlterTableStmt(s) => {
            s.relation.iter().for_each(|r| f(NodeRef::RangeVar(r)));
            all(&s.cmds, f);
        }
        NodeRef::AlterTableCmd(c) => opt(c.def.as_deref(), f),
        NodeRef::IndexStmt(s) => {
            s.relation.iter().for_each(|r| f(NodeRef::RangeVar(r)));
            all(&s.index_params, f);
            opt(s.where_clause.as_deref(), f);
        }
        NodeRef::IndexElem(e) => opt(e.expr.as_deref(), f),
        NodeRef::TruncateStmt(s) => all(&s.relations, f),
        NodeRef::LockStmt(s) => all(&s.relations, f),
        NodeRef::CreateTrigStmt(s) => {
            s.relation.iter().for_each(|r| f(NodeRef::RangeVar(r)));
            opt(s.when_clause.as_deref(), f);
        }
        NodeRef::CreatePolicyStmt(s) => {
            s.table.iter().for_each(|r| f(NodeRef::RangeVar(r)));
            opt(s.qual.as_deref(), f);
            opt(s.with_check.as_deref(), f);
        }
        NodeRef::CreateFunctionStmt(s) => {
            all(&s.parameters, f);
            type_name(s.return_type.as_ref(), f);
        }
        NodeRef::FunctionParameter(p) => type_name(p.arg_type.as_ref(), f),
        NodeRef::CompositeTypeStmt(s) => all(&s.coldeflist, f),
        NodeRef::CreateDomainStmt(s) => {
            type_name(s.type_name.as_ref(), f);
            all(&s.constraints, f);
        }
        NodeRef::CreateSeqStmt(s) => s.sequence.iter().for_each(|r| f(NodeRef::RangeVar(r))),
        NodeRef::CopyStmt(s) => {
            s.relation.iter().for_each(|r| f(NodeRef::RangeVar(r)));
            opt(s.query.as_deref(), f);
        }
        NodeRef::ExplainStmt(s) => opt(s.query.as_deref(), f),
        NodeRef::RenameStmt(s) => s.relation.iter().for_each(|r| f(NodeRef::RangeVar(r))),
        NodeRef::AlterObjectSchemaStmt(s) => s.relation.iter().for_each(|r| f(NodeRef::RangeVar(r))),
        NodeRef::CommonTableExpr(c) => opt(c.ctequery.as_deref(), f),
        NodeRef::AExpr(e) => {
            opt(e.lexpr.as_deref(), f);
            opt(e.rexpr.as_deref(), f);
        }
        NodeRef::BoolExpr(e) => all(&e.args, f),
        NodeRef::NullTest(e) => opt(e.arg.as_deref(), f),
        NodeRef::BooleanTest(e) => opt(e.arg.as_deref(), f),
        NodeRef::CoalesceExpr(e) => all(&e.args, f),
        NodeRef::MinMaxExpr(e) => all(&e.args, f),
        NodeRef::CaseExpr(e) => {
            opt(e.arg.as_deref(), f);
            all(&e.args, f);
            opt(e.defresult.as_deref(), f);
        }
        NodeRef::CaseWhen(w) => {
            opt(w.expr.as_deref(), f);
            opt(w.result.as_deref(), f);
        }
        NodeRef::SubLink(l) => {
            opt(l.testexpr.as_deref(), f);
            opt(l.subselect.as_deref(), f);
        }
        NodeRef::FuncCall(c) => {
            all(&c.args, f);
            all(&c.agg_order, f);
            opt(c.agg_filter.as_deref(), f);
        }
        NodeRef::TypeCast(c) => {
            opt(c.arg.as_deref(), f);
            type_name(c.type_name.as_ref(), f);
        }
        NodeRef::ResTarget(t) => opt(t.val.as_deref(), f),
        NodeRef::List(l) => all(&l.items, f),
        NodeRef::RowExpr(e) => all(&e.args, f),
        NodeRef::AArrayExpr(e) => all(&e.elements, f),
        NodeRef::AIndirection(e) => opt(e.arg.as_deref(), f),
        NodeRef::NamedArgExpr(e) => opt(e.arg.as_deref(), f),
        NodeRef::CollateClause(c) => opt(c.arg.as_deref(), f),
        NodeRef::SortBy(s) => opt(s.node.as_deref(), f),
        NodeRef::JoinExpr(e) => {
            opt(e.larg.as_deref(), f);
            opt(e.rarg.as_deref(), f);
            opt(e.quals.as_deref(), f);
        }
        NodeRef::RangeSubselect(s) => opt(s.subquery.as_deref(), f),
        NodeRef::RangeFunction(r) => all(&r.functions, f),
        NodeRef::GroupingSet(g) => all(&g.content, f),
        NodeRef::DefElem(d) => opt(d.arg.as_deref(), f),
        NodeRef::PartitionCmd(c) => c.name.iter().for_each(|r| f(NodeRef::RangeVar(r))),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count_func_calls(sql: &str) -> usize {
        let tree = pg_query::parse(sql, 0).unwrap().protobuf;
        let mut count = 0;
        for raw in &tree.stmts {
            let node = raw.stmt.as_ref().and_then(|s| s.node.as_ref()).unwrap();
            walk_enum(node, &mut |n| count += usize::from(matches!(n, NodeRef::FuncCall(_))));
        }
        count
    }

    #[test]
    fn finds_calls_in_nested_expressions_and_definitions() {
        assert_eq!(count_func_calls("select coalesce(a(), case when b() then c()::int end)"), 3);
        assert_eq!(count_func_calls("alter table t add column c int default f(g())"), 2);
        assert_eq!(count_func_calls("insert into t select x() from y where z() union select w()"), 3);
        assert_eq!(count_func_calls("select 'f()'"), 0);
    }
}
