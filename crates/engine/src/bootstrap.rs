//! The tool's own tables in `public`, created and upgraded in numbered steps under the global lock,
//! so that re-running them on an up-to-date database takes no lock on `public.tenants`.

use sqlx::{Acquire, PgConnection, Row};

use crate::statements::query;
use crate::{EngineError, error::Context};

/// Each step runs once, in order, in one transaction with the record of it.
const STEPS: &[&str] = &[
    r#"
CREATE TABLE public.tenants (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id         text NOT NULL UNIQUE,
    schema_name    text NOT NULL UNIQUE,
    status         text NOT NULL DEFAULT 'PROVISIONING'
                   CHECK (status IN ('PROVISIONING', 'ACTIVE', 'FAILED', 'ARCHIVED')),
    shard          text NOT NULL DEFAULT 'default',
    schema_version bigint,
    migration_count integer,
    last_error     text,
    created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at     timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX tenants_status_order_idx ON public.tenants (status, created_at, id);
COMMENT ON COLUMN public.tenants.schema_version IS
    'newest tenant migration applied (mirror of the tenant tracking table; never ahead of it; NULL = unknown)';
COMMENT ON COLUMN public.tenants.migration_count IS 'number of tenant migrations applied (mirror)';
CREATE TABLE public.tenantctl_master_migrations (
    version     bigint PRIMARY KEY,
    name        text NOT NULL,
    checksum    text NOT NULL,
    batch       integer NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now(),
    duration_ms integer NOT NULL
);
CREATE TABLE public.tenantctl_tenant_migrations (
    version          bigint PRIMARY KEY,
    name             text NOT NULL,
    checksum         text NOT NULL,
    first_applied_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE public.tenantctl_runs (
    id           uuid PRIMARY KEY,
    command      text NOT NULL,
    arguments    jsonb NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at  timestamptz,
    succeeded    integer,
    failed       integer,
    skipped      integer,
    outcome      text,
    allow_unsafe boolean NOT NULL DEFAULT false,
    os_user      text,
    host         text
);
"#,
    r#"
ALTER TABLE public.tenants ADD COLUMN note text;
COMMENT ON COLUMN public.tenants.note IS 'operator-facing notes, e.g. when the schema of an ARCHIVED tenant was dropped';
"#,
    r#"
ALTER TABLE public.tenants ADD COLUMN role_name text;
COMMENT ON COLUMN public.tenants.role_name IS
    'the tenant''s own role (provision-tenant --create-role): its migrations run as it; NULL = as the connecting user';
"#,
    r#"
ALTER TABLE public.tenants DROP CONSTRAINT tenants_status_check;
ALTER TABLE public.tenants ADD CONSTRAINT tenants_status_check
    CHECK (status IN ('PROVISIONING', 'ACTIVE', 'FAILED', 'ARCHIVED', 'MOVING'));
ALTER TABLE public.tenants ADD COLUMN moving_to text;
ALTER TABLE public.tenants ADD COLUMN moved_from text;
COMMENT ON COLUMN public.tenants.moving_to IS
    'the shard a MOVING tenant is being copied to (move-tenant); NULL when no move is in progress';
COMMENT ON COLUMN public.tenants.moved_from IS
    'the shard that still holds the copy an earlier move-tenant left behind (dropped by move-tenant --drop-source)';
"#,
    r#"
ALTER TABLE public.tenants ADD COLUMN database_name text, ADD COLUMN database_schema text,
    ADD CONSTRAINT tenants_database_schema_check CHECK ((database_name IS NULL) = (database_schema IS NULL));
COMMENT ON COLUMN public.tenants.database_name IS
    'database isolation: the tenant''s own database on its shard; NULL = schema isolation (schema_name in the shard''s database)';
COMMENT ON COLUMN public.tenants.database_schema IS
    'database isolation: the schema inside database_name that holds the tenant''s migrations and tracking table';
"#,
];

/// The bootstrap step that adds `database_name` and `database_schema` (database isolation).
pub(crate) const DATABASE_ISOLATION: i32 = 5;

/// The newest bootstrap version this build knows.
pub(crate) fn latest() -> i32 {
    i32::try_from(STEPS.len()).unwrap_or(i32::MAX)
}

/// The bootstrap version of the database: 0 when tenantctl never ran there.
pub(crate) async fn current(conn: &mut PgConnection) -> Result<i32, EngineError> {
    let reading = "reading the bootstrap version";
    let exists = sqlx::raw_sql("SELECT to_regclass('public.tenantctl_bootstrap') IS NOT NULL")
        .fetch_one(&mut *conn)
        .await
        .and_then(|row| row.try_get::<bool, _>(0))
        .context(reading)?;
    if !exists {
        return Ok(0);
    }
    sqlx::raw_sql("SELECT coalesce(max(version), 0) FROM public.tenantctl_bootstrap")
        .fetch_one(conn)
        .await
        .and_then(|row| row.try_get(0))
        .context(reading)
}

/// Refuses to work on a database whose bootstrap is missing, older or newer than this build's.
pub(crate) async fn require(conn: &mut PgConnection) -> Result<(), EngineError> {
    match current(conn).await? {
        0 => Err(EngineError::NotBootstrapped("the tenant registry does not exist in this database".into())),
        v if v < latest() => Err(EngineError::NotBootstrapped(format!(
            "the registry is at bootstrap version {v}, older than {}",
            latest()
        ))),
        v if v > latest() => Err(EngineError::BootstrapTooNew { found: v, known: latest() }),
        _ => Ok(()),
    }
}

/// Applies the missing steps. The caller holds the global lock. Returns how many ran.
pub(crate) async fn upgrade(conn: &mut PgConnection) -> Result<usize, EngineError> {
    let current = current(conn).await?;
    if current > latest() {
        return Err(EngineError::BootstrapTooNew { found: current, known: latest() });
    }
    if current == latest() {
        return Ok(0);
    }
    let mut tx = conn.begin().await.context("starting the bootstrap")?;
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS public.tenantctl_bootstrap (
             version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
    )
    .execute(&mut *tx)
    .await
    .context("creating public.tenantctl_bootstrap")?;
    let pending: Vec<(i32, &str)> =
        STEPS.iter().enumerate().map(|(i, sql)| (i32::try_from(i).unwrap_or(i32::MAX) + 1, *sql)).collect();
    let mut ran = 0;
    for (version, sql) in pending.into_iter().filter(|(v, _)| *v > current) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut *tx).await.context(format!("bootstrap step {version}"))?;
        query("INSERT INTO public.tenantctl_bootstrap (version) VALUES ($1)")
            .bind(version)
            .execute(&mut *tx)
            .await
            .context("recording the bootstrap step")?;
        ran += 1;
    }
    tx.commit().await.context("committing the bootstrap")?;
    Ok(ran)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_isolation_step_is_the_one_adding_its_columns() {
        let step = usize::try_from(DATABASE_ISOLATION - 1).expect("a step number");
        assert!(STEPS[step].contains("ADD COLUMN database_name"), "renumbered? {}", STEPS[step]);
    }
}
