//! The safety gate in front of every run: the caller (who owns the linter) says which versions are
//! unsafe; the engine, which knows what is about to run, refuses before touching anything.

use std::collections::BTreeSet;

use tenantctl_migrations::Version;

use crate::EngineError;

/// Versions whose files the linter BLOCKED (or could not parse), and whether to run them anyway.
#[derive(Debug, Clone, Default)]
pub struct Gate {
    /// Versions whose file (up for applying, down for rollbacks) is BLOCKED or ERROR.
    pub unsafe_versions: BTreeSet<Version>,
    /// `--allow-unsafe`: run them anyway (recorded in `public.tenantctl_runs`).
    pub allow_unsafe: bool,
}

impl Gate {
    /// Refuses when any of `about_to_run` is unsafe and unsafe runs are not allowed.
    pub(crate) fn check(&self, about_to_run: impl IntoIterator<Item = Version>) -> Result<(), EngineError> {
        if self.allow_unsafe {
            return Ok(());
        }
        let blocked: BTreeSet<Version> =
            about_to_run.into_iter().filter(|v| self.unsafe_versions.contains(v)).collect();
        match blocked.is_empty() {
            true => Ok(()),
            false => Err(EngineError::Unsafe { versions: blocked.into_iter().collect() }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(n: u64) -> Version {
        Version::new(n).unwrap()
    }

    #[test]
    fn only_unsafe_versions_about_to_run_block() {
        let gate = Gate { unsafe_versions: [v(2)].into(), allow_unsafe: false };
        assert!(gate.check([v(1), v(3)]).is_ok());
        assert!(matches!(gate.check([v(2), v(3)]), Err(EngineError::Unsafe { versions }) if versions == vec![v(2)]));
        assert!(Gate { allow_unsafe: true, ..gate }.check([v(2)]).is_ok());
    }
}
