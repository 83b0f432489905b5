//! The whole tenant world at once, for tests that interrupt, race or break `tenantctl`: every
//! registry row beside its schema and tracking table, the sessions `tenantctl` still holds, and
//! polling for a state with a bounded deadline (never a sleep standing in for a state).

use std::{
    collections::BTreeMap,
    thread,
    time::{Duration, Instant},
};

use serde_json::Value;

use super::TestDb;

/// One registry row, and what its schema really holds.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantState {
    /// The org id, as stored.
    pub org_id: String,
    /// The registry's schema name.
    pub schema: String,
    /// PROVISIONING, ACTIVE, FAILED or ARCHIVED.
    pub status: String,
    /// The registry's mirror of the newest applied version.
    pub schema_version: Option<i64>,
    /// The registry's mirror of the number of applied migrations.
    pub migration_count: Option<i64>,
    /// Whether the schema exists.
    pub schema_exists: bool,
    /// The versions in the schema's tracking table, ascending; `None` without a tracking table.
    pub tracked: Option<Vec<i64>>,
}

impl TenantState {
    /// Whether the registry mirror says exactly what the tracking table holds (a tenant without a
    /// tracking table must have an empty mirror).
    pub fn mirror_agrees(&self) -> bool {
        let tracked = self.tracked.as_deref().unwrap_or_default();
        let newest = tracked.iter().max().copied();
        let count = i64::try_from(tracked.len()).expect("a small count");
        let mirrored_count = self.migration_count.unwrap_or(0);
        self.schema_version == newest && mirrored_count == count
    }
}

/// How long [`TestDb::poll_until`] waits before failing the test.
const POLL_DEADLINE: Duration = Duration::from_secs(60);
/// How often [`TestDb::poll_until`] looks: often enough to stop a run within a tenant or two.
const POLL_EVERY: Duration = Duration::from_millis(5);

impl TestDb {
    /// Every registry row (in registry order) with its schema's real state.
    pub fn tenant_states(&self) -> Vec<TenantState> {
        let registry = self.rows(
            "select org_id, schema_name, status, schema_version, migration_count::bigint as migration_count, \
             exists (select from pg_namespace where nspname = schema_name) as schema_exists \
             from public.tenants order by created_at, id",
        );
        let schemas: Vec<String> =
            registry.iter().map(|r| r["schema_name"].as_str().expect("schema_name").to_owned()).collect();
        let tracked = self.tracked_versions(&schemas);
        registry
            .into_iter()
            .map(|r| {
                let schema = r["schema_name"].as_str().expect("schema_name").to_owned();
                TenantState {
                    org_id: r["org_id"].as_str().expect("org_id").to_owned(),
                    status: r["status"].as_str().expect("status").to_owned(),
                    schema_version: r["schema_version"].as_i64(),
                    migration_count: r["migration_count"].as_i64(),
                    schema_exists: r["schema_exists"].as_bool().expect("schema_exists"),
                    tracked: tracked.get(&schema).cloned(),
                    schema,
                }
            })
            .collect()
    }

    /// The versions of each of `schemas`' tracking tables, for those that have one.
    pub fn tracked_versions(&self, schemas: &[String]) -> BTreeMap<String, Vec<i64>> {
        let with_table = self.schemas_having(schemas, "tenantctl_migrations");
        let rows = self.over_schemas(&with_table, "select version from {schema}.tenantctl_migrations");
        let mut out: BTreeMap<String, Vec<i64>> = with_table.iter().map(|s| (s.clone(), Vec::new())).collect();
        for row in rows {
            let schema = row["schema"].as_str().expect("schema").to_owned();
            out.entry(schema).or_default().push(row["version"].as_i64().expect("version"));
        }
        for versions in out.values_mut() {
            versions.sort_unstable();
        }
        out
    }

    /// Those of `schemas` that hold a relation named `relation`.
    pub fn schemas_having(&self, schemas: &[String], relation: &str) -> Vec<String> {
        let list = serde_json::to_string(schemas).expect("schema names as JSON");
        self.column(&format!(
            "select n.nspname::text from pg_class c join pg_namespace n on n.oid = c.relnamespace \
             where c.relname = '{relation}' and n.nspname in \
             (select json_array_elements_text('{}'::json)) order by 1",
            list.replace('\'', "''")
        ))
    }

    /// `sql` (with `{schema}` standing for each schema, quoted) run over every schema of
    /// `schemas` in one query; each row as a JSON object with the schema's name added as `schema`.
    pub fn over_schemas(&self, schemas: &[String], sql: &str) -> Vec<Value> {
        let mut rows = Vec::new();
        // A few hundred tenants a query keeps the statement and its locks small.
        for chunk in schemas.chunks(200) {
            let union = chunk
                .iter()
                .map(|s| {
                    let part = sql.replace("{schema}", &format!("\"{s}\""));
                    format!("select '{s}'::text as schema, q.* from ({part}) q")
                })
                .collect::<Vec<_>>()
                .join(" union all ");
            rows.extend(self.rows(&union));
        }
        rows
    }

    /// The schemas whose names start with `prefix`, sorted.
    pub fn schemas_named(&self, prefix: &str) -> Vec<String> {
        self.column(&format!(
            "select nspname::text from pg_namespace where starts_with(nspname, '{prefix}') order by 1"
        ))
    }

    /// How many sessions of `tenantctl` are connected to this database.
    pub fn tenantctl_sessions(&self) -> i64 {
        self.scalar(
            "select count(*) from pg_stat_activity where datname = current_database() \
             and starts_with(application_name, 'tenantctl/') and pid <> pg_backend_pid()",
        )
    }

    /// After a `kill -9`: waits until the server has noticed and ended every session of the killed
    /// process (each rolls back its open transaction and releases its advisory locks).
    #[track_caller]
    pub fn wait_until_tenantctl_is_gone(&self) {
        self.poll_until("the killed tenantctl's sessions end", |db| db.tenantctl_sessions() == 0);
    }

    /// Waits until `condition` holds, checking every 5 ms, and fails the test after 60 s.
    #[track_caller]
    pub fn poll_until(&self, what: &str, mut condition: impl FnMut(&Self) -> bool) {
        let deadline = Instant::now() + POLL_DEADLINE;
        while !condition(self) {
            assert!(Instant::now() < deadline, "{what}: not within {POLL_DEADLINE:?}");
            thread::sleep(POLL_EVERY);
        }
    }

    /// How many tenants the registry shows with `status` and at least `version` applied.
    pub fn tenants_at(&self, status: &str, version: i64) -> i64 {
        self.scalar(&format!(
            "select count(*) from public.tenants where status = '{status}' and coalesce(schema_version, 0) >= {version}"
        ))
    }
}
