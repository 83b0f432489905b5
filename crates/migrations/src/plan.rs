//! The pure planner: given what a schema has applied and what the directory holds, what to apply
//! or revert. The same plan drives `--dry-run`, `status` and the real run.

use std::path::PathBuf;

use crate::{Checksum, Migration, MigrationSet, Version};

/// A row of a tracking table, as far as planning cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppliedMigration {
    /// The applied version.
    pub version: Version,
    /// The checksum recorded when it was applied.
    pub checksum: Checksum,
    /// The batch it was applied in.
    pub batch: i32,
}

/// Which applied migrations a rollback reverts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RollbackTarget {
    /// Every migration of the newest batch (the default).
    LastBatch,
    /// The N newest applied migrations, by version, across batches.
    Steps(u32),
    /// Everything above this version (which stays applied); `To(0)` reverts all.
    To(u64),
}

/// Why a schema's history and the directory cannot be reconciled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// An applied migration's file was edited after it was applied.
    #[error("checksum mismatch for migration {version}: {} was edited after it was applied (restore it and put the change in a new migration)", path.display())]
    ChecksumMismatch {
        /// The version.
        version: Version,
        /// Its up file.
        path: PathBuf,
    },
    /// An applied migration has no file any more.
    #[error("migration {version} is applied but its file is missing from the directory (restore it)")]
    MissingFile {
        /// The version.
        version: Version,
    },
    /// A pending migration is older than the newest applied one.
    #[error("pending migration {} (version {pending}) is older than applied version {applied} (give it a newer version, or pass --allow-out-of-order)", path.display())]
    OutOfOrder {
        /// The pending version.
        pending: Version,
        /// Its up file.
        path: PathBuf,
        /// The newest applied version.
        applied: Version,
    },
    /// A migration to revert has no down file.
    #[error("cannot roll back migration {version}: {} has no down file (write {version}_..down.sql, or roll back less)", path.display())]
    MissingDown {
        /// The version.
        version: Version,
        /// Its up file.
        path: PathBuf,
    },
}

/// The migrations to apply, in version order, after checking the applied ones against their files.
pub fn plan_up<'a>(
    applied: &[AppliedMigration],
    set: &'a MigrationSet,
    allow_out_of_order: bool,
) -> Result<Vec<&'a Migration>, PlanError> {
    verify(applied, set)?;
    let newest_applied = applied.iter().map(|a| a.version).max();
    let pending: Vec<&Migration> = set.iter().filter(|m| !applied.iter().any(|a| a.version == m.version)).collect();
    if let (Some(newest), false) = (newest_applied, allow_out_of_order)
        && let Some(old) = pending.iter().find(|m| m.version < newest)
    {
        return Err(PlanError::OutOfOrder { pending: old.version, path: old.up.path.clone(), applied: newest });
    }
    Ok(pending)
}

/// Checks every applied migration against its file: it must exist and have the same checksum.
pub fn verify(applied: &[AppliedMigration], set: &MigrationSet) -> Result<(), PlanError> {
    for a in applied {
        let migration = set.get(a.version).ok_or(PlanError::MissingFile { version: a.version })?;
        if migration.checksum != a.checksum {
            return Err(PlanError::ChecksumMismatch { version: a.version, path: migration.up.path.clone() });
        }
    }
    Ok(())
}

/// The migrations to revert, newest first. Refused as a whole if any of them has no down file.
pub fn plan_down<'a>(
    applied: &[AppliedMigration],
    set: &'a MigrationSet,
    target: RollbackTarget,
) -> Result<Vec<&'a Migration>, PlanError> {
    let mut newest_first: Vec<&AppliedMigration> = applied.iter().collect();
    newest_first.sort_by_key(|a| std::cmp::Reverse(a.version));
    let chosen: Vec<&AppliedMigration> = match target {
        RollbackTarget::LastBatch => {
            let last = applied.iter().map(|a| a.batch).max();
            newest_first.into_iter().filter(|a| Some(a.batch) == last).collect()
        }
        RollbackTarget::Steps(n) => newest_first.into_iter().take(n as usize).collect(),
        RollbackTarget::To(keep) => newest_first.into_iter().filter(|a| a.version.get() > keep).collect(),
    };
    let mut plan = Vec::with_capacity(chosen.len());
    for a in chosen {
        let migration = set.get(a.version).ok_or(PlanError::MissingFile { version: a.version })?;
        if migration.down.is_none() {
            return Err(PlanError::MissingDown { version: a.version, path: migration.up.path.clone() });
        }
        plan.push(migration);
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Script, TransactionMode};

    fn script(path: String, sql: &str) -> Script {
        Script {
            path: path.into(),
            sql: sql.to_owned(),
            statements: None,
            lock_timeout: None,
            statement_timeout: None,
            transaction: TransactionMode::Transaction,
        }
    }

    fn migration(v: u64, with_down: bool) -> Migration {
        let up = format!("create table t{v} ();");
        Migration {
            version: Version::new(v).unwrap(),
            name: format!("m{v}"),
            checksum: Checksum::of(up.as_bytes()),
            up: script(format!("{v:04}_m{v}.up.sql"), &up),
            down: with_down.then(|| script(format!("{v:04}_m{v}.down.sql"), "drop table t;")),
        }
    }

    fn set(versions: &[u64]) -> MigrationSet {
        MigrationSet::from_migrations(versions.iter().map(|&v| migration(v, v != 99)).collect())
    }

    fn applied(set: &MigrationSet, versions_and_batches: &[(u64, i32)]) -> Vec<AppliedMigration> {
        versions_and_batches
            .iter()
            .map(|&(v, batch)| {
                let version = Version::new(v).unwrap();
                AppliedMigration { version, checksum: set.get(version).unwrap().checksum, batch }
            })
            .collect()
    }

    fn versions(plan: &[&Migration]) -> Vec<u64> {
        plan.iter().map(|m| m.version.get()).collect()
    }

    #[test]
    fn pending_are_the_unapplied_in_order() {
        let s = set(&[1, 2, 3, 4]);
        assert_eq!(versions(&plan_up(&[], &s, false).unwrap()), vec![1, 2, 3, 4]);
        assert_eq!(versions(&plan_up(&applied(&s, &[(1, 1), (2, 1)]), &s, false).unwrap()), vec![3, 4]);
        assert!(plan_up(&applied(&s, &[(1, 1), (2, 1), (3, 2), (4, 2)]), &s, false).unwrap().is_empty());
    }

    #[test]
    fn out_of_order_is_refused_unless_allowed() {
        let s = set(&[1, 2, 3]);
        let a = applied(&s, &[(1, 1), (3, 1)]);
        assert!(matches!(plan_up(&a, &s, false), Err(PlanError::OutOfOrder { .. })));
        assert_eq!(versions(&plan_up(&a, &s, true).unwrap()), vec![2]);
    }

    #[test]
    fn edited_and_missing_files_are_caught() {
        let s = set(&[1, 2]);
        let mut a = applied(&s, &[(1, 1)]);
        a[0].checksum = Checksum::of(b"something else");
        assert!(matches!(plan_up(&a, &s, false), Err(PlanError::ChecksumMismatch { .. })));
        let gone = vec![AppliedMigration { version: Version::new(7).unwrap(), checksum: Checksum::of(b""), batch: 1 }];
        assert!(matches!(plan_up(&gone, &s, false), Err(PlanError::MissingFile { .. })));
    }

    #[test]
    fn rollback_targets() {
        let s = set(&[1, 2, 3, 4]);
        let a = applied(&s, &[(1, 1), (2, 1), (3, 2), (4, 2)]);
        assert_eq!(versions(&plan_down(&a, &s, RollbackTarget::LastBatch).unwrap()), vec![4, 3]);
        assert_eq!(versions(&plan_down(&a, &s, RollbackTarget::Steps(3)).unwrap()), vec![4, 3, 2]);
        assert_eq!(versions(&plan_down(&a, &s, RollbackTarget::To(1)).unwrap()), vec![4, 3, 2]);
        assert_eq!(versions(&plan_down(&a, &s, RollbackTarget::To(0)).unwrap()), vec![4, 3, 2, 1]);
        assert!(plan_down(&[], &s, RollbackTarget::LastBatch).unwrap().is_empty());
    }

    #[test]
    fn rollback_without_a_down_file_is_refused_whole() {
        let s = set(&[1, 99]);
        let a = applied(&s, &[(1, 1), (99, 1)]);
        assert!(matches!(plan_down(&a, &s, RollbackTarget::LastBatch), Err(PlanError::MissingDown { .. })));
        assert_eq!(versions(&plan_down(&a, &s, RollbackTarget::To(99)).unwrap()), Vec::<u64>::new());
    }
}
