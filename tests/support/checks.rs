//! Facts about one tenant or one run that the rollout, gate and no-transaction tests assert:
//! a tenant's whole picture (to prove it untouched), index validity, and the audit trail in
//! `public.tenantctl_runs`.

use serde_json::Value;

use super::TestDb;

impl TestDb {
    /// Everything tenantctl keeps about `org`: its registry row, every row of its tracking table
    /// and the relations of its schema. Equal before and after a run: the run did not touch it.
    pub fn tenant_picture(&self, org: &str) -> Value {
        let schema = self.schema_for(org);
        let tracking = match self.exists(&format!("{schema}.tenantctl_migrations")) {
            true => Value::from(self.rows(&format!("select * from {schema}.tenantctl_migrations t order by version"))),
            false => Value::Null,
        };
        let relations: Vec<String> = self.column(&format!(
            "select format('%s %s', relname, relkind) from pg_class c join pg_namespace n \
             on n.oid = c.relnamespace where nspname = '{schema}' order by 1"
        ));
        serde_json::json!({"registry": self.tenant(org), "tracking": tracking, "relations": relations})
    }

    /// Whether the index `schema.name` is valid (`pg_index.indisvalid`); `None` when it does not exist.
    pub fn index_valid(&self, qualified: &str) -> Option<bool> {
        self.scalar_with("select (select indisvalid from pg_index where indexrelid = to_regclass($1))", qualified)
    }

    /// The row of `public.tenantctl_runs` with the id `run_id`, as a JSON object.
    #[track_caller]
    pub fn run_row(&self, run_id: &str) -> Value {
        let rows = self.rows(&format!("select * from public.tenantctl_runs where id::text = '{run_id}'"));
        assert_eq!(rows.len(), 1, "run {run_id} is not in public.tenantctl_runs once: {rows:?}");
        rows.into_iter().next().expect("one row")
    }

    /// The commands recorded in `public.tenantctl_runs`, oldest first.
    pub fn recorded_commands(&self) -> Vec<String> {
        self.column("select command from public.tenantctl_runs order by started_at, id")
    }
}
