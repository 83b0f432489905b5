//! How statements are sent, so that they work on a direct connection and behind a transaction pooler
//! alike (PgBouncer with `pool_mode = transaction`, which lends a client a server connection for one
//! transaction at a time):
//!
//! - A statement with parameters is sent inside an explicit transaction. sqlx sends its Parse and its
//!   Bind in two round trips; outside a transaction a pooler may hand the server connection to another
//!   client in between, and the Bind then runs whatever that client prepared last (measured through
//!   PgBouncer 1.18: half the statements of 16 clients ran another client's SQL). Outside
//!   transactions tenantctl sends plain SQL only (`raw_sql`: one simple-protocol message).
//! - Statements are unnamed ([`query`], [`query_as`], [`query_scalar`]): a named prepared statement
//!   lives on one server connection, and a pooler gives the next transaction another. The few run
//!   once per tenant step are kept prepared on a direct connection, where that saves a round trip
//!   each ([`crate::RunSettings::keep_prepared`]); statements that name a tenant's schema are
//!   different for every tenant and never worth keeping.
//!
//! No-transaction migrations are the exception: they need a session of their own, so they are refused
//! behind a transaction pooler ([`crate::RunSettings::check_sessions`]) and run on direct connections only.

use sqlx::postgres::{PgArguments, PgConnection, PgPool, PgRow};
use sqlx::query::{Query, QueryAs, QueryScalar};
use sqlx::{Acquire, FromRow, Postgres, SqlSafeStr};

use crate::RunSettings;

/// A statement, unnamed.
#[expect(clippy::disallowed_methods, reason = "the one place sqlx's constructor is called")]
pub(crate) fn query<'q>(sql: impl SqlSafeStr) -> Query<'q, Postgres, PgArguments> {
    sqlx::query(sql).persistent(false)
}

/// A statement whose rows become `O`, unnamed.
#[expect(clippy::disallowed_methods, reason = "the one place sqlx's constructor is called")]
pub(crate) fn query_as<'q, O>(sql: impl SqlSafeStr) -> QueryAs<'q, Postgres, O, PgArguments>
where
    O: for<'r> FromRow<'r, PgRow>,
{
    sqlx::query_as(sql).persistent(false)
}

/// A statement whose rows are one value each, unnamed.
#[expect(clippy::disallowed_methods, reason = "the one place sqlx's constructor is called")]
pub(crate) fn query_scalar<'q, O>(sql: impl SqlSafeStr) -> QueryScalar<'q, Postgres, O, PgArguments>
where
    (O,): for<'r> FromRow<'r, PgRow>,
{
    sqlx::query_scalar(sql).persistent(false)
}

/// Runs `work` in a short transaction of its own (on a pooled connection, or on `conn`), committed
/// when it succeeds: the way to send statements with parameters outside the tenant transactions.
pub(crate) async fn in_transaction<'a, T>(
    on: impl Acquire<'a, Database = Postgres>,
    work: impl AsyncFnOnce(&mut PgConnection) -> Result<T, sqlx::Error>,
) -> Result<T, sqlx::Error> {
    let mut tx = on.begin().await?;
    let value = work(&mut tx).await?;
    tx.commit().await?;
    Ok(value)
}

/// Runs `work`, statements run once per tenant outside its transactions (registering it), on a pooled
/// connection: as they are on a direct connection, where a kept statement takes one round trip;
/// behind a transaction pooler in a transaction of its own (four round trips).
pub(crate) async fn per_tenant<T>(
    pool: &PgPool,
    settings: &RunSettings,
    work: impl AsyncFnOnce(&mut PgConnection) -> Result<T, sqlx::Error>,
) -> Result<T, sqlx::Error> {
    if settings.transaction_pooler {
        return in_transaction(pool, work).await;
    }
    work(&mut *pool.acquire().await?).await
}
