//! The configured extensions, ensured in `public` (so every tenant's search_path sees their types),
//! under the global lock: concurrent `CREATE EXTENSION IF NOT EXISTS` statements can still collide.

use sqlx::PgConnection;

use crate::identity::quote_ident;
use crate::{EngineError, Reporter, error::Context, locks};

/// Creates the extensions that are missing. Takes the global lock only when one is missing, so a
/// user without CREATE privilege can provision once the extensions exist.
pub(crate) async fn ensure(
    conn: &mut PgConnection,
    extensions: &[String],
    reporter: &dyn Reporter,
) -> Result<(), EngineError> {
    if missing(conn, extensions).await?.is_empty() {
        return Ok(());
    }
    locks::acquire_global(conn, reporter).await?;
    let result = create_missing(conn, extensions).await;
    locks::release_global(conn).await?;
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
    sqlx::query_scalar(
        "SELECT name FROM unnest($1::text[]) WITH ORDINALITY AS e(name, n)
          WHERE NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = e.name) ORDER BY n",
    )
    .bind(extensions)
    .fetch_all(conn)
    .await
    .context("reading pg_extension")
}
