//! A picture of everything `tenantctl` manages in a database, to assert that a refused command
//! changed nothing: schemas, relations, extensions, the registry and every tracking table.

use std::collections::BTreeMap;

use serde_json::Value;

use super::TestDb;

/// The state of a test database; compare two with `assert_eq!`.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot(BTreeMap<String, Value>);

impl Snapshot {
    /// The same picture without the audit trail (`public.tenantctl_runs`), for commands that
    /// change nothing but still record that they ran.
    pub fn without_runs(mut self) -> Self {
        self.0.remove("public.tenantctl_runs");
        self
    }
}

/// Tables whose rows are part of the picture: the tool's own, wherever they are.
const TRACKED: &str = "(table_schema = 'public' and table_name in ('tenants', \
     'tenantctl_master_migrations', 'tenantctl_shard_migrations', 'tenantctl_tenant_migrations', \
     'tenantctl_runs')) \
     or table_name = 'tenantctl_migrations'";

impl TestDb {
    /// Takes a [`Snapshot`].
    pub fn snapshot(&self) -> Snapshot {
        let mut state = BTreeMap::new();
        let user = "!~ '^pg_' and nspname <> 'information_schema'";
        let lists = [
            ("schemas", format!("select nspname from pg_namespace where nspname {user} order by 1")),
            (
                "relations",
                format!(
                    "select format('%s.%s %s', nspname, relname, relkind) from pg_class c \
                     join pg_namespace n on n.oid = c.relnamespace where nspname {user} order by 1"
                ),
            ),
            ("extensions", "select extname from pg_extension order by 1".to_owned()),
        ];
        for (key, sql) in lists {
            state.insert(key.to_owned(), Value::from(self.column::<String>(&sql)));
        }
        let tables: Vec<String> = self.column(&format!(
            "select format('%I.%I', table_schema, table_name) from information_schema.tables \
             where {TRACKED} order by 1"
        ));
        for table in tables {
            let rows = self.rows(&format!("select * from {table} t order by t::text"));
            state.insert(table, Value::from(rows));
        }
        Snapshot(state)
    }
}
