//! Tracking tables: `public.tenantctl_master_migrations`, `public.tenantctl_shard_migrations` on each shard,
//! and each tenant's `<schema>.tenantctl_migrations`. One definition serves them all. Their statements
//! name the table, so each tenant's differ: they are never kept prepared (a statement cache would only churn).

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, PgConnection, Row};
use tenantctl_migrations::{AppliedMigration, Checksum, Migration, Version};

use crate::SchemaName;
use crate::statements::query;

/// A tracking table, by its qualified and quoted name.
#[derive(Debug, Clone)]
pub(crate) struct TrackingTable {
    qualified: String,
}

/// One row of a tracking table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AppliedRow {
    /// The version.
    pub version: Version,
    /// The migration's name.
    pub name: String,
    /// The checksum recorded when it was applied, hex.
    pub checksum: String,
    /// Its batch.
    pub batch: i32,
    /// When it was applied.
    pub applied_at: DateTime<Utc>,
    /// How long it took.
    pub duration_ms: i32,
}

impl AppliedRow {
    /// The planner's view of this row. A checksum that is not hex never matches a file.
    pub fn as_applied(&self) -> AppliedMigration {
        AppliedMigration {
            version: self.version,
            checksum: Checksum::from_hex(&self.checksum).unwrap_or_else(|| Checksum::of(self.checksum.as_bytes())),
            batch: self.batch,
        }
    }
}

/// A migration that ran, to be recorded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ran<'a> {
    pub(crate) migration: &'a Migration,
    pub(crate) elapsed: Duration,
}

impl TrackingTable {
    pub(crate) fn master() -> Self {
        Self { qualified: "public.tenantctl_master_migrations".to_owned() }
    }

    /// `shard_master_dir`'s table on every shard: apart from the master one, since the control
    /// database may be listed as a shard and then holds both.
    pub(crate) fn shard() -> Self {
        Self { qualified: "public.tenantctl_shard_migrations".to_owned() }
    }

    pub(crate) fn tenant(schema: &SchemaName) -> Self {
        Self { qualified: format!("{}.tenantctl_migrations", schema.quoted()) }
    }

    pub(crate) fn create_if_missing_sql(&self) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {} (
                 version bigint PRIMARY KEY,
                 name text NOT NULL,
                 checksum text NOT NULL,
                 batch integer NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT now(),
                 duration_ms integer NOT NULL)",
            self.qualified
        )
    }

    fn select_sql(&self) -> String {
        format!(
            "SELECT version, name, checksum, batch, applied_at, duration_ms FROM {} ORDER BY version",
            self.qualified
        )
    }

    /// Creates the table if needed and reads it, in one round trip.
    pub(crate) async fn ensure_and_read(&self, conn: &mut PgConnection) -> Result<Vec<AppliedRow>, sqlx::Error> {
        let sql = format!("{};\n{}", self.create_if_missing_sql(), self.select_sql());
        let rows = sqlx::raw_sql(AssertSqlSafe(sql)).fetch_all(conn).await?;
        rows.iter().map(row_to_applied).collect()
    }

    /// Reads the table; an empty list when it does not exist (read-only commands never create it).
    /// Plain SQL without parameters: one round trip each, in or out of a transaction.
    pub(crate) async fn read_if_exists(&self, conn: &mut PgConnection) -> Result<Vec<AppliedRow>, sqlx::Error> {
        let exists = format!("SELECT to_regclass('{}') IS NOT NULL", self.qualified.replace('\'', "''"));
        let exists: bool = sqlx::raw_sql(AssertSqlSafe(exists)).fetch_one(&mut *conn).await?.try_get(0)?;
        if !exists {
            return Ok(Vec::new());
        }
        let rows = sqlx::raw_sql(AssertSqlSafe(self.select_sql())).fetch_all(conn).await?;
        rows.iter().map(row_to_applied).collect()
    }

    /// Records migrations that ran, with one batch number, in one statement.
    pub(crate) async fn record(&self, conn: &mut PgConnection, ran: &[Ran<'_>], batch: i32) -> Result<(), sqlx::Error> {
        let sql = format!(
            "INSERT INTO {} (version, name, checksum, batch, duration_ms)
             SELECT v, n, c, $4, d FROM unnest($1::bigint[], $2::text[], $3::text[], $5::int[]) AS r(v, n, c, d)",
            self.qualified
        );
        let (versions, names, checksums, durations) = columns(ran);
        query(AssertSqlSafe(sql))
            .bind(versions)
            .bind(names)
            .bind(checksums)
            .bind(batch)
            .bind(durations)
            .execute(conn)
            .await?;
        Ok(())
    }

    /// Forgets reverted migrations.
    pub(crate) async fn forget(&self, conn: &mut PgConnection, versions: &[Version]) -> Result<(), sqlx::Error> {
        let sql = format!("DELETE FROM {} WHERE version = ANY($1)", self.qualified);
        let versions: Vec<i64> = versions.iter().map(|v| v.as_i64()).collect();
        query(AssertSqlSafe(sql)).bind(versions).execute(conn).await?;
        Ok(())
    }
}

/// The columns of a batch of migrations that ran, for `unnest` inserts.
pub(crate) fn columns(ran: &[Ran<'_>]) -> (Vec<i64>, Vec<String>, Vec<String>, Vec<i32>) {
    let versions = ran.iter().map(|r| r.migration.version.as_i64()).collect();
    let names = ran.iter().map(|r| r.migration.name.clone()).collect();
    let checksums = ran.iter().map(|r| r.migration.checksum.to_hex()).collect();
    let durations = ran.iter().map(|r| i32::try_from(r.elapsed.as_millis()).unwrap_or(i32::MAX)).collect();
    (versions, names, checksums, durations)
}

/// The next batch number after these rows.
pub(crate) fn next_batch(rows: &[AppliedRow]) -> i32 {
    rows.iter().map(|r| r.batch).max().unwrap_or(0) + 1
}

fn row_to_applied(row: &sqlx::postgres::PgRow) -> Result<AppliedRow, sqlx::Error> {
    let version: i64 = row.try_get("version")?;
    Ok(AppliedRow {
        version: Version::from_i64(version).ok_or_else(|| {
            sqlx::Error::Decode(format!("tracking table holds version {version}, which is not positive").into())
        })?,
        name: row.try_get("name")?,
        checksum: row.try_get("checksum")?,
        batch: row.try_get("batch")?,
        applied_at: row.try_get("applied_at")?,
        duration_ms: row.try_get("duration_ms")?,
    })
}
