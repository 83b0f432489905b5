//! Loading a directory into a validated, immutable, version-ordered set of migrations.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::directive::{self, Directive};
use crate::file_name::{FileKind, FileName};
use crate::migration::{Migration, Script, TransactionMode};
use crate::{Checksum, LoadError, Version, sql};

/// Every migration of one directory, validated and ordered by version.
#[derive(Debug, Clone, Default)]
pub struct MigrationSet {
    migrations: Vec<Migration>,
}

struct Found {
    path: PathBuf,
    name: FileName,
}

impl MigrationSet {
    /// Loads and validates every `.sql` file of `dir` (other files and sub-directories are ignored).
    ///
    /// Refuses, naming the file: unreadable or non-UTF-8 files, bad names, duplicate versions (as
    /// numbers: `1_a` and `0001_b` collide), a down file without its up file, files holding only
    /// comments, SQL the parser rejects in a no-transaction file, and malformed header directives.
    pub fn load(dir: &Path) -> Result<Self, LoadError> {
        let mut ups: BTreeMap<Version, Found> = BTreeMap::new();
        let mut downs: BTreeMap<Version, Found> = BTreeMap::new();
        for found in list(dir)? {
            let map = match found.name.kind {
                FileKind::Up => &mut ups,
                FileKind::Down => &mut downs,
            };
            if let Some(first) = map.get(&found.name.version) {
                return Err(LoadError::DuplicateVersion {
                    version: found.name.version,
                    first: first.path.clone(),
                    second: found.path,
                });
            }
            map.insert(found.name.version, found);
        }
        if let Some(orphan) = downs.values().find(|d| !ups.contains_key(&d.name.version)) {
            return Err(LoadError::DownWithoutUp { path: orphan.path.clone() });
        }
        let mut migrations = Vec::with_capacity(ups.len());
        for (version, up) in ups {
            let (up_script, checksum) = read_script(&up.path)?;
            let down = downs.remove(&version).map(|d| read_script(&d.path).map(|(s, _)| s)).transpose()?;
            migrations.push(Migration { version, name: up.name.name, checksum, up: up_script, down });
        }
        Ok(Self { migrations })
    }

    /// A set built from migrations already in memory (tests, benchmarks). Sorted by version.
    pub fn from_migrations(mut migrations: Vec<Migration>) -> Self {
        migrations.sort_by_key(|m| m.version);
        Self { migrations }
    }

    /// All migrations, oldest version first.
    pub fn iter(&self) -> std::slice::Iter<'_, Migration> {
        self.migrations.iter()
    }

    /// The migration with this version.
    pub fn get(&self, version: Version) -> Option<&Migration> {
        self.migrations.binary_search_by_key(&version, |m| m.version).ok().map(|i| &self.migrations[i])
    }

    /// The newest migration.
    pub fn latest(&self) -> Option<&Migration> {
        self.migrations.last()
    }

    /// How many migrations there are.
    pub fn len(&self) -> usize {
        self.migrations.len()
    }

    /// True when the directory holds no migration.
    pub fn is_empty(&self) -> bool {
        self.migrations.is_empty()
    }
}

/// Every migration file name in `dir`, parsed (used by `load` and by `make-migration`, which must
/// work while the newest files are still empty placeholders).
pub(crate) fn list_names(dir: &Path) -> Result<Vec<FileName>, LoadError> {
    Ok(list(dir)?.into_iter().map(|f| f.name).collect())
}

fn list(dir: &Path) -> Result<Vec<Found>, LoadError> {
    let entries = std::fs::read_dir(dir).map_err(|error| LoadError::Directory { path: dir.to_owned(), error })?;
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|error| LoadError::Directory { path: dir.to_owned(), error })?;
        let path = entry.path();
        // A dangling symlink is not a directory: it falls through and fails loudly when read.
        if path.is_dir() {
            continue;
        }
        let Some(file_name) = entry.file_name().to_str().map(str::to_owned) else {
            return Err(LoadError::BadName { path, reason: "the name is not valid UTF-8".to_owned() });
        };
        match FileName::parse(&file_name) {
            Ok(Some(name)) => found.push(Found { path, name }),
            Ok(None) => {}
            Err(reason) => return Err(LoadError::BadName { path, reason }),
        }
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(found)
}

fn read_script(path: &Path) -> Result<(Script, Checksum), LoadError> {
    let bytes = std::fs::read(path).map_err(|error| LoadError::Read { path: path.to_owned(), error })?;
    let checksum = Checksum::of(&bytes);
    let sql_text = String::from_utf8(bytes).map_err(|_| LoadError::NotUtf8 { path: path.to_owned() })?;
    let sql_error = |e: sql::SqlError| LoadError::Sql { path: path.to_owned(), message: e.to_string() };
    if sql_text.contains('\0') {
        return Err(LoadError::Sql { path: path.to_owned(), message: "the file contains a NUL byte".to_owned() });
    }
    if sql::is_empty_sql(&sql_text).map_err(sql_error)? {
        return Err(LoadError::Empty { path: path.to_owned() });
    }
    let mut script = Script {
        path: path.to_owned(),
        sql: String::new(),
        statements: None,
        lock_timeout: None,
        statement_timeout: None,
        transaction: TransactionMode::Transaction,
    };
    for comment in sql::header_comments(&sql_text).map_err(sql_error)? {
        let directive = match directive::parse(&comment.text) {
            None => continue,
            Some(Ok(d)) => d,
            Some(Err(e)) => {
                return Err(LoadError::Directive { path: path.to_owned(), line: comment.line, message: e.to_string() });
            }
        };
        match directive {
            Directive::NoTransaction => script.transaction = TransactionMode::None,
            Directive::LockTimeout(d) => script.lock_timeout = Some(d),
            Directive::StatementTimeout(d) => script.statement_timeout = Some(d),
            Directive::Scope(_) | Directive::Allow { .. } => {}
        }
    }
    if script.transaction == TransactionMode::None {
        let statements = sql::split_statements(&sql_text).map_err(sql_error)?;
        script.statements = Some(statements.into_iter().map(str::to_owned).collect());
    }
    script.sql = sql_text;
    Ok((script, checksum))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(files: &[(&str, &[u8])]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, body) in files {
            std::fs::write(dir.path().join(name), body).unwrap();
        }
        dir
    }

    fn load_err(files: &[(&str, &[u8])]) -> LoadError {
        MigrationSet::load(dir_with(files).path()).unwrap_err()
    }

    #[test]
    fn loads_in_version_order_with_down_files() {
        let dir = dir_with(&[
            ("0010_b.up.sql", b"create table b (id int);"),
            ("0002_a.up.sql", b"create table a (id int);"),
            ("0002_a.down.sql", b"drop table a;"),
            ("0011_plain.sql", b"select 1;"),
            ("README.md", b"not a migration"),
        ]);
        let set = MigrationSet::load(dir.path()).unwrap();
        let versions: Vec<u64> = set.iter().map(|m| m.version.get()).collect();
        assert_eq!(versions, vec![2, 10, 11]);
        assert!(set.get(Version::new(2).unwrap()).unwrap().down.is_some());
        assert!(set.latest().unwrap().down.is_none());
        assert_eq!(set.iter().next().unwrap().checksum, Checksum::of(b"create table a (id int);"));
    }

    #[test]
    fn versions_collide_as_numbers() {
        let err = load_err(&[("1_a.up.sql", b"select 1;"), ("0001_b.up.sql", b"select 2;")]);
        assert!(matches!(err, LoadError::DuplicateVersion { .. }), "{err}");
    }

    #[test]
    fn malformed_directories_are_refused() {
        assert!(matches!(load_err(&[("0001_a.down.sql", b"select 1;")]), LoadError::DownWithoutUp { .. }));
        assert!(matches!(load_err(&[("x_a.up.sql", b"select 1;")]), LoadError::BadName { .. }));
        assert!(matches!(load_err(&[("0001_a.up.sql", b"-- todo\n")]), LoadError::Empty { .. }));
        assert!(matches!(load_err(&[("0001_a.up.sql", b"select '\xff';")]), LoadError::NotUtf8 { .. }));
        assert!(matches!(load_err(&[("0001_a.up.sql", b"-- tenantctl:nope\nselect 1;")]), LoadError::Directive { .. }));
        assert!(matches!(
            MigrationSet::load(Path::new("/nonexistent/tenantctl")).unwrap_err(),
            LoadError::Directory { .. }
        ));
    }

    #[test]
    fn no_transaction_files_are_split_into_statements() {
        let dir = dir_with(&[(
            "0001_idx.up.sql",
            b"-- tenantctl:no-transaction\n-- tenantctl:lock-timeout 30s\ndrop index concurrently if exists i;\ncreate index concurrently i on t (a);\n",
        )]);
        let set = MigrationSet::load(dir.path()).unwrap();
        let up = &set.latest().unwrap().up;
        assert_eq!(up.transaction, TransactionMode::None);
        assert_eq!(up.lock_timeout, Some(std::time::Duration::from_secs(30)));
        assert_eq!(up.statements.as_ref().unwrap().len(), 2);
    }
}
