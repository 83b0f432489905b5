//! Database isolation: a tenant's own database on its shard. It is reached with the shard's connection
//! settings and the database name replaced, on a pool of one connection that lives as long as the
//! tenant's work (a fan-out over 10,000 database tenants keeps at most its concurrency of them open,
//! never 10,000 pools). Creating and dropping a database cannot be transactional: provisioning records
//! the database in the registry first and creates it after, so no database exists without its row.

use sqlx::AssertSqlSafe;
use sqlx::postgres::{PgPool, PgPoolOptions};

use crate::identity::quote_ident;
use crate::registry::Tenant;
use crate::runner::Failure;
use crate::statements::{in_transaction, query_scalar};
use crate::{Reporter, extensions};

/// A pool of one connection to `database` on the server of `shard`, connected before it is returned
/// (so that a missing database shows as such, not as a pool timeout).
pub(crate) async fn open(shard: &PgPool, database: &str) -> Result<PgPool, sqlx::Error> {
    open_with(shard, database, 1).await
}

pub(crate) async fn open_with(shard: &PgPool, database: &str, connections: u32) -> Result<PgPool, sqlx::Error> {
    let options = shard.connect_options().as_ref().clone().database(database);
    let pool = PgPoolOptions::new()
        .max_connections(connections)
        .min_connections(0)
        .acquire_timeout(shard.options().get_acquire_timeout())
        .test_before_acquire(false)
        .connect_lazy_with(options);
    match pool.acquire().await {
        Ok(conn) => {
            drop(conn);
            Ok(pool)
        }
        Err(e) => {
            pool.close().await;
            Err(e)
        }
    }
}

/// Whether connecting failed because the database does not exist.
pub(crate) fn is_missing(error: &sqlx::Error) -> bool {
    error.as_database_error().and_then(|d| d.code()).as_deref() == Some("3D000")
}

/// Whether the shard holds a database of this name.
pub(crate) async fn exists(shard: &PgPool, database: &str) -> Result<bool, sqlx::Error> {
    in_transaction(shard, async |conn| {
        query_scalar("SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)").bind(database).fetch_one(conn).await
    })
    .await
}

/// Creates the tenant's database on its shard unless it exists (a resumed provisioning reuses it: it
/// holds nothing, or migrations committed with their tracking rows), then ensures the configured
/// extensions in it (extensions are per database). The caller has recorded the database in the
/// registry before.
pub(crate) async fn create(
    shard: &PgPool,
    tenant: &Tenant,
    extensions: &[String],
    reporter: &dyn Reporter,
) -> Result<(), Failure> {
    let Some(database) = &tenant.database else { return Ok(()) };
    let name = &database.name;
    let found = exists(shard, name).await.map_err(|e| Failure::db(Some("looking up the tenant's database"), &e))?;
    if !found {
        // template0: template1 may carry objects an administrator added, which every tenant would inherit.
        let sql = format!("CREATE DATABASE {} TEMPLATE template0", quote_ident(name));
        let mut conn = shard.acquire().await.map_err(|e| Failure::db(Some("connecting to the shard"), &e))?;
        if let Err(e) = sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut *conn).await {
            let code = e.as_database_error().and_then(|d| d.code());
            match code.as_deref() {
                // Created meanwhile by another run provisioning the same org: `duplicate_database`, or,
                // when both inserted into pg_database at once, a unique violation there.
                Some("42P04" | "23505") => {}
                Some("42501") => {
                    return Err(Failure::fatal(format!(
                        "creating database {name}: the connecting user may not create databases (ALTER ROLE ... \
                         CREATEDB, or provision with --isolation schema)"
                    )));
                }
                _ => return Err(Failure::db(Some(&format!("creating database {name}")), &e)),
            }
        }
    }
    if extensions.is_empty() {
        return Ok(());
    }
    let pool =
        open_with(shard, name, 2).await.map_err(|e| Failure::db(Some("connecting to the tenant's database"), &e))?;
    let ensured = ensure_extensions(&pool, extensions, reporter).await;
    pool.close().await;
    ensured.map_err(|e| Failure::fatal(format!("in database {name}: {e}")))
}

/// Ensures the extensions in the tenant's database, as in the shard's: the global lock is taken on a
/// second connection of the same database (advisory locks are per database).
async fn ensure_extensions(pool: &PgPool, names: &[String], reporter: &dyn Reporter) -> Result<(), crate::EngineError> {
    use crate::error::Context;
    let mut conn = pool.acquire().await.context("connecting")?;
    extensions::ensure(pool, &mut conn, names, reporter).await
}

/// Drops the tenant's database, terminating any session still connected to it.
pub(crate) async fn drop_database(shard: &PgPool, database: &str) -> Result<(), sqlx::Error> {
    let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_ident(database));
    sqlx::raw_sql(AssertSqlSafe(sql)).execute(shard).await.map(|_| ())
}
