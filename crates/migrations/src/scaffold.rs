//! `make-migration`: the next version in the directory's style, and the placeholder pair of files.

use std::path::{Path, PathBuf};

use crate::{LoadError, set::list_names};

/// Versions with this many digits or more are UTC timestamps (`YYYYMMDDHHMMSS`).
const TIMESTAMP_DIGITS: usize = 14;

/// A migration name that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("migration name `{0}` may only hold letters, digits, `_`, `-` and spaces, and must not be empty")]
pub struct NameError(pub String);

/// Normalises a migration name: lowercased, spaces and `-` become `_`.
pub fn migration_name(raw: &str) -> Result<String, NameError> {
    let name: String = raw
        .trim()
        .chars()
        .map(|c| match c {
            ' ' | '-' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(NameError(raw.to_owned()));
    }
    Ok(name)
}

/// The two files `make-migration` writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scaffold {
    /// The up file.
    pub up: PathBuf,
    /// The down file.
    pub down: PathBuf,
    /// The placeholder text of the up file (a comment only, so it is refused until written).
    pub up_text: String,
    /// The placeholder text of the down file.
    pub down_text: String,
}

/// Plans the next migration pair in `dir` for an already normalised `name`.
///
/// `now_utc` is the current UTC time as `YYYYMMDDHHMMSS`, used when the directory already uses
/// timestamps or `timestamp` is set. A missing directory counts as empty.
pub fn scaffold(dir: &Path, name: &str, timestamp: bool, now_utc: &str) -> Result<Scaffold, LoadError> {
    let existing = if dir.exists() { list_names(dir)? } else { Vec::new() };
    let newest = existing.iter().max_by_key(|f| f.version);
    let version = match newest {
        Some(f) if timestamp || f.digits >= TIMESTAMP_DIGITS => {
            let now: u64 = now_utc.parse().unwrap_or(0);
            now.max(f.version.get() + 1).to_string()
        }
        None if timestamp => now_utc.to_owned(),
        Some(f) => format!("{:0width$}", f.version.get() + 1, width = f.digits),
        None => "0001".to_owned(),
    };
    let stem = format!("{version}_{name}");
    Ok(Scaffold {
        up: dir.join(format!("{stem}.up.sql")),
        down: dir.join(format!("{stem}.down.sql")),
        up_text: format!("-- {stem}: write the migration here.\n"),
        down_text: format!("-- {stem}: write the statements that revert the up file here.\n"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised_or_refused() {
        assert_eq!(migration_name("Add Users-Table").unwrap(), "add_users_table");
        assert!(migration_name("drop;table").is_err());
        assert!(migration_name("  ").is_err());
        assert!(migration_name("café").is_err());
    }

    fn names(dir: &Path, files: &[&str]) {
        for f in files {
            std::fs::write(dir.join(f), "-- placeholder\n").unwrap();
        }
    }

    #[test]
    fn sequential_directories_keep_their_width() {
        let dir = tempfile::tempdir().unwrap();
        let first = scaffold(dir.path(), "init", false, "20261122030000").unwrap();
        assert!(first.up.ends_with("0001_init.up.sql"));
        names(dir.path(), &["0001_init.up.sql", "0009_x.up.sql", "0009_x.down.sql"]);
        let next = scaffold(dir.path(), "users", false, "20261122030000").unwrap();
        assert!(next.up.ends_with("0010_users.up.sql"), "{:?}", next.up);
        assert!(next.down.ends_with("0010_users.down.sql"));
    }

    #[test]
    fn timestamp_directories_get_timestamps() {
        let dir = tempfile::tempdir().unwrap();
        names(dir.path(), &["20260107153000_init.up.sql"]);
        let next = scaffold(dir.path(), "users", false, "20261122030000").unwrap();
        assert!(next.up.ends_with("20261122030000_users.up.sql"));
        // A clock behind the newest file still yields a newer version.
        let next = scaffold(dir.path(), "users", false, "20200101000000").unwrap();
        assert!(next.up.ends_with("20260107153001_users.up.sql"));
        let empty = tempfile::tempdir().unwrap();
        let forced = scaffold(empty.path(), "x", true, "20261122030000").unwrap();
        assert!(forced.up.ends_with("20261122030000_x.up.sql"));
    }
}
