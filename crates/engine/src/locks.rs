//! Advisory locks. One global lock serialises tenantctl's own schema work (bootstrap, master
//! migrations, extensions); one key per tenant keeps two runs from migrating the same tenant.

use sha2::{Digest, Sha256};
use sqlx::{PgPool, Postgres, Transaction};

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

/// The global lock, held by a transaction of its own on a connection of its own for as long as the
/// work it guards, which runs on other connections in transactions of its own (bootstrap, extensions,
/// one per master migration). A session-level lock would not do: behind a transaction pooler the
/// session's server connection serves other clients between transactions, so the lock would stay
/// behind on it and its release go to another. The holder is idle in its transaction without a
/// snapshot, so a `CREATE INDEX CONCURRENTLY` in a master migration does not wait for it.
/// Dropped without [`GlobalLock::release`] (an error path), its transaction rolls back when its
/// connection returns to the pool; if tenantctl dies, the server ends the session, and the lock with it.
#[derive(Debug)]
pub(crate) struct GlobalLock {
    holder: Transaction<'static, Postgres>,
}

impl GlobalLock {
    /// Takes the lock, waiting (bounded) for another run to release it.
    pub(crate) async fn acquire(pool: &PgPool, reporter: &dyn Reporter) -> Result<Self, EngineError> {
        let taking = "taking tenantctl's global advisory lock";
        let mut holder = pool.begin().await.context(taking)?;
        // The holder idles while the work runs: a server-wide idle_in_transaction_session_timeout
        // must not end it.
        let got: bool = query_scalar(
            "SELECT pg_try_advisory_xact_lock($1) \
               FROM (SELECT set_config('idle_in_transaction_session_timeout', '0', true)) s",
        )
        .bind(global())
        .fetch_one(&mut *holder)
        .await
        .context(taking)?;
        if !got {
            reporter.report(&Event::WaitingForLock);
            query("SELECT pg_advisory_xact_lock($1) FROM (SELECT set_config('lock_timeout', $2, true)) s")
                .bind(global())
                .bind(GLOBAL_WAIT)
                .execute(&mut *holder)
                .await
                .context(format!("waiting (at most {GLOBAL_WAIT}) for another tenantctl run's global lock"))?;
        }
        Ok(Self { holder })
    }

    /// Releases the lock. An error means the holder's connection was lost while the work ran, and
    /// with it the lock: another run may have started meanwhile.
    pub(crate) async fn release(self) -> Result<(), EngineError> {
        self.holder.commit().await.context("releasing tenantctl's global advisory lock (its connection was lost)")
    }
}
