//! The safety gate: a BLOCKED migration about to run makes `migrate-tenants`, `migrate-master` and
//! `rollback-tenants` refuse (exit 1, the findings on stderr, nothing changed, no run recorded);
//! `--allow-unsafe` runs it and the run says so; an allow directive with a reason lets it through.

use serde_json::Value;

use crate::support::{
    Output, TestDb,
    report::{entry, summary, versions},
};

const ORGS: [&str; 3] = ["acme-corp", "globex", "initech"];

/// Asserts a refusal by the gate: exit 1, and stderr names the rule and the file.
#[track_caller]
fn assert_refused(out: &Output, rule: &str, file: &str) {
    out.exits(1);
    assert!(
        out.stderr.contains(rule) && out.stderr.contains(file),
        "the finding ({rule} in {file}) on stderr: {out:?}"
    );
}

/// Whether `schema.table.column` is NOT NULL.
fn not_null(db: &TestDb, table: &str, column: &str) -> bool {
    db.scalar(&format!(
        "select attnotnull from pg_attribute where attrelid = to_regclass('{table}') and attname = '{column}'"
    ))
}

#[test]
fn a_blocked_tenant_migration_is_refused_and_allow_unsafe_runs_it() {
    let db = TestDb::new().with_tenants(&ORGS);
    db.overlay("gate/tenant_create_index", "tenant_migrations");
    let before = db.snapshot();

    let file = "0004_users_email_idx.up.sql";
    assert_refused(&db.tenantctl(&["migrate-tenants"]), "create-index-non-concurrent", file);
    // Never applied to any tenant yet: provisioning would spread it too.
    assert_refused(&db.tenantctl(&["provision-tenant", "newco"]), "create-index-non-concurrent", file);
    assert_eq!(db.snapshot(), before, "nothing changed, not even a run recorded");

    let out = db.tenantctl(&["migrate-tenants", "--allow-unsafe", "--format", "json"]);
    out.succeeds();
    let report = out.json();
    assert_eq!(summary(&report), [3, 0, 0]);
    for org in ORGS {
        assert_eq!(versions(&entry(&report, org)["applied"]), [4]);
        assert_eq!(db.applied(org), [1, 2, 3, 4], "{org}");
        assert!(db.exists(&format!("{}.users_email_idx", db.schema_for(org))), "{org}");
    }
    let row = db.run_row(report["run_id"].as_str().expect("run_id"));
    assert_eq!((&row["command"], &row["allow_unsafe"]), (&"migrate-tenants".into(), &true.into()), "{row}");

    // 0004 stays BLOCKED in the directory, but it is applied everywhere: provisioning a new
    // tenant gives it 0004 too, and a safe 0005 runs.
    db.provision(&["newco"]);
    assert_eq!(db.applied("newco"), [1, 2, 3, 4]);
    db.overlay("gate/tenant_after_blocked", "tenant_migrations");
    db.tenantctl(&["migrate-tenants"]).succeeds();
    for org in ORGS.into_iter().chain(["newco"]) {
        assert_eq!(db.applied(org), [1, 2, 3, 4, 5], "{org}");
    }
}

#[test]
fn set_not_null_in_a_pending_tenant_migration_is_refused() {
    let db = TestDb::new().with_tenants(&ORGS);
    db.overlay("gate/tenant_set_not_null", "tenant_migrations");
    let before = db.snapshot();

    let file = "0004_users_display_name_required.up.sql";
    assert_refused(&db.tenantctl(&["migrate-tenants"]), "set-not-null", file);
    assert_refused(&db.tenantctl(&["migrate-tenants", "--tenant", "globex"]), "set-not-null", file);
    assert_eq!(db.snapshot(), before);

    db.tenantctl(&["migrate-tenants", "--allow-unsafe"]).succeeds();
    for org in ORGS {
        assert!(not_null(&db, &format!("{}.users", db.schema_for(org)), "display_name"), "{org}");
    }
}

#[test]
fn an_allow_directive_with_a_reason_lets_the_statement_through() {
    let db = TestDb::new().with_tenants(&ORGS);
    db.overlay("gate/tenant_create_index_allowed", "tenant_migrations");

    let out = db.tenantctl(&["migrate-tenants", "--format", "json"]);
    out.succeeds();
    let report = out.json();
    assert_eq!(summary(&report), [3, 0, 0]);
    for org in ORGS {
        assert_eq!(db.applied(org), [1, 2, 3, 4], "{org}");
        assert!(db.exists(&format!("{}.users_email_idx", db.schema_for(org))), "{org}");
    }
    let row = db.run_row(report["run_id"].as_str().expect("run_id"));
    assert_eq!(row["allow_unsafe"], false, "a directive is not --allow-unsafe: {row}");
}

#[test]
fn a_blocked_master_migration_is_refused_and_allow_unsafe_runs_it() {
    let db = TestDb::new();
    db.migrate_master();
    db.overlay("gate/master_create_index", "master_migrations");
    let before = db.snapshot();

    let file = "0003_plans_code_lower_idx.up.sql";
    assert_refused(&db.tenantctl(&["migrate-master"]), "create-index-non-concurrent", file);
    assert_eq!(db.snapshot(), before, "nothing changed, not even a run recorded");

    let out = db.tenantctl(&["migrate-master", "--allow-unsafe", "--format", "json"]);
    out.succeeds();
    assert_eq!(db.master_applied(), [1, 2, 3]);
    assert!(db.exists("public.plans_code_lower_idx"));
    let row = db.run_row(out.json()["run_id"].as_str().expect("run_id"));
    assert_eq!((&row["command"], &row["allow_unsafe"]), (&"migrate-master".into(), &true.into()), "{row}");

    // 0003 stays BLOCKED in the directory, but it is applied: a safe 0004 runs.
    db.overlay("gate/master_after_blocked", "master_migrations");
    db.migrate_master();
    assert_eq!(db.master_applied(), [1, 2, 3, 4]);
}

#[test]
fn a_blocked_master_migration_on_a_fresh_database_creates_nothing() {
    let db = TestDb::new();
    db.overlay("gate/master_create_index", "master_migrations");
    let fresh = db.snapshot();
    assert_refused(&db.tenantctl(&["migrate-master"]), "create-index-non-concurrent", "0003_plans_code_lower_idx");
    assert_eq!(db.snapshot(), fresh, "not even tenantctl's own tables");
}

#[test]
fn a_blocked_down_file_refuses_the_rollback_and_allow_unsafe_runs_it() {
    let db = TestDb::new().with_tenants(&ORGS);
    // The up file (DROP NOT NULL) passes; its down file (SET NOT NULL) is BLOCKED.
    db.overlay("gate/tenant_blocked_down", "tenant_migrations");
    db.tenantctl(&["migrate-tenants"]).succeeds();
    let projects = |org: &str| format!("{}.projects", db.schema_for(org));
    for org in ORGS {
        assert!(!not_null(&db, &projects(org), "name"), "{org}");
    }
    // A later batch with a safe down file: reverting it alone does not run the BLOCKED one.
    db.overlay("gate/tenant_after_blocked", "tenant_migrations");
    db.tenantctl(&["migrate-tenants"]).succeeds();
    db.tenantctl(&["rollback-tenants"]).succeeds();
    for org in ORGS {
        assert_eq!(db.applied(org), [1, 2, 3, 4], "{org}");
    }
    let before = db.snapshot();

    let file = "0004_projects_name_optional.down.sql";
    assert_refused(&db.tenantctl(&["rollback-tenants"]), "set-not-null", file);
    assert_refused(&db.tenantctl(&["rollback-tenants", "--to", "3"]), "set-not-null", file);
    assert_eq!(db.snapshot(), before, "nothing reverted, no run recorded");

    let out = db.tenantctl(&["rollback-tenants", "--allow-unsafe", "--format", "json"]);
    out.succeeds();
    let report = out.json();
    assert_eq!(summary(&report), [3, 0, 0]);
    for org in ORGS {
        assert_eq!(versions(&entry(&report, org)["reverted"]), [4]);
        assert_eq!(db.applied(org), [1, 2, 3], "{org}");
        assert!(not_null(&db, &projects(org), "name"), "{org}: the down file ran");
    }
    let row = db.run_row(report["run_id"].as_str().expect("run_id"));
    assert_eq!((&row["command"], &row["allow_unsafe"]), (&"rollback-tenants".into(), &Value::Bool(true)), "{row}");
}
