//! Drift is caught. An applied tenant file edited afterwards is refused before any tenant is
//! touched, even tenants that never ran it. A tenant whose tracking table was altered by hand, or
//! whose schema was dropped while the registry says ACTIVE, is reported by `verify` and
//! `status --verify`, and failed with a precise message by `migrate-tenants` when it has work to do
//! there, while the others go on. `verify` compares every tenant's real structure with its peers'.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{
    TestDb,
    report::{entry, summary, versions},
};

const ORGS: [&str; 5] = ["acme-corp", "globex", "initech", "umbrella", "hooli"];

#[test]
fn a_file_edited_after_one_tenant_applied_it_is_refused_for_every_tenant_before_any_is_touched() {
    let db = TestDb::with_tenants_behind(&ORGS);
    db.tenantctl(&["migrate-tenants", "--tenant", "acme-corp"]).succeeds();
    db.append("tenant_migrations/0004_tasks.up.sql", "-- reviewed again, after acme-corp got it\n");
    let before = db.snapshot();
    // Even a run that would only reach tenants which never ran the file, and provisioning.
    for args in [
        &["migrate-tenants"][..],
        &["migrate-tenants", "--tenant", "globex"],
        &["migrate-tenants", "--include-failed", "--dry-run"],
        &["provision-tenant", "new-org"],
    ] {
        let out = db.tenantctl(args);
        out.exits(2);
        let line = out.one_error_line();
        assert!(line.contains("0004_tasks.up.sql") && line.contains("checksum"), "{args:?}: {line}");
        assert_eq!(db.snapshot(), before, "{args:?} changed the database");
    }
}

#[test]
fn a_hand_edited_tracking_row_and_a_dropped_schema_are_reported_and_failed_precisely_while_the_others_go_on() {
    let db = TestDb::new().with_tenants(&ORGS);
    let globex = db.schema_for("globex");
    let initech = db.schema_for("initech");
    db.execute(&format!("update {globex}.tenantctl_migrations set checksum = repeat('0', 64) where version = 2"));
    db.execute(&format!("drop schema {initech} cascade"));

    // verify: exit 1, exactly the two tenants, each with its problem.
    let out = db.tenantctl(&["verify", "--format", "json"]);
    out.exits(1);
    let report = out.json();
    assert_eq!(report["tenants"], 5);
    let outliers = report["outliers"].as_array().expect("outliers");
    let named: Vec<&str> = outliers.iter().map(|o| o["org_id"].as_str().expect("org_id")).collect();
    let in_registry_order: Vec<String> =
        db.registry_order().into_iter().filter(|o| o == "globex" || o == "initech").collect();
    assert_eq!(named, in_registry_order, "{report:#}");
    let outlier = |org: &str| outliers.iter().find(|o| o["org_id"] == org).expect("an outlier").clone();
    let differences = |org: &str| outlier(org)["differences"].as_array().expect("differences").clone();
    assert_eq!(outlier("globex")["schema"], globex.as_str());
    assert!(
        differences("globex")
            .iter()
            .any(|d| d.as_str().is_some_and(|d| d.contains("checksum") && d.contains("0002_projects.up.sql"))),
        "{report:#}"
    );
    assert_eq!(outlier("initech")["schema"], initech.as_str());
    assert_eq!(differences("initech"), [Value::from(format!("schema {initech} does not exist"))], "{report:#}");

    // status --verify: the same findings; exit 0 as every status, 1 with --check.
    let out = db.tenantctl(&["status", "--verify", "--format", "json"]);
    out.succeeds();
    assert_eq!(out.json()["verify"]["outliers"], report["outliers"]);
    db.tenantctl(&["status", "--verify", "--check"]).exits(1);
    db.tenantctl(&["status", "--verify"]).succeeds().mentions("globex").mentions("initech").mentions(&initech);

    // Nothing pending: the fast path reads only the registry, touches no tenant and succeeds.
    let out = db.tenantctl(&["migrate-tenants", "--format", "json"]);
    out.succeeds();
    assert_eq!(out.json()["summary"]["up_to_date"], 5);

    // Work to do: exactly those two fail, each with a precise message; the others are migrated.
    db.write_next_tenant_migrations();
    let out = db.tenantctl(&["migrate-tenants", "--format", "json"]);
    out.exits(1);
    let report = out.json();
    assert_eq!(summary(&report), [3, 2, 0], "{report:#}");
    let error = |org: &str| entry(&report, org)["error"].as_str().unwrap_or_default().to_owned();
    assert!(error("globex").contains("checksum") && error("globex").contains("0002_projects.up.sql"), "{report:#}");
    assert!(error("initech").contains(&initech) && error("initech").contains("does not exist"), "{report:#}");
    for org in ["globex", "initech"] {
        let row = db.tenant(org);
        assert_eq!(row["status"], "FAILED", "{row}");
        assert_eq!(row["last_error"].as_str(), Some(error(org).as_str()), "{row}");
    }
    assert_eq!(db.applied("globex"), [1, 2, 3], "globex is left as it was");
    assert!(db.schemas_named(&initech).is_empty(), "a fan-out must not recreate a dropped schema");
    for org in ["acme-corp", "umbrella", "hooli"] {
        assert_eq!(versions(&entry(&report, org)["applied"]), [4, 5], "{org}");
        assert_eq!(db.applied(org), [1, 2, 3, 4, 5], "{org}");
        assert_eq!(db.status_of(org), "ACTIVE");
    }
    // Precise: the file is unchanged (it matches the central checksum and every other tenant);
    // what differs is globex's own tracking row, so the message must say so, not blame the file.
    assert!(
        error("globex").contains("tracking") && !error("globex").contains("was edited"),
        "globex's message should point at its tracking table, not claim the file was edited: {}",
        error("globex")
    );
}

#[test]
fn verify_names_the_tenant_altered_by_hand_and_the_column_added() {
    let db = TestDb::with_examples().with_tenants(&ORGS);
    db.tenantctl(&["verify"]).succeeds().mentions("no tenant differs");
    let umbrella = db.schema_for("umbrella");
    db.execute(&format!("ALTER TABLE {umbrella}.org_users ADD COLUMN note text"));

    let out = db.tenantctl(&["verify", "--format", "json"]);
    out.exits(1);
    let report = out.json();
    let mut keys: Vec<&str> = report.as_object().expect("an object").keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["groups", "outliers", "tenants"], "{report:#}");
    assert_eq!(report["tenants"], 5);
    let groups = report["groups"].as_array().expect("groups");
    assert_eq!(groups.len(), 2, "{report:#}");
    let counts: Vec<&Value> = groups.iter().map(|g| &g["count"]).collect();
    assert_eq!(counts, [4, 1], "largest group first: {report:#}");
    assert_eq!(groups[1]["sample"], serde_json::json!(["umbrella"]));
    assert!(groups.iter().all(|g| g["version"] == 4 && g["fingerprint"].as_str().is_some_and(|f| f.len() == 64)));
    assert_eq!(
        report["outliers"],
        serde_json::json!([{
            "org_id": "umbrella",
            "schema": umbrella,
            "version": 4,
            "differences": ["column org_users.note added"],
        }]),
    );
    db.tenantctl(&["verify"]).exits(1).mentions("umbrella").mentions("column org_users.note added");
}

#[test]
fn verify_reads_only_the_catalog_and_never_waits_for_a_locked_tenant_table() {
    let db = TestDb::with_examples().with_tenants(&ORGS);
    // A live session (or a migration in flight) holds a tenant table: verify must not queue behind it.
    let app = db.hold(&format!("LOCK TABLE {}.org_users IN ACCESS EXCLUSIVE MODE", db.schema_for("globex")));
    let mut run = db.command(&["verify", "--format", "json"]).spawn();
    let started = Instant::now();
    while !run.has_exited() && started.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(20));
    }
    if !run.has_exited() {
        let waits = db.rows(
            "select l.relation::regclass::text as relation, l.mode, left(a.query, 80) as query \
             from pg_locks l join pg_stat_activity a using (pid) \
             where a.application_name = 'tenantctl/verify' and not l.granted",
        );
        let (out, _) = run.kill();
        panic!("verify still waits after 20 s while a tenant table is locked; it waits for {waits:?}\n{out:?}");
    }
    drop(app);
    let out = run.wait();
    out.succeeds();
    assert_eq!(out.json()["outliers"], serde_json::json!([]));
}

#[test]
fn verify_reports_both_sides_of_a_tie_between_structures() {
    let db = TestDb::with_examples().with_tenants(&["acme-corp", "globex"]);
    db.execute(&format!("ALTER TABLE {}.org_users ADD COLUMN note text", db.schema_for("globex")));
    let out = db.tenantctl(&["verify", "--format", "json"]);
    out.exits(1);
    let report = out.json();
    let outliers = report["outliers"].as_array().expect("outliers");
    let named: Vec<&str> = outliers.iter().map(|o| o["org_id"].as_str().expect("org_id")).collect();
    assert_eq!(named, db.registry_order(), "both, in registry order: {report:#}");
    for (org, difference) in [("acme-corp", "column org_users.note missing"), ("globex", "column org_users.note added")]
    {
        let outlier = outliers.iter().find(|o| o["org_id"] == org).expect("an outlier");
        assert_eq!(outlier["differences"], serde_json::json!([difference]), "{report:#}");
    }
}
