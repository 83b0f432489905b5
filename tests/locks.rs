//! Locks and timeouts in the fan-out: a tenant whose tables are locked is waited for (and the
//! waiting session says who it is), or fails after `--lock-timeout` and its retries while the
//! others finish; `--statement-timeout` stops a runaway migration.

use crate::support::{
    TestDb,
    report::{entry, summary},
};

const ORGS: [&str; 3] = ["acme-corp", "globex", "initech"];

/// `LOCK TABLE` on `org`'s `projects` (which the pending 0004_tasks references) in a transaction held open until dropped.
fn lock_projects_of(db: &TestDb, org: &str) -> crate::support::HeldTransaction {
    db.hold(&format!("LOCK TABLE {}.projects IN ACCESS EXCLUSIVE MODE", db.schema_for(org)))
}

#[test]
fn a_locked_tenant_is_waited_for_by_a_session_named_after_the_command() {
    let db = TestDb::with_tenants_behind(&ORGS);
    let lock = lock_projects_of(&db, "globex");
    let run = db.command(&["migrate-tenants", "--lock-timeout", "60s"]).spawn();
    db.eventually("tenantctl waits for globex's lock", |db| {
        db.scalar(
            "select exists (select from pg_stat_activity where datname = current_database() \
             and application_name = 'tenantctl/migrate-tenants' and wait_event_type = 'Lock')",
        )
    });
    drop(lock);
    run.wait().succeeds();
    for org in ORGS {
        assert_eq!(db.applied(org), [1, 2, 3, 4, 5], "{org}");
    }
}

#[test]
fn a_tenant_that_cannot_get_its_locks_in_time_fails_and_the_others_finish() {
    let db = TestDb::with_tenants_behind(&ORGS);
    db.write("tenantctl.toml", "lock_retries = 1\n");
    let lock = lock_projects_of(&db, "globex");
    let out = db.tenantctl(&["migrate-tenants", "--lock-timeout", "100ms", "--format", "json"]);
    out.exits(1);
    let report = out.json();
    assert_eq!(summary(&report), [2, 1, 0]);
    let failed = entry(&report, "globex");
    assert!(failed["error"].as_str().unwrap_or_default().contains("lock timeout"), "{failed}");
    assert_eq!(db.status_of("globex"), "FAILED");
    assert_eq!(db.applied("globex"), [1, 2, 3]);

    drop(lock);
    db.tenantctl(&["migrate-tenants", "--include-failed"]).succeeds();
    assert_eq!(db.applied("globex"), [1, 2, 3, 4, 5]);
    assert_eq!(db.status_of("globex"), "ACTIVE");
}

#[test]
fn a_statement_over_the_statement_timeout_fails_its_tenant() {
    let db = TestDb::new().with_tenants(&["acme-corp"]);
    db.write("tenant_migrations/0004_slow.up.sql", "SELECT pg_sleep(10);\n");
    let out = db.tenantctl(&["migrate-tenants", "--statement-timeout", "200ms", "--format", "json"]);
    out.exits(1);
    let failed = entry(&out.json(), "acme-corp").clone();
    assert!(failed["error"].as_str().unwrap_or_default().contains("statement timeout"), "{failed}");
    assert_eq!(db.applied("acme-corp"), [1, 2, 3]);
}
