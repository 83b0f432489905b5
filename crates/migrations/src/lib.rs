//! The migration set of a tenantctl project: files on disk, their versions, directives and checksums,
//! and the pure planner that decides what to apply or revert. Synchronous; never touches a database.
#![warn(missing_docs)]
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::exit)]

mod checksum;
mod directive;
mod error;
mod file_name;
mod migration;
mod plan;
mod scaffold;
mod set;
mod sql;
mod version;

pub use checksum::Checksum;
pub use directive::{Directive, DirectiveError, Scope, parse as parse_directive};
pub use error::LoadError;
pub use file_name::{FileKind, FileName};
pub use migration::{Migration, Script, TransactionMode};
pub use plan::{AppliedMigration, PlanError, RollbackTarget, plan_down, plan_up, verify};
pub use scaffold::{NameError, Scaffold, migration_name, scaffold};
pub use set::MigrationSet;
pub use sql::{Comment, SqlError, header_comments, is_empty_sql, split_statements};
pub use version::Version;
