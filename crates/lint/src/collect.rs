//! Reading the files to lint from paths given on the command line.

use std::path::{Path, PathBuf};

use crate::lint::{FileRole, LintInput};

/// Why the files to lint could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// The path does not exist.
    #[error("{}: no such file or directory", .0.display())]
    NotFound(PathBuf),
    /// The file is not UTF-8 text.
    #[error("{}: not UTF-8 text", .0.display())]
    NotUtf8(PathBuf),
    /// Reading the file or directory failed.
    #[error("reading {}", .path.display())]
    Io {
        /// The path being read.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Reads files and directories into lint inputs, in run order.
///
/// A file is taken as it is. A directory is one ordered run of its `.sql` files (down files
/// included): in version order (the leading integer of the name) when every file has one, in
/// lexical order otherwise; an up file comes before the down file of its version. Subdirectories
/// are not read. Scopes are left to the caller.
pub fn collect(paths: &[PathBuf]) -> Result<Vec<LintInput>, CollectError> {
    let mut inputs = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => CollectError::NotFound(path.clone()),
            _ => CollectError::Io { path: path.clone(), source },
        })?;
        if meta.is_dir() {
            for file in directory_files(path)? {
                inputs.push(read(&file)?);
            }
        } else {
            inputs.push(read(path)?);
        }
    }
    Ok(inputs)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CollectError + '_ {
    move |source| CollectError::Io { path: path.to_owned(), source }
}

/// The `.sql` files of a directory, in run order.
fn directory_files(dir: &Path) -> Result<Vec<PathBuf>, CollectError> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let is_file = entry.file_type().map_err(io(dir))?.is_file();
        if is_file && entry.file_name().to_string_lossy().ends_with(".sql") {
            files.push(entry.path());
        }
    }
    let name = |p: &PathBuf| p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    files.sort_by_key(name);
    let versions: Option<Vec<u128>> = files.iter().map(|f| leading_integer(&name(f))).collect();
    if let Some(versions) = versions {
        // Within a version, the up file comes before its down file.
        let mut keyed: Vec<_> =
            versions.into_iter().zip(files).map(|(v, f)| ((v, role(&f) == FileRole::Down), f)).collect();
        keyed.sort_by_key(|(key, _)| *key);
        files = keyed.into_iter().map(|(_, f)| f).collect();
    }
    Ok(files)
}

/// The number a file name starts with (`0003_add_index.sql` → 3).
fn leading_integer(name: &str) -> Option<u128> {
    let digits = name.bytes().take_while(u8::is_ascii_digit).count();
    name[..digits].parse().ok()
}

fn role(path: &Path) -> FileRole {
    if path.to_string_lossy().ends_with(".down.sql") { FileRole::Down } else { FileRole::Up }
}

fn read(path: &Path) -> Result<LintInput, CollectError> {
    let bytes = std::fs::read(path).map_err(io(path))?;
    let sql = String::from_utf8(bytes).map_err(|_| CollectError::NotUtf8(path.to_owned()))?;
    Ok(LintInput { path: path.display().to_string(), sql, role: role(path), scope: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_integers_order_numerically() {
        assert_eq!(leading_integer("0003_add_index.up.sql"), Some(3));
        assert_eq!(leading_integer("20260107153000_x.sql"), Some(20_260_107_153_000));
        assert_eq!(leading_integer("init.sql"), None);
    }
}
