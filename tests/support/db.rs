//! `TestDb`: a fresh database and project directory per test, SQL helpers for assertions, and
//! the database kept (its name printed) when the test fails.
#![expect(
    clippy::disallowed_methods,
    reason = "the harness reads the test database directly, never through a pooler: sqlx's defaults are fine"
)]

use std::{
    path::Path,
    sync::{
        OnceLock,
        atomic::{AtomicUsize, Ordering},
    },
};

use serde_json::Value;
use sqlx::{AssertSqlSafe, Connection, Decode, PgConnection, PgPool, Postgres, Type, postgres::PgPoolOptions};
use tempfile::TempDir;

use super::{
    cli::Tenantctl,
    server::{redacted, server_url, with_database},
};

/// One test's database on a test server (the shared one unless said otherwise), and its project
/// directory (a copy of a fixture).
#[derive(Debug)]
pub struct TestDb {
    /// The URL of the server's maintenance database.
    server: &'static str,
    name: String,
    url: String,
    pool: PgPool,
    project: Option<TempDir>,
}

impl TestDb {
    /// A fresh database and a project made from `tests/fixtures/basic`.
    pub fn new() -> Self {
        Self::with_fixture("basic")
    }

    /// A fresh database and a project made from `tests/fixtures/<scenario>`.
    pub fn with_fixture(scenario: &str) -> Self {
        Self::with_fixture_on(server_url(), scenario)
    }

    /// A fresh database on the server `server` (the URL of its maintenance database), and a project
    /// made from `tests/fixtures/<scenario>`.
    pub fn with_fixture_on(server: &'static str, scenario: &str) -> Self {
        let db = Self::blank(server);
        super::project::copy_dir(&repository().join("tests/fixtures").join(scenario), db.project());
        db
    }

    /// A fresh database and a project holding the repository's example migrations.
    pub fn with_examples() -> Self {
        let db = Self::blank(server_url());
        for dir in ["master_migrations", "tenant_migrations"] {
            super::project::copy_dir(&repository().join(dir), &db.project().join(dir));
        }
        db
    }

    /// A fresh database on the server `server`, with an empty project directory.
    pub(super) fn blank(server: &'static str) -> Self {
        let name = unique_name();
        let url = with_database(server, &name);
        let pool = block_on(async {
            let mut admin = PgConnection::connect(server).await?;
            sqlx::raw_sql(AssertSqlSafe(format!("create database \"{name}\""))).execute(&mut admin).await?;
            admin.close().await?;
            PgPoolOptions::new().max_connections(2).connect(&url).await
        })
        .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
        let project =
            tempfile::Builder::new().prefix("tenantctl-test-project-").tempdir().expect("create the project directory");
        Self { server, name, url, pool, project: Some(project) }
    }

    /// The name of this test's database.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The URL of this test's database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The project directory: the working directory of every `tenantctl` run.
    pub fn project(&self) -> &Path {
        self.project.as_ref().expect("project directory").path()
    }

    /// `tenantctl <args>` in the project directory against this database, to adjust before running.
    pub fn command(&self, args: &[&str]) -> Tenantctl {
        Tenantctl::new(self.project(), args).env("DATABASE_URL", &self.url)
    }

    /// Runs `tenantctl <args>` in the project directory against this database.
    pub fn tenantctl(&self, args: &[&str]) -> super::Output {
        self.command(args).run()
    }

    /// Runs SQL (several statements allowed) and panics on error.
    pub fn execute(&self, sql: &str) {
        self.try_execute(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Runs SQL (several statements allowed) and returns the error, e.g. for cleanup in `Drop`.
    pub fn try_execute(&self, sql: &str) -> Result<(), sqlx::Error> {
        block_on(sqlx::raw_sql(AssertSqlSafe(sql.to_owned())).execute(&self.pool)).map(|_| ())
    }

    /// The single `bigint` of a query run as `role` (`SET LOCAL ROLE` in a transaction that is rolled
    /// back), or the database's error message: what a tenant's role may and may not do.
    pub fn scalar_as(&self, role: &str, sql: &str) -> Result<i64, String> {
        block_on(async {
            let mut tx = self.pool.begin().await?;
            sqlx::query("select set_config('role', $1, true)").bind(role).execute(&mut *tx).await?;
            let result = sqlx::query_scalar(AssertSqlSafe(sql.to_owned())).fetch_one(&mut *tx).await;
            tx.rollback().await?;
            result
        })
        .map_err(|e| e.to_string())
    }

    /// The single value of a query returning one row and one column.
    pub fn scalar<T>(&self, sql: &str) -> T
    where
        T: for<'r> Decode<'r, Postgres> + Type<Postgres> + Send + Unpin,
    {
        block_on(sqlx::query_scalar(AssertSqlSafe(sql.to_owned())).fetch_one(&self.pool))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Like [`TestDb::scalar`] with one text parameter bound to `$1`.
    pub fn scalar_with<T>(&self, sql: &str, param: &str) -> T
    where
        T: for<'r> Decode<'r, Postgres> + Type<Postgres> + Send + Unpin,
    {
        block_on(sqlx::query_scalar(AssertSqlSafe(sql.to_owned())).bind(param).fetch_one(&self.pool))
            .unwrap_or_else(|e| panic!("{sql} with {param:?}: {e}"))
    }

    /// The rows of a query, each as a JSON object keyed by column name, in the query's order.
    pub fn rows(&self, sql: &str) -> Vec<Value> {
        let json: String = self.scalar(&format!("select coalesce(json_agg(q)::text, '[]') from ({sql}) q"));
        serde_json::from_str(&json).expect("json_agg returns JSON")
    }

    /// The rows of a query in another database of this test's server (a tenant's own database), each
    /// as a JSON object, on a connection of their own closed after it.
    pub fn rows_in(&self, database: &str, sql: &str) -> Vec<Value> {
        let wrapped = format!("select coalesce(json_agg(q)::text, '[]') from ({sql}) q");
        let json: String = self.in_database(database, async |conn| {
            sqlx::query_scalar(AssertSqlSafe(wrapped.clone())).fetch_one(conn).await
        });
        serde_json::from_str(&json).expect("json_agg returns JSON")
    }

    /// Runs SQL (several statements allowed) in another database of this test's server.
    pub fn execute_in(&self, database: &str, sql: &str) {
        self.in_database(database, async |conn| sqlx::raw_sql(AssertSqlSafe(sql.to_owned())).execute(conn).await);
    }

    fn in_database<T>(&self, database: &str, work: impl AsyncFnOnce(&mut PgConnection) -> Result<T, sqlx::Error>) -> T {
        let url = with_database(&self.url, database);
        block_on(async {
            let mut conn = PgConnection::connect(&url).await?;
            let value = work(&mut conn).await;
            conn.close().await?;
            value
        })
        .unwrap_or_else(|e| panic!("in database {database}: {e}"))
    }

    /// The first column of every row.
    pub fn column<T>(&self, sql: &str) -> Vec<T>
    where
        T: for<'r> Decode<'r, Postgres> + Type<Postgres> + Send + Unpin,
    {
        block_on(sqlx::query_scalar(AssertSqlSafe(sql.to_owned())).fetch_all(&self.pool))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let project = self.project.take().map(TempDir::keep);
            eprintln!(
                "test failed: database `{}` kept ({}), project directory {}. A throwaway cluster \
                 is deleted when the tests end unless TEST_KEEP_CLUSTER=1.",
                self.name,
                redacted(&self.url),
                project.map_or_else(String::new, |p| p.display().to_string()),
            );
            return;
        }
        let pool = self.pool.clone();
        let name = self.name.clone();
        let server = self.server;
        block_on(async move {
            pool.close().await;
            let mut admin = PgConnection::connect(server).await?;
            sqlx::raw_sql(AssertSqlSafe(format!("drop database \"{name}\" with (force)"))).execute(&mut admin).await?;
            admin.close().await
        })
        .unwrap_or_else(|e| panic!("cannot drop test database {}: {e}", self.name));
    }
}

fn repository() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs a future on the harness's runtime, shared by all tests.
pub fn block_on<F: Future>(future: F) -> F::Output {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime")
        })
        .block_on(future)
}

/// A database name unique in this run and across runs sharing a server: the process id, a
/// counter and the test's name (libtest names each test's thread after the test).
fn unique_name() -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let thread = std::thread::current();
    let test: String = thread
        .name()
        .unwrap_or("test")
        .rsplit("::")
        .next()
        .unwrap_or("test")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
        .collect();
    let mut name = format!("t{}_{n}_{test}", std::process::id());
    name.truncate(63);
    name
}
