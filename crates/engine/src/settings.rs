//! Plain settings the engine takes; the CLI resolves them from flags, environment, file and defaults.

use std::time::Duration;

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
}

impl Default for RunSettings {
    fn default() -> Self {
        Self {
            concurrency: 4,
            lock_timeout: Duration::from_secs(5),
            lock_retries: 3,
            retry_backoff: Duration::from_millis(250),
            statement_timeout: None,
            connection_max_tenants: 250,
            no_transaction_lock_timeout: Duration::from_secs(60),
            no_transaction_concurrency: 1,
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
