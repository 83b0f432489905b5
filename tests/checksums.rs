//! Checksums: an applied tenant file that was edited is caught centrally before any tenant is
//! touched; a tenant whose own tracking row disagrees is failed with the file named.

use crate::support::{
    TestDb,
    report::{entry, summary},
};

/// Three tenants, behind in every test: a run that went ahead would change them.
const ORGS: [&str; 3] = ["acme-corp", "globex", "initech"];

#[test]
fn an_edited_applied_tenant_file_is_refused_before_any_tenant_is_touched() {
    let db = TestDb::with_tenants_behind(&ORGS);
    db.append("tenant_migrations/0002_projects.up.sql", "-- an innocent-looking edit\n");
    let before = db.snapshot();

    let refused = db.tenantctl(&["migrate-tenants"]);
    refused.exits(2);
    assert!(refused.one_error_line().contains("0002_projects.up.sql"), "{refused:?}");
    assert_eq!(db.snapshot(), before);
}

#[test]
fn a_tenant_whose_tracking_row_disagrees_with_the_file_is_failed_and_the_file_named() {
    let db = TestDb::with_tenants_behind(&ORGS);
    let schema = db.schema_for("globex");
    db.execute(&format!("update {schema}.tenantctl_migrations set checksum = repeat('0', 64) where version = 2"));

    let out = db.tenantctl(&["migrate-tenants", "--format", "json"]);
    out.exits(1);
    let report = out.json();
    assert_eq!(summary(&report), [2, 1, 0]);
    assert_eq!(entry(&report, "globex")["outcome"], "failed");
    let row = db.tenant("globex");
    assert_eq!(row["status"], "FAILED");
    assert!(row["last_error"].as_str().unwrap_or_default().contains("0002_projects"), "{row}");
    assert_eq!(db.applied("globex"), [1, 2, 3]);
    assert_eq!(db.applied("acme-corp"), [1, 2, 3, 4, 5]);
    assert_eq!(db.applied("initech"), [1, 2, 3, 4, 5]);
}

#[test]
fn a_pending_file_may_still_be_edited() {
    let db = TestDb::with_tenants_behind(&ORGS);
    db.append("tenant_migrations/0004_tasks.up.sql", "-- reviewed\n");
    db.tenantctl(&["migrate-tenants"]).succeeds();
    assert_eq!(db.applied("acme-corp"), [1, 2, 3, 4, 5]);
}
