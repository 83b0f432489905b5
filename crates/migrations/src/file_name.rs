//! Migration file names: `<VERSION>_<name>.up.sql`, `<VERSION>_<name>.down.sql`, or `<VERSION>_<name>.sql`
//! (an up file without a down file).

use crate::Version;

/// Which half of a migration a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// Applies the change (`.up.sql`, or plain `.sql`).
    Up,
    /// Reverts it (`.down.sql`).
    Down,
}

/// A parsed migration file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileName {
    /// The version, as a number.
    pub version: Version,
    /// How many digits the version was written with (`0001` is 4): the directory's style.
    pub digits: usize,
    /// The name after the version.
    pub name: String,
    /// Up or down.
    pub kind: FileKind,
}

impl FileName {
    /// Parses a file name. `Ok(None)` means "not a migration file at all" (it does not end in `.sql`);
    /// `Err` explains why a `.sql` file's name is not a valid migration name.
    pub fn parse(file_name: &str) -> Result<Option<Self>, String> {
        let Some(stem) = file_name.strip_suffix(".sql") else {
            return Ok(None);
        };
        let (stem, kind) = if let Some(s) = stem.strip_suffix(".up") {
            (s, FileKind::Up)
        } else if let Some(s) = stem.strip_suffix(".down") {
            (s, FileKind::Down)
        } else {
            (stem, FileKind::Up)
        };
        let expected = "expected <VERSION>_<name>.up.sql, <VERSION>_<name>.down.sql or <VERSION>_<name>.sql";
        let Some((digits, name)) = stem.split_once('_') else {
            return Err(format!("no `_` between version and name; {expected}"));
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("`{digits}` is not a version number; {expected}"));
        }
        let version = digits
            .parse::<u64>()
            .ok()
            .and_then(Version::new)
            .ok_or_else(|| format!("version `{digits}` must be a positive integer below 2^63"))?;
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            return Err(format!("name `{name}` must be non-empty ASCII letters, digits, `_` or `-`"));
        }
        Ok(Some(Self { version, digits: digits.len(), name: name.to_owned(), kind }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(name: &str) -> FileName {
        FileName::parse(name).unwrap().unwrap()
    }

    #[test]
    fn the_three_forms_parse() {
        let up = ok("0003_add_index.up.sql");
        assert_eq!((up.version.get(), up.digits, up.name.as_str(), up.kind), (3, 4, "add_index", FileKind::Up));
        assert_eq!(ok("0003_add_index.down.sql").kind, FileKind::Down);
        assert_eq!(ok("20260107153000_users.sql").kind, FileKind::Up);
    }

    #[test]
    fn other_files_are_ignored_and_bad_names_explained() {
        assert_eq!(FileName::parse("README.md"), Ok(None));
        assert!(FileName::parse("add_users.up.sql").is_err());
        assert!(FileName::parse("0000_zero.up.sql").is_err());
        assert!(FileName::parse("0001_.up.sql").is_err());
        assert!(FileName::parse("0001_a b.up.sql").is_err());
        assert!(FileName::parse("99999999999999999999_big.sql").is_err());
    }
}
