//! Which schemas a statement writes into, names as objects, or uses as qualifiers: shared by the
//! tenant-isolation rules (`tenant-escapes-schema`, `cross-tenant-reference`).

use pg_query::protobuf::{GrantStmt, GrantTargetType, Node, ObjectType, RangeVar};
use pg_query::{NodeEnum, NodeRef};

use crate::ast;
use crate::walk;

/// The schema of a qualified name, skipping `trailing` parts after the object's own name
/// (`s.t` → `s`; `s.t.c` with one trailing part → `s`).
fn qualifier<'a>(parts: &[&'a str], trailing: usize) -> Option<&'a str> {
    parts.len().checked_sub(trailing + 2).map(|i| parts[i])
}

fn of(rv: Option<&RangeVar>) -> Option<&str> {
    rv.map(|rv| rv.schemaname.as_str()).filter(|s| !s.is_empty())
}

/// Explicit schemas of the objects a statement creates, alters, fills or drops (its targets).
pub(crate) fn target_schemas(node: &NodeEnum) -> Vec<&str> {
    match node {
        NodeEnum::CreateStmt(s) => of(s.relation.as_ref()).into_iter().collect(),
        NodeEnum::CreateTableAsStmt(s) => of(s.into.as_ref().and_then(|i| i.rel.as_ref())).into_iter().collect(),
        NodeEnum::ViewStmt(s) => of(s.view.as_ref()).into_iter().collect(),
        NodeEnum::CreateSeqStmt(s) => of(s.sequence.as_ref()).into_iter().collect(),
        NodeEnum::AlterTableStmt(s) => of(s.relation.as_ref()).into_iter().collect(),
        NodeEnum::IndexStmt(s) => of(s.relation.as_ref()).into_iter().collect(),
        NodeEnum::TruncateStmt(s) => relations(&s.relations),
        NodeEnum::InsertStmt(s) => of(s.relation.as_ref()).into_iter().collect(),
        NodeEnum::UpdateStmt(s) => of(s.relation.as_ref()).into_iter().collect(),
        NodeEnum::DeleteStmt(s) => of(s.relation.as_ref()).into_iter().collect(),
        NodeEnum::CompositeTypeStmt(s) => of(s.typevar.as_ref()).into_iter().collect(),
        NodeEnum::GrantStmt(s) if s.targtype() == GrantTargetType::AclTargetObject => relations(&s.objects),
        NodeEnum::CommentStmt(s) => {
            let trailing = usize::from(s.objtype() == ObjectType::ObjectColumn);
            s.object.as_deref().and_then(|o| qualifier(&ast::object_name(o), trailing)).into_iter().collect()
        }
        NodeEnum::RenameStmt(s) => of(s.relation.as_ref())
            .or_else(|| s.object.as_deref().and_then(|o| qualifier(&ast::object_name(o), 0)))
            .into_iter()
            .collect(),
        NodeEnum::DropStmt(s) if s.remove_type() != ObjectType::ObjectSchema => {
            s.objects.iter().filter_map(|o| qualifier(&ast::object_name(o), 0)).collect()
        }
        NodeEnum::CreateFunctionStmt(s) => qualifier(&ast::name_parts(&s.funcname), 0).into_iter().collect(),
        NodeEnum::DefineStmt(s) => qualifier(&ast::name_parts(&s.defnames), 0).into_iter().collect(),
        NodeEnum::CreateEnumStmt(s) => qualifier(&ast::name_parts(&s.type_name), 0).into_iter().collect(),
        NodeEnum::CreateDomainStmt(s) => qualifier(&ast::name_parts(&s.domainname), 0).into_iter().collect(),
        NodeEnum::AlterObjectSchemaStmt(s) => {
            let current = of(s.relation.as_ref())
                .or_else(|| s.object.as_deref().and_then(|o| qualifier(&ast::object_name(o), 0)));
            current.into_iter().chain(Some(s.newschema.as_str())).collect()
        }
        _ => Vec::new(),
    }
}

fn relations(nodes: &[Node]) -> Vec<&str> {
    nodes.iter().filter_map(|n| of(ast::range_var(n))).collect()
}

fn granted_schemas(grant: &GrantStmt) -> Vec<&str> {
    let on_schema = grant.objtype() == ObjectType::ObjectSchema;
    let in_schema = grant.targtype() == GrantTargetType::AclTargetAllInSchema;
    if on_schema || in_schema { grant.objects.iter().filter_map(ast::string).collect() } else { Vec::new() }
}

/// Schemas a statement names as objects: CREATE/DROP/RENAME SCHEMA, GRANT … ON SCHEMA, … IN SCHEMA.
pub(crate) fn named_schemas(node: &NodeEnum) -> Vec<&str> {
    match node {
        NodeEnum::CreateSchemaStmt(s) => vec![s.schemaname.as_str()],
        NodeEnum::DropStmt(s) if s.remove_type() == ObjectType::ObjectSchema => {
            s.objects.iter().filter_map(ast::string).collect()
        }
        NodeEnum::RenameStmt(s) if s.rename_type() == ObjectType::ObjectSchema => {
            vec![s.subname.as_str(), s.newname.as_str()]
        }
        NodeEnum::GrantStmt(s) => granted_schemas(s),
        NodeEnum::AlterDefaultPrivilegesStmt(s) => {
            let mut schemas: Vec<&str> = s.action.as_ref().map(granted_schemas).unwrap_or_default();
            for option in &s.options {
                if let Some(NodeEnum::DefElem(d)) = option.node.as_ref() {
                    if d.defname == "schemas" {
                        if let Some(NodeEnum::List(l)) = d.arg.as_deref().and_then(|a| a.node.as_ref()) {
                            schemas.extend(ast::name_parts(&l.items));
                        }
                    }
                }
            }
            schemas
        }
        _ => Vec::new(),
    }
}

/// Schemas used as qualifiers anywhere in the statement: relations, types, functions, 3-part columns.
pub(crate) fn referenced_qualifiers(node: &NodeEnum) -> Vec<&str> {
    let mut found = Vec::new();
    walk::walk_enum(node, &mut |n| match n {
        NodeRef::RangeVar(rv) => found.extend(of(Some(rv))),
        NodeRef::TypeName(t) => found.extend(qualifier(&ast::name_parts(&t.names), 0)),
        NodeRef::FuncCall(c) => found.extend(qualifier(&ast::name_parts(&c.funcname), 0)),
        NodeRef::ColumnRef(c) => found.extend(qualifier(&ast::name_parts(&c.fields), 1)),
        _ => {}
    });
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualifiers_skip_trailing_parts() {
        assert_eq!(qualifier(&["s", "t"], 0), Some("s"));
        assert_eq!(qualifier(&["t"], 0), None);
        assert_eq!(qualifier(&["s", "t", "c"], 1), Some("s"));
        assert_eq!(qualifier(&["t", "c"], 1), None);
    }
}
