//! One migration: its up script, optional down script, checksum and execution settings.

use std::path::PathBuf;
use std::time::Duration;

use crate::{Checksum, Version};

/// How a migration's statements are sent to PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TransactionMode {
    /// Inside the tenant's (or master's) transaction: all or nothing.
    Transaction,
    /// `-- tenantctl:no-transaction`: one statement at a time, outside any transaction.
    None,
}

/// The text of one migration file and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    /// The file's path as it was found (directory joined with the file name).
    pub path: PathBuf,
    /// The file's text.
    pub sql: String,
    /// Its statements, split by the parser, when the file must be sent one statement at a time.
    pub statements: Option<Vec<String>>,
    /// `-- tenantctl:lock-timeout` from the header.
    pub lock_timeout: Option<Duration>,
    /// `-- tenantctl:statement-timeout` from the header.
    pub statement_timeout: Option<Duration>,
    /// Transaction mode from the header.
    pub transaction: TransactionMode,
}

impl Script {
    /// The file name alone, as shown to users.
    pub fn file_name(&self) -> String {
        self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    }
}

/// A migration: a version, a name, an up script and perhaps a down script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// Its version.
    pub version: Version,
    /// Its name (the part of the file name after the version).
    pub name: String,
    /// SHA-256 of the up file's exact bytes.
    pub checksum: Checksum,
    /// The up script.
    pub up: Script,
    /// The down script, if there is one.
    pub down: Option<Script>,
}
