//! The light schema model of LINT_RULES.md §1.5: tables with their column types and CHECK
//! constraints, and domains that carry a CHECK, as far as earlier statements of the run created them.
//! Unknown facts stay unknown, and rules treat them as unsafe.

use std::collections::{HashMap, HashSet};

use pg_query::protobuf::{
    AlterTableCmd, AlterTableType, BoolExprType, ColumnDef, ConstrType, Constraint, Node, NullTestType, ObjectType,
    RangeVar, TypeName,
};
use pg_query::{NodeEnum, NodeRef};

use crate::ast;
use crate::walk;

/// What the run has created so far, for one scope.
#[derive(Debug, Default, Clone)]
pub(crate) struct Model {
    tables: HashMap<String, Table>,
    checked_domains: HashSet<String>,
}

#[derive(Debug, Default, Clone)]
struct Table {
    /// Column types; `None` when the type is not understood (for instance a non-constant typmod).
    columns: HashMap<String, Option<ColumnType>>,
    checks: Vec<Check>,
}

/// A column type reduced to what type-change rules compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ColumnType {
    /// Unqualified canonical name (`varchar`, `numeric`, `timestamptz`, `int4`…).
    pub name: String,
    /// Integer type modifiers (`varchar(20)` → `[20]`).
    pub typmods: Vec<i64>,
    /// Whether it is an array type.
    pub array: bool,
}

impl ColumnType {
    /// Reads a type name; `None` when a modifier is not an integer constant.
    pub(crate) fn from_type_name(t: &TypeName) -> Option<Self> {
        let typmods = t.typmods.iter().map(ast::int_const).collect::<Option<Vec<_>>>()?;
        Some(Self { name: ast::type_base(t)?.to_owned(), typmods, array: !t.array_bounds.is_empty() })
    }
}

#[derive(Debug, Clone)]
struct Check {
    name: String,
    /// Columns the expression mentions.
    columns: Vec<String>,
    /// Columns the expression proves non-null (`col IS NOT NULL`, possibly AND-ed).
    not_null: Vec<String>,
    validated: bool,
}

/// The last field of a column reference.
fn column_name(node: &Node) -> Option<&str> {
    match node.node.as_ref()? {
        NodeEnum::ColumnRef(c) => c.fields.last().and_then(ast::string),
        _ => None,
    }
}

fn proven_not_null(node: &Node, out: &mut Vec<String>) {
    match node.node.as_ref() {
        Some(NodeEnum::NullTest(t)) if t.nulltesttype() == NullTestType::IsNotNull => {
            out.extend(t.arg.as_deref().and_then(column_name).map(str::to_owned));
        }
        Some(NodeEnum::BoolExpr(b)) if b.boolop() == BoolExprType::AndExpr => {
            b.args.iter().for_each(|a| proven_not_null(a, out));
        }
        _ => {}
    }
}

impl Check {
    fn new(table: &str, constraint: &Constraint, column: Option<&str>) -> Self {
        let mut columns: Vec<String> = column.map(str::to_owned).into_iter().collect();
        let mut not_null = Vec::new();
        if let Some(expr) = constraint.raw_expr.as_deref() {
            if let Some(e) = &expr.node {
                walk::walk_enum(e, &mut |n| {
                    if let NodeRef::ColumnRef(c) = n {
                        columns.extend(c.fields.last().and_then(ast::string).map(str::to_owned));
                    }
                });
            }
            proven_not_null(expr, &mut not_null);
        }
        // PostgreSQL's own choice of name for an unnamed CHECK: table, first column, `check`.
        let name = if constraint.conname.is_empty() {
            columns.first().map_or_else(|| format!("{table}_check"), |c| format!("{table}_{c}_check"))
        } else {
            constraint.conname.clone()
        };
        Self { name, columns, not_null, validated: !constraint.skip_validation }
    }
}

impl Model {
    /// The known type of a column, if the model knows the table, the column and the type.
    pub(crate) fn column_type(&self, table: &RangeVar, column: &str) -> Option<&ColumnType> {
        self.tables.get(ast::relation_key(table))?.columns.get(column)?.as_ref()
    }

    /// Whether a validated CHECK (or PostgreSQL 18 NOT NULL constraint) on the table proves the
    /// column non-null.
    pub(crate) fn proves_not_null(&self, table: &RangeVar, column: &str) -> bool {
        self.tables
            .get(ast::relation_key(table))
            .is_some_and(|t| t.checks.iter().any(|c| c.validated && c.not_null.iter().any(|n| n == column)))
    }

    /// Whether some CHECK on the table mentions the column (a type change then re-verifies it).
    pub(crate) fn check_covers(&self, table: &RangeVar, column: &str) -> bool {
        self.tables
            .get(ast::relation_key(table))
            .is_some_and(|t| t.checks.iter().any(|c| c.columns.iter().any(|n| n == column)))
    }

    /// Whether the type is a domain known to carry a CHECK constraint.
    pub(crate) fn is_checked_domain(&self, t: &TypeName) -> bool {
        ast::type_base(t).is_some_and(|name| self.checked_domains.contains(name))
    }

    /// Records what a statement creates, changes or drops.
    pub(crate) fn apply(&mut self, node: &NodeEnum) {
        match node {
            NodeEnum::CreateStmt(create) => {
                let Some(rv) = &create.relation else { return };
                let key = ast::relation_key(rv).to_owned();
                let mut table = Table::default();
                for elt in &create.table_elts {
                    match elt.node.as_ref() {
                        Some(NodeEnum::ColumnDef(def)) => table.add_column(&key, def),
                        Some(NodeEnum::Constraint(c)) => table.add_constraint(&key, c),
                        _ => {}
                    }
                }
                self.tables.insert(key, table);
            }
            NodeEnum::CreateTableAsStmt(ctas) => {
                if let Some(rv) = ctas.into.as_ref().and_then(|i| i.rel.as_ref()) {
                    self.tables.insert(ast::relation_key(rv).to_owned(), Table::default());
                }
            }
            NodeEnum::AlterTableStmt(_) => {
                let Some((rv, cmds)) = ast::alter_table(node) else {
                    return;
                };
                // A table from before the run's history is known from here on, its types still unknown.
                let key = ast::relation_key(rv).to_owned();
                let table = self.tables.entry(key.clone()).or_default();
                cmds.for_each(|cmd| table.alter(&key, cmd));
            }
            NodeEnum::RenameStmt(rename) => self.rename(rename),
            NodeEnum::DropStmt(_) => {
                for name in ast::drop_of(node, ObjectType::ObjectTable).map(|(_, names)| names).unwrap_or_default() {
                    name.last().map(|n| self.tables.remove(*n));
                }
            }
            NodeEnum::CreateDomainStmt(domain) => {
                let checked = domain.constraints.iter().any(|c| {
                    matches!(c.node.as_ref(), Some(NodeEnum::Constraint(c)) if c.contype() == ConstrType::ConstrCheck)
                });
                if let (true, Some(name)) = (checked, ast::name_parts(&domain.domainname).last()) {
                    self.checked_domains.insert((*name).to_owned());
                }
            }
            _ => {}
        }
    }

    fn rename(&mut self, rename: &pg_query::protobuf::RenameStmt) {
        let Some(rv) = &rename.relation else { return };
        let key = ast::relation_key(rv);
        match rename.rename_type() {
            ObjectType::ObjectTable => {
                if let Some(table) = self.tables.remove(key) {
                    self.tables.insert(rename.newname.clone(), table);
                }
            }
            ObjectType::ObjectColumn => {
                if let Some(table) = self.tables.get_mut(key) {
                    if let Some(ty) = table.columns.remove(&rename.subname) {
                        table.columns.insert(rename.newname.clone(), ty);
                    }
                    for name in table.checks.iter_mut().flat_map(|c| c.columns.iter_mut().chain(&mut c.not_null)) {
                        if *name == rename.subname {
                            name.clone_from(&rename.newname);
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

impl Table {
    fn add_column(&mut self, table: &str, def: &ColumnDef) {
        let ty = def.type_name.as_ref().and_then(ColumnType::from_type_name);
        self.columns.insert(def.colname.clone(), ty);
        for c in ast::column_constraints(def).filter(|c| c.contype() == ConstrType::ConstrCheck) {
            self.checks.push(Check::new(table, c, Some(&def.colname)));
        }
    }

    fn add_constraint(&mut self, table: &str, constraint: &Constraint) {
        match constraint.contype() {
            ConstrType::ConstrCheck => self.checks.push(Check::new(table, constraint, None)),
            // PostgreSQL 18: `ADD CONSTRAINT c NOT NULL col [NOT VALID]`, validated later like a CHECK.
            ConstrType::ConstrNotnull if !constraint.conname.is_empty() => self.checks.push(Check {
                name: constraint.conname.clone(),
                columns: Vec::new(),
                not_null: ast::name_parts(&constraint.keys).into_iter().map(str::to_owned).collect(),
                validated: !constraint.skip_validation,
            }),
            _ => {}
        }
    }

    fn alter(&mut self, table: &str, cmd: &AlterTableCmd) {
        match cmd.subtype() {
            AlterTableType::AtAddColumn => ast::column_def(cmd).into_iter().for_each(|d| self.add_column(table, d)),
            AlterTableType::AtAddConstraint => {
                ast::added_constraint(cmd).into_iter().for_each(|c| self.add_constraint(table, c));
            }
            AlterTableType::AtAlterColumnType => {
                let ty = ast::column_def(cmd).and_then(|d| d.type_name.as_ref()).and_then(ColumnType::from_type_name);
                self.columns.insert(cmd.name.clone(), ty);
            }
            AlterTableType::AtDropColumn => {
                self.columns.remove(&cmd.name);
                self.checks.retain(|c| !c.columns.contains(&cmd.name));
            }
            AlterTableType::AtValidateConstraint => {
                self.checks.iter_mut().filter(|c| c.name == cmd.name).for_each(|c| c.validated = true);
            }
            AlterTableType::AtDropConstraint => self.checks.retain(|c| c.name != cmd.name),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(sql: &str) -> Model {
        let mut model = Model::default();
        for raw in pg_query::parse(sql, 0).unwrap().protobuf.stmts {
            model.apply(raw.stmt.unwrap().node.as_ref().unwrap());
        }
        model
    }

    fn rv(name: &str) -> RangeVar {
        RangeVar { relname: name.to_owned(), ..RangeVar::default() }
    }

    #[test]
    fn only_a_validated_is_not_null_check_proves_not_null() {
        let m = model(
            "create table t (a int, b int, c int check (c > 0));
             alter table t add constraint a_nn check (a is not null and b > 0) not valid;
             alter table t add constraint b_nn check (b is not null) not valid;
             alter table t validate constraint a_nn;",
        );
        assert!(m.proves_not_null(&rv("t"), "a"));
        assert!(!m.proves_not_null(&rv("t"), "b"));
        assert!(!m.proves_not_null(&rv("t"), "c"));
        assert!(m.check_covers(&rv("t"), "c"));
    }

    #[test]
    fn types_follow_alter_and_rename() {
        let m = model(
            "create table t (a varchar(20), n numeric(10,2));
             alter table t alter column a type varchar(40);
             alter table t rename column n to m;
             alter table t rename to u;",
        );
        let ty = m.column_type(&rv("u"), "a").unwrap();
        assert_eq!((ty.name.as_str(), ty.typmods.as_slice()), ("varchar", &[40][..]));
        assert_eq!(m.column_type(&rv("u"), "m").unwrap().typmods, vec![10, 2]);
        assert!(m.column_type(&rv("t"), "a").is_none());
    }

    #[test]
    fn tables_from_before_the_run_collect_constraints_but_no_types() {
        let m = model(
            "alter table old add constraint n_nn check (n is not null) not valid;
             alter table old validate constraint n_nn;
             alter table old add constraint m_nn not null m not valid;
             alter table old add constraint k_nn not null k;",
        );
        assert!(m.proves_not_null(&rv("old"), "n"));
        assert!(!m.proves_not_null(&rv("old"), "m"));
        assert!(m.proves_not_null(&rv("old"), "k"));
        assert!(m.column_type(&rv("old"), "n").is_none());
    }
}
