//! Steps and facts of the tenant world that many tests share: setting up, provisioning, the
//! schema name of an org, what the registry and the tracking tables say.

use serde_json::Value;

use super::TestDb;

/// `count` distinct org ids, `org-001`, `org-002`, ...
pub fn org_ids(count: usize) -> Vec<String> {
    (1..=count).map(|i| format!("org-{i:03}")).collect()
}

impl TestDb {
    /// `migrate-master`, which must succeed.
    pub fn migrate_master(&self) {
        self.tenantctl(&["migrate-master"]).succeeds();
    }

    /// `provision-tenant <orgs>`, which must succeed.
    pub fn provision<S: AsRef<str>>(&self, orgs: &[S]) {
        let mut args = vec!["provision-tenant"];
        args.extend(orgs.iter().map(AsRef::as_ref));
        self.tenantctl(&args).succeeds();
    }

    /// `migrate-master` then `provision-tenant <orgs>`: tenants at the fixture's migrations.
    pub fn with_tenants<S: AsRef<str>>(self, orgs: &[S]) -> Self {
        self.migrate_master();
        self.provision(orgs);
        self
    }

    /// `TestDb::new()` with `orgs` provisioned at tenant migrations 0001-0003, and 0004-0005
    /// written since: every tenant is behind.
    pub fn with_tenants_behind<S: AsRef<str>>(orgs: &[S]) -> Self {
        let db = Self::new().with_tenants(orgs);
        db.write_next_tenant_migrations();
        db
    }

    /// New tenant migrations are written: the basic fixture's `tenant_migrations_next/`
    /// (0004_tasks, 0005_tasks_due_on) joins `tenant_migrations/`.
    pub fn write_next_tenant_migrations(&self) {
        self.merge("tenant_migrations_next", "tenant_migrations");
    }

    /// A new master migration is written: `master_migrations_next/` (0003_plan_limits) joins
    /// `master_migrations/`.
    pub fn write_next_master_migration(&self) {
        self.merge("master_migrations_next", "master_migrations");
    }

    /// Makes `0004_tasks` fail for `org` alone: its schema already holds a `tasks` table.
    pub fn break_0004_for(&self, org: &str) {
        self.in_schema_of(org, "CREATE TABLE tasks (id integer)");
    }

    /// The schema tenantctl derives for `org`: `tid_` and the first 10 hex digits of
    /// SHA-256(org id), computed here by PostgreSQL, independently of the binary.
    pub fn schema_for(&self, org: &str) -> String {
        self.scalar_with("select 'tid_' || left(encode(sha256(convert_to($1, 'UTF8')), 'hex'), 10)", org)
    }

    /// The registry row of `org` as a JSON object (`Value::Null` when it has none).
    pub fn tenant(&self, org: &str) -> Value {
        self.scalar_with::<Option<String>>(
            "select (select to_json(t)::text from public.tenants t where org_id = $1)",
            org,
        )
        .map_or(Value::Null, |json| serde_json::from_str(&json).expect("to_json returns JSON"))
    }

    /// The registry status of `org` (`ACTIVE`, `FAILED`, ...).
    #[track_caller]
    pub fn status_of(&self, org: &str) -> String {
        let tenant = self.tenant(org);
        tenant["status"].as_str().unwrap_or_else(|| panic!("{org} is not in the registry: {tenant}")).to_owned()
    }

    /// The versions recorded in `org`'s tracking table, ascending.
    pub fn applied(&self, org: &str) -> Vec<i64> {
        let schema = self.schema_for(org);
        self.column(&format!("select version from {schema}.tenantctl_migrations order by 1"))
    }

    /// The versions recorded in the master tracking table, ascending.
    pub fn master_applied(&self) -> Vec<i64> {
        self.column("select version from public.tenantctl_master_migrations order by 1")
    }

    /// Whether a table, view or index exists (`name` as in SQL, e.g. `public.plans`).
    pub fn exists(&self, name: &str) -> bool {
        self.scalar_with("select to_regclass($1) is not null", name)
    }

    /// Runs SQL in `org`'s schema (unqualified names resolve there), e.g. to break a tenant.
    pub fn in_schema_of(&self, org: &str, sql: &str) {
        let schema = self.schema_for(org);
        self.execute(&format!("begin; set local search_path to {schema}; {sql}; commit;"));
    }

    /// The org ids of the registry in registry order (oldest first).
    pub fn registry_order(&self) -> Vec<String> {
        self.column("select org_id from public.tenants order by created_at, id")
    }
}
