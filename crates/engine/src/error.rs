//! The engine's errors. Each says what went wrong and, where the user can act, how to fix it.

use tenantctl_migrations::{PlanError, Version};

use crate::OrgId;

/// How a failure should be classified by the caller (the CLI maps these to exit codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad input: files, flags, org ids. Nothing was changed.
    Input,
    /// The database could not be reached.
    Unreachable,
    /// The operation ran and something failed.
    Failed,
}

/// An error that stops a whole command (a single tenant's failure is data, not an `EngineError`).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The control database could not be reached.
    #[error("cannot connect to PostgreSQL at {target}: {reason}")]
    Connect {
        /// `host:port/database`, never the password.
        target: String,
        /// Why, in one line.
        reason: String,
    },
    /// A query failed.
    #[error("{context}: {}", describe(error))]
    Database {
        /// What was being done.
        context: String,
        /// The driver's error.
        error: sqlx::Error,
    },
    /// The bootstrap tables do not exist or are older than this tenantctl.
    #[error("{0}: run `tenantctl migrate-master` first")]
    NotBootstrapped(String),
    /// The database was set up by a newer tenantctl.
    #[error(
        "the registry was created by a newer tenantctl (bootstrap version {found}, this one knows {known}): upgrade tenantctl"
    )]
    BootstrapTooNew {
        /// Version in the database.
        found: i32,
        /// Newest version this build knows.
        known: i32,
    },
    /// Applied migrations and files disagree (checksums, out-of-order, missing down files).
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// A tenant migration file differs from the checksum recorded when it was first applied anywhere.
    #[error(
        "checksum mismatch for tenant migration {version}: {path} was edited after it was applied to tenants (restore it and put the change in a new migration)"
    )]
    CentralChecksum {
        /// The version.
        version: Version,
        /// Its file.
        path: String,
    },
    /// `--tenant` named an org that is not in the registry, or not in a state the command accepts.
    #[error("tenant `{org_id}` {problem}")]
    Tenant {
        /// The org id.
        org_id: OrgId,
        /// What is wrong with it.
        problem: String,
    },
    /// The shard a command needs could not be reached (or is not configured).
    #[error("shard `{shard}` cannot be reached: {reason}")]
    ShardUnreachable {
        /// Its name.
        shard: String,
        /// Why (never a password).
        reason: String,
    },
    /// Another tenantctl run holds the tenant (its advisory lock): nothing was changed.
    #[error("tenant `{org_id}` is held by another tenantctl run: nothing was changed; retry when that run ends")]
    Busy {
        /// The org id.
        org_id: OrgId,
    },
    /// The linter blocked migrations about to run.
    #[error("refusing to run: the linter blocks migration(s) {} (fix them, add a `-- tenantctl:allow` directive with a reason, or pass --allow-unsafe)", versions.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))]
    Unsafe {
        /// The blocked versions about to run.
        versions: Vec<Version>,
    },
    /// `--create-role` cannot work: the connecting user may not create roles, or `role_group` does not exist.
    #[error("cannot create tenant roles: {0}")]
    TenantRoles(String),
    /// Migrations that run outside a transaction, about to run through a transaction pooler.
    #[error(
        "{} run outside a transaction (-- tenantctl:no-transaction) and need a session of their own, which a \
         transaction pooler does not give (transaction_pooler = true): run this command on a direct connection \
         to PostgreSQL, not through the pooler",
        files.join(", ")
    )]
    NeedsSession {
        /// The files.
        files: Vec<String>,
    },
    /// `move-tenant`'s copy (pg_dump | pg_restore) failed; the target holds no copy.
    #[error("copying the schema: {0}")]
    Copy(String),
    /// `move-tenant`'s copy differs from the source.
    #[error("the copy differs from the source ({0})")]
    CopyDiffers(String),
    /// `move-tenant` failed before its flip and was rolled back.
    #[error("{0}; the move was rolled back: no copy on the target, and the tenant is ACTIVE on its source again")]
    MoveRolledBack(Box<EngineError>),
    /// A master migration failed (it was rolled back; earlier ones in the batch stay applied).
    #[error("master migration {file} failed: {}", describe(error))]
    MasterMigration {
        /// The file.
        file: String,
        /// The database error.
        error: sqlx::Error,
    },
}

impl EngineError {
    /// How the caller should classify this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Connect { .. } => ErrorKind::Unreachable,
            Self::Plan(_)
            | Self::CentralChecksum { .. }
            | Self::Tenant { .. }
            | Self::TenantRoles(_)
            | Self::NeedsSession { .. } => ErrorKind::Input,
            Self::Database { .. }
            | Self::NotBootstrapped(_)
            | Self::BootstrapTooNew { .. }
            | Self::MasterMigration { .. }
            | Self::Busy { .. }
            | Self::Copy(_)
            | Self::CopyDiffers(_)
            | Self::MoveRolledBack(_)
            | Self::ShardUnreachable { .. }
            | Self::Unsafe { .. } => ErrorKind::Failed,
        }
    }
}

/// Adds context to a driver error.
pub(crate) trait Context<T> {
    fn context(self, context: impl Into<String>) -> Result<T, EngineError>;
}

impl<T> Context<T> for Result<T, sqlx::Error> {
    fn context(self, context: impl Into<String>) -> Result<T, EngineError> {
        self.map_err(|error| EngineError::Database { context: context.into(), error })
    }
}

/// The first line of a database error, with its SQLSTATE, for registries and summaries.
pub(crate) fn describe(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Database(db) => {
            let code = db.code();
            let shown = code.as_deref().map(|c| format!(" (SQLSTATE {c})")).unwrap_or_default();
            // A prepared statement missing or already there: a transaction pooler lent another server connection.
            let hint = match code.as_deref() {
                Some("26000" | "42P05") => {
                    " (through a transaction pooler such as PgBouncer? set transaction_pooler = true)"
                }
                _ => "",
            };
            format!("{}{shown}{hint}", db.message())
        }
        other => other.to_string(),
    }
}
