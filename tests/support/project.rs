//! The project directory of a test: files in and out, relative to it.

use std::{fs, path::Path};

use super::TestDb;

/// Copies the files under `from` into `to`, recursively (directories created as needed).
pub fn copy_dir(from: &Path, to: &Path) {
    assert!(from.is_dir(), "no directory {}", from.display());
    fs::create_dir_all(to).unwrap_or_else(|e| panic!("create {}: {e}", to.display()));
    for entry in fs::read_dir(from).unwrap_or_else(|e| panic!("read {}: {e}", from.display())) {
        let entry = entry.expect("directory entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap_or_else(|e| panic!("copy {}: {e}", entry.path().display()));
        }
    }
}

impl TestDb {
    /// Writes a file of the project (parent directories created).
    pub fn write(&self, path: &str, contents: impl AsRef<[u8]>) {
        let path = self.project().join(path);
        fs::create_dir_all(path.parent().expect("a file path has a parent")).expect("create dirs");
        fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }

    /// Reads a file of the project.
    pub fn read(&self, path: &str) -> String {
        let path = self.project().join(path);
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
    }

    /// Appends to a file of the project, changing its bytes (and so its checksum).
    pub fn append(&self, path: &str, text: &str) {
        let contents = self.read(path) + text;
        self.write(path, contents);
    }

    /// Creates a directory of the project (and its parents).
    pub fn mkdir(&self, dir: &str) {
        let dir = self.project().join(dir);
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    }

    /// Deletes a file of the project.
    pub fn remove(&self, path: &str) {
        let path = self.project().join(path);
        fs::remove_file(&path).unwrap_or_else(|e| panic!("remove {}: {e}", path.display()));
    }

    /// Copies the files of one project directory into another, e.g. migrations that a test
    /// "writes later" (`tenant_migrations_next` into `tenant_migrations`).
    pub fn merge(&self, from: &str, to: &str) {
        copy_dir(&self.project().join(from), &self.project().join(to));
    }

    /// The names of the files in a project directory, sorted.
    pub fn files(&self, dir: &str) -> Vec<String> {
        let dir = self.project().join(dir);
        let mut names: Vec<String> = fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
            .map(|e| e.expect("directory entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}
