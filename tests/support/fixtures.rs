//! Fixture files used as overlays (a scenario's migrations joining a project that already ran),
//! and runs of the binary in a fixture directory itself, for commands that never connect (`lint`).

use std::path::{Path, PathBuf};

use super::{Output, TestDb, cli::Tenantctl};

/// `tests/fixtures/<relative>`.
fn fixture(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(relative)
}

impl TestDb {
    /// Copies the files of `tests/fixtures/<from>` into the project directory `to`, e.g. a blocked
    /// migration (`gate/tenant_create_index`) joining `tenant_migrations` after tenants exist.
    pub fn overlay(&self, from: &str, to: &str) {
        super::project::copy_dir(&fixture(from), &self.project().join(to));
    }
}

/// Runs `tenantctl <args>` in `tests/fixtures/<scenario>` without any database settings: for
/// commands that never connect. Paths in the output are relative to that directory.
pub fn tenantctl_in_fixture(scenario: &str, args: &[&str]) -> Output {
    let dir = fixture(scenario);
    assert!(dir.is_dir(), "no fixture {}", dir.display());
    Tenantctl::new(&dir, args).run()
}
