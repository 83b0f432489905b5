//! What `move-tenant` compares between the two copies of a tenant schema: its structure (as
//! `verify` reads it from the catalog), each table's row count and an order-independent checksum of
//! its rows, and each sequence's position. Each copy is read in one snapshot, with the settings that
//! shape a row's text fixed, so that two servers with other defaults still agree on equal data.
//!
//! The checksum adds up the `md5` of every row's text, as two 64-bit halves summed in `numeric`: the
//! order of the rows does not matter, nothing is sorted, and the server keeps two running sums
//! whatever the table's size (a sorted `string_agg` would hold 32 bytes per row in one value and
//! fail past about 30 million rows). A sum, unlike a xor, does not cancel out duplicated rows.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use sqlx::{AssertSqlSafe, PgPool, Row};

use crate::identity::quote_ident;
use crate::statements::query_scalar;
use crate::{EngineError, SchemaName, error::Context};

/// One table of a moved schema, as both copies hold it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableCheck {
    /// The table.
    pub table: String,
    /// Its rows.
    pub rows: i64,
    /// The checksum of its rows.
    pub checksum: String,
}

/// One copy of a schema, read in one snapshot.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Contents {
    structure: BTreeSet<String>,
    pub(crate) tables: Vec<TableCheck>,
    /// Each sequence's `last_value` and `is_called`.
    sequences: BTreeMap<String, (i64, bool)>,
}

impl Contents {
    /// What differs in `copy` from `self` (the source), in a few lines; empty when they agree.
    pub(crate) fn differences(&self, copy: &Contents) -> Vec<String> {
        let mut found = crate::verify::differences(&copy.structure, &self.structure);
        let tables = |c: &Contents| c.tables.iter().map(|t| (t.table.clone(), (t.rows, t.checksum.clone()))).collect();
        let (source, target): (BTreeMap<_, _>, BTreeMap<_, _>) = (tables(self), tables(copy));
        for (table, (rows, checksum)) in &source {
            match target.get(table) {
                None => found.push(format!("table {table} is missing from the copy")),
                Some((n, _)) if n != rows => found.push(format!("table {table}: {rows} rows, the copy has {n}")),
                Some((_, sum)) if sum != checksum => found.push(format!("table {table}: the rows' checksums differ")),
                Some(_) => {}
            }
        }
        found.extend(target.keys().filter(|t| !source.contains_key(*t)).map(|t| format!("table {t} only in the copy")));
        for (sequence, position) in &self.sequences {
            if copy.sequences.get(sequence) != Some(position) {
                found.push(format!(
                    "sequence {sequence}: position {position:?}, the copy has {:?}",
                    copy.sequences.get(sequence)
                ));
            }
        }
        found
    }
}

/// Reads one copy of `schema` on `pool`.
pub(crate) async fn read(pool: &PgPool, schema: &SchemaName) -> Result<Contents, EngineError> {
    let reading = format!("reading the contents of {schema}");
    let structure =
        crate::verify::structure(pool, &[schema.as_str()]).await?.remove(schema.as_str()).unwrap_or_default();
    let mut tx = pool.begin().await.context(reading.clone())?;
    sqlx::raw_sql(
        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY;
         SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL IntervalStyle = 'postgres';
         SET LOCAL extra_float_digits = 1; SET LOCAL bytea_output = 'hex'; SET LOCAL statement_timeout = 0",
    )
    .execute(&mut *tx)
    .await
    .context(reading.clone())?;
    let relations: Vec<(String, String)> = crate::statements::query_as(
        "SELECT c.relname::text, c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'S') ORDER BY c.relname",
    )
    .bind(schema.as_str())
    .fetch_all(&mut *tx)
    .await
    .context(reading.clone())?;
    let mut tables = Vec::new();
    let mut sequences = BTreeMap::new();
    for (name, kind) in relations {
        let relation = format!("{}.{}", schema.quoted(), quote_ident(&name));
        if kind == "S" {
            let sql = format!("SELECT last_value, is_called FROM {relation}");
            let row = sqlx::raw_sql(AssertSqlSafe(sql)).fetch_one(&mut *tx).await.context(reading.clone())?;
            let position = (row.try_get(0).context(reading.clone())?, row.try_get(1).context(reading.clone())?);
            sequences.insert(name, position);
            continue;
        }
        let half = |from: u8| format!("coalesce(sum(('x' || substr(h, {from}, 16))::bit(64)::bigint::numeric), 0)");
        let sql = format!(
            "SELECT count(*), {} || '/' || {} FROM (SELECT md5(t::text) AS h FROM {relation} t) rows",
            half(1),
            half(17)
        );
        let row =
            sqlx::raw_sql(AssertSqlSafe(sql)).fetch_one(&mut *tx).await.context(format!("checksumming {relation}"))?;
        tables.push(TableCheck {
            table: name,
            rows: row.try_get(0).context(reading.clone())?,
            checksum: row.try_get(1).context(reading.clone())?,
        });
    }
    tx.commit().await.context(reading)?;
    Ok(Contents { structure, tables, sequences })
}

/// Whether `schema` exists on `pool`.
pub(crate) async fn schema_exists(pool: &PgPool, schema: &SchemaName) -> Result<bool, EngineError> {
    crate::statements::in_transaction(pool, async |conn| {
        query_scalar("SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $1)")
            .bind(schema.as_str())
            .fetch_one(conn)
            .await
    })
    .await
    .context(format!("looking for schema {schema}"))
}
