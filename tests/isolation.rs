//! Database isolation: `provision-tenant --isolation database` (or `isolation = "database"`) gives a
//! tenant its own database on its shard; fan-outs reach it on one connection at a time, closed when
//! it is done; FAILED marking, rollback, status, verify, archive/drop and the lint gate work as for
//! schema tenants, in fleets mixing both. Tenant databases are server-wide: every test names its
//! orgs after its own control database, and drops the tenant databases it made.

use serde_json::Value;

use crate::move_tenant::{kill_holding_the_copy, moved, row};
use crate::support::{
    Roles, Running, ShardDb, TestDb, closed_port_url,
    report::{entry, summary, versions},
    shard_dbs,
};

/// The basic fixture's 0002 without its reference to `public.plans`: a tenant's own database has no
/// shared tables (they are in the control database).
const PROJECTS: &str = "CREATE TABLE projects (\n    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n    \
                        owner_id bigint NOT NULL REFERENCES users (id),\n    name text NOT NULL\n);\n";

/// A control database with tenant files that fit a tenant database, the shard servers listed, and
/// the tenant databases dropped at the end.
struct Fleet {
    db: TestDb,
    shards: [ShardDb; 2],
}

impl Fleet {
    fn new(config: &str) -> Self {
        let fleet = Self::with_fixture("basic", config);
        fleet.db.write("tenant_migrations/0002_projects.up.sql", PROJECTS);
        fleet
    }

    fn with_fixture(scenario: &str, config: &str) -> Self {
        let db = TestDb::with_fixture(scenario);
        let shards = shard_dbs();
        let listed: String = shards.iter().map(ShardDb::toml).collect();
        db.write("tenantctl.toml", format!("{config}\n{listed}"));
        db.migrate_master();
        Self { db, shards }
    }

    /// An org id of this test only (tenant databases are named after the org, server-wide).
    fn org(&self, name: &str) -> String {
        format!("{}-{name}", self.db.name())
    }

    fn orgs(&self, names: &[&str]) -> Vec<String> {
        names.iter().map(|n| self.org(n)).collect()
    }

    fn provision<S: AsRef<str>>(&self, orgs: &[S], extra: &[&str]) -> Value {
        let mut args = vec!["provision-tenant", "--format", "json"];
        args.extend(extra);
        args.extend(orgs.iter().map(AsRef::as_ref));
        self.db.tenantctl(&args).succeeds().json()
    }

    /// The server (control or shard database) that holds `shard`'s tenant databases.
    fn server(&self, shard: &str) -> &TestDb {
        self.shards.iter().find(|s| s.name == shard).map_or(&self.db, |s| &s.db)
    }

    /// Whether the server of `shard` holds a database of this name.
    fn database_exists(&self, shard: &str, name: &str) -> bool {
        self.server(shard).scalar_with("select exists (select from pg_database where datname = $1)", name)
    }

    /// The versions in the tracking table of `org`'s own database.
    fn applied(&self, org: &str) -> Vec<i64> {
        let row = self.db.tenant(org);
        let (shard, database) = (row["shard"].as_str().expect("shard"), row["database_name"].as_str().expect("db"));
        let schema = row["database_schema"].as_str().expect("database schema");
        let sql = format!("select version from {schema}.tenantctl_migrations order by 1");
        self.server(shard).rows_in(database, &sql).iter().map(|r| r["version"].as_i64().expect("version")).collect()
    }

    /// Runs SQL in `org`'s own database.
    fn in_database_of(&self, org: &str, sql: &str) {
        let row = self.db.tenant(org);
        let shard = row["shard"].as_str().expect("shard");
        self.server(shard).execute_in(row["database_name"].as_str().expect("database"), sql);
    }

    /// The rows of a query in `org`'s own database.
    fn rows_in_database_of(&self, org: &str, sql: &str) -> Vec<Value> {
        let row = self.db.tenant(org);
        let shard = row["shard"].as_str().expect("shard");
        self.server(shard).rows_in(row["database_name"].as_str().expect("database"), sql)
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        // On every server: a move leaves a tenant's database on its old shard, or its target.
        let servers: Vec<&TestDb> = std::iter::once(&self.db).chain(self.shards.iter().map(|s| &s.db)).collect();
        for row in self.db.rows("select schema_name from public.tenants where database_name is not null") {
            let name = row["schema_name"].as_str().unwrap_or("");
            for server in &servers {
                let _ = server.try_execute(&format!("drop database if exists \"{name}\" with (force)"));
            }
        }
    }
}

#[test]
fn provisioning_with_isolation_database_creates_its_database_and_applies_migrations_in_its_public() {
    let fleet = Fleet::new("");
    let [acme, schema_org] = [fleet.org("acme"), fleet.org("plain")];
    let report = fleet.provision(&[&acme], &["--isolation", "database", "--shard", "default"]);
    assert_eq!(summary(&report), [1, 0, 0]);
    assert_eq!(versions(&entry(&report, &acme)["applied"]), [1, 2, 3]);
    fleet.provision(&[&schema_org], &["--shard", "default"]);

    let identity = fleet.db.schema_for(&acme);
    let row = fleet.db.tenant(&acme);
    assert_eq!(row["status"], "ACTIVE");
    assert_eq!(row["schema_name"], identity.as_str());
    assert_eq!(row["database_name"], identity.as_str());
    assert_eq!(row["database_schema"], "public");
    assert_eq!(row["schema_version"], 3);
    assert!(fleet.database_exists("default", &identity));
    assert_eq!(fleet.applied(&acme), [1, 2, 3]);
    let tables = fleet.db.rows_in(&identity, "select tablename from pg_tables where schemaname = 'public' order by 1");
    let tables: Vec<&str> = tables.iter().filter_map(|r| r["tablename"].as_str()).collect();
    assert_eq!(tables, ["projects", "tenantctl_migrations", "users"]);
    assert!(!fleet.db.exists(&format!("{identity}.users")), "no schema of that name in the control database");
    assert_eq!(fleet.db.tenant(&schema_org)["database_name"], Value::Null, "schema stays the default isolation");

    let detail = fleet.db.tenantctl(&["status", "--tenant", &acme, "--format", "json"]).succeeds().json();
    assert_eq!(detail["isolation"], "database");
    assert_eq!(detail["database"], identity.as_str());
    let applied: Vec<i64> =
        detail["applied"].as_array().expect("applied").iter().map(|a| a["version"].as_i64().expect("v")).collect();
    assert_eq!(applied, [1, 2, 3]);
    let status = fleet.db.tenantctl(&["status", "--format", "json"]).succeeds().json();
    assert_eq!(status["tenants"]["by_isolation"]["database"], 1);
    assert_eq!(status["tenants"]["by_isolation"]["schema"], 1);
    fleet.db.tenantctl(&["status", "--tenant", &acme]).succeeds().mentions("isolation: database");
}

#[test]
fn the_configured_isolation_places_database_tenants_on_a_remote_shard() {
    let fleet = Fleet::new("isolation = \"database\"\ntenant_database_schema = \"app\"\nextensions = [\"pgcrypto\"]");
    let orgs = fleet.orgs(&["a", "b"]);
    let report = fleet.provision(&orgs, &["--shard", "eu1"]);
    assert_eq!(summary(&report), [2, 0, 0]);
    for org in &orgs {
        let row = fleet.db.tenant(org);
        assert_eq!((row["status"].as_str(), row["shard"].as_str()), (Some("ACTIVE"), Some("eu1")));
        assert_eq!(row["database_schema"], "app");
        let name = row["database_name"].as_str().expect("database");
        assert!(fleet.database_exists("eu1", name) && !fleet.database_exists("default", name));
        assert_eq!(fleet.applied(org), [1, 2, 3]);
        assert_eq!(row["schema_version"], 3);
        let extensions = fleet.rows_in_database_of(org, "select extname from pg_extension where extname = 'pgcrypto'");
        assert_eq!(extensions.len(), 1, "extensions are per database: ensured in the tenant's");
    }
}

#[test]
fn a_mixed_fleet_is_migrated_and_rolled_back_in_one_fan_out_on_every_shard() {
    let fleet = Fleet::new("");
    let [db_default, db_eu1, schema_default, schema_us2] =
        [fleet.org("d0"), fleet.org("d1"), fleet.org("s0"), fleet.org("s1")];
    fleet.provision(&[&db_default], &["--isolation", "database", "--shard", "default"]);
    fleet.provision(&[&db_eu1], &["--isolation", "database", "--shard", "eu1"]);
    fleet.provision(&[&schema_default], &["--shard", "default"]);
    fleet.provision(&[&schema_us2], &["--shard", "us2"]);
    fleet.db.write_next_tenant_migrations();

    let dry = fleet.db.tenantctl(&["migrate-tenants", "--dry-run", "--format", "json"]).succeeds().json();
    assert_eq!(versions(&entry(&dry, &db_eu1)["applied"]), [4, 5]);
    assert_eq!(fleet.applied(&db_eu1), [1, 2, 3], "a dry run changes nothing");

    let report = fleet.db.tenantctl(&["migrate-tenants", "--format", "json"]).succeeds().json();
    assert_eq!(summary(&report), [4, 0, 0]);
    for org in [&db_default, &db_eu1] {
        assert_eq!(fleet.applied(org), [1, 2, 3, 4, 5]);
        assert_eq!(fleet.db.tenant(org)["schema_version"], 5);
    }
    assert_eq!(fleet.db.tenant(&schema_us2)["schema_version"], 5);
    let verify = fleet.db.tenantctl(&["verify", "--format", "json"]).succeeds().json();
    assert_eq!(verify["outliers"], serde_json::json!([]), "{verify}");
    let status = fleet.db.tenantctl(&["status", "--format", "json"]).succeeds().json();
    assert_eq!(status["tenants"]["behind"], 0);
    fleet.in_database_of(&db_eu1, "ALTER TABLE users ADD COLUMN note text");
    let drift = fleet.db.tenantctl(&["verify", "--format", "json"]);
    let drift = drift.exits(1).json();
    assert_eq!(drift["outliers"][0]["org_id"], db_eu1.as_str(), "{drift}");
    assert!(drift["outliers"][0]["differences"].to_string().contains("column users.note added"), "{drift}");
    fleet.in_database_of(&db_eu1, "ALTER TABLE users DROP COLUMN note");

    let rolled = fleet.db.tenantctl(&["rollback-tenants", "--format", "json"]).succeeds().json();
    assert_eq!(summary(&rolled), [4, 0, 0]);
    for org in [&db_default, &db_eu1] {
        assert_eq!(fleet.applied(org), [1, 2, 3]);
        assert_eq!(fleet.db.tenant(org)["schema_version"], 3);
    }
}

#[test]
fn a_broken_database_tenant_is_failed_the_others_finish_and_include_failed_finishes_it_after_a_fix() {
    let fleet = Fleet::new("isolation = \"database\"");
    let orgs = fleet.orgs(&["a", "b", "c"]);
    fleet.provision(&orgs, &[]);
    fleet.db.write_next_tenant_migrations();
    fleet.in_database_of(&orgs[1], "CREATE TABLE tasks (id integer)");

    let out = fleet.db.tenantctl(&["migrate-tenants", "--format", "json"]);
    out.exits(1);
    let report = out.json();
    assert_eq!(summary(&report), [2, 1, 0]);
    assert!(entry(&report, &orgs[1])["error"].as_str().is_some_and(|e| e.contains("already exists")), "{report}");
    assert_eq!(fleet.db.status_of(&orgs[1]), "FAILED");
    assert_eq!(fleet.applied(&orgs[1]), [1, 2, 3], "the failed tenant's transaction was rolled back");
    assert_eq!(fleet.applied(&orgs[2]), [1, 2, 3, 4, 5]);

    fleet.in_database_of(&orgs[1], "DROP TABLE tasks");
    let rerun = fleet.db.tenantctl(&["migrate-tenants", "--include-failed", "--format", "json"]).succeeds().json();
    assert_eq!(entry(&rerun, &orgs[1])["outcome"], "succeeded");
    assert_eq!(fleet.db.status_of(&orgs[1]), "ACTIVE");
    assert_eq!(fleet.applied(&orgs[1]), [1, 2, 3, 4, 5]);
}

#[test]
fn a_tenant_whose_database_was_dropped_is_failed_with_a_clear_error() {
    let fleet = Fleet::new("isolation = \"database\"");
    let orgs = fleet.orgs(&["gone", "kept"]);
    fleet.provision(&orgs, &["--shard", "us2"]);
    fleet.db.write_next_tenant_migrations();
    let gone = fleet.db.schema_for(&orgs[0]);
    fleet.shards[1].db.execute(&format!("drop database \"{gone}\" with (force)"));

    let out = fleet.db.tenantctl(&["migrate-tenants", "--format", "json"]);
    out.exits(1);
    let report = out.json();
    let error = entry(&report, &orgs[0])["error"].as_str().unwrap_or_default().to_owned();
    assert!(error.contains(&format!("database {gone} does not exist on shard us2")), "{error}");
    assert_eq!(fleet.db.status_of(&orgs[0]), "FAILED");
    assert_eq!(entry(&report, &orgs[1])["outcome"], "succeeded");
    let verify = fleet.db.tenantctl(&["verify", "--format", "json"]);
    verify.exits(1).mentions("does not exist");
}

#[test]
fn an_archived_database_tenant_is_left_alone_and_drop_tenant_drops_its_database() {
    let fleet = Fleet::new("isolation = \"database\"");
    let orgs = fleet.orgs(&["leaving", "staying"]);
    fleet.provision(&orgs, &["--shard", "eu1"]);
    let name = fleet.db.schema_for(&orgs[0]);
    fleet.db.tenantctl(&["archive-tenant", &orgs[0]]).succeeds();
    assert_eq!(fleet.db.status_of(&orgs[0]), "ARCHIVED");
    fleet.db.write_next_tenant_migrations();
    let report = fleet.db.tenantctl(&["migrate-tenants", "--format", "json"]).succeeds().json();
    assert_eq!(summary(&report), [1, 0, 0]);
    assert_eq!(fleet.applied(&orgs[0]), [1, 2, 3], "an archived tenant is not migrated");

    fleet.db.tenantctl(&["drop-tenant", &orgs[0], "--confirm", "wrong"]).exits(2);
    assert!(fleet.database_exists("eu1", &name));
    fleet.db.tenantctl(&["drop-tenant", &orgs[0], "--confirm", &name]).succeeds();
    assert!(!fleet.database_exists("eu1", &name));
    let row = fleet.db.tenant(&orgs[0]);
    assert_eq!(row["status"], "ARCHIVED");
    assert!(row["note"].as_str().is_some_and(|n| n.starts_with(&format!("database {name} dropped"))), "{row}");
}

#[test]
fn bad_isolation_input_is_refused_in_one_line_with_exit_2_and_nothing_changes() {
    let fleet = Fleet::new("");
    let org = fleet.org("x");
    fleet.db.tenantctl(&["provision-tenant", &org, "--isolation", "bogus"]).exits(2).mentions("bogus");
    fleet.db.command(&["provision-tenant", &org]).env("TENANTCTL_ISOLATION", "bogus").run().exits(2);
    let out = fleet.db.command(&["migrate-tenants"]).env("TENANTCTL_ISOLATION", "bogus").run();
    assert!(out.exits(2).one_error_line().contains("TENANTCTL_ISOLATION: `bogus`"), "{}", out.stderr);
    let create_role = fleet.db.tenantctl(&["provision-tenant", &org, "--isolation", "database", "--create-role"]);
    assert!(create_role.exits(2).one_error_line().contains("--create-role is not available with database isolation"));
    fleet.db.write("bad.toml", "isolation = \"databases\"\n");
    let out = fleet.db.tenantctl(&["--config", "bad.toml", "provision-tenant", &org]);
    assert!(out.exits(2).one_error_line().contains("config key `isolation`"));
    fleet.db.write("bad.toml", "tenant_database_schema = \"App\"\n");
    let out = fleet.db.tenantctl(&["--config", "bad.toml", "provision-tenant", &org]);
    assert!(out.exits(2).one_error_line().contains("tenant_database_schema"));
    assert_eq!(fleet.db.tenant(&org), Value::Null);
}

/// Gives `org`'s own database rows in both tables and a sequence of its own.
fn with_data(fleet: &Fleet, org: &str) {
    fleet.in_database_of(
        org,
        "insert into users (email, display_name) select 'u' || g || '@example.com', 'User ' || g \
           from generate_series(1, 200) g;
         insert into projects (owner_id, name) select g, 'project ' || g from generate_series(1, 150) g;
         create sequence invoice_no start 1000; select setval('invoice_no', 1234);",
    );
}

/// What the copy of a tenant's database `name` on `shard` holds: its rows, sequences and history.
fn picture_of(fleet: &Fleet, shard: &str, name: &str) -> Value {
    let sql = "select (select md5(string_agg(t::text, '|' order by t.id)) from users t) as users,
                      (select md5(string_agg(t::text, '|' order by t.id)) from projects t) as projects,
                      (select last_value from invoice_no) as invoice_no,
                      (select last_value from users_id_seq) as users_seq,
                      (select array_agg(version order by version) from tenantctl_migrations)::text as versions";
    fleet.server(shard).rows_in(name, sql).remove(0)
}

#[test]
fn a_database_tenant_moves_with_its_data_from_default_to_eu1_and_back_with_drop_source() {
    let fleet = Fleet::new("isolation = \"database\"\nextensions = [\"pgcrypto\"]");
    let org = fleet.org("mover");
    fleet.provision(&[&org], &["--shard", "default"]);
    let name = fleet.db.schema_for(&org);
    with_data(&fleet, &org);
    let before = picture_of(&fleet, "default", &name);

    let report = moved(&fleet.db, &[&org, "--to", "eu1"]);
    assert_eq!((report["outcome"].as_str(), report["source_copy_on"].as_str()), (Some("moved"), Some("default")));
    assert!(report["tables"].as_array().is_some_and(|t| t.len() == 3), "users, projects, tracking: {report}");
    assert_eq!(row(&fleet.db, &org), ("ACTIVE".into(), "eu1".into(), None, Some("default".into())));
    let registry = fleet.db.tenant(&org);
    assert_eq!(
        (registry["database_name"].as_str(), registry["database_schema"].as_str()),
        (Some(&*name), Some("public"))
    );
    assert_eq!(picture_of(&fleet, "eu1", &name), before, "the database on eu1 holds every row and sequence");
    assert_eq!(picture_of(&fleet, "default", &name), before, "the source database is kept, untouched");
    let extensions = fleet.rows_in_database_of(&org, "select extname from pg_extension where extname = 'pgcrypto'");
    assert_eq!(extensions.len(), 1, "the target's database has the configured extensions");

    // Later migrations reach the database on eu1, not the one left on default.
    fleet.db.write_next_tenant_migrations();
    fleet.db.tenantctl(&["migrate-tenants"]).succeeds();
    assert_eq!(fleet.applied(&org), vec![1, 2, 3, 4, 5]);
    assert_eq!(picture_of(&fleet, "default", &name)["versions"], "{1,2,3}");

    assert_eq!(moved(&fleet.db, &[&org, "--drop-source"])["outcome"], "dropped");
    assert!(!fleet.database_exists("default", &name), "the leftover database is dropped");
    let on_eu1 = picture_of(&fleet, "eu1", &name);
    let report = moved(&fleet.db, &[&org, "--to", "default", "--drop-source"]);
    assert_eq!(report["source_copy_on"], Value::Null, "{report}");
    assert_eq!(row(&fleet.db, &org), ("ACTIVE".into(), "default".into(), None, None));
    assert_eq!(picture_of(&fleet, "default", &name), on_eu1);
    assert!(!fleet.database_exists("eu1", &name), "--drop-source dropped the database on eu1");
    fleet.db.tenantctl(&["migrate-tenants"]).succeeds();
    fleet.db.tenantctl(&["status", "--check"]).succeeds();
}

#[test]
fn a_database_tenant_with_its_migrations_in_another_schema_moves_between_two_shards() {
    let fleet = Fleet::new("isolation = \"database\"\ntenant_database_schema = \"app\"");
    let org = fleet.org("app");
    fleet.provision(&[&org], &["--shard", "eu1"]);
    let name = fleet.db.schema_for(&org);
    fleet.in_database_of(&org, "insert into app.users (email) select 'u' || g from generate_series(1, 50) g");
    let count = "select count(*) as n, max(id) as top from app.users";
    let before = fleet.rows_in_database_of(&org, count);

    let report = moved(&fleet.db, &[&org, "--to", "us2", "--drop-source"]);
    assert_eq!(report["source_copy_on"], Value::Null, "{report}");
    assert_eq!(row(&fleet.db, &org), ("ACTIVE".into(), "us2".into(), None, None));
    assert_eq!(fleet.db.tenant(&org)["database_schema"], "app");
    assert_eq!(fleet.rows_in_database_of(&org, count), before);
    assert!(!fleet.database_exists("eu1", &name));
    assert_eq!(fleet.applied(&org), vec![1, 2, 3]);
}

#[test]
fn a_database_tenants_move_killed_before_its_flip_resumes_and_an_aborted_one_leaves_no_database_on_the_target() {
    let fleet = Fleet::new("isolation = \"database\"");
    let orgs = fleet.orgs(&["resumed", "aborted"]);
    fleet.provision(&orgs, &["--shard", "default"]);
    let (a, b) = (&orgs[0], &orgs[1]);
    let (name_a, name_b) = (fleet.db.schema_for(a), fleet.db.schema_for(b));
    with_data(&fleet, a);
    with_data(&fleet, b);
    let (picture_a, picture_b) = (picture_of(&fleet, "default", &name_a), picture_of(&fleet, "default", &name_b));
    let lock_users = "LOCK TABLE users IN ACCESS EXCLUSIVE MODE";

    kill_holding_the_copy(&fleet.db, a, "eu1", fleet.db.hold_in(&name_a, lock_users));
    assert_eq!(row(&fleet.db, a), ("MOVING".into(), "default".into(), Some("eu1".into()), None));
    assert!(fleet.database_exists("eu1", &name_a), "the copy was complete before the kill");
    let report = moved(&fleet.db, &[a, "--to", "eu1"]);
    assert_eq!((report["resumed"].as_bool(), report["copied"].as_bool()), (Some(true), Some(false)), "{report}");
    assert_eq!(row(&fleet.db, a), ("ACTIVE".into(), "eu1".into(), None, Some("default".into())));
    assert_eq!(picture_of(&fleet, "eu1", &name_a), picture_a);

    // A database of the tenant's name that no move of it made is refused, and left alone.
    fleet.shards[1].db.execute(&format!("create database \"{name_b}\""));
    let before = fleet.db.snapshot().without_runs();
    let out = fleet.db.tenantctl(&["move-tenant", b, "--to", "us2"]);
    let line = out.exits(2).one_error_line();
    assert!(line.contains(&format!("database {name_b} already exists")), "{line}");
    assert_eq!(fleet.db.snapshot().without_runs(), before);
    fleet.shards[1].db.execute(&format!("drop database \"{name_b}\""));

    kill_holding_the_copy(&fleet.db, b, "us2", fleet.db.hold_in(&name_b, lock_users));
    assert!(fleet.database_exists("us2", &name_b));
    assert_eq!(moved(&fleet.db, &[b, "--abort"])["outcome"], "aborted");
    assert_eq!(row(&fleet.db, b), ("ACTIVE".into(), "default".into(), None, None));
    assert!(!fleet.database_exists("us2", &name_b), "--abort dropped the target's database");
    assert_eq!(picture_of(&fleet, "default", &name_b), picture_b);
    fleet.db.write_next_tenant_migrations();
    fleet.db.tenantctl(&["migrate-tenants"]).succeeds();
    assert_eq!(fleet.applied(b), vec![1, 2, 3, 4, 5]);
}

#[test]
fn a_fan_out_that_finds_the_old_database_of_a_moved_tenant_dropped_does_not_mark_it_failed() {
    let fleet = Fleet::new("isolation = \"database\"");
    let [blocker, mover] = [fleet.org("blocker"), fleet.org("mover")];
    fleet.provision(&[&blocker], &["--shard", "default"]);
    fleet.provision(&[&mover], &["--shard", "default"]);
    fleet.db.write_next_tenant_migrations();
    // One tenant at a time, in registry order: the run waits on `blocker` with `mover` selected, on default.
    let blocker_db = fleet.db.schema_for(&blocker);
    let held = fleet.db.hold_in(&blocker_db, "LOCK TABLE projects IN ACCESS EXCLUSIVE MODE");
    let fan_out = fleet
        .db
        .command(&["migrate-tenants", "--concurrency", "1", "--lock-timeout", "60s", "--format", "json"])
        .spawn();
    fleet.db.eventually("the fan-out waits on blocker", |db| {
        db.scalar_with::<i64>(
            "select count(*) from pg_stat_activity where datname = $1 \
             and application_name = 'tenantctl/migrate-tenants' and wait_event_type = 'Lock'",
            &blocker_db,
        ) == 1
    });
    // The move drops the database the run will look for.
    moved(&fleet.db, &[&mover, "--to", "eu1", "--drop-source"]);
    drop(held);
    let out = fan_out.wait();
    out.exits(1);
    let report = out.json();
    let failed = entry(&report, &mover);
    assert_eq!(failed["outcome"], "failed", "{report:#}");
    assert!(failed["error"].as_str().is_some_and(|e| e.contains("not marked FAILED")), "{report:#}");
    assert_eq!(row(&fleet.db, &mover), ("ACTIVE".into(), "eu1".into(), None, None), "the registry stays truthful");
    fleet.db.tenantctl(&["migrate-tenants"]).succeeds();
    assert_eq!(fleet.applied(&mover), vec![1, 2, 3, 4, 5]);
}

#[test]
fn a_database_of_the_tenants_name_that_is_not_ours_is_refused_and_not_adopted() {
    let fleet = Fleet::new("isolation = \"database\"");
    let org = fleet.org("squatted");
    let name = fleet.db.schema_for(&org);
    fleet.shards[0].db.execute(&format!("create database \"{name}\""));
    let out = fleet.db.tenantctl(&["provision-tenant", &org, "--shard", "eu1", "--format", "json"]);
    out.exits(1);
    let error = entry(&out.json(), &org)["error"].as_str().unwrap_or_default().to_owned();
    assert!(error.contains(&format!("database {name} already exists on shard eu1")), "{error}");
    assert_eq!(fleet.db.tenant(&org), Value::Null, "the org was not registered");
    fleet.shards[0].db.execute(&format!("drop database \"{name}\""));
}

/// A tenant migration 0003 that waits until the test kills the run (no run of the test lasts that long).
const WAITING_0003: &str = "ALTER TABLE users ADD COLUMN display_name text;\nSELECT pg_sleep(60);\n";

#[test]
fn a_provision_killed_after_create_database_resumes_without_an_orphan_database() {
    let fleet = Fleet::new("isolation = \"database\"");
    let org = fleet.org("killed");
    let name = fleet.db.schema_for(&org);
    let original = fleet.db.read("tenant_migrations/0003_users_display_name.up.sql");
    fleet.db.write("tenant_migrations/0003_users_display_name.up.sql", WAITING_0003);
    let mut running: Running = fleet.db.command(&["provision-tenant", &org, "--shard", "eu1"]).spawn();
    let waiting = "select count(*) from pg_stat_activity where datname = $1 and query like '%pg_sleep(60)%'";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while fleet.shards[0].db.scalar_with::<i64>(waiting, &name) == 0 {
        assert!(!running.has_exited() && std::time::Instant::now() < deadline, "the provision never got to 0003");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let (_, killed) = running.kill();
    assert!(killed);
    fleet.shards[0]
        .db
        .execute(&format!("select pg_terminate_backend(pid) from pg_stat_activity where datname = '{name}'"));
    assert_eq!(fleet.db.status_of(&org), "PROVISIONING");
    assert!(fleet.database_exists("eu1", &name), "killed after CREATE DATABASE");

    fleet.db.write("tenant_migrations/0003_users_display_name.up.sql", original);
    fleet.provision(&[&org], &[]);
    assert_eq!(fleet.db.status_of(&org), "ACTIVE");
    assert_eq!(fleet.applied(&org), [1, 2, 3]);
    let databases: i64 = fleet.shards[0].db.scalar_with("select count(*) from pg_database where datname = $1", &name);
    assert_eq!(databases, 1);
}

#[test]
fn a_provision_killed_before_its_database_was_created_leaves_only_the_row_and_a_rerun_completes() {
    let fleet = Fleet::new("isolation = \"database\"");
    let org = fleet.org("early");
    let name = fleet.db.schema_for(&org);
    // What a provision killed between its registration and CREATE DATABASE leaves: the row alone.
    fleet.db.execute(&format!(
        "insert into public.tenants (org_id, schema_name, shard, database_name, database_schema) \
         values ('{org}', '{name}', 'us2', '{name}', 'public')"
    ));
    assert!(!fleet.database_exists("us2", &name));
    let report = fleet.provision(&[&org], &[]);
    assert_eq!(summary(&report), [1, 0, 0]);
    assert_eq!(fleet.db.status_of(&org), "ACTIVE");
    assert_eq!(fleet.applied(&org), [1, 2, 3]);
}

/// A pending migration slow enough that tenants of a run overlap.
const SLOW_0004: &str = "CREATE TABLE slow_log (version integer NOT NULL);\nSELECT pg_sleep(0.4);\n";

#[test]
fn a_fan_out_keeps_at_most_its_concurrency_of_tenant_databases_open_and_closes_each() {
    let fleet = Fleet::new("isolation = \"database\"");
    let orgs = fleet.orgs(&["c1", "c2", "c3", "c4", "c5", "c6"]);
    fleet.provision(&orgs, &["--shard", "default"]);
    fleet.db.write("tenant_migrations/0004_slow.up.sql", SLOW_0004);
    let names: Vec<String> = orgs.iter().map(|o| fleet.db.schema_for(o)).collect();
    let open = format!(
        "select count(*) from pg_stat_activity where datname in ({})",
        names.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", ")
    );
    let mut running = fleet.db.command(&["migrate-tenants", "--concurrency", "2"]).spawn();
    let mut most = 0;
    while !running.has_exited() {
        most = most.max(fleet.db.scalar::<i64>(&open));
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    running.wait().succeeds();
    assert_eq!(most, 2, "two tenant databases at once, never more (and the sampling saw them)");
    assert_eq!(fleet.db.scalar::<i64>(&open), 0, "every tenant database connection was closed");
    for org in &orgs {
        assert_eq!(fleet.applied(org), [1, 2, 3, 4]);
    }
}

#[test]
fn lint_reads_public_as_the_tenants_own_schema_only_in_database_isolation() {
    let db = TestDb::new();
    db.write("t/0001_settings.up.sql", "CREATE TABLE public.settings (id bigint PRIMARY KEY);\n");
    db.tenantctl(&["lint", "t"]).exits(1).mentions("tenant-escapes-schema");
    db.tenantctl(&["lint", "t", "--isolation", "database"]).succeeds();
    db.command(&["lint", "t"]).env("TENANTCTL_ISOLATION", "database").run().succeeds();
    db.write("tenantctl.toml", "isolation = \"database\"\n");
    db.tenantctl(&["lint", "t"]).succeeds();
    db.tenantctl(&["lint", "t", "--isolation", "schema"]).exits(1).mentions("tenant-escapes-schema");
}

#[test]
fn the_gate_reads_public_the_stricter_way_while_any_tenant_is_a_schema() {
    let fleet = Fleet::new("isolation = \"database\"");
    let [by_db, by_schema] = [fleet.org("d"), fleet.org("s")];
    fleet.provision(&[&by_db], &[]);
    fleet.db.write("tenant_migrations/0004_settings.up.sql", "CREATE TABLE public.settings (id bigint);\n");
    fleet.db.tenantctl(&["migrate-tenants"]).succeeds();
    assert!(fleet.rows_in_database_of(&by_db, "select 1 from public.settings").is_empty());
    assert!(!fleet.db.exists("public.settings"), "not in the control database");

    // A schema tenant joins (provisioning gates only versions no tenant has yet): from now on a new
    // `public.` target would write into the shared schema for it, and the gate refuses.
    fleet.provision(&[&by_schema], &["--isolation", "schema"]);
    fleet.db.write("tenant_migrations/0005_more.up.sql", "CREATE TABLE public.more (id bigint);\n");
    fleet.db.tenantctl(&["migrate-tenants"]).exits(1).mentions("tenant-escapes-schema");
}

#[test]
fn no_transaction_migrations_and_a_canary_reach_database_tenants_of_a_mixed_fleet() {
    let fleet = Fleet::with_fixture("no_transaction", "");
    let [first, second, by_schema] = [fleet.org("n1"), fleet.org("n2"), fleet.org("n3")];
    fleet.provision(&[&first, &second], &["--isolation", "database", "--shard", "eu1"]);
    fleet.provision(&[&by_schema], &["--shard", "eu1"]);
    fleet.db.merge("tenant_migrations_next", "tenant_migrations");

    let report = fleet.db.tenantctl(&["migrate-tenants", "--canary", "1", "--format", "json"]).succeeds().json();
    assert_eq!(summary(&report), [3, 0, 0]);
    for org in [&first, &second] {
        assert_eq!(fleet.applied(org), [1, 2, 3, 4]);
        let index = fleet.rows_in_database_of(
            org,
            "select i.indisvalid from pg_index i join pg_class c on c.oid = i.indexrelid \
             where c.relname = 'chat_messages_body_idx'",
        );
        assert_eq!(index, [serde_json::json!({"indisvalid": true})]);
    }
    assert_eq!(fleet.db.tenant(&by_schema)["schema_version"], 4);
}

#[test]
fn two_provisions_of_the_same_database_tenants_at_once_make_each_database_once_and_refuse_none() {
    let fleet = Fleet::new("isolation = \"database\"");
    let orgs = fleet.orgs(&["r1", "r2", "r3", "r4", "r5", "r6"]);
    let mut args = vec!["provision-tenant", "--shard", "default", "--concurrency", "3"];
    args.extend(orgs.iter().map(String::as_str));
    let first = fleet.db.command(&args).spawn();
    let second = fleet.db.command(&args).spawn();
    first.wait().succeeds();
    second.wait().succeeds();
    for org in &orgs {
        assert_eq!(fleet.db.status_of(org), "ACTIVE");
        assert_eq!(fleet.applied(org), [1, 2, 3]);
        assert!(fleet.database_exists("default", &fleet.db.schema_for(org)));
    }
}

#[test]
fn database_tenants_of_a_shard_that_is_down_are_unreachable_not_failed_and_a_rerun_finishes() {
    let fleet = Fleet::new("isolation = \"database\"");
    let [down, up] = [fleet.org("down"), fleet.org("up")];
    fleet.provision(&[&down], &["--shard", "us2"]);
    fleet.provision(&[&up], &["--shard", "eu1"]);
    fleet.db.write_next_tenant_migrations();

    let out = fleet
        .db
        .command(&["migrate-tenants", "--format", "json"])
        .env("TENANTCTL_SHARD_US2_URL", &closed_port_url())
        .run();
    let report = out.exits(1).json();
    assert_eq!(entry(&report, &down)["outcome"], "unreachable", "{report:#}");
    assert_eq!(entry(&report, &up)["outcome"], "succeeded", "{report:#}");
    assert_eq!(fleet.db.status_of(&down), "ACTIVE", "not FAILED: nothing about it changed");
    assert_eq!(fleet.applied(&down), [1, 2, 3]);

    fleet.db.tenantctl(&["migrate-tenants"]).succeeds();
    assert_eq!(fleet.applied(&down), [1, 2, 3, 4, 5]);
}

#[test]
fn a_connecting_user_without_createdb_gets_a_clear_failure_and_with_it_provisions_as_a_non_superuser() {
    let fleet = Fleet::new("isolation = \"database\"");
    let org = fleet.org("nocreatedb");
    let mut roles = Roles::new(&fleet.db, &[] as &[&str]);
    let migrator = fleet.db.unique("dbmigrator");
    roles.create(&migrator, "LOGIN PASSWORD 'migrator-pw'");
    fleet.db.execute(&format!(
        "GRANT CREATE ON SCHEMA public TO \"{migrator}\"; GRANT ALL ON ALL TABLES IN SCHEMA public TO \"{migrator}\"; \
         GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO \"{migrator}\""
    ));
    let url = fleet.db.url_as(&migrator, "migrator-pw");
    let provision =
        || fleet.db.command(&["provision-tenant", &org, "--shard", "default"]).env("DATABASE_URL", &url).run();

    let refused = provision();
    refused.exits(1).mentions("the connecting user may not create databases");
    assert_eq!(fleet.db.status_of(&org), "FAILED");
    let name = fleet.db.schema_for(&org);
    assert!(!fleet.database_exists("default", &name));

    fleet.db.execute(&format!("ALTER ROLE \"{migrator}\" CREATEDB"));
    provision().succeeds();
    assert_eq!(fleet.db.status_of(&org), "ACTIVE");
    assert_eq!(fleet.applied(&org), [1, 2, 3]);
    let owner: String =
        fleet.db.scalar_with("select pg_get_userbyid(datdba)::text from pg_database where datname = $1", &name);
    assert_eq!(owner, migrator);
    // Before the role goes: it owns the tables in the tenant database.
    fleet.db.execute(&format!("drop database \"{name}\" with (force)"));
}

#[test]
fn status_reads_a_registry_from_before_database_isolation_and_migrate_master_upgrades_it() {
    let db = TestDb::new().with_tenants(&["acme-corp"]);
    db.execute(
        "ALTER TABLE public.tenants DROP COLUMN database_name, DROP COLUMN database_schema; \
         DELETE FROM public.tenantctl_bootstrap WHERE version = 5",
    );
    let status = db.tenantctl(&["status", "--format", "json"]).succeeds().json();
    assert_eq!(status["tenants"]["by_isolation"], serde_json::json!({"database": 0, "schema": 1}));
    db.tenantctl(&["migrate-tenants"]).exits(1).mentions("run `tenantctl migrate-master` first");
    db.migrate_master();
    assert_eq!(db.tenant("acme-corp")["database_name"], Value::Null);
    db.tenantctl(&["migrate-tenants"]).succeeds();
}

/// A pending migration that logs itself (applied twice, it would show two rows) and takes a while.
const LOGGED_0004: &str = "CREATE TABLE crash_log (version integer NOT NULL);\nSELECT pg_sleep(0.2);\n\
                           INSERT INTO crash_log (version) VALUES (4);\n";

#[test]
fn migrate_tenants_killed_over_database_tenants_never_leaves_a_mirror_ahead_and_a_rerun_finishes() {
    let fleet = Fleet::new("isolation = \"database\"");
    let orgs = fleet.orgs(&["k1", "k2", "k3", "k4", "k5", "k6"]);
    fleet.provision(&orgs, &["--shard", "default"]);
    fleet.db.write("tenant_migrations/0004_logged.up.sql", LOGGED_0004);
    let done = "select count(*) from public.tenants where schema_version = 4";
    let mut running = fleet.db.command(&["migrate-tenants", "--concurrency", "2"]).spawn();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while fleet.db.scalar::<i64>(done) < 2 {
        assert!(!running.has_exited() && std::time::Instant::now() < deadline, "the run ended before it was killed");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let (_, killed) = running.kill();
    assert!(killed);
    let names: Vec<String> = orgs.iter().map(|o| format!("'{}'", fleet.db.schema_for(o))).collect();
    fleet.db.execute(&format!(
        "select pg_terminate_backend(pid) from pg_stat_activity where datname in ({})",
        names.join(", ")
    ));
    let mut migrated = 0;
    for org in &orgs {
        let tracked = fleet.applied(org);
        let mirror = fleet.db.tenant(org)["schema_version"].as_i64();
        assert!(
            mirror.is_none_or(|m| m <= *tracked.last().expect("tracked")),
            "{org}: mirror {mirror:?} ahead of {tracked:?}"
        );
        migrated += usize::from(tracked == [1, 2, 3, 4]);
    }
    assert!((2..6).contains(&migrated), "killed midway: {migrated} of 6 migrated");

    fleet.db.tenantctl(&["migrate-tenants"]).succeeds();
    for org in &orgs {
        assert_eq!(fleet.applied(org), [1, 2, 3, 4]);
        assert_eq!(fleet.db.tenant(org)["schema_version"], 4);
        assert_eq!(fleet.rows_in_database_of(org, "select version from crash_log").len(), 1, "applied once");
    }
}
