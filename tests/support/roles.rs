//! Roles for the tests of tenant roles. Roles are cluster-wide, and the cluster is shared by every test
//! of the run (with `TEST_DATABASE_URL`, by other runs too): their names are unique to the test and the
//! process, and a guard drops them when the test ends, passing or failing.

use super::TestDb;

/// Drops the roles it names when it goes out of scope (declare it after the `TestDb`). What they own
/// is handed to the test's superuser first, so a failing test's database is kept whole.
#[derive(Debug)]
pub struct Roles<'a> {
    db: &'a TestDb,
    names: Vec<String>,
}

impl<'a> Roles<'a> {
    /// A guard for roles this test will create, `names` and whatever [`Roles::add`] adds.
    pub fn new<S: AsRef<str>>(db: &'a TestDb, names: &[S]) -> Self {
        Self { db, names: names.iter().map(|n| n.as_ref().to_owned()).collect() }
    }

    /// Drops `name` too at the end.
    pub fn add(&mut self, name: &str) {
        self.names.push(name.to_owned());
    }

    /// Creates a role (`CREATE ROLE <name> <attributes>`), dropped at the end.
    pub fn create(&mut self, name: &str, attributes: &str) {
        self.add(name);
        self.db.execute(&format!("CREATE ROLE \"{name}\" {attributes}"));
    }
}

impl Drop for Roles<'_> {
    fn drop(&mut self) {
        let list = self.names.iter().map(|n| format!("'{}'", n.replace('\'', "''"))).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "DO $$ DECLARE r text; BEGIN
               FOR r IN SELECT rolname FROM pg_roles WHERE rolname = ANY (ARRAY[{list}]::text[]) LOOP
                 EXECUTE format('REASSIGN OWNED BY %I TO CURRENT_USER; DROP OWNED BY %I; DROP ROLE %I', r, r, r);
               END LOOP;
             END $$"
        );
        if let Err(e) = self.db.try_execute(&sql) {
            eprintln!("could not drop the test's roles {:?}: {e}", self.names);
        }
    }
}

impl TestDb {
    /// A name unique to this test, in this run and across runs sharing the server: for cluster-wide
    /// roles, and for org ids (whose hashes name the tenant roles).
    pub fn unique(&self, what: &str) -> String {
        format!("{}_{what}", self.name().splitn(3, '_').take(2).collect::<Vec<_>>().join("_"))
    }

    /// The role `provision-tenant --create-role` gives `org`: named like its schema.
    pub fn role_for(&self, org: &str) -> String {
        self.schema_for(org)
    }

    /// A group role for tenant roles (dropped with `roles`), granted by a new master migration what the
    /// example tenant migrations reference in `public`: what a team does before using `--create-role`.
    pub fn tenant_role_group(&self, roles: &mut Roles<'_>) -> String {
        let group = self.unique("tenants");
        roles.create(&group, "NOLOGIN");
        self.write(
            "master_migrations/0003_tenant_role_grants.up.sql",
            format!("GRANT SELECT, REFERENCES ON public.categories, public.focus_areas TO \"{group}\";\n"),
        );
        self.write(
            "master_migrations/0003_tenant_role_grants.down.sql",
            format!("REVOKE SELECT, REFERENCES ON public.categories, public.focus_areas FROM \"{group}\";\n"),
        );
        group
    }

    /// The URL of this test's database as `user` with `password`.
    pub fn url_as(&self, user: &str, password: &str) -> String {
        let mut url = url::Url::parse(self.url()).expect("the test database's URL parses");
        url.set_username(user).expect("a URL with a host takes a user name");
        url.set_password(Some(password)).expect("a URL with a host takes a password");
        url.into()
    }

    /// The owner of every relation in `schema` but its tracking table, by relation name.
    pub fn owners_in(&self, schema: &str) -> Vec<(String, String)> {
        let rows = self.rows(&format!(
            "select relname::text as name, relowner::regrole::text as owner from pg_class \
             where relnamespace = '{schema}'::regnamespace and relname not like 'tenantctl_migrations%' order by 1"
        ));
        rows.iter().map(|r| (r["name"].as_str().unwrap().to_owned(), r["owner"].as_str().unwrap().to_owned())).collect()
    }
}
