//! Advisory locks. One global lock serialises tenantctl's own schema work (bootstrap, master
//! migrations, extensions); one key per tenant keeps two runs from migrating the same tenant.

use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool, Postgres, Transaction};

use crate::error::Context;
use crate::statements::{query, query_scalar};
use crate::{EngineError, Event, Reporter, SchemaName};

fn key(material: &str) -> i64 {
    let digest = Sha256::digest(material.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}

/// The global lock: bootstrap, master migrations and extension creation.
pub(crate) fn global() -> i64 {
    key("tenantctl/global")
}

/// The lock of one tenant schema.
pub(crate) fn tenant(schema: &SchemaName) -> i64 {
    key(&format!("tenantctl/tenant/{schema}"))
}

/// How long a run waits for another run's global lock before giving up.
const GLOBAL_WAIT: &str = "10min";

/// An advisory lock held by a transaction of its own on a connection of its own for as long as the
/// work it guards, which runs on other connections in transactions of its own: the global lock
/// (bootstrap, extensions, one master migration per transaction), or a tenant's during `move-tenant`.
/// A session-level lock would not do: behind a transaction pooler the session's server connection
/// serves other clients between transactions, so the lock would stay behind on it and its release go
/// to another. The holder is idle in its transaction without a snapshot, so a `CREATE INDEX
/// CONCURRENTLY` in a master migration does not wait for it. Dropped without [`HeldLock::release`]
/// (an error path), its transaction rolls back when its connection returns to the pool; if tenantctl
/// dies, the server ends the session, and the lock with it.
#[derive(Debug)]
pub(crate) struct HeldLock {
    holder: Transaction<'static, Postgres>,
}

/// The global lock.
pub(crate) type GlobalLock = HeldLock;

impl HeldLock {
    /// Takes the global lock, waiting (bounded) for another run to release it.
    pub(crate) async fn acquire(pool: &PgPool, reporter: &dyn Reporter) -> Result<Self, EngineError> {
        let taking = "taking tenantctl's global advisory lock";
        let mut holder = pool.begin().await.context(taking)?;
        if !try_take(&mut holder, global()).await.context(taking)? {
            reporter.report(&Event::WaitingForLock);
            wait(&mut holder, global(), GLOBAL_WAIT)
                .await
                .context(format!("waiting (at most {GLOBAL_WAIT}) for another tenantctl run's global lock"))?;
        }
        Ok(Self { holder })
    }

    /// Takes the tenant's lock, waiting at most `lock_timeout` (PostgreSQL's syntax) for a run that
    /// holds it; `None` when that run still holds it then.
    pub(crate) async fn tenant(
        pool: &PgPool,
        schema: &SchemaName,
        lock_timeout: &str,
    ) -> Result<Option<Self>, EngineError> {
        let taking = "taking the tenant's advisory lock";
        let mut holder = pool.begin().await.context(taking)?;
        if !try_take(&mut holder, tenant(schema)).await.context(taking)? {
            match wait(&mut holder, tenant(schema), lock_timeout).await {
                Err(e) if e.as_database_error().and_then(|d| d.code()).as_deref() == Some("55P03") => return Ok(None),
                other => other.context(taking)?,
            }
        }
        Ok(Some(Self { holder }))
    }

    /// Releases the lock. An error means the holder's connection was lost while the work ran, and
    /// with it the lock: another run may have started meanwhile.
    pub(crate) async fn release(self) -> Result<(), EngineError> {
        self.holder.commit().await.context("releasing an advisory lock (its connection was lost)")
    }
}

/// Takes `key` if it is free. The holder idles while the work runs: a server-wide
/// idle_in_transaction_session_timeout must not end it.
async fn try_take(holder: &mut PgConnection, key: i64) -> Result<bool, sqlx::Error> {
    query_scalar(
        "SELECT pg_try_advisory_xact_lock($1) \
           FROM (SELECT set_config('idle_in_transaction_session_timeout', '0', true)) s",
    )
    .bind(key)
    .fetch_one(holder)
    .await
}

/// Waits at most `timeout` for `key`.
async fn wait(holder: &mut PgConnection, key: i64, timeout: &str) -> Result<(), sqlx::Error> {
    query("SELECT pg_advisory_xact_lock($1) FROM (SELECT set_config('lock_timeout', $2, true)) s")
        .bind(key)
        .bind(timeout)
        .execute(holder)
        .await
        .map(|_| ())
}
