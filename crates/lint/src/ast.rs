//! Small readers over pg_query's protobuf nodes, shared by the rules and the schema model.

use pg_query::protobuf::{
    AlterTableCmd, AlterTableType, ColumnDef, ConstrType, Constraint, DropStmt, Node, ObjectType, PartitionCmd,
    RangeVar, TypeName, a_const,
};
use pg_query::{NodeEnum, NodeRef};

/// The text of a `String` node.
pub(crate) fn string(node: &Node) -> Option<&str> {
    match node.node.as_ref()? {
        NodeEnum::String(s) => Some(&s.sval),
        _ => None,
    }
}

/// The parts of a qualified name given as a list of `String` nodes (`schema.name` → 2 parts).
pub(crate) fn name_parts(nodes: &[Node]) -> Vec<&str> {
    nodes.iter().filter_map(string).collect()
}

/// The parts of a dropped/commented object's name: a `List` of `String`s, a bare `String`, a
/// `TypeName`, or a function's `ObjectWithArgs`.
pub(crate) fn object_name(node: &Node) -> Vec<&str> {
    match node.node.as_ref() {
        Some(NodeEnum::List(l)) => name_parts(&l.items),
        Some(NodeEnum::String(s)) => vec![s.sval.as_str()],
        Some(NodeEnum::TypeName(t)) => name_parts(&t.names),
        Some(NodeEnum::ObjectWithArgs(o)) => name_parts(&o.objname),
        _ => Vec::new(),
    }
}

/// The key under which a relation is known to the schema model and to the file's facts: its name
/// without schema (tenant migrations name their tables unqualified).
pub(crate) fn relation_key(rv: &RangeVar) -> &str {
    &rv.relname
}

/// A relation as written, for messages.
pub(crate) fn display_relation(rv: &RangeVar) -> String {
    if rv.schemaname.is_empty() { rv.relname.clone() } else { format!("{}.{}", rv.schemaname, rv.relname) }
}

/// The `RangeVar` behind a node, if it is one.
pub(crate) fn range_var(node: &Node) -> Option<&RangeVar> {
    match node.node.as_ref()? {
        NodeEnum::RangeVar(rv) => Some(rv),
        _ => None,
    }
}

/// The target and commands of an `ALTER TABLE` (also `ALTER INDEX`, `ALTER MATERIALIZED VIEW`, …).
pub(crate) fn alter_table(node: &NodeEnum) -> Option<(&RangeVar, impl Iterator<Item = &AlterTableCmd>)> {
    let NodeEnum::AlterTableStmt(stmt) = node else {
        return None;
    };
    let cmds = stmt.cmds.iter().filter_map(|c| match c.node.as_ref()? {
        NodeEnum::AlterTableCmd(cmd) => Some(&**cmd),
        _ => None,
    });
    Some((stmt.relation.as_ref()?, cmds))
}

/// The column definition of an `ADD COLUMN` or `ALTER COLUMN … TYPE` command.
pub(crate) fn column_def(cmd: &AlterTableCmd) -> Option<&ColumnDef> {
    match cmd.def.as_deref()?.node.as_ref()? {
        NodeEnum::ColumnDef(def) => Some(&**def),
        _ => None,
    }
}

/// The constraint of an `ADD CONSTRAINT` command.
pub(crate) fn added_constraint(cmd: &AlterTableCmd) -> Option<&Constraint> {
    if cmd.subtype() != AlterTableType::AtAddConstraint {
        return None;
    }
    match cmd.def.as_deref()?.node.as_ref()? {
        NodeEnum::Constraint(c) => Some(&**c),
        _ => None,
    }
}

/// The column of an `ADD COLUMN` command.
pub(crate) fn added_column(cmd: &AlterTableCmd) -> Option<&ColumnDef> {
    (cmd.subtype() == AlterTableType::AtAddColumn).then(|| column_def(cmd)).flatten()
}

/// The partition command of a `DETACH PARTITION`.
pub(crate) fn detach_partition(cmd: &AlterTableCmd) -> Option<&PartitionCmd> {
    if cmd.subtype() != AlterTableType::AtDetachPartition {
        return None;
    }
    match cmd.def.as_deref()?.node.as_ref()? {
        NodeEnum::PartitionCmd(p) => Some(p),
        _ => None,
    }
}

/// The inline constraints of a column definition.
pub(crate) fn column_constraints(def: &ColumnDef) -> impl Iterator<Item = &Constraint> {
    def.constraints.iter().filter_map(|c| match c.node.as_ref()? {
        NodeEnum::Constraint(c) => Some(&**c),
        _ => None,
    })
}

/// Whether a column definition carries a constraint of this kind.
pub(crate) fn has_constraint(def: &ColumnDef, kind: ConstrType) -> bool {
    column_constraints(def).any(|c| c.contype() == kind)
}

/// The constraints added by a command: the one of `ADD CONSTRAINT`, or the inline ones of `ADD COLUMN`.
pub(crate) fn new_constraints(cmd: &AlterTableCmd) -> Vec<&Constraint> {
    match added_column(cmd) {
        Some(def) => column_constraints(def).collect(),
        None => added_constraint(cmd).into_iter().collect(),
    }
}

/// The unqualified type name (`varchar` for `pg_catalog.varchar`, `character varying`, `varchar`).
pub(crate) fn type_base(t: &TypeName) -> Option<&str> {
    t.names.last().and_then(string)
}

/// Whether the column type is `serial`, `bigserial`, `smallserial` or `serial2|4|8`.
pub(crate) fn is_serial(def: &ColumnDef) -> bool {
    let Some(t) = &def.type_name else {
        return false;
    };
    t.names.len() == 1
        && matches!(type_base(t), Some("serial" | "bigserial" | "smallserial" | "serial2" | "serial4" | "serial8"))
}

/// Whether a `DefElem` list (REINDEX, VACUUM, CLUSTER options) names `option`.
pub(crate) fn has_option(options: &[Node], option: &str) -> bool {
    options.iter().any(|o| matches!(o.node.as_ref(), Some(NodeEnum::DefElem(d)) if d.defname == option))
}

/// The value of a string constant node (`'x'`, or `'x'::type`).
pub(crate) fn string_const(node: &Node) -> Option<&str> {
    match node.node.as_ref()? {
        NodeEnum::AConst(c) => match c.val.as_ref()? {
            a_const::Val::Sval(s) => Some(&s.sval),
            _ => None,
        },
        NodeEnum::TypeCast(c) => string_const(c.arg.as_deref()?),
        _ => None,
    }
}

/// The integer value of a constant node.
pub(crate) fn int_const(node: &Node) -> Option<i64> {
    match node.node.as_ref()? {
        NodeEnum::AConst(c) => match c.val.as_ref()? {
            a_const::Val::Ival(i) => Some(i64::from(i.ival)),
            _ => None,
        },
        _ => None,
    }
}

/// Whether a constant node is boolean false (`false`, `'false'`, `'f'`, `'off'`, `'no'`, `0`).
pub(crate) fn is_false(node: &Node) -> bool {
    match node.node.as_ref() {
        Some(NodeEnum::AConst(c)) => match &c.val {
            Some(a_const::Val::Boolval(b)) => !b.boolval,
            Some(a_const::Val::Ival(i)) => i.ival == 0,
            Some(a_const::Val::Sval(s)) => {
                matches!(s.sval.to_ascii_lowercase().as_str(), "f" | "false" | "off" | "no" | "0")
            }
            _ => false,
        },
        Some(NodeEnum::TypeCast(c)) => c.arg.as_deref().is_some_and(is_false),
        _ => false,
    }
}

/// A `DROP` of this kind of object, with the names of the objects it removes.
pub(crate) fn drop_of(node: &NodeEnum, kind: ObjectType) -> Option<(&DropStmt, Vec<Vec<&str>>)> {
    let NodeEnum::DropStmt(drop) = node else {
        return None;
    };
    (drop.remove_type() == kind).then(|| (drop, drop.objects.iter().map(object_name).collect()))
}

/// How a column fills itself for existing rows, if it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SelfFilling {
    /// `serial`, `bigserial`, `smallserial`.
    Serial,
    /// `GENERATED … AS IDENTITY`.
    Identity,
    /// `GENERATED ALWAYS AS (…) STORED`.
    Stored,
    /// `GENERATED ALWAYS AS (…)` (VIRTUAL, the default since PostgreSQL 18).
    Virtual,
}

/// Whether the column is serial, identity or generated.
pub(crate) fn self_filling(def: &ColumnDef) -> Option<SelfFilling> {
    if is_serial(def) {
        return Some(SelfFilling::Serial);
    }
    column_constraints(def).find_map(|c| match c.contype() {
        ConstrType::ConstrIdentity => Some(SelfFilling::Identity),
        ConstrType::ConstrGenerated if c.generated_kind == "s" => Some(SelfFilling::Stored),
        ConstrType::ConstrGenerated => Some(SelfFilling::Virtual),
        _ => None,
    })
}

/// The `set_config(name, value, is_local)` calls anywhere in a statement: the setting's name (when
/// it is a constant) and whether the call sets it for the session (`is_local` false).
pub(crate) fn set_config_calls(node: &NodeEnum) -> Vec<(Option<&str>, bool)> {
    let mut calls = Vec::new();
    crate::walk::walk_enum(node, &mut |n| {
        if let NodeRef::FuncCall(call) = n {
            if matches!(name_parts(&call.funcname).as_slice(), ["set_config"] | ["pg_catalog", "set_config"]) {
                let name = call.args.first().and_then(string_const);
                calls.push((name, call.args.get(2).is_some_and(is_false)));
            }
        }
    });
    calls
}
