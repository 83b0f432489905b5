//! Advisory lock keys. One global key serialises tenantctl's own schema work (bootstrap, master
//! migrations, extensions); one key per tenant keeps two runs from migrating the same tenant.

use sha2::{Digest, Sha256};

use crate::SchemaName;

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

/// Takes the global lock on this session, waiting (bounded) for another run to release it.
/// Released by [`release_global`], or when the connection closes.
pub(crate) async fn acquire_global(
    conn: &mut sqlx::PgConnection,
    reporter: &dyn crate::Reporter,
) -> Result<(), crate::EngineError> {
    use crate::error::Context;
    let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(global())
        .fetch_one(&mut *conn)
        .await
        .context("taking tenantctl's global advisory lock")?;
    if !got {
        reporter.report(&crate::Event::WaitingForLock);
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("SET lock_timeout = '{GLOBAL_WAIT}'")))
            .execute(&mut *conn)
            .await
            .context("setting lock_timeout")?;
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(global())
            .execute(&mut *conn)
            .await
            .context(format!("waiting (at most {GLOBAL_WAIT}) for another tenantctl run's global lock"))?;
        sqlx::raw_sql("RESET lock_timeout").execute(&mut *conn).await.context("resetting lock_timeout")?;
    }
    Ok(())
}

/// Releases the global lock.
pub(crate) async fn release_global(conn: &mut sqlx::PgConnection) -> Result<(), crate::EngineError> {
    use crate::error::Context;
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(global())
        .execute(conn)
        .await
        .context("releasing tenantctl's global advisory lock")?;
    Ok(())
}
