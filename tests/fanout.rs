//! `migrate-tenants`: the fan-out over every ACTIVE tenant. A failing tenant is rolled back and
//! marked FAILED while the others finish; `--include-failed`, `--tenant`, `--dry-run`, out-of-order
//! versions and two runs at once.

use serde_json::Value;

use crate::support::{
    TestDb, org_ids,
    report::{entry, reported_orgs, summary, versions},
};

#[test]
fn failing_tenants_are_marked_failed_and_the_others_finish() {
    let orgs = org_ids(53);
    let db = TestDb::with_tenants_behind(&orgs);
    let broken = [&orgs[4], &orgs[21], &orgs[40]];
    for org in broken {
        db.break_0004_for(org);
    }

    let out = db.tenantctl(&["migrate-tenants", "--concurrency", "8", "--format", "json"]);
    out.exits(1);
    let report = out.json();
    assert_eq!(summary(&report), [50, 3, 0]);
    assert_eq!(reported_orgs(&report), db.registry_order(), "reported in registry order");
    for org in &orgs {
        let tenant = entry(&report, org);
        let row = db.tenant(org);
        if broken.contains(&org) {
            assert_eq!(tenant["outcome"], "failed", "{tenant}");
            let error = tenant["error"].as_str().unwrap_or_default();
            assert!(error.contains("tasks") && error.contains("already exists"), "{tenant}");
            assert_eq!(row["status"], "FAILED");
            assert!(row["last_error"].as_str().unwrap_or_default().contains("already exists"), "{row}");
            assert_eq!(db.applied(org), [1, 2, 3], "{org}: its transaction is rolled back");
        } else {
            assert_eq!(tenant["outcome"], "succeeded", "{tenant}");
            assert_eq!(versions(&tenant["applied"]), [4, 5]);
            assert_eq!(tenant["error"], Value::Null);
            assert_eq!(row["status"], "ACTIVE");
            assert_eq!(row["schema_version"], 5);
            assert_eq!(db.applied(org), [1, 2, 3, 4, 5]);
        }
    }

    // Fixed by hand: a plain run leaves FAILED tenants alone, --include-failed finishes the job.
    for org in broken {
        db.in_schema_of(org, "DROP TABLE tasks");
    }
    db.tenantctl(&["migrate-tenants"]).succeeds();
    assert_eq!(db.status_of(broken[0]), "FAILED");
    assert_eq!(db.applied(broken[0]), [1, 2, 3]);

    let out = db.tenantctl(&["migrate-tenants", "--include-failed", "--format", "json"]);
    out.succeeds();
    let report = out.json();
    assert_eq!(summary(&report)[1], 0);
    for org in broken {
        assert_eq!(entry(&report, org)["outcome"], "succeeded");
        assert_eq!(versions(&entry(&report, org)["applied"]), [4, 5]);
    }
    for org in &orgs {
        let row = db.tenant(org);
        assert_eq!((&row["status"], &row["schema_version"]), (&"ACTIVE".into(), &5.into()), "{row}");
        assert_eq!(row["last_error"], Value::Null);
    }
}

#[test]
fn pending_migrations_of_a_tenant_are_recorded_as_one_batch() {
    let db = TestDb::with_tenants_behind(&["acme-corp"]);
    db.tenantctl(&["migrate-tenants"]).succeeds();
    let schema = db.schema_for("acme-corp");
    let batches: Vec<i32> = db.column(&format!("select batch from {schema}.tenantctl_migrations order by version"));
    assert_eq!(batches, [1, 1, 1, 2, 2]);
}

#[test]
fn tenant_flags_select_exactly_the_named_tenants_even_failed_ones() {
    let orgs = org_ids(4);
    let db = TestDb::with_tenants_behind(&orgs);
    db.execute("update public.tenants set status = 'FAILED', last_error = 'by hand' where org_id = 'org-004'");

    let out = db.tenantctl(&["migrate-tenants", "--tenant", "org-004", "--tenant", "org-002", "--format", "json"]);
    out.succeeds();
    let named: Vec<String> =
        db.registry_order().into_iter().filter(|org| org == "org-002" || org == "org-004").collect();
    assert_eq!(reported_orgs(&out.json()), named, "reported in registry order");
    for (org, applied) in [("org-001", 3), ("org-002", 5), ("org-003", 3), ("org-004", 5)] {
        assert_eq!(db.applied(org).last(), Some(&applied), "{org}");
        assert_eq!(db.status_of(org), "ACTIVE");
    }
}

#[test]
fn migrate_tenants_dry_run_shows_the_plan_and_changes_nothing() {
    let db = TestDb::with_tenants_behind(&["acme-corp", "globex"]);
    let before = db.snapshot();
    db.tenantctl(&["migrate-tenants", "--dry-run"]).succeeds().mentions("acme-corp").mentions("globex");
    assert_eq!(db.snapshot(), before);
}

#[test]
fn an_up_to_date_fanout_changes_nothing() {
    let db = TestDb::new().with_tenants(&org_ids(3));
    let before = db.snapshot().without_runs();
    db.tenantctl(&["migrate-tenants"]).succeeds();
    assert_eq!(db.snapshot().without_runs(), before);
}

#[test]
fn an_older_pending_version_is_refused_unless_out_of_order_is_allowed() {
    let db = TestDb::new().with_tenants(&["acme-corp", "globex"]);
    db.write("tenant_migrations/0010_labels.up.sql", "CREATE TABLE labels (name text);\n");
    db.tenantctl(&["migrate-tenants"]).succeeds();
    db.write("tenant_migrations/0007_notes.up.sql", "CREATE TABLE notes (body text);\n");

    let before = db.snapshot();
    let refused = db.tenantctl(&["migrate-tenants"]);
    refused.exits(2);
    let line = refused.one_error_line();
    assert!(line.contains('7') && line.contains("10"), "both versions named: {line}");
    assert_eq!(db.snapshot(), before);

    db.tenantctl(&["migrate-tenants", "--allow-out-of-order", "--tenant", "acme-corp"]).succeeds();
    assert_eq!(db.applied("acme-corp"), [1, 2, 3, 7, 10]);
    // globex's newest version is already the newest file: only the set of versions shows 7 missing.
    db.tenantctl(&["migrate-tenants", "--allow-out-of-order"]).succeeds();
    assert_eq!(db.applied("globex"), [1, 2, 3, 7, 10]);
}

#[test]
fn two_fanouts_at_once_both_succeed_and_migrate_each_tenant_once() {
    let orgs = org_ids(10);
    let db = TestDb::with_tenants_behind(&orgs);
    let args = ["migrate-tenants", "--concurrency", "2", "--format", "json"];
    let first = db.command(&args).spawn();
    let second = db.command(&args).spawn();
    let reports = [first.wait(), second.wait()].map(|out| {
        out.succeeds();
        out.json()
    });

    for org in &orgs {
        let outcomes: Vec<&Value> = reports
            .iter()
            .filter_map(|r| r["tenants"].as_array()?.iter().find(|t| t["org_id"] == org.as_str()))
            .map(|t| &t["outcome"])
            .collect();
        let succeeded = outcomes.iter().filter(|o| **o == "succeeded").count();
        assert_eq!(succeeded, 1, "{org} migrated by exactly one run: {outcomes:?}");
        assert!(outcomes.iter().all(|o| *o == "succeeded" || *o == "skipped"), "{outcomes:?}");
        assert_eq!(db.applied(org), [1, 2, 3, 4, 5]);
    }
}
