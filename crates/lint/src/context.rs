//! What a rule sees: the statement, the run's schema model, and what earlier statements of the
//! same file did (tables created, locks held, constraints added NOT VALID, enum labels added).

use std::collections::HashSet;

use pg_query::LockMode;
use pg_query::NodeEnum;
use pg_query::protobuf::{AlterTableCmd, AlterTableType, ConstrType, RangeVar};

use crate::ast;
use crate::model::Model;
use crate::report::Span;

/// The facts a statement rule may consult.
#[derive(Debug)]
pub(crate) struct Context<'a> {
    /// Target PostgreSQL major version.
    pub pg_version: u32,
    /// Tenant schemas are this prefix followed by `[0-9a-z_]+`.
    pub tenant_prefix: &'a str,
    /// Database isolation: the tenant's own schema in its own database (see [`crate::LintOptions`]).
    pub tenant_database_schema: Option<&'a str>,
    /// Whether the file runs in one transaction (no `-- tenantctl:no-transaction`).
    pub transactional: bool,
    /// The schema model before this statement.
    pub model: &'a Model,
    /// What earlier statements of this file did.
    pub file: &'a FileState,
}

impl Context<'_> {
    /// Whether the table was created earlier in this file (the new-table exemption, §1.6).
    pub(crate) fn is_new(&self, rv: &RangeVar) -> bool {
        self.file.created_table(ast::relation_key(rv))
    }

    /// The commands of an `ALTER TABLE` on a table that is not exempt as new, with its target.
    pub(crate) fn existing_alter_cmds<'n>(&self, node: &'n NodeEnum) -> Vec<(&'n RangeVar, &'n AlterTableCmd)> {
        match ast::alter_table(node) {
            Some((rv, cmds)) if !self.is_new(rv) => cmds.map(|cmd| (rv, cmd)).collect(),
            _ => Vec::new(),
        }
    }

    /// Whether a schema a tenant migration names is the tenant's own: in database isolation, the
    /// configured schema of its database (`public`), which no other tenant shares.
    pub(crate) fn is_own_schema(&self, schema: &str) -> bool {
        self.tenant_database_schema == Some(schema)
    }

    /// Whether a schema name is a tenant schema.
    pub(crate) fn is_tenant_schema(&self, schema: &str) -> bool {
        schema.strip_prefix(self.tenant_prefix).is_some_and(|rest| {
            !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase() || b == b'_')
        })
    }
}

/// What the statements so far of the current file did.
#[derive(Debug, Default)]
pub(crate) struct FileState {
    created_tables: HashSet<String>,
    created_indexes: HashSet<String>,
    /// `table.constraint` of constraints added NOT VALID.
    not_valid: HashSet<String>,
    /// Tables on which a SHARE or stronger lock is held until commit.
    locked: HashSet<String>,
    enum_labels: Vec<String>,
}

impl FileState {
    /// Whether a table of this name was created earlier in this file.
    pub(crate) fn created_table(&self, name: &str) -> bool {
        self.created_tables.contains(name)
    }

    /// Whether an index of this name was created earlier in this file.
    pub(crate) fn created_index(&self, name: &str) -> bool {
        self.created_indexes.contains(name)
    }

    /// Whether this constraint was added NOT VALID earlier in this file.
    pub(crate) fn added_not_valid(&self, table: &RangeVar, constraint: &str) -> bool {
        self.not_valid.contains(&format!("{}.{constraint}", ast::relation_key(table)))
    }

    /// Whether an earlier statement holds SHARE or a stronger lock on the table.
    pub(crate) fn holds_strong_lock(&self, table: &RangeVar) -> bool {
        self.locked.contains(ast::relation_key(table))
    }

    /// Enum labels added earlier in this file.
    pub(crate) fn enum_labels(&self) -> &[String] {
        &self.enum_labels
    }

    /// Records what a statement did.
    pub(crate) fn apply(&mut self, node: &NodeEnum) {
        match node {
            NodeEnum::CreateStmt(s) => {
                s.relation.iter().for_each(|rv| self.create(rv));
                for elt in &s.table_elts {
                    let constraints: Vec<_> = match elt.node.as_ref() {
                        Some(NodeEnum::ColumnDef(def)) => ast::column_constraints(def).collect(),
                        Some(NodeEnum::Constraint(c)) => vec![&**c],
                        _ => Vec::new(),
                    };
                    constraints.iter().filter_map(|c| c.pktable.as_ref()).for_each(|rv| self.lock(rv));
                }
            }
            NodeEnum::CreateTableAsStmt(s) => {
                s.into.as_ref().and_then(|i| i.rel.as_ref()).into_iter().for_each(|rv| self.create(rv));
            }
            NodeEnum::IndexStmt(s) => {
                self.created_indexes.insert(s.idxname.clone());
                if !s.concurrent {
                    s.relation.iter().for_each(|rv| self.lock(rv));
                }
            }
            NodeEnum::AlterTableStmt(_) => self.alter(node),
            NodeEnum::AlterEnumStmt(s) if s.old_val.is_empty() => self.enum_labels.push(s.new_val.clone()),
            NodeEnum::CreateTrigStmt(s) => s.relation.iter().for_each(|rv| self.lock(rv)),
            NodeEnum::RenameStmt(s) => s.relation.iter().for_each(|rv| self.lock(rv)),
            NodeEnum::ClusterStmt(s) => s.relation.iter().for_each(|rv| self.lock(rv)),
            NodeEnum::TruncateStmt(s) => s.relations.iter().filter_map(ast::range_var).for_each(|rv| self.lock(rv)),
            NodeEnum::LockStmt(s) if s.mode >= LockMode::ShareLock as i32 => {
                s.relations.iter().filter_map(ast::range_var).for_each(|rv| self.lock(rv));
            }
            _ => {}
        }
    }

    fn create(&mut self, rv: &RangeVar) {
        self.created_tables.insert(ast::relation_key(rv).to_owned());
    }

    fn lock(&mut self, rv: &RangeVar) {
        self.locked.insert(ast::relation_key(rv).to_owned());
    }

    fn alter(&mut self, node: &NodeEnum) {
        let Some((rv, cmds)) = ast::alter_table(node) else {
            return;
        };
        let mut strong = false;
        for cmd in cmds {
            // VALIDATE CONSTRAINT takes only SHARE UPDATE EXCLUSIVE; every other form here is stronger.
            strong |= cmd.subtype() != AlterTableType::AtValidateConstraint;
            for c in ast::new_constraints(cmd) {
                if let Some(parent) = &c.pktable {
                    self.lock(parent);
                }
                let named = !c.conname.is_empty();
                if named
                    && c.skip_validation
                    && matches!(c.contype(), ConstrType::ConstrCheck | ConstrType::ConstrForeign)
                {
                    self.not_valid.insert(format!("{}.{}", ast::relation_key(rv), c.conname));
                }
            }
        }
        if strong {
            self.lock(rv);
        }
    }
}

/// What a file-level rule sees, after every statement of the file.
#[derive(Debug)]
pub(crate) struct FileFacts<'a> {
    /// Target PostgreSQL major version.
    pub pg_version: u32,
    /// Where `-- tenantctl:no-transaction` is, if present.
    pub no_transaction: Option<Span>,
    /// The file's statements, in order.
    pub statements: Vec<&'a NodeEnum>,
}
