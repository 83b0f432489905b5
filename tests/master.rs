//! `migrate-master` and `rollback-master`: the bootstrap tables, master migrations applied in
//! batches, reverted by batch, by steps or to a version, and refused when they cannot be.

use crate::support::TestDb;

/// Master migrations applied in two batches: 0001-0002, then 0003.
fn two_master_batches() -> TestDb {
    let db = TestDb::new();
    db.migrate_master();
    db.write_next_master_migration();
    db.migrate_master();
    db
}

/// `(version, batch)` of every applied master migration.
fn batches(db: &TestDb) -> Vec<(i64, i64)> {
    db.rows("select version, batch from public.tenantctl_master_migrations order by version")
        .iter()
        .map(|r| (r["version"].as_i64().unwrap(), r["batch"].as_i64().unwrap()))
        .collect()
}

#[test]
fn migrate_master_creates_the_registry_and_applies_every_file_in_one_batch() {
    let db = TestDb::new();
    db.tenantctl(&["migrate-master"]).succeeds();
    for table in [
        "public.tenants",
        "public.tenantctl_master_migrations",
        "public.tenantctl_tenant_migrations",
        "public.tenantctl_runs",
        "public.plans",
        "public.feature_flags",
    ] {
        assert!(db.exists(table), "{table} should exist");
    }
    assert_eq!(batches(&db), [(1, 1), (2, 1)]);
    assert_eq!(db.scalar::<i64>("select count(*) from public.plans"), 3);
}

#[test]
fn migrate_master_on_an_up_to_date_database_changes_nothing() {
    let db = TestDb::new();
    db.migrate_master();
    let before = db.snapshot().without_runs();
    db.tenantctl(&["migrate-master"]).succeeds();
    assert_eq!(db.snapshot().without_runs(), before);
}

#[test]
fn each_migrate_master_run_with_new_files_is_a_new_batch() {
    let db = two_master_batches();
    assert_eq!(batches(&db), [(1, 1), (2, 1), (3, 2)]);
    assert!(db.exists("public.plan_limits"));
}

#[test]
fn migrate_master_dry_run_on_a_fresh_database_lists_the_files_and_changes_nothing() {
    let db = TestDb::new();
    let before = db.snapshot();
    db.tenantctl(&["migrate-master", "--dry-run"]).succeeds().mentions("0001_plans").mentions("0002_feature_flags");
    assert_eq!(db.snapshot(), before, "--dry-run must not even create the bootstrap tables");
}

#[test]
fn concurrent_migrate_master_runs_apply_each_migration_once() {
    let db = TestDb::new();
    let first = db.command(&["migrate-master"]).spawn();
    let second = db.command(&["migrate-master"]).spawn();
    first.wait().succeeds();
    second.wait().succeeds();
    assert_eq!(db.master_applied(), [1, 2]);
    assert_eq!(db.scalar::<i64>("select count(*) from public.plans"), 3);
}

#[test]
fn rollback_master_reverts_the_last_batch() {
    let db = two_master_batches();
    db.tenantctl(&["rollback-master"]).succeeds();
    assert_eq!(db.master_applied(), [1, 2]);
    assert!(!db.exists("public.plan_limits"));
    assert!(db.exists("public.feature_flags"));
}

#[test]
fn rollback_master_steps_reverts_the_newest_migrations_across_batches() {
    let db = two_master_batches();
    db.tenantctl(&["rollback-master", "--steps", "2"]).succeeds();
    assert_eq!(db.master_applied(), [1]);
    assert!(!db.exists("public.plan_limits"));
    assert!(!db.exists("public.feature_flags"));
    assert!(db.exists("public.plans"));
}

#[test]
fn rollback_master_to_a_version_keeps_that_version_applied() {
    let db = two_master_batches();
    db.tenantctl(&["rollback-master", "--to", "1"]).succeeds();
    assert_eq!(db.master_applied(), [1]);
    assert!(db.exists("public.plans"));

    db.tenantctl(&["rollback-master", "--to", "0"]).succeeds();
    assert_eq!(db.master_applied(), Vec::<i64>::new());
    assert!(!db.exists("public.plans"));
}

#[test]
fn rollback_master_dry_run_changes_nothing() {
    let db = two_master_batches();
    let before = db.snapshot();
    db.tenantctl(&["rollback-master", "--steps", "3", "--dry-run"]).succeeds().mentions("0002_feature_flags");
    assert_eq!(db.snapshot(), before);
}

#[test]
fn rollback_master_without_a_down_file_is_refused_before_anything_is_reverted() {
    let db = two_master_batches();
    db.remove("master_migrations/0002_feature_flags.down.sql");
    let before = db.snapshot();

    let refused = db.tenantctl(&["rollback-master", "--steps", "2"]);
    refused.exits(2);
    assert!(refused.one_error_line().contains("0002_feature_flags"), "{refused:?}");
    assert_eq!(db.snapshot(), before, "0003 must not be reverted either");

    // A range that holds only migrations with down files is fine.
    db.tenantctl(&["rollback-master"]).succeeds();
    assert_eq!(db.master_applied(), [1, 2]);
}
