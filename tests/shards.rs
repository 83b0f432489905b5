//! Shards: `[shards.<name>]` and `TENANTCTL_SHARD_<NAME>_URL`, refused when wrong; `migrate-master`
//! applying `shard_master_dir` to every shard on two more servers, independently of each other;
//! `status` listing them.

use serde_json::{Value, json};

use crate::support::{ShardDb, TestDb, closed_port_url, shard_dbs};

/// The password of [`closed_port_url`]: it must never be shown.
const CLOSED_PORT_PASSWORD: &str = "s3cret-pw";

/// A control database with the shard fixture's files, and a database on each shard server, both
/// listed in `tenantctl.toml`.
fn sharded() -> (TestDb, [ShardDb; 2]) {
    let db = TestDb::new();
    db.overlay("shards/shard_master_migrations", "shard_master_migrations");
    let shards = shard_dbs();
    db.write("tenantctl.toml", shards.iter().map(ShardDb::toml).collect::<String>());
    (db, shards)
}

fn migrate_master_json(db: &TestDb) -> Value {
    db.tenantctl(&["migrate-master", "--format", "json"]).succeeds().json()
}

#[test]
fn bad_shard_configuration_is_refused_in_one_line_before_anything_changes() {
    let (db, [eu1, _]) = sharded();
    let before = (db.snapshot(), eu1.db.snapshot());
    let url = eu1.db.url();
    let cases = [
        (
            format!("[shards.EU-1]\nurl = \"{url}\"\n"),
            "shard name `EU-1` is invalid: shard names must match [a-z0-9_]+",
        ),
        (format!("[shards.default]\nurl = \"{url}\"\n"), "the `default` shard is the control database"),
        ("[shards.eu1]\nconcurrency = 2\n".to_owned(), "`shards.eu1.url` in tenantctl.toml or TENANTCTL_SHARD_EU1_URL"),
        (format!("[shards.eu1]\nurl = \"{url}\"\nport = 5432\n"), "key `port`"),
        ("[shards.eu1]\nurl = \"mysql://u:s3cret-pw@h/db\"\n".to_owned(), "shard `eu1` (config key `shards.eu1.url`)"),
        ("[shards.eu1]\nurl = \"postgres://u:s3cret-pw@/db\"\n".to_owned(), "invalid database URL"),
    ];
    for (config, expected) in cases {
        db.write("tenantctl.toml", &config);
        let out = db.tenantctl(&["migrate-master"]);
        out.exits(2).never_shows(CLOSED_PORT_PASSWORD);
        assert!(out.one_error_line().contains(expected), "{config}: {}", out.stderr);
    }
    assert_eq!((db.snapshot(), eu1.db.snapshot()), before);
}

#[test]
fn an_environment_variable_defines_or_overrides_a_shard_url() {
    let (db, [eu1, us2]) = sharded();
    db.write("tenantctl.toml", format!("[shards.eu1]\nurl = \"{}\"\n", closed_port_url()));
    db.command(&["migrate-master"])
        .env("TENANTCTL_SHARD_EU1_URL", eu1.db.url())
        .env("TENANTCTL_SHARD_US2_URL", us2.db.url())
        .run()
        .succeeds();
    assert_eq!(eu1.applied(), [(1, 1), (2, 1)]);
    assert_eq!(us2.applied(), [(1, 1), (2, 1)]);
}

#[test]
fn migrate_master_applies_the_shard_files_to_every_shard_in_batches() {
    let (db, shards) = sharded();
    let report = migrate_master_json(&db);
    for shard in &shards {
        assert_eq!(report["shards"][shard.name]["outcome"], "succeeded", "{report:#}");
        assert_eq!(shard.applied(), [(1, 1), (2, 1)]);
        assert!(shard.db.exists("public.shard_info") && shard.db.exists("public.shard_counters"));
        assert!(!shard.db.exists("public.plans"), "master files stay on the control database");
    }
    assert_eq!(db.master_applied(), [1, 2]);
    assert!(!db.exists("public.tenantctl_shard_migrations"), "default is not listed as a shard");

    let before: Vec<_> = shards.iter().map(|s| s.db.snapshot()).collect();
    let rerun = migrate_master_json(&db);
    assert_eq!(rerun["shards"]["eu1"], json!({"applied": [], "batch": null, "outcome": "succeeded", "error": null}));
    assert_eq!(shards.iter().map(|s| s.db.snapshot()).collect::<Vec<_>>(), before, "a rerun changes nothing");

    db.overlay("shards/shard_master_migrations_next", "shard_master_migrations");
    db.tenantctl(&["migrate-master"]).succeeds().mentions("shard us2: 1 migration(s) applied as batch 2");
    for shard in &shards {
        assert_eq!(shard.applied(), [(1, 1), (2, 1), (3, 2)]);
        assert!(shard.db.exists("public.shard_events"));
    }
}

#[test]
fn without_shards_migrate_master_output_has_no_shards_section() {
    let db = TestDb::new();
    db.overlay("shards/shard_master_migrations", "shard_master_migrations");
    let report = migrate_master_json(&db);
    assert!(report.get("shards").is_none(), "{report:#}");
    assert!(!db.exists("public.tenantctl_shard_migrations"));
}

#[test]
fn the_control_database_listed_as_a_shard_tracks_shard_files_apart_from_master_files() {
    let (db, [eu1, _]) = sharded();
    db.write("tenantctl.toml", format!("[shards.default]\n{}", eu1.toml()));
    let report = migrate_master_json(&db);
    assert_eq!(report["shards"]["default"]["outcome"], "succeeded", "{report:#}");
    assert_eq!(db.master_applied(), [1, 2]);
    assert_eq!(db.column::<i64>("select version from public.tenantctl_shard_migrations order by 1"), [1, 2]);
    assert!(db.exists("public.plans") && db.exists("public.shard_info"));
    assert_eq!(eu1.applied(), [(1, 1), (2, 1)]);
}

#[test]
fn an_unreachable_shard_is_reported_and_the_others_finish() {
    let (db, [eu1, us2]) = sharded();
    db.write("tenantctl.toml", format!("{}[shards.us2]\nurl = \"{}\"\n", eu1.toml(), closed_port_url()));
    let out = db.tenantctl(&["migrate-master", "--format", "json"]);
    out.exits(1).never_shows(CLOSED_PORT_PASSWORD);
    let report = out.json();
    assert_eq!(report["shards"]["us2"]["outcome"], "unreachable", "{report:#}");
    assert!(report["shards"]["us2"]["error"].as_str().unwrap().contains("127.0.0.1"), "{report:#}");
    assert_eq!(report["shards"]["eu1"]["outcome"], "succeeded");
    assert_eq!(eu1.applied(), [(1, 1), (2, 1)]);
    assert_eq!(db.master_applied(), [1, 2], "the control database's work is done first");
    let audit = db.rows("select outcome, failed from public.tenantctl_runs order by started_at desc limit 1");
    assert_eq!(audit, [json!({"outcome": "failed", "failed": 1})], "the audit trail tells of the shard");

    let text = db.tenantctl(&["migrate-master"]);
    text.exits(1).mentions("shard us2: UNREACHABLE").never_shows(CLOSED_PORT_PASSWORD);

    db.write("tenantctl.toml", format!("{}{}", eu1.toml(), us2.toml()));
    let rerun = migrate_master_json(&db);
    assert_eq!(rerun["shards"]["us2"]["applied"].as_array().unwrap().len(), 2, "{rerun:#}");
    assert_eq!(rerun["shards"]["eu1"]["applied"], json!([]));
    assert_eq!(us2.applied(), [(1, 1), (2, 1)]);
}

#[test]
fn an_edited_applied_shard_file_is_refused_before_any_database_changes() {
    let (db, [eu1, us2]) = sharded();
    db.migrate_master();
    db.append("shard_master_migrations/0001_shard_info.up.sql", "-- edited\n");
    db.overlay("shards/shard_master_migrations_next", "shard_master_migrations");
    db.overlay("basic/master_migrations_next", "master_migrations");
    let before = (db.snapshot(), eu1.db.snapshot(), us2.db.snapshot());

    let out = db.tenantctl(&["migrate-master", "--format", "json"]);
    out.exits(2);
    let report = out.json();
    assert_eq!(report["refused"], true, "{report:#}");
    for shard in ["eu1", "us2"] {
        assert_eq!(report["shards"][shard]["outcome"], "failed", "{report:#}");
        assert!(report["shards"][shard]["error"].as_str().unwrap().contains("checksum"), "{report:#}");
    }
    assert_eq!(
        (db.snapshot(), eu1.db.snapshot(), us2.db.snapshot()),
        before,
        "neither the control database's pending master file nor 0003 may run"
    );
    assert!(!eu1.db.exists("public.shard_events"));
    db.tenantctl(&["migrate-master"]).exits(2).mentions("refused on a shard before anything changed");
}

#[test]
fn dry_run_lists_the_shard_files_and_changes_nothing_on_any_server() {
    let (db, [eu1, us2]) = sharded();
    let before = (db.snapshot(), eu1.db.snapshot(), us2.db.snapshot());
    db.tenantctl(&["migrate-master", "--dry-run"])
        .succeeds()
        .mentions("shard eu1: would apply 0001_shard_info.up.sql")
        .mentions("shard us2: would apply 0002_shard_counters.up.sql");
    assert_eq!((db.snapshot(), eu1.db.snapshot(), us2.db.snapshot()), before);
}

#[test]
fn status_lists_each_shard_with_reachability_version_and_tenants() {
    let (db, [eu1, us2]) = sharded();
    db.migrate_master();
    // The fixture's tenant files reference public.plans, which only the control database has.
    db.tenantctl(&["provision-tenant", "--shard", "default", "acme-corp", "globex", "initech"]).succeeds();
    // `status` counts from the registry alone.
    db.execute("update public.tenants set shard = 'eu1' where org_id = 'globex'");
    db.overlay("shards/shard_master_migrations_next", "shard_master_migrations");
    db.write("tenantctl.toml", format!("{}[shards.us2]\nurl = \"{}\"\n", eu1.toml(), closed_port_url()));

    let out = db.tenantctl(&["status", "--format", "json"]);
    out.succeeds().never_shows(CLOSED_PORT_PASSWORD);
    let shards = &out.json()["shards"];
    assert_eq!(shards["default"]["tenants"], 2, "{shards:#}");
    assert_eq!(
        shards["eu1"],
        json!({"reachable": true, "error": null, "version": 2, "pending": ["0003_shard_events.up.sql"], "tenants": 1})
    );
    assert_eq!(shards["us2"]["reachable"], false);
    assert!(shards["us2"]["error"].as_str().unwrap().contains("127.0.0.1"), "{shards:#}");

    db.tenantctl(&["status"]).succeeds().mentions("us2: UNREACHABLE").mentions("eu1: reachable, version 2, 1 pending");
    db.tenantctl(&["status", "--check"]).exits(1);

    db.write("tenantctl.toml", format!("{}{}", eu1.toml(), us2.toml()));
    db.tenantctl(&["status", "--check"]).exits(1).mentions("0003_shard_events");
    db.migrate_master();
    db.tenantctl(&["status", "--check"]).succeeds();
    assert_eq!(us2.applied(), [(1, 1), (2, 1), (3, 2)]);
}

#[test]
fn shard_master_dir_is_relative_to_the_config_file_and_also_a_flag_and_a_variable() {
    let db = TestDb::new();
    let [eu1, us2] = shard_dbs();
    db.overlay("shards/shard_master_migrations", "deploy/db/shard");
    db.write("deploy/tenantctl.toml", format!("shard_master_dir = \"db/shard\"\n{}", eu1.toml()));
    db.tenantctl(&["--config", "deploy/tenantctl.toml", "migrate-master"]).succeeds();
    assert_eq!(eu1.applied(), [(1, 1), (2, 1)]);

    db.write("tenantctl.toml", us2.toml());
    db.command(&["migrate-master"]).env("TENANTCTL_SHARD_MASTER_DIR", "deploy/db/shard").run().succeeds();
    assert_eq!(us2.applied(), [(1, 1), (2, 1)]);

    db.overlay("shards/shard_master_migrations", "elsewhere");
    db.overlay("shards/shard_master_migrations_next", "elsewhere");
    db.tenantctl(&["migrate-master", "--shard-master-dir", "elsewhere"]).succeeds();
    assert_eq!(us2.applied(), [(1, 1), (2, 1), (3, 2)]);
}
