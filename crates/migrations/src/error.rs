//! Why a migration directory could not be loaded. Every variant names the file and says how to fix it.

use std::path::PathBuf;

use crate::Version;

/// A migration directory that cannot be used as it is.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The directory is missing or unreadable.
    #[error("cannot read migration directory {}: {error} (create it, or point --master-dir/--tenant-dir at the right one)", path.display())]
    Directory {
        /// The directory.
        path: PathBuf,
        /// What the OS said.
        error: std::io::Error,
    },
    /// A file could not be read (a dangling symlink, missing permission).
    #[error("cannot read migration file {}: {error}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        error: std::io::Error,
    },
    /// A `.sql` file whose name is not a migration name.
    #[error("bad migration file name {}: {reason}", path.display())]
    BadName {
        /// The file.
        path: PathBuf,
        /// What is wrong and what is expected.
        reason: String,
    },
    /// Two files of the same kind share a version number.
    #[error("duplicate migration version {version}: {} and {} (give one of them a new version)", first.display(), second.display())]
    DuplicateVersion {
        /// The version.
        version: Version,
        /// One file.
        first: PathBuf,
        /// The other.
        second: PathBuf,
    },
    /// A down file whose up file does not exist.
    #[error("down migration {} has no up file (add the up file or delete the down file)", path.display())]
    DownWithoutUp {
        /// The down file.
        path: PathBuf,
    },
    /// A file that is not valid UTF-8.
    #[error("migration file {} is not valid UTF-8 (save it as UTF-8)", path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
    },
    /// A file holding only comments and white space.
    #[error("migration file {} is empty: write its SQL, or delete it", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// A file PostgreSQL's scanner or parser rejects.
    #[error("migration file {} does not parse: {message}", path.display())]
    Sql {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A malformed `-- tenantctl:` header directive.
    #[error("{}:{line}: {message}", path.display())]
    Directive {
        /// The file.
        path: PathBuf,
        /// 1-based line of the directive.
        line: usize,
        /// What is wrong.
        message: String,
    },
}
