//! `rollback-tenants`: down migrations fanned out, by the last batch, by steps or to a version;
//! refused when a down file is missing; a tenant whose down migration fails is marked FAILED.

use serde_json::Value;

use crate::support::{
    TestDb,
    report::{entry, reported_orgs, summary, versions},
};

const ORGS: [&str; 3] = ["acme-corp", "globex", "initech"];

/// Tenants with two batches: 0001-0003 (provisioning), then 0004-0005 (a fan-out).
fn tenants_with_two_batches() -> TestDb {
    let db = TestDb::with_tenants_behind(&ORGS);
    db.tenantctl(&["migrate-tenants"]).succeeds();
    db
}

/// Runs a rollback as JSON, expecting success for every tenant; returns the report.
fn rollback(db: &TestDb, args: &[&str]) -> Value {
    let mut all = vec!["rollback-tenants", "--format", "json"];
    all.extend(args);
    let out = db.tenantctl(&all);
    out.succeeds();
    out.json()
}

#[test]
fn rollback_tenants_reverts_each_tenants_last_batch() {
    let db = tenants_with_two_batches();
    let report = rollback(&db, &[]);
    assert_eq!(summary(&report), [3, 0, 0]);
    assert_eq!(reported_orgs(&report), db.registry_order());
    for org in ORGS {
        assert_eq!(entry(&report, org)["outcome"], "succeeded");
        assert_eq!(versions(&entry(&report, org)["reverted"]), [4, 5]);
        assert_eq!(db.applied(org), [1, 2, 3]);
        assert!(!db.exists(&format!("{}.tasks", db.schema_for(org))));
        let row = db.tenant(org);
        assert_eq!((&row["status"], &row["schema_version"]), (&"ACTIVE".into(), &3.into()), "{row}");
    }
}

#[test]
fn rollback_tenants_steps_reverts_the_newest_migrations_across_batches() {
    let db = tenants_with_two_batches();
    let report = rollback(&db, &["--steps", "3"]);
    for org in ORGS {
        assert_eq!(versions(&entry(&report, org)["reverted"]), [3, 4, 5]);
        assert_eq!(db.applied(org), [1, 2]);
        let schema = db.schema_for(org);
        let display_name: i64 = db.scalar(&format!(
            "select count(*) from information_schema.columns \
             where table_schema = '{schema}' and table_name = 'users' and column_name = 'display_name'"
        ));
        assert_eq!(display_name, 0, "0003's column is dropped");
        assert!(db.exists(&format!("{schema}.projects")));
    }
}

#[test]
fn rollback_tenants_to_a_version_keeps_that_version_applied() {
    let db = tenants_with_two_batches();
    rollback(&db, &["--to", "1"]);
    for org in ORGS {
        assert_eq!(db.applied(org), [1]);
        assert_eq!(db.tenant(org)["schema_version"], 1);
    }

    rollback(&db, &["--to", "0"]);
    for org in ORGS {
        assert_eq!(db.applied(org), Vec::<i64>::new());
        assert!(!db.exists(&format!("{}.users", db.schema_for(org))));
        let version = &db.tenant(org)["schema_version"];
        assert!(version.is_null() || *version == 0, "nothing applied: {version}");
    }
}

#[test]
fn rollback_tenants_with_tenant_flags_reverts_only_the_named_tenants() {
    let db = tenants_with_two_batches();
    let report = rollback(&db, &["--tenant", "globex"]);
    assert_eq!(reported_orgs(&report), ["globex"]);
    assert_eq!(db.applied("globex"), [1, 2, 3]);
    assert_eq!(db.applied("acme-corp"), [1, 2, 3, 4, 5]);
    assert_eq!(db.applied("initech"), [1, 2, 3, 4, 5]);
}

#[test]
fn rollback_tenants_dry_run_changes_nothing() {
    let db = tenants_with_two_batches();
    let before = db.snapshot();
    db.tenantctl(&["rollback-tenants", "--steps", "2", "--dry-run"]).succeeds();
    assert_eq!(db.snapshot(), before);
}

#[test]
fn rollback_tenants_without_a_down_file_is_refused_before_any_tenant_is_touched() {
    let db = tenants_with_two_batches();
    db.remove("tenant_migrations/0004_tasks.down.sql");
    let before = db.snapshot();

    let refused = db.tenantctl(&["rollback-tenants"]);
    refused.exits(2);
    assert!(refused.one_error_line().contains("0004_tasks"), "{refused:?}");
    assert_eq!(db.snapshot(), before, "not even 0005 is reverted");

    // Reverting only 0005 does not need 0004's down file.
    rollback(&db, &["--steps", "1"]);
    assert_eq!(db.applied("acme-corp"), [1, 2, 3, 4]);
}

#[test]
fn a_tenant_whose_down_migration_fails_is_marked_failed_and_the_others_are_reverted() {
    let db = tenants_with_two_batches();
    // `DROP TABLE tasks` fails in globex: a view depends on the table.
    db.in_schema_of("globex", "CREATE VIEW task_titles AS SELECT title FROM tasks");

    let out = db.tenantctl(&["rollback-tenants", "--format", "json"]);
    out.exits(1);
    let report = out.json();
    assert_eq!(summary(&report), [2, 1, 0]);
    let failed = entry(&report, "globex");
    assert_eq!(failed["outcome"], "failed");
    assert!(failed["error"].as_str().unwrap_or_default().contains("depend"), "{failed}");
    assert_eq!(db.status_of("globex"), "FAILED");
    assert_eq!(db.applied("globex"), [1, 2, 3, 4, 5], "its rollback is rolled back whole");
    for org in ["acme-corp", "initech"] {
        assert_eq!(db.applied(org), [1, 2, 3]);
    }
}
