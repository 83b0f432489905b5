//! The configured extensions, ensured in `public` (so every tenant's search_path sees their types),
//! under the global lock: concurrent `CREATE EXTENSION IF NOT EXISTS` statements can still collide.

use sqlx::{PgConnection, PgPool};

use crate::identity::quote_ident;
use crate::locks::GlobalLock;
use crate::statements::{in_transaction, query_scalar};
use crate::{EngineError, Reporter, error::Context};

/// Creates the extensions that are missing. Takes the global lock only when one is missing, so a
/// user without CREATE privilege can provision once the extensions exist.
pub(crate) async fn ensure(
    pool: &PgPool,
    conn: &mut PgConnection,
    extensions: &[String],
    reporter: &dyn Reporter,
) -> Result<(), EngineError> {
    if missing(conn, extensions).await?.is_empty() {
        return Ok(());
    }
    let lock = GlobalLock::acquire(pool, reporter).await?;
    let result = create_missing(conn, extensions).await;
    lock.release().await?;
    result
}

/// Creates the missing extensions; the caller holds the global lock.
pub(crate) async fn create_missing(conn: &mut PgConnection, extensions: &[String]) -> Result<(), EngineError> {
    for name in missing(conn, extensions).await? {
        let sql = format!("CREATE EXTENSION IF NOT EXISTS {} WITH SCHEMA public", quote_ident(&name));
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut *conn)
            .await
            .context(format!("creating extension {name}"))?;
    }
    Ok(())
}

async fn missing(conn: &mut PgConnection, extensions: &[String]) -> Result<Vec<String>, EngineError> {
    if extensions.is_empty() {
        return Ok(Vec::new());
    }
    in_transaction(conn, async |conn| {
        query_scalar(
            "SELECT name FROM unnest($1::text[]) WITH ORDINALITY AS e(name, n)
              WHERE NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = e.name) ORDER BY n",
        )
        .bind(extensions)
        .fetch_all(conn)
        .await
    })
    .await
    .context("reading pg_extension")
}
