//! Tenants on shards: placement by `provision-tenant`, the fan-out over every shard at once, a shard
//! that cannot be reached, the cross-server ordering of a tenant's commit and its registry mirror
//! under `kill -9`, and the commands that refuse tenants of other shards.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::support::{
    Running, ShardDb, TestDb, closed_port_url, org_ids,
    report::{entry, summary},
};

/// The basic fixture's 0002 without its reference to `public.plans`, which is on the control
/// database only.
const PROJECTS: &str = "CREATE TABLE projects (\n    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n    \
                        owner_id bigint NOT NULL REFERENCES users (id),\n    name text NOT NULL\n);\n";

/// A pending tenant migration that logs itself (a migration applied twice shows as a duplicate
/// row), slow enough to stop a run midway.
const SLOW_0004: &str = "CREATE TABLE crash_log (version integer NOT NULL);\n\
SELECT pg_sleep(0.05);\n\
INSERT INTO crash_log (version) VALUES (4);\n";

/// A migrated control database whose tenant files fit any shard; the shards are not listed yet.
fn project() -> (TestDb, [ShardDb; 2]) {
    let db = TestDb::new();
    db.write("tenant_migrations/0002_projects.up.sql", PROJECTS);
    db.migrate_master();
    (db, crate::support::shard_dbs())
}

/// Lists the shards in `tenantctl.toml`, `eu1` with one tenant at a time.
fn list_shards(db: &TestDb, shards: &[ShardDb]) {
    let toml: String =
        shards.iter().map(|s| if s.name == "eu1" { s.toml() + "concurrency = 1\n" } else { s.toml() }).collect();
    db.write("tenantctl.toml", toml);
}

/// Tenants `a` to `d` placed over both shards, with two tenant migrations pending.
fn four_tenants_behind() -> (TestDb, [ShardDb; 2]) {
    let (db, shards) = project();
    list_shards(&db, &shards);
    provision(&db, &["a", "b", "c", "d"], &[]);
    db.merge("tenant_migrations_next", "tenant_migrations");
    (db, shards)
}

fn provision(db: &TestDb, orgs: &[&str], extra: &[&str]) -> Value {
    let mut args = vec!["provision-tenant", "--format", "json"];
    args.extend(extra);
    args.extend(orgs);
    db.tenantctl(&args).succeeds().json()
}

/// Each org's shard in the registry.
fn shards_of(db: &TestDb) -> BTreeMap<String, String> {
    db.rows("select org_id, shard from public.tenants order by org_id")
        .iter()
        .map(|r| (r["org_id"].as_str().expect("org").to_owned(), r["shard"].as_str().expect("shard").to_owned()))
        .collect()
}

/// One tenant: its registry row on the control database, its tracking table on its shard.
#[derive(Debug)]
struct Remote {
    org_id: String,
    schema: String,
    status: String,
    mirror: (Option<i64>, Option<i64>),
    tracked: Option<Vec<i64>>,
}

impl Remote {
    fn mirror_agrees(&self) -> bool {
        let tracked = self.tracked.clone().unwrap_or_default();
        self.mirror.0 == tracked.iter().max().copied() && self.mirror.1.unwrap_or(0) == tracked.len() as i64
    }

    /// The invariant: the mirror is unknown, or not ahead of the tracking table.
    fn mirror_not_ahead(&self) -> bool {
        let tracked = self.tracked.clone().unwrap_or_default();
        let newest = tracked.iter().max().copied().unwrap_or(0);
        match self.mirror {
            (None, _) | (_, None) => true,
            (Some(v), Some(n)) => v <= newest && n <= tracked.len() as i64,
        }
    }
}

/// Every tenant of `shard` (in registry order), read where each part lives.
fn remote_states(db: &TestDb, shard: &ShardDb) -> Vec<Remote> {
    let rows = db.rows(&format!(
        "select org_id, schema_name, status, schema_version, migration_count::bigint as migration_count \
         from public.tenants where shard = '{}' order by created_at, id",
        shard.name
    ));
    let schemas: Vec<String> = rows.iter().map(|r| r["schema_name"].as_str().expect("schema").to_owned()).collect();
    let tracked = shard.db.tracked_versions(&schemas);
    rows.iter()
        .map(|r| {
            let schema = r["schema_name"].as_str().expect("schema").to_owned();
            Remote {
                org_id: r["org_id"].as_str().expect("org").to_owned(),
                status: r["status"].as_str().expect("status").to_owned(),
                mirror: (r["schema_version"].as_i64(), r["migration_count"].as_i64()),
                tracked: tracked.get(&schema).cloned(),
                schema,
            }
        })
        .collect()
}

#[test]
fn provisioning_places_new_tenants_on_the_least_loaded_shard_and_default_tenants_stay() {
    let (db, shards) = project();
    provision(&db, &["old-1"], &[]);
    list_shards(&db, &shards);
    let report = provision(&db, &["a", "b", "c", "d", "e"], &[]);
    assert_eq!(summary(&report), [5, 0, 0], "{report:#}");
    assert_eq!(report["summary"]["by_shard"]["eu1"]["succeeded"], 3, "{report:#}");
    assert_eq!(report["summary"]["by_shard"]["us2"]["succeeded"], 2, "{report:#}");
    provision(&db, &["f"], &["--shard", "default"]);
    provision(&db, &["g"], &[]);
    let placed = shards_of(&db);
    let expected = [("a", "eu1"), ("b", "us2"), ("c", "eu1"), ("d", "us2"), ("e", "eu1"), ("f", "default")];
    for (org, shard) in expected.into_iter().chain([("g", "us2"), ("old-1", "default")]) {
        assert_eq!(placed[org], shard, "{placed:?}");
    }
    for shard in &shards {
        for t in remote_states(&db, shard) {
            assert_eq!((t.status.as_str(), t.tracked.as_deref()), ("ACTIVE", Some(&[1, 2, 3][..])), "{t:?}");
            assert!(t.mirror_agrees(), "{t:?}");
            assert!(!db.exists(&format!("{}.users", t.schema)), "the schema is on the shard only: {t:?}");
        }
    }
    assert!(db.exists(&format!(
        "{}.users",
        db.scalar::<String>("select schema_name from public.tenants where org_id = 'f'")
    )));

    let before = (db.snapshot(), shards[0].db.snapshot());
    let out = db.tenantctl(&["provision-tenant", "--shard", "mars", "h"]);
    out.exits(2);
    assert!(out.one_error_line().contains("--shard \"mars\": no such shard") && out.stderr.contains("eu1, us2"));
    assert_eq!((db.snapshot(), shards[0].db.snapshot()), before, "a bad --shard changes nothing");

    // Re-provisioning an ACTIVE org is skipped, wherever it is.
    let again = provision(&db, &["a", "old-1"], &[]);
    assert_eq!(summary(&again), [0, 0, 2], "{again:#}");
}

#[test]
fn the_fan_out_covers_every_shard_a_broken_tenant_fails_alone_and_rollback_reaches_the_shards() {
    let (db, shards) = project();
    provision(&db, &["old-1"], &[]);
    list_shards(&db, &shards);
    provision(&db, &["a", "b", "c", "d"], &[]);
    db.merge("tenant_migrations_next", "tenant_migrations");
    let broken = remote_states(&db, &shards[1]).remove(0);
    shards[1].db.execute(&format!("CREATE TABLE {}.tasks (x int)", broken.schema));

    let out = db.tenantctl(&["migrate-tenants", "--format", "json"]);
    out.exits(1);
    let report = out.json();
    assert_eq!(summary(&report), [4, 1, 0], "{report:#}");
    assert_eq!(entry(&report, &broken.org_id)["outcome"], "failed", "{report:#}");
    let orgs: Vec<&str> =
        report["tenants"].as_array().expect("tenants").iter().map(|t| t["org_id"].as_str().expect("org")).collect();
    let registry: Vec<String> = db.column("select org_id from public.tenants order by created_at, id");
    assert_eq!(orgs, registry, "registry order across shards");
    assert_eq!(
        report["summary"]["by_shard"]["us2"],
        json!({"succeeded": 1, "failed": 1, "skipped": 0, "unreachable": 0})
    );
    assert_eq!(report["summary"]["by_shard"]["default"]["succeeded"], 1);
    let failed = remote_states(&db, &shards[1]).remove(0);
    assert_eq!((failed.status.as_str(), failed.tracked.as_deref()), ("FAILED", Some(&[1, 2, 3][..])), "{failed:?}");
    assert!(failed.mirror_agrees(), "{failed:?}");
    let error: String = db.scalar_with("select last_error from public.tenants where org_id = $1", &broken.org_id);
    assert!(error.contains("0004_tasks.up.sql"), "{error}");

    shards[1].db.execute(&format!("DROP TABLE {}.tasks", broken.schema));
    let fixed = db.tenantctl(&["migrate-tenants", "--include-failed", "--format", "json"]).succeeds().json();
    assert_eq!(summary(&fixed), [1, 0, 0], "{fixed:#}");
    for shard in &shards {
        for t in remote_states(&db, shard) {
            assert_eq!((t.status.as_str(), t.tracked.as_deref()), ("ACTIVE", Some(&[1, 2, 3, 4, 5][..])), "{t:?}");
            assert!(t.mirror_agrees(), "{t:?}");
        }
    }

    let rolled = db.tenantctl(&["rollback-tenants", "--steps", "2", "--format", "json"]).succeeds().json();
    assert_eq!(summary(&rolled), [5, 0, 0], "{rolled:#}");
    for shard in &shards {
        for t in remote_states(&db, shard) {
            assert_eq!((t.status.as_str(), t.tracked.as_deref()), ("ACTIVE", Some(&[1, 2, 3][..])), "{t:?}");
            assert!(t.mirror_agrees(), "{t:?}");
            assert!(!shard.db.exists(&format!("{}.tasks", t.schema)), "{t:?}");
        }
    }
}

#[test]
fn a_shard_down_before_the_run_leaves_its_tenants_unreachable_not_failed_and_a_rerun_finishes() {
    let (db, shards) = four_tenants_behind();

    let out =
        db.command(&["migrate-tenants", "--format", "json"]).env("TENANTCTL_SHARD_US2_URL", &closed_port_url()).run();
    out.exits(1).never_shows("s3cret-pw");
    let report = out.json();
    assert_eq!(summary(&report), [2, 0, 0], "{report:#}");
    assert_eq!(report["summary"]["unreachable"], 2, "{report:#}");
    assert_eq!(report["summary"]["by_shard"]["us2"]["unreachable"], 2, "{report:#}");
    for t in remote_states(&db, &shards[1]) {
        assert_eq!(entry(&report, &t.org_id)["outcome"], "unreachable", "{report:#}");
        assert_eq!((t.status.as_str(), t.tracked.as_deref()), ("ACTIVE", Some(&[1, 2, 3][..])), "{t:?}");
        assert!(t.mirror_agrees(), "{t:?}");
    }
    let run = db.run_row(report["run_id"].as_str().expect("run id"));
    assert_eq!((run["outcome"].as_str(), run["failed"].as_i64()), (Some("failed"), Some(2)), "{run:#}");

    let rerun = db.tenantctl(&["migrate-tenants", "--format", "json"]).succeeds().json();
    assert_eq!(summary(&rerun), [2, 0, 0], "{rerun:#}");
    assert_eq!(rerun["summary"]["up_to_date"], 2, "{rerun:#}");
    for shard in &shards {
        for t in remote_states(&db, shard) {
            assert_eq!(t.tracked.as_deref(), Some(&[1, 2, 3, 4, 5][..]), "{t:?}");
            assert!(t.mirror_agrees(), "{t:?}");
        }
    }
}

#[test]
fn a_canary_that_cannot_reach_its_tenant_stops_the_rollout() {
    let (db, shards) = four_tenants_behind();
    let placed = shards_of(&db);
    let canary = placed.iter().find(|(_, shard)| *shard == "us2").map(|(org, _)| org.clone()).expect("a tenant on us2");

    let out = db
        .command(&["migrate-tenants", "--canary-tenant", &canary, "--format", "json"])
        .env("TENANTCTL_SHARD_US2_URL", &closed_port_url())
        .run();
    out.exits(1);
    let report = out.json();
    assert_eq!(summary(&report), [0, 0, 3], "{report:#}");
    assert_eq!(entry(&report, &canary)["outcome"], "unreachable", "{report:#}");
    for org in placed.keys().filter(|org| **org != canary) {
        let skipped = entry(&report, org);
        assert_eq!(skipped["outcome"], "skipped", "{skipped}");
        assert!(skipped["reason"].as_str().is_some_and(|r| r.contains("could not reach every tenant")), "{skipped}");
    }
    // Nothing changed anywhere: every tenant still has the first three migrations only.
    for shard in &shards {
        for t in remote_states(&db, shard) {
            assert_eq!(t.tracked.as_deref(), Some(&[1, 2, 3][..]), "{t:?}");
        }
    }
}

#[test]
fn a_shard_that_goes_down_mid_run_leaves_the_registry_truthful() {
    let (db, shards) = project();
    list_shards(&db, &shards);
    let orgs = org_ids(20);
    let orgs: Vec<&str> = orgs.iter().map(String::as_str).collect();
    provision(&db, &orgs, &["--shard", "eu1"]);
    provision(&db, &["other"], &["--shard", "us2"]);
    db.write("tenant_migrations/0004_crash_log.up.sql", SLOW_0004);
    let eu1 = &shards[0];
    // Another database on eu1's server, to close eu1's database from outside.
    let [admin, _] = crate::support::shard_dbs();

    let mut run = db.command(&["migrate-tenants", "--format", "json", "--lock-retries", "1"]).spawn();
    db.poll_until("a few eu1 tenants are migrated", |db| run.has_exited() || db.tenants_at("ACTIVE", 4) >= 3);
    // The shard stops taking connections, and the run's sessions there end.
    let name = eu1.db.name();
    admin.db.execute(&format!(
        "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false; SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = '{name}' AND starts_with(application_name, 'tenantctl/')"
    ));
    let out = run.wait();
    out.exits(1);
    let report = out.json();
    let unreachable = report["summary"]["unreachable"].as_u64().expect("count");
    assert!(unreachable > 0 && unreachable < 20, "{report:#}");
    assert_eq!(report["summary"]["by_shard"]["us2"]["succeeded"], 1, "{report:#}");
    admin.db.execute(&format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS true"));
    for t in remote_states(&db, eu1) {
        assert!(t.mirror_not_ahead(), "{t:?}");
        assert!(matches!(t.tracked.as_deref(), Some([1, 2, 3] | [1, 2, 3, 4])), "{t:?}");
        if entry(&report, &t.org_id)["outcome"] == "unreachable" {
            assert_eq!(t.status, "ACTIVE", "an unreachable tenant is not marked FAILED: {t:?}");
        }
    }
    db.tenantctl(&["migrate-tenants", "--include-failed"]).succeeds();
    for t in remote_states(&db, eu1) {
        assert_eq!((t.status.as_str(), t.tracked.as_deref()), ("ACTIVE", Some(&[1, 2, 3, 4][..])), "{t:?}");
        assert!(t.mirror_agrees(), "{t:?}");
    }
}

/// Kills `run` and checks what it left on `shard`: no registry mirror ahead of its tracking table,
/// and every tenant at version 3 (no crash-log row) or 4 (exactly one). Returns the tenants.
fn killed_at_3_or_4(db: &TestDb, shard: &ShardDb, run: Running) -> Vec<Remote> {
    let (out, killed) = run.kill();
    assert!(killed, "the run ended before it was killed: {out:?}");
    db.wait_until_tenantctl_is_gone();
    shard.db.wait_until_tenantctl_is_gone();
    let states = remote_states(db, shard);
    let logs = crash_logs(shard, &states);
    for t in &states {
        assert!(t.mirror_not_ahead(), "the registry mirror is ahead of the tracking table: {t:?}");
        match t.tracked.as_deref() {
            Some([1, 2, 3]) => assert_eq!(logs.get(&t.schema), None, "{t:?}"),
            Some([1, 2, 3, 4]) => assert_eq!(logs.get(&t.schema).map(Vec::as_slice), Some(&[4][..]), "{t:?}"),
            _ => panic!("neither at version 3 nor fully at 4: {t:?}"),
        }
    }
    states
}

/// `crash_log` of every schema of `states` on `shard` that has one, duplicates kept.
fn crash_logs(shard: &ShardDb, states: &[Remote]) -> BTreeMap<String, Vec<i64>> {
    let schemas: Vec<String> = states.iter().map(|t| t.schema.clone()).collect();
    let with_log = shard.db.schemas_having(&schemas, "crash_log");
    let mut logs: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for row in shard.db.over_schemas(&with_log, "select version from {schema}.crash_log") {
        logs.entry(row["schema"].as_str().expect("schema").to_owned())
            .or_default()
            .push(row["version"].as_i64().expect("v"));
    }
    logs
}

#[test]
fn migrate_tenants_killed_over_a_remote_shard_never_leaves_a_mirror_ahead() {
    let (db, shards) = project();
    list_shards(&db, &shards);
    let us2 = &shards[1];
    let orgs = org_ids(60);
    let orgs: Vec<&str> = orgs.iter().map(String::as_str).collect();
    provision(&db, &orgs, &["--shard", "us2"]);
    db.write("tenant_migrations/0004_crash_log.up.sql", SLOW_0004);
    for k in [1, 20] {
        let mut run = db.command(&["migrate-tenants", "--concurrency", "2"]).spawn();
        db.poll_until(&format!("{k} tenants are migrated"), |db| run.has_exited() || db.tenants_at("ACTIVE", 4) >= k);
        for t in killed_at_3_or_4(&db, us2, run) {
            assert_eq!(t.status, "ACTIVE", "{t:?}");
        }
    }
    let rerun = db.tenantctl(&["migrate-tenants", "--format", "json"]).succeeds().json();
    for t in rerun["tenants"].as_array().expect("tenants") {
        assert!(t["applied"] == json!([4]) || t["applied"] == json!([]), "{t}");
    }
    let states = remote_states(&db, us2);
    let logs = crash_logs(us2, &states);
    for t in &states {
        assert_eq!((t.status.as_str(), t.tracked.as_deref()), ("ACTIVE", Some(&[1, 2, 3, 4][..])), "{t:?}");
        assert!(t.mirror_agrees(), "a rerun repairs the mirror: {t:?}");
        assert_eq!(logs.get(&t.schema).map(Vec::as_slice), Some(&[4][..]), "0004 applied once: {t:?}");
    }
}

#[test]
fn status_verify_archive_and_drop_work_on_a_remote_tenant() {
    let (db, shards) = project();
    list_shards(&db, &shards);
    let eu1 = &shards[0];
    provision(&db, &["a", "b"], &["--shard", "eu1"]);
    let schema: String = db.scalar("select schema_name from public.tenants where org_id = 'a'");

    let detail = db.tenantctl(&["status", "--tenant", "a", "--format", "json"]).succeeds().json();
    let applied: Vec<i64> =
        detail["applied"].as_array().expect("applied").iter().map(|r| r["version"].as_i64().expect("v")).collect();
    assert_eq!(applied, [1, 2, 3], "read from the tenant's shard: {detail:#}");
    db.write("tenant_migrations/0004_crash_log.up.sql", SLOW_0004);
    let detail = db.tenantctl(&["status", "--tenant", "a", "--format", "json"]).succeeds().json();
    assert_eq!(detail["pending"], json!(["0004_crash_log.up.sql"]), "{detail:#}");
    let status = db.tenantctl(&["status", "--format", "json"]).succeeds().json();
    assert_eq!((status["tenants"]["behind"].as_i64(), status["shards"]["eu1"]["tenants"].as_i64()), (Some(2), Some(2)));

    // verify reads each shard's catalog there, and groups the tenants of every shard together.
    db.remove("tenant_migrations/0004_crash_log.up.sql");
    provision(&db, &["local"], &["--shard", "default"]);
    let clean = db.tenantctl(&["verify", "--format", "json"]).succeeds().json();
    assert_eq!((clean["tenants"].as_i64(), clean["groups"].as_array().map(Vec::len)), (Some(3), Some(1)), "{clean:#}");
    eu1.db.execute(&format!("ALTER TABLE {schema}.users ADD COLUMN extra text"));
    let out = db.tenantctl(&["verify", "--format", "json"]);
    out.exits(1);
    let drift = out.json();
    assert_eq!(drift["outliers"][0]["org_id"], "a", "{drift:#}");
    assert_eq!(drift["outliers"][0]["differences"], json!(["column users.extra added"]), "{drift:#}");
    eu1.db.execute(&format!("ALTER TABLE {schema}.users DROP COLUMN extra"));
    db.write("tenant_migrations/0004_crash_log.up.sql", SLOW_0004);

    db.tenantctl(&["archive-tenant", "a"]).succeeds();
    let report = db.tenantctl(&["migrate-tenants", "--format", "json"]).succeeds().json();
    assert_eq!(summary(&report), [2, 0, 0], "the archived tenant is left out: {report:#}");
    assert!(eu1.db.exists(&format!("{schema}.users")), "archiving keeps the schema");

    db.tenantctl(&["drop-tenant", "a", "--confirm", &schema]).succeeds();
    assert!(eu1.db.schemas_named(&schema).is_empty(), "the schema is dropped on its shard");
    let row = &db.rows("select status, schema_version, note from public.tenants where org_id = 'a'")[0];
    assert_eq!((row["status"].as_str(), row["schema_version"].as_i64()), (Some("ARCHIVED"), None), "{row}");
    assert!(row["note"].as_str().expect("note").contains("dropped"), "{row}");
}

#[test]
fn provisioning_killed_on_a_remote_shard_resumes_without_orphans_or_duplicates() {
    let (db, shards) = project();
    list_shards(&db, &shards);
    let us2 = &shards[1];
    db.write("tenant_migrations/0004_crash_log.up.sql", SLOW_0004);
    let orgs = org_ids(40);
    db.write("orgs.txt", orgs.join("\n") + "\n");
    let mut run = db.command(&["provision-tenant", "--shard", "us2", "--from-file", "orgs.txt"]).spawn();
    db.poll_until("5 tenants are provisioned", |db| run.has_exited() || db.tenants_at("ACTIVE", 4) >= 5);
    let (out, killed) = run.kill();
    assert!(killed, "the run ended before it was killed: {out:?}");
    db.wait_until_tenantctl_is_gone();
    us2.db.wait_until_tenantctl_is_gone();
    for t in remote_states(&db, us2) {
        assert!(t.mirror_not_ahead(), "{t:?}");
        assert!(matches!(t.tracked.as_deref(), None | Some([1, 2, 3, 4])), "all or nothing: {t:?}");
        if t.status == "ACTIVE" {
            assert_eq!(t.tracked.as_deref(), Some(&[1, 2, 3, 4][..]), "{t:?}");
        }
    }
    let rerun = db.tenantctl(&["provision-tenant", "--shard", "us2", "--from-file", "orgs.txt", "--format", "json"]);
    let rerun = rerun.succeeds().json();
    assert_eq!(rerun["summary"]["failed"], 0, "{rerun:#}");
    let states = remote_states(&db, us2);
    assert_eq!(states.len(), 40, "one registry row per org, all on us2");
    let logs = crash_logs(us2, &states);
    for t in &states {
        assert_eq!((t.status.as_str(), t.tracked.as_deref()), ("ACTIVE", Some(&[1, 2, 3, 4][..])), "{t:?}");
        assert!(t.mirror_agrees(), "{t:?}");
        assert_eq!(logs.get(&t.schema).map(Vec::as_slice), Some(&[4][..]), "{t:?}");
    }
    let on_server: Vec<String> = us2.db.schemas_named("tid_");
    assert_eq!(on_server.len(), 40, "no orphan schema on the shard: {on_server:?}");
    assert!(db.schemas_named("tid_").is_empty(), "nothing on the control database");
}

#[test]
fn a_tenant_role_is_created_on_its_shard_owns_what_its_migrations_create_and_is_dropped_there() {
    let (db, shards) = project();
    list_shards(&db, &shards);
    let eu1 = &shards[0];
    let org = db.unique("remote-role");
    let role = db.role_for(&org);
    let _roles = crate::support::Roles::new(&eu1.db, &[&role]);
    provision(&db, &[&org], &["--shard", "eu1", "--create-role"]);
    let recorded: String = db.scalar_with("select role_name from public.tenants where org_id = $1", &org);
    assert_eq!(recorded, role, "the registry records the role");
    let roles_named =
        |name: &str| eu1.db.scalar::<i64>(&format!("select count(*) from pg_roles where rolname = '{name}'"));
    assert_eq!(roles_named(&role), 1, "the role is on the tenant's shard");
    db.write("tenant_migrations/0004_notes.up.sql", "CREATE TABLE notes (id int);\n");
    db.tenantctl(&["migrate-tenants"]).succeeds();
    let schema = db.schema_for(&org);
    let owners = eu1.db.owners_in(&schema);
    assert!(!owners.is_empty() && owners.iter().all(|(_, owner)| owner == &role), "{owners:?}");

    db.tenantctl(&["archive-tenant", &org]).succeeds();
    db.tenantctl(&["drop-tenant", &org, "--confirm", &schema]).succeeds();
    assert_eq!(roles_named(&role), 0, "the role is dropped on its shard with the schema");
    let row = &db.rows(&format!("select role_name from public.tenants where org_id = '{org}'"))[0];
    assert_eq!(row["role_name"], Value::Null, "{row}");
}

#[test]
fn rollback_tenants_killed_over_a_remote_shard_never_leaves_a_mirror_ahead() {
    let (db, shards) = project();
    list_shards(&db, &shards);
    let us2 = &shards[1];
    let orgs = org_ids(60);
    let orgs: Vec<&str> = orgs.iter().map(String::as_str).collect();
    db.write("tenant_migrations/0004_crash_log.up.sql", SLOW_0004);
    db.write("tenant_migrations/0004_crash_log.down.sql", "SELECT pg_sleep(0.05);\nDROP TABLE crash_log;\n");
    provision(&db, &orgs, &["--shard", "us2"]);

    let mut run = db.command(&["rollback-tenants", "--to", "3", "--concurrency", "2"]).spawn();
    let reverted = |db: &TestDb| db.scalar::<i64>("select count(*) from public.tenants where schema_version = 3");
    db.poll_until("10 tenants are rolled back", |db| run.has_exited() || reverted(db) >= 10);
    killed_at_3_or_4(&db, us2, run);
    db.tenantctl(&["rollback-tenants", "--to", "3"]).succeeds();
    for t in remote_states(&db, us2) {
        assert_eq!((t.status.as_str(), t.tracked.as_deref()), ("ACTIVE", Some(&[1, 2, 3][..])), "{t:?}");
        assert!(t.mirror_agrees(), "a rerun repairs the mirror: {t:?}");
    }
}
