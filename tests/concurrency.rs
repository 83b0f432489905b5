//! Concurrent runs are safe: two `migrate-tenants` started together over the same 200 tenants, two
//! `migrate-master` over the same pending files, two `provision-tenant` of the same org. Both exit 0
//! within a bounded time, every migration is applied once, and each tenant is reported honestly:
//! migrated by exactly one run, skipped (or already up to date) by the other, never failed.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use serde_json::Value;

use crate::support::{
    Output, Running, TestDb, org_ids,
    report::{entry, summary},
};

/// A generous bound for a pair of runs that take a few seconds alone.
const BOUND: Duration = Duration::from_secs(120);

/// Waits for both runs, asserting they finished within [`BOUND`] of `started`.
#[track_caller]
fn both(started: Instant, first: Running, second: Running) -> [Output; 2] {
    let outputs = [first.wait(), second.wait()];
    assert!(started.elapsed() < BOUND, "two runs at once took {:?}", started.elapsed());
    outputs
}

/// The ledger rows of every tenant schema: each pending migration inserts its version once.
fn ledgers(db: &TestDb) -> BTreeMap<String, Vec<i64>> {
    let schemas = db.schemas_having(&db.schemas_named("tid_"), "ledger");
    let mut out: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for row in db.over_schemas(&schemas, "select version from {schema}.ledger") {
        out.entry(row["schema"].as_str().expect("schema").to_owned())
            .or_default()
            .push(row["version"].as_i64().expect("version"));
    }
    for versions in out.values_mut() {
        versions.sort_unstable();
    }
    out
}

#[test]
fn two_fanouts_started_together_over_200_tenants_migrate_each_tenant_exactly_once() {
    let orgs = org_ids(200);
    let db = TestDb::new();
    db.migrate_master();
    db.write("orgs.txt", orgs.join("\n") + "\n");
    db.tenantctl(&["provision-tenant", "--from-file", "orgs.txt", "--concurrency", "8", "-q"]).succeeds();
    // Two pending migrations in one batch; each logs its version, so a second application shows.
    db.write(
        "tenant_migrations/0004_ledger.up.sql",
        "CREATE TABLE ledger (version integer NOT NULL);\nINSERT INTO ledger (version) VALUES (4);\n",
    );
    db.write("tenant_migrations/0005_ledger_again.up.sql", "INSERT INTO ledger (version) VALUES (5);\n");

    let args = ["migrate-tenants", "--concurrency", "4", "--format", "json"];
    let started = Instant::now();
    let (first, second) = (db.command(&args).spawn(), db.command(&args).spawn());
    let reports = both(started, first, second).map(|out| {
        out.succeeds();
        out.json()
    });

    for report in &reports {
        let [_, failed, _] = summary(report);
        assert_eq!(failed, 0, "{report:#}");
        // Every tenant is either listed or counted as already up to date when the run started.
        let listed = report["tenants"].as_array().expect("tenants").len();
        assert_eq!(listed + report["summary"]["up_to_date"].as_u64().expect("up_to_date") as usize, orgs.len());
    }
    let succeeded: u64 = reports.iter().map(|r| summary(r)[0]).sum();
    assert_eq!(succeeded, 200, "each tenant migrated by exactly one run");
    for org in &orgs {
        let outcomes: Vec<&Value> = reports
            .iter()
            .filter_map(|r| r["tenants"].as_array()?.iter().find(|t| t["org_id"] == org.as_str()))
            .collect();
        let winners: Vec<&&Value> = outcomes.iter().filter(|t| t["outcome"] == "succeeded").collect();
        assert_eq!(winners.len(), 1, "{org} migrated by exactly one run: {outcomes:?}");
        assert_eq!(winners[0]["applied"], serde_json::json!([4, 5]), "{org}: one batch, one run");
        for other in outcomes.iter().filter(|t| t["outcome"] != "succeeded") {
            assert_eq!(other["outcome"], "skipped", "{org}: {other}");
            let reason = other["reason"].as_str().unwrap_or_default();
            assert!(reason.contains("another tenantctl run") || reason.contains("up to date"), "{org}: {other}");
        }
    }
    let ledgers = ledgers(&db);
    assert_eq!(ledgers.len(), 200);
    for (schema, versions) in ledgers {
        assert_eq!(versions, [4, 5], "{schema}: each migration applied once");
    }
    for t in db.tenant_states() {
        assert_eq!((t.status.as_str(), t.tracked.as_deref()), ("ACTIVE", Some(&[1, 2, 3, 4, 5][..])), "{t:?}");
        assert!(t.mirror_agrees(), "{t:?}");
    }
}

#[test]
fn two_migrate_masters_at_once_apply_each_pending_file_once_round_after_round() {
    let db = TestDb::new();
    // Extension creation and the bootstrap race too (concurrent IF NOT EXISTS statements collide).
    db.write("tenantctl.toml", "extensions = [\"pgcrypto\"]\n");
    let mut expected: Vec<i64> = vec![1, 2];
    for round in 0..4 {
        if round > 0 {
            let version = 2 + round;
            db.write(
                &format!("master_migrations/{version:04}_audit_{round}.up.sql"),
                format!(
                    "CREATE TABLE IF NOT EXISTS public.master_ledger (version integer NOT NULL);\n\
                     INSERT INTO public.master_ledger (version) VALUES ({version});\n"
                ),
            );
            expected.push(version);
        }
        let args = ["migrate-master", "--format", "json"];
        let started = Instant::now();
        let (first, second) = (db.command(&args).spawn(), db.command(&args).spawn());
        let reports = both(started, first, second).map(|out| {
            out.succeeds();
            out.json()
        });
        // Between them, the two runs applied the new files, each exactly once.
        let mut applied: Vec<i64> = reports
            .iter()
            .flat_map(|r| r["applied"].as_array().expect("applied").iter().map(|m| m["version"].as_i64().expect("v")))
            .collect();
        applied.sort_unstable();
        let new = if round == 0 { vec![1, 2] } else { vec![expected[expected.len() - 1]] };
        assert_eq!(applied, new, "round {round}: {reports:#?}");
        assert_eq!(db.master_applied(), expected, "round {round}");
    }
    let ledger: Vec<i32> = db.column("select version from public.master_ledger order by 1");
    assert_eq!(ledger, [3, 4, 5], "each master migration ran once");
    assert_eq!(db.scalar::<i64>("select count(*) from public.plans"), 3, "0001's rows inserted once");
    assert_eq!(db.scalar::<i64>("select count(*) from pg_extension where extname = 'pgcrypto'"), 1);
}

#[test]
fn provisioning_the_same_org_twice_at_once_provisions_it_once_and_skips_it_once() {
    let db = TestDb::new();
    db.migrate_master();
    // Slow enough that the second run arrives while the first one holds the tenant.
    db.write("tenant_migrations/0004_slow.up.sql", "SELECT pg_sleep(0.3);\n");
    for org in ["twin-1", "twin-2", "twin-3"] {
        let args = ["provision-tenant", org, "--format", "json"];
        let started = Instant::now();
        let (first, second) = (db.command(&args).spawn(), db.command(&args).spawn());
        let outcomes: Vec<Value> = both(started, first, second)
            .map(|out| {
                out.succeeds();
                entry(&out.json(), org).clone()
            })
            .into_iter()
            .collect();
        let provisioned: Vec<&Value> = outcomes.iter().filter(|t| t["outcome"] == "succeeded").collect();
        let skipped: Vec<&Value> = outcomes.iter().filter(|t| t["outcome"] == "skipped").collect();
        assert_eq!((provisioned.len(), skipped.len()), (1, 1), "one provisions, the other skips: {outcomes:#?}");
        assert_eq!(provisioned[0]["applied"], serde_json::json!([1, 2, 3, 4]), "{outcomes:#?}");
        assert!(skipped[0]["reason"].as_str().is_some_and(|r| !r.is_empty()), "{outcomes:#?}");

        let rows: i64 = db.scalar_with("select count(*) from public.tenants where org_id = $1", org);
        assert_eq!(rows, 1, "one registry row for {org}");
        assert_eq!(db.status_of(org), "ACTIVE");
        assert_eq!(db.applied(org), [1, 2, 3, 4]);
        let schema = db.schema_for(org);
        assert_eq!(db.schemas_named(&schema), std::slice::from_ref(&schema), "the schema exists once");
        let batches: i64 = db.scalar(&format!("select count(distinct batch) from {schema}.tenantctl_migrations"));
        assert_eq!(batches, 1, "{org} provisioned in one batch by one run");
    }
}
