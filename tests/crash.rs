//! Crash safety: `kill -9` of `tenantctl` in the middle of a run over 200+ tenants, at a point
//! chosen by observed progress (the registry polled until k tenants are done), loses nothing.
//! Afterwards every tenant schema is fully migrated or untouched (a no-transaction file may be
//! partly applied, but is then not recorded), the registry mirror agrees with every tracking table,
//! and a rerun finishes the job without applying any migration twice.
//!
//! Each pending migration also appends its version to a `crash_log` table in the tenant schema, so a
//! migration applied twice would show as a duplicate row even where its DDL would not.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::support::{
    Running, TenantState, TestDb, org_ids,
    report::{reported_orgs, summary},
};

/// Tenants in every crash test.
const TENANTS: usize = 200;

/// A pending tenant migration slow enough (50 ms a tenant, two at a time) to stop mid-run.
const SLOW_0004: &str = "-- Slow on purpose: a run over 200 tenants takes seconds, so it can be killed midway.\n\
CREATE TABLE crash_log (version integer NOT NULL);\n\
SELECT pg_sleep(0.05);\n\
INSERT INTO crash_log (version) VALUES (4);\n";

/// `count` tenants provisioned at the basic fixture's 0001-0003 (quickly: nothing slow yet).
fn provisioned(count: usize) -> (TestDb, Vec<String>) {
    let orgs = org_ids(count);
    let db = TestDb::new();
    db.migrate_master();
    db.write("orgs.txt", orgs.join("\n") + "\n");
    db.tenantctl(&["provision-tenant", "--from-file", "orgs.txt", "--concurrency", "8", "-q"]).succeeds();
    (db, orgs)
}

/// Polls until `done` holds or the run ended on its own, then `kill -9`s it; panics (with its
/// output) when it finished before it could be killed, since then nothing was tested. The server
/// ends the killed process's sessions (rolling back what they had open) only when it notices: call
/// [`TestDb::wait_until_tenantctl_is_gone`] before looking, since they may still hold tenant locks.
#[track_caller]
fn kill_when(db: &TestDb, mut run: Running, what: &str, done: impl Fn(&TestDb) -> bool) {
    db.poll_until(what, |db| run.has_exited() || done(db));
    let (out, killed) = run.kill();
    assert!(killed, "the run ended on its own before {what}, so it was not killed mid-run: {out:?}");
}

/// `crash_log` of every schema that has one: the versions logged, ascending, duplicates kept.
fn crash_logs(db: &TestDb, schemas: &[String]) -> BTreeMap<String, Vec<i64>> {
    let with_log = db.schemas_having(schemas, "crash_log");
    let mut logs: BTreeMap<String, Vec<i64>> = with_log.iter().map(|s| (s.clone(), Vec::new())).collect();
    for row in db.over_schemas(&with_log, "select version from {schema}.crash_log") {
        let schema = row["schema"].as_str().expect("schema").to_owned();
        logs.entry(schema).or_default().push(row["version"].as_i64().expect("version"));
    }
    for versions in logs.values_mut() {
        versions.sort_unstable();
    }
    logs
}

/// After a kill during `migrate-tenants` of 0004: each tenant ACTIVE and either untouched (0001-0003,
/// no `crash_log`) or fully migrated (0001-0004, `crash_log` = [4]), its mirror agreeing. Returns
/// how many are fully migrated.
#[track_caller]
fn all_or_nothing(db: &TestDb, states: &[TenantState]) -> usize {
    let schemas: Vec<String> = states.iter().map(|t| t.schema.clone()).collect();
    let logs = crash_logs(db, &schemas);
    let mut migrated = 0;
    for t in states {
        assert_eq!(t.status, "ACTIVE", "a kill must not change a tenant's status: {t:?}");
        assert!(t.schema_exists, "{t:?}");
        assert!(t.mirror_agrees(), "the registry mirror must agree with the tracking table: {t:?}");
        match t.tracked.as_deref() {
            Some([1, 2, 3]) => assert_eq!(logs.get(&t.schema), None, "untouched, yet 0004's table exists: {t:?}"),
            Some([1, 2, 3, 4]) => {
                assert_eq!(logs.get(&t.schema).map(Vec::as_slice), Some(&[4][..]), "{t:?}");
                migrated += 1;
            }
            _ => panic!("neither untouched nor fully migrated: {t:?}"),
        }
    }
    migrated
}

/// After the rerun: every tenant ACTIVE at 0001-0004, mirror agreeing, 0004 logged exactly once.
#[track_caller]
fn everything_migrated_once(db: &TestDb, count: usize) {
    let states = db.tenant_states();
    assert_eq!(states.len(), count);
    let schemas: Vec<String> = states.iter().map(|t| t.schema.clone()).collect();
    let logs = crash_logs(db, &schemas);
    for t in &states {
        assert_eq!((t.status.as_str(), t.tracked.as_deref()), ("ACTIVE", Some(&[1, 2, 3, 4][..])), "{t:?}");
        assert!(t.mirror_agrees(), "{t:?}");
        assert_eq!(logs.get(&t.schema).map(Vec::as_slice), Some(&[4][..]), "0004 applied once to {t:?}");
    }
}

/// Kills `migrate-tenants` once `k` of 200 tenants are done, checks all-or-nothing, then reruns.
fn kill_migrate_tenants_after(k: usize) {
    let (db, orgs) = provisioned(TENANTS);
    db.write("tenant_migrations/0004_crash_log.up.sql", SLOW_0004);

    let run = db.command(&["migrate-tenants", "--concurrency", "2"]).spawn();
    let k_done = i64::try_from(k).expect("k");
    kill_when(&db, run, &format!("{k} tenants are migrated"), |db| db.tenants_at("ACTIVE", 4) >= k_done);
    db.wait_until_tenantctl_is_gone();

    let states = db.tenant_states();
    assert_eq!(states.len(), TENANTS);
    let migrated = all_or_nothing(&db, &states);
    assert!((k..TENANTS).contains(&migrated), "killed after {k} tenants, yet {migrated} are migrated");

    // The rerun does the rest, and only the rest: the others are up to date in the registry.
    let out = db.tenantctl(&["migrate-tenants", "--concurrency", "8", "--format", "json"]);
    out.succeeds();
    let report = out.json();
    let remaining = u64::try_from(TENANTS - migrated).expect("count");
    assert_eq!(summary(&report), [remaining, 0, 0], "{report:#}");
    assert_eq!(report["summary"]["up_to_date"], migrated, "{report:#}");
    let untouched: Vec<&String> =
        states.iter().filter(|t| t.tracked.as_deref() == Some(&[1, 2, 3][..])).map(|t| &t.org_id).collect();
    assert_eq!(reported_orgs(&report).iter().collect::<Vec<_>>(), untouched);
    for tenant in report["tenants"].as_array().expect("tenants") {
        assert_eq!(tenant["applied"], serde_json::json!([4]), "{tenant}");
    }
    everything_migrated_once(&db, orgs.len());
}

#[test]
fn migrate_tenants_killed_after_the_first_tenant_loses_nothing() {
    kill_migrate_tenants_after(1);
}

#[test]
fn migrate_tenants_killed_after_a_quarter_of_the_tenants_loses_nothing() {
    kill_migrate_tenants_after(50);
}

#[test]
fn migrate_tenants_killed_halfway_loses_nothing() {
    kill_migrate_tenants_after(100);
}

#[test]
fn migrate_tenants_killed_after_three_quarters_of_the_tenants_loses_nothing() {
    kill_migrate_tenants_after(150);
}

#[test]
fn migrate_tenants_killed_near_the_end_loses_nothing() {
    kill_migrate_tenants_after(185);
}

#[test]
fn provision_tenant_killed_midway_through_many_orgs_loses_nothing() {
    const ORGS: usize = 220;
    let db = TestDb::new();
    db.migrate_master();
    db.write("tenant_migrations/0004_crash_log.up.sql", SLOW_0004);
    let orgs = org_ids(ORGS);
    db.write("orgs.txt", orgs.join("\n") + "\n");

    let run = db.command(&["provision-tenant", "--from-file", "orgs.txt", "--concurrency", "2"]).spawn();
    kill_when(&db, run, "80 orgs are provisioned", |db| db.tenants_at("ACTIVE", 4) >= 80);
    db.wait_until_tenantctl_is_gone();

    let states = db.tenant_states();
    let schemas: Vec<String> = states.iter().map(|t| t.schema.clone()).collect();
    let logs = crash_logs(&db, &schemas);
    let known: BTreeSet<&String> = orgs.iter().collect();
    let mut active = BTreeSet::new();
    for t in &states {
        assert!(known.contains(&t.org_id), "{t:?}");
        assert!(t.mirror_agrees(), "the registry mirror must agree with the tracking table: {t:?}");
        match t.status.as_str() {
            "ACTIVE" => {
                assert_eq!(t.tracked.as_deref(), Some(&[1, 2, 3, 4][..]), "ACTIVE means fully provisioned: {t:?}");
                assert_eq!(logs.get(&t.schema).map(Vec::as_slice), Some(&[4][..]), "{t:?}");
                active.insert(t.schema.clone());
            }
            // Registered, but its one provisioning transaction never committed: no schema at all.
            "PROVISIONING" => assert!(!t.schema_exists, "a PROVISIONING tenant has a schema: {t:?}"),
            _ => panic!("a kill must leave tenants ACTIVE or PROVISIONING: {t:?}"),
        }
    }
    assert!((80..ORGS).contains(&active.len()), "{} ACTIVE after the kill", active.len());
    assert_eq!(
        db.schemas_named("tid_").into_iter().collect::<BTreeSet<_>>(),
        active,
        "the only tenant schemas are those of ACTIVE tenants"
    );

    // Provisioning the same file again resumes the rest and skips the ACTIVE ones.
    let out = db.tenantctl(&["provision-tenant", "--from-file", "orgs.txt", "--concurrency", "8", "--format", "json"]);
    out.succeeds();
    let report = out.json();
    let done = u64::try_from(active.len()).expect("count");
    assert_eq!(summary(&report), [u64::try_from(ORGS).expect("count") - done, 0, done], "{report:#}");
    for tenant in report["tenants"].as_array().expect("tenants") {
        let expected =
            if active.contains(tenant["schema"].as_str().unwrap_or_default()) { "skipped" } else { "succeeded" };
        assert_eq!(tenant["outcome"], expected, "{tenant}");
    }
    everything_migrated_once(&db, ORGS);
    assert_eq!(db.schemas_named("tid_").len(), ORGS);
}

#[test]
fn migrate_tenants_killed_during_a_concurrent_index_build_leaves_the_file_unrecorded_and_the_rerun_finishes_it() {
    /// The tenant (in registry order) whose index build the kill interrupts.
    const K: usize = 120;
    const INDEX: &str = "users_display_name_idx";
    let (db, _) = provisioned(TENANTS);
    // The last statement waits for an advisory lock keyed by the tenant's schema: the test holds the
    // K-th tenant's, so the run stops there deterministically, after the index was built and before
    // the migration is recorded — the one state the README allows besides "fully migrated or untouched".
    db.write(
        "tenant_migrations/0004_users_display_name_idx.up.sql",
        format!(
            "-- tenantctl:no-transaction\n\
             DROP INDEX CONCURRENTLY IF EXISTS {INDEX};\n\
             CREATE INDEX CONCURRENTLY {INDEX} ON users (display_name);\n\
             SELECT pg_advisory_xact_lock_shared(4242, hashtext(current_schema()));\n"
        ),
    );
    // One build at a time, so the tenants after K have not started when the run stops at K.
    db.write("tenantctl.toml", "no_transaction_concurrency = 1\n");
    let stuck = db.schema_for(&db.registry_order()[K - 1]);
    let gate = db.hold_session(&format!("SELECT pg_advisory_lock(4242, hashtext('{stuck}'))"));

    let run = db.command(&["migrate-tenants", "--concurrency", "2"]).spawn();
    let before = i64::try_from(K - 1).expect("count");
    kill_when(&db, run, &format!("tenant {K} waits in its index migration"), |db| {
        db.tenants_at("ACTIVE", 4) == before
            && db.scalar::<bool>(
                "select exists (select from pg_stat_activity where datname = current_database() \
                 and application_name = 'tenantctl/migrate-tenants' and wait_event = 'advisory')",
            )
    });
    // The killed run's session still waits for the lock; released, it finds its client gone and ends.
    drop(gate);
    db.wait_until_tenantctl_is_gone();

    let indexed = db.schemas_having(&db.schemas_named("tid_"), INDEX).into_iter().collect::<BTreeSet<_>>();
    for (i, t) in db.tenant_states().iter().enumerate() {
        assert_eq!(t.status, "ACTIVE", "{t:?}");
        assert!(t.mirror_agrees(), "the registry mirror must agree with the tracking table: {t:?}");
        let recorded = t.tracked.as_deref() == Some(&[1, 2, 3, 4][..]);
        match i + 1 {
            n if n < K => assert!(recorded && indexed.contains(&t.schema), "done before the kill: {t:?}"),
            K => assert!(
                !recorded && t.tracked.as_deref() == Some(&[1, 2, 3][..]) && indexed.contains(&t.schema),
                "partly applied (index built) but not recorded: {t:?}"
            ),
            _ => assert!(
                t.tracked.as_deref() == Some(&[1, 2, 3][..]) && !indexed.contains(&t.schema),
                "untouched: {t:?}"
            ),
        }
    }

    // The rerun runs the whole file again where it is not recorded: DROP ... IF EXISTS makes that safe.
    let out = db.tenantctl(&["migrate-tenants", "--concurrency", "2", "--format", "json"]);
    out.succeeds();
    let report = out.json();
    assert_eq!(summary(&report), [u64::try_from(TENANTS - K + 1).expect("count"), 0, 0], "{report:#}");
    assert_eq!(report["summary"]["up_to_date"], Value::from(K - 1));
    for t in db.tenant_states() {
        assert_eq!((t.status.as_str(), t.tracked.as_deref()), ("ACTIVE", Some(&[1, 2, 3, 4][..])), "{t:?}");
        assert!(t.mirror_agrees(), "{t:?}");
    }
    let indexes = db.rows(&format!(
        "select n.nspname as schema, count(*) as n, bool_and(x.indisvalid) as valid \
         from pg_class c join pg_namespace n on n.oid = c.relnamespace join pg_index x on x.indexrelid = c.oid \
         where c.relname = '{INDEX}' group by 1"
    ));
    assert_eq!(indexes.len(), TENANTS, "one index in every tenant schema");
    for index in indexes {
        assert_eq!((&index["n"], &index["valid"]), (&Value::from(1), &Value::from(true)), "{index}");
    }
}
