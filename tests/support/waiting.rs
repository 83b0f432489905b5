//! Tests about concurrency: a transaction held open on its own connection (to make `tenantctl`
//! wait for a lock), and waiting for a state with a bounded deadline instead of sleeping.

use std::{
    thread,
    time::{Duration, Instant},
};

use sqlx::{AssertSqlSafe, Connection, PgConnection};

use super::{TestDb, db::block_on};

/// How long [`TestDb::eventually`] waits before failing the test.
const DEADLINE: Duration = Duration::from_secs(30);

/// An open transaction on its own connection; dropping it closes the connection, which rolls
/// the transaction back and releases its locks.
#[derive(Debug)]
pub struct HeldTransaction(Option<PgConnection>);

impl Drop for HeldTransaction {
    fn drop(&mut self) {
        if let Some(connection) = self.0.take() {
            let _ = block_on(connection.close());
        }
    }
}

impl TestDb {
    /// Begins a transaction, runs `sql` in it (e.g. `LOCK TABLE ...`) and keeps it open.
    pub fn hold(&self, sql: &str) -> HeldTransaction {
        hold_at(self.url(), sql)
    }

    /// Like [`TestDb::hold`], in another database of this test's server (a tenant's own database).
    pub fn hold_in(&self, database: &str, sql: &str) -> HeldTransaction {
        hold_at(&super::server::with_database(self.url(), database), sql)
    }

    /// Waits until `condition` holds, checking every 20 ms, and fails the test after 30 s.
    #[track_caller]
    pub fn eventually(&self, what: &str, condition: impl Fn(&Self) -> bool) {
        let deadline = Instant::now() + DEADLINE;
        while !condition(self) {
            assert!(Instant::now() < deadline, "{what}: not within {DEADLINE:?}");
            thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Begins a transaction on a connection of its own to `url`, runs `sql` in it and keeps it open.
fn hold_at(url: &str, sql: &str) -> HeldTransaction {
    let connection = block_on(async {
        let mut connection = PgConnection::connect(url).await?;
        sqlx::raw_sql(AssertSqlSafe(format!("BEGIN; {sql}"))).execute(&mut connection).await?;
        Ok::<_, sqlx::Error>(connection)
    })
    .unwrap_or_else(|e| panic!("BEGIN; {sql}: {e}"));
    HeldTransaction(Some(connection))
}

impl TestDb {
    /// Runs `sql` outside any transaction on a connection of its own and keeps that session open
    /// (e.g. to hold a session-level advisory lock, which holds no snapshot); dropping it ends the
    /// session and releases what it held.
    pub fn hold_session(&self, sql: &str) -> HeldTransaction {
        let connection = block_on(async {
            let mut connection = PgConnection::connect(self.url()).await?;
            sqlx::raw_sql(AssertSqlSafe(sql.to_owned())).execute(&mut connection).await?;
            Ok::<_, sqlx::Error>(connection)
        })
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
        HeldTransaction(Some(connection))
    }
}
