//! `status`: master version and pending files, tenants by status, tenants behind, failed tenants
//! with their errors, one tenant's migrations; `--check` for CI; read-only commands record nothing.

use serde_json::{Value, json};

use crate::support::TestDb;

/// Four tenants, one FAILED at 0003 (its 0004 collided), three at 0005; master 0003 pending.
fn one_failed_tenant() -> TestDb {
    let db = TestDb::with_tenants_behind(&["acme-corp", "globex", "initech", "umbrella"]);
    db.write_next_master_migration();
    db.break_0004_for("initech");
    db.tenantctl(&["migrate-tenants"]).exits(1);
    db
}

#[test]
fn status_json_has_the_master_version_counts_behind_and_failures() {
    let db = one_failed_tenant();
    let out = db.tenantctl(&["status", "--format", "json"]);
    out.succeeds();
    let status = out.json();

    assert_eq!(status["master"]["version"], 2);
    assert_eq!(status["master"]["pending"], json!(["0003_plan_limits.up.sql"]));
    assert_eq!(status["tenants"]["total"], 4);
    assert_eq!(
        status["tenants"]["by_status"],
        json!({"PROVISIONING": 0, "ACTIVE": 3, "FAILED": 1, "ARCHIVED": 0, "MOVING": 0})
    );
    assert_eq!(status["tenants"]["behind"], 1);
    let failed = status["failed"].as_array().expect("failed is a list");
    assert_eq!(failed.len(), 1, "{status:#}");
    assert_eq!(failed[0]["org_id"], "initech");
    assert_eq!(failed[0]["schema"], db.schema_for("initech").as_str());
    assert_eq!(failed[0]["error"], db.tenant("initech")["last_error"], "the full error");
}

#[test]
fn status_text_names_the_master_version_the_counts_and_each_failed_tenant() {
    let db = one_failed_tenant();
    let out = db.tenantctl(&["status"]);
    out.succeeds()
        .mentions("0003_plan_limits")
        .mentions("ACTIVE")
        .mentions("FAILED")
        .mentions("initech")
        .mentions(&db.schema_for("initech"))
        .mentions("already exists");
}

#[test]
fn status_reports_no_master_version_when_nothing_is_applied() {
    let db = TestDb::new();
    db.migrate_master();
    db.tenantctl(&["rollback-master", "--to", "0"]).succeeds();
    let status = db.tenantctl(&["status", "--format", "json"]).json();
    assert_eq!(status["master"]["version"], Value::Null);
    assert_eq!(status["master"]["pending"], json!(["0001_plans.up.sql", "0002_feature_flags.up.sql"]));
    assert_eq!(status["tenants"]["total"], 0);
    assert_eq!(status["failed"], json!([]));
}

#[test]
fn status_check_fails_when_a_tenant_is_behind_or_failed() {
    let db = TestDb::new().with_tenants(&["acme-corp", "globex"]);
    db.tenantctl(&["status", "--check"]).succeeds();

    db.write_next_tenant_migrations();
    db.tenantctl(&["status"]).succeeds();
    db.tenantctl(&["status", "--check"]).exits(1);

    db.break_0004_for("globex");
    db.tenantctl(&["migrate-tenants"]).exits(1);
    db.tenantctl(&["status"]).succeeds();
    db.tenantctl(&["status", "--check"]).exits(1);
}

#[test]
fn status_of_one_tenant_lists_its_applied_migrations() {
    let db = TestDb::new().with_tenants(&["acme-corp", "globex"]);
    db.tenantctl(&["status", "--tenant", "acme-corp"])
        .succeeds()
        .mentions(&db.schema_for("acme-corp"))
        .mentions("users")
        .mentions("projects")
        .mentions("users_display_name");
}

#[test]
fn read_only_commands_and_dry_runs_record_nothing() {
    let db = TestDb::with_tenants_behind(&["acme-corp"]);
    db.write_next_master_migration();
    let before = db.snapshot();
    for args in [
        &["status"][..],
        &["status", "--format", "json"],
        &["status", "--tenant", "acme-corp"],
        &["migrate-master", "--dry-run"],
        &["rollback-master", "--dry-run"],
        &["migrate-tenants", "--dry-run"],
        &["rollback-tenants", "--dry-run"],
    ] {
        db.tenantctl(args).succeeds();
        assert_eq!(db.snapshot(), before, "tenantctl {args:?} changed the database");
    }
}

#[test]
fn every_command_that_changes_something_records_a_run() {
    let db = TestDb::new();
    db.migrate_master();
    db.provision(&["acme-corp"]);
    db.write_next_tenant_migrations();
    db.tenantctl(&["migrate-tenants"]).succeeds();
    db.tenantctl(&["rollback-tenants"]).succeeds();
    db.tenantctl(&["rollback-master", "--steps", "1"]).succeeds();
    let commands: Vec<String> = db.column("select command from public.tenantctl_runs order by started_at");
    assert_eq!(commands.len(), 5, "{commands:?}");
    for (recorded, command) in commands.iter().zip([
        "migrate-master",
        "provision-tenant",
        "migrate-tenants",
        "rollback-tenants",
        "rollback-master",
    ]) {
        assert!(recorded.contains(command), "{commands:?}");
    }
}
