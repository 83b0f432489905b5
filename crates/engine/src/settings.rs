//! Plain settings the engine takes; the CLI resolves them from flags, environment, file and defaults.

use std::time::Duration;

use tenantctl_migrations::{Script, TransactionMode};

use crate::EngineError;

/// How tenant work is run.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// Tenants in flight at once.
    pub concurrency: usize,
    /// `lock_timeout` of every tenant transaction.
    pub lock_timeout: Duration,
    /// How many times a lock timeout or deadlock is retried before the tenant fails.
    pub lock_retries: u32,
    /// Wait before the first retry; doubled for each further one.
    pub retry_backoff: Duration,
    /// `statement_timeout` of every tenant transaction, if any.
    pub statement_timeout: Option<Duration>,
    /// Close a connection after it has served this many tenants (bounds the backend's catalog cache).
    pub connection_max_tenants: u32,
    /// `lock_timeout` of no-transaction migrations (a concurrent index build waits for every older
    /// transaction in the database), unless the file sets its own.
    pub no_transaction_lock_timeout: Duration,
    /// Tenants running a no-transaction migration at once (concurrent index builds wait for each other).
    pub no_transaction_concurrency: usize,
    /// The connection goes through a transaction pooler (PgBouncer with `pool_mode = transaction`):
    /// no statement stays prepared across transactions, and no-transaction migrations, which need a
    /// session of their own, are refused.
    pub transaction_pooler: bool,
}

impl RunSettings {
    /// Whether the statements run once per tenant step stay prepared on the connection (named, in
    /// sqlx's statement cache): one round trip each instead of two, but only a direct connection keeps
    /// them from one transaction to the next.
    pub(crate) fn keep_prepared(&self) -> bool {
        !self.transaction_pooler
    }

    /// Refuses, behind a transaction pooler, any of `scripts` that runs outside a transaction: its
    /// statements and its session settings need one server connection for the whole file, which a
    /// transaction pooler does not give.
    pub(crate) fn check_sessions<'a>(&self, scripts: impl IntoIterator<Item = &'a Script>) -> Result<(), EngineError> {
        if !self.transaction_pooler {
            return Ok(());
        }
        let files: Vec<String> =
            scripts.into_iter().filter(|s| s.transaction == TransactionMode::None).map(Script::file_name).collect();
        match files.is_empty() {
            true => Ok(()),
            false => Err(EngineError::NeedsSession { files }),
        }
    }
}

impl Default for RunSettings {
    fn default() -> Self {
        Self {
            // The fastest level of `make bench`'s --concurrency sweep on a 2-core server (README, "Performance").
            concurrency: 8,
            lock_timeout: Duration::from_secs(5),
            lock_retries: 3,
            retry_backoff: Duration::from_millis(250),
            statement_timeout: None,
            connection_max_tenants: 250,
            no_transaction_lock_timeout: Duration::from_secs(60),
            // The fastest level of `make bench`'s no-transaction sweep (README, "Performance").
            no_transaction_concurrency: 8,
            transaction_pooler: false,
        }
    }
}

/// Whether provisioning gives each new tenant a role of its own (`provision-tenant --create-role`).
#[derive(Debug, Clone, Default)]
pub struct TenantRoles {
    /// Create a `NOLOGIN` role per new tenant, named like its schema, to own what its migrations create.
    pub create: bool,
    /// A role every tenant role is made a member of (`IN ROLE`), to hold what all tenants need on
    /// shared tables (e.g. `REFERENCES` on `public.plans`); master migrations grant to it.
    pub group: Option<String>,
}

/// A duration as a PostgreSQL setting (`'1500ms'`); `None` is `'0'` (no limit).
pub(crate) fn pg_duration(d: Option<Duration>) -> String {
    match d {
        Some(d) => format!("{}ms", d.as_millis().max(1)),
        None => "0".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(file: &str, transaction: TransactionMode) -> Script {
        let statements = (transaction == TransactionMode::None).then(|| vec!["SELECT 1".to_owned()]);
        let (lock_timeout, statement_timeout) = (None, None);
        Script { path: file.into(), sql: "SELECT 1".into(), statements, lock_timeout, statement_timeout, transaction }
    }

    #[test]
    fn only_no_transaction_scripts_are_refused_and_only_behind_a_transaction_pooler() {
        let scripts =
            [script("1_a.up.sql", TransactionMode::Transaction), script("2_idx.up.sql", TransactionMode::None)];
        assert!(RunSettings::default().check_sessions(&scripts).is_ok());
        let pooled = RunSettings { transaction_pooler: true, ..RunSettings::default() };
        assert!(pooled.check_sessions(&scripts[..1]).is_ok());
        let refused = pooled.check_sessions(&scripts).unwrap_err();
        assert!(matches!(&refused, EngineError::NeedsSession { files } if files == &["2_idx.up.sql"]), "{refused}");
        assert!(!pooled.keep_prepared() && RunSettings::default().keep_prepared());
    }
}
