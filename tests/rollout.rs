//! Rollout controls of `migrate-tenants`: canaries, waves, a failure budget, SIGINT/SIGTERM, the
//! audit trail in `public.tenantctl_runs`, `--format jsonl`, `--log-format json`, the no-op fast
//! path and the concurrency settings.

use serde_json::Value;

use crate::support::{
    Output, TestDb, carries, org_ids,
    report::{entry, reported_orgs, summary, versions},
};

/// `count` tenants at 0001-0003 with 0004-0005 pending, and their org ids in registry order.
fn behind(count: usize) -> (TestDb, Vec<String>) {
    let db = TestDb::with_tenants_behind(&org_ids(count));
    let order = db.registry_order();
    (db, order)
}

/// The picture of every tenant, in the order of `orgs`.
fn pictures(db: &TestDb, orgs: &[String]) -> Vec<Value> {
    orgs.iter().map(|org| db.tenant_picture(org)).collect()
}

/// Runs `migrate-tenants <args> --format json`, asserts the exit code and returns the report.
#[track_caller]
fn migrate(db: &TestDb, args: &[&str], code: i32) -> Value {
    let mut all = vec!["migrate-tenants"];
    all.extend(args);
    all.extend(["--format", "json"]);
    let out = db.tenantctl(&all);
    out.exits(code);
    out.json()
}

/// `org` ran and was migrated to 0005.
#[track_caller]
fn assert_migrated(db: &TestDb, report: &Value, org: &str) {
    let tenant = entry(report, org);
    assert_eq!(tenant["outcome"], "succeeded", "{tenant}");
    assert_eq!(versions(&tenant["applied"]), [4, 5], "{tenant}");
    assert_eq!(db.applied(org), [1, 2, 3, 4, 5], "{org}");
    assert_eq!(db.status_of(org), "ACTIVE", "{org}");
}

/// `org` ran, failed, was rolled back whole and marked FAILED.
#[track_caller]
fn assert_failed(db: &TestDb, report: &Value, org: &str) {
    let tenant = entry(report, org);
    assert_eq!(tenant["outcome"], "failed", "{tenant}");
    assert!(tenant["error"].as_str().unwrap_or_default().contains("already exists"), "{tenant}");
    assert_eq!(db.applied(org), [1, 2, 3], "{org}: its transaction is rolled back");
    assert_eq!(db.status_of(org), "FAILED", "{org}");
}

/// `org` was not started: reported as skipped with a reason, and its registry row, tracking
/// table and schema are exactly as `before`.
#[track_caller]
fn assert_untouched(db: &TestDb, report: &Value, org: &str, before: &Value) {
    let tenant = entry(report, org);
    assert_eq!(tenant["outcome"], "skipped", "{tenant}");
    assert!(tenant["reason"].as_str().is_some_and(|r| !r.trim().is_empty()), "a skipped tenant says why: {tenant}");
    assert_eq!(versions(&tenant["applied"]), Vec::<i64>::new(), "{tenant}");
    assert_eq!(&db.tenant_picture(org), before, "{org} was touched");
}

#[test]
fn a_canary_with_a_failure_stops_the_run_and_a_clean_canary_lets_it_finish() {
    let (db, order) = behind(10);
    db.break_0004_for(&order[1]);
    let before = pictures(&db, &order);

    let report = migrate(&db, &["--canary", "3"], 1);
    assert_eq!(summary(&report), [2, 1, 7]);
    assert_eq!(reported_orgs(&report), order, "every target reported, in registry order");
    assert_migrated(&db, &report, &order[0]);
    assert_failed(&db, &report, &order[1]);
    assert_migrated(&db, &report, &order[2]);
    for (org, before) in order.iter().zip(&before).skip(3) {
        assert_untouched(&db, &report, org, before);
    }

    // Fixed by hand: the canary (the 3 oldest targets) passes and the run goes on to everyone.
    db.in_schema_of(&order[1], "DROP TABLE tasks");
    let report = migrate(&db, &["--canary", "3", "--include-failed"], 0);
    assert_eq!(summary(&report), [8, 0, 0]);
    assert_eq!(report["summary"]["up_to_date"], 2, "{report:#}");
    for (i, org) in order.iter().enumerate() {
        match i {
            // Migrated by the canary of the first run: up to date, not visited again.
            0 | 2 => assert_eq!(db.applied(org), [1, 2, 3, 4, 5], "{org}"),
            _ => assert_migrated(&db, &report, org),
        }
    }
}

#[test]
fn canary_tenants_run_first_and_must_be_among_the_targets() {
    let (db, order) = behind(6);
    // The two newest tenants are the canaries; one of them fails.
    let (late, last) = (&order[4], &order[5]);
    db.break_0004_for(late);
    let before = pictures(&db, &order);

    let report = migrate(&db, &["--canary-tenant", last, "--canary-tenant", late], 1);
    assert_eq!(summary(&report), [1, 1, 4]);
    assert_eq!(reported_orgs(&report), order, "reported in registry order, whatever ran first");
    assert_migrated(&db, &report, last);
    assert_failed(&db, &report, late);
    for (org, before) in order.iter().zip(&before).take(4) {
        assert_untouched(&db, &report, org, before);
    }

    let before = db.snapshot();
    for (args, canary) in [
        (vec!["--canary-tenant", "no-such-org"], "no-such-org"),
        // Registered and behind, but not among the targets that --tenant selects.
        (vec!["--tenant", &order[0], "--canary-tenant", &order[1]], &order[1]),
    ] {
        let mut all = vec!["migrate-tenants"];
        all.extend(&args);
        let refused = db.tenantctl(&all);
        refused.exits(2);
        let line = refused.one_error_line();
        assert!(line.contains(canary), "the canary is named: {line}");
        assert_eq!(db.snapshot(), before, "tenantctl {args:?} changed the database");
    }
}

#[test]
fn waves_stop_after_the_first_wave_with_a_failure() {
    let (db, order) = behind(20);
    // 10%,50%,100% of 20 tenants: waves of 2, 8 and 10; the failure is in the second.
    db.break_0004_for(&order[6]);
    let before = pictures(&db, &order);

    let report = migrate(&db, &["--waves", "10%,50%,100%"], 1);
    assert_eq!(summary(&report), [9, 1, 10]);
    assert_eq!(reported_orgs(&report), order);
    for (i, org) in order.iter().enumerate() {
        match i {
            6 => assert_failed(&db, &report, org),
            0..10 => assert_migrated(&db, &report, org),
            _ => assert_untouched(&db, &report, org, &before[i]),
        }
    }
}

#[test]
fn malformed_waves_are_refused_with_one_line() {
    let db = TestDb::with_tenants_behind(&["acme-corp"]);
    let before = db.snapshot();
    for waves in ["50%,10%", "10%,50%", "abc"] {
        let refused = db.tenantctl(&["migrate-tenants", "--waves", waves]);
        refused.exits(2);
        let line = refused.one_error_line();
        assert!(line.contains("--waves"), "the flag is named: {line}");
        assert_eq!(db.snapshot(), before, "--waves {waves} changed the database");
    }
}

#[test]
fn max_failures_stops_scheduling_after_the_budget_is_spent() {
    let (db, order) = behind(10);
    for i in [1, 4, 7] {
        db.break_0004_for(&order[i]);
    }
    let before = pictures(&db, &order);

    // One tenant at a time: the first failure (the second tenant) spends the budget.
    let report = migrate(&db, &["--max-failures", "1", "--concurrency", "1"], 1);
    assert_eq!(summary(&report), [1, 1, 8]);
    assert_eq!(reported_orgs(&report), order);
    assert_migrated(&db, &report, &order[0]);
    assert_failed(&db, &report, &order[1]);
    for (org, before) in order.iter().zip(&before).skip(2) {
        assert_untouched(&db, &report, org, before);
    }

    let before = db.snapshot();
    let refused = db.tenantctl(&["migrate-tenants", "--max-failures", "0"]);
    refused.exits(2);
    assert!(refused.one_error_line().contains("--max-failures"), "{refused:?}");
    assert_eq!(db.snapshot(), before);
}

/// 30 tenants whose pending 0004 sleeps 0.2 s in each before it creates `tasks`.
fn slow_fanout() -> (TestDb, Vec<String>) {
    let orgs = org_ids(30);
    let db = TestDb::new().with_tenants(&orgs);
    db.overlay("slow_fanout/tenant_migrations_next", "tenant_migrations");
    (db, orgs)
}

/// Runs `migrate-tenants --concurrency 1 --format json <extra>` and sends it `signal` once a few
/// tenants are migrated; returns what it printed.
fn interrupt(db: &TestDb, signal: &str, extra: &[&str]) -> Output {
    let mut args = vec!["migrate-tenants", "--concurrency", "1", "--format", "json"];
    args.extend(extra);
    let run = db.command(&args).spawn();
    db.eventually("a few tenants are migrated", |db| {
        db.scalar::<i64>("select count(*) from public.tenants where schema_version = 4") >= 3
    });
    run.signal(signal);
    run.wait()
}

/// A slow fan-out, one tenant at a time, interrupted by `signal` once a few tenants are done: it
/// exits `code` with the partial summary, and the world is truthful and resumable.
fn interrupted_fanout_stops_cleanly(signal: &str, code: i32) {
    let (db, orgs) = slow_fanout();
    let out = interrupt(&db, signal, &[]);
    out.exits(code);

    let report = out.json();
    let [succeeded, failed, skipped] = summary(&report);
    assert_eq!(failed, 0, "{report:#}");
    assert!(succeeded >= 3, "the tenants done before the signal are reported: {report:#}");
    assert!(skipped >= 1, "the run stopped scheduling: {report:#}");
    assert_eq!(succeeded + skipped, 30, "{report:#}");
    assert_eq!(reported_orgs(&report), db.registry_order(), "the partial summary lists every target");

    for state in db.tenant_states() {
        let org = &state.org_id;
        let migrated = match state.tracked.as_deref() {
            Some([1, 2, 3, 4]) => true,
            Some([1, 2, 3]) => false,
            other => panic!("{org} is neither migrated nor untouched: {other:?}"),
        };
        let tenant = entry(&report, org);
        assert_eq!(tenant["outcome"], if migrated { "succeeded" } else { "skipped" }, "{tenant}");
        assert_eq!(db.exists(&format!("{}.tasks", state.schema)), migrated, "{org}: 0004 whole or not at all");
        assert!(state.mirror_agrees(), "the registry mirror is truthful: {state:?}");
        assert_eq!(state.status, "ACTIVE", "{state:?}");
    }
    let migrated = db.scalar::<i64>("select count(*) from public.tenants where schema_version = 4");
    assert_eq!(u64::try_from(migrated).expect("a count"), succeeded);

    let run_id = report["run_id"].as_str().expect("run_id");
    let row = db.run_row(run_id);
    assert_eq!(row["outcome"], "interrupted", "{row}");
    assert_eq!(row["succeeded"], succeeded, "{row}");
    assert_eq!(row["failed"], 0, "{row}");
    assert_eq!(row["skipped"], skipped, "{row}");
    assert!(!row["finished_at"].is_null(), "{row}");

    let report = migrate(&db, &[], 0);
    assert_eq!(summary(&report), [skipped, 0, 0], "the rerun finishes exactly what was left");
    for org in &orgs {
        assert_eq!(db.applied(org), [1, 2, 3, 4], "{org}");
    }
}

#[test]
fn sigint_stops_scheduling_prints_the_partial_summary_and_exits_130() {
    interrupted_fanout_stops_cleanly("INT", 130);
}

#[test]
fn sigterm_stops_scheduling_prints_the_partial_summary_and_exits_143() {
    interrupted_fanout_stops_cleanly("TERM", 143);
}

#[test]
fn json_logs_of_an_interrupted_run_carry_its_run_id() {
    let (db, _) = slow_fanout();
    let out = interrupt(&db, "INT", &["--log-format", "json"]);
    out.exits(130);
    let run_id = out.json()["run_id"].as_str().expect("run_id").to_owned();
    let lines = out.stderr_json_lines();
    assert!(lines.iter().any(|l| l.to_string().contains("interrupt")), "the interruption is logged:\n{}", out.stderr);
    for line in &lines {
        assert!(carries(line, "run_id", &run_id), "a log line without run_id {run_id}: {line}");
    }
}

#[test]
fn each_run_is_recorded_with_its_counts_and_status_lists_the_last_runs() {
    let (db, order) = behind(3);
    db.break_0004_for(&order[2]);
    let report = migrate(&db, &[], 1);
    let run_id = report["run_id"].as_str().expect("run_id").to_owned();

    assert_eq!(db.recorded_commands(), ["migrate-master", "provision-tenant", "migrate-tenants"]);
    let row = db.run_row(&run_id);
    assert_eq!(row["command"], "migrate-tenants", "{row}");
    assert_eq!((&row["succeeded"], &row["failed"], &row["skipped"]), (&2.into(), &1.into(), &0.into()), "{row}");
    assert_eq!(row["outcome"], "failed", "{row}");
    assert_eq!(row["allow_unsafe"], false, "{row}");
    assert!(!row["finished_at"].is_null(), "{row}");

    let status = db.tenantctl(&["status", "--format", "json"]);
    status.succeeds();
    let status = status.json();
    let runs = status["recent_runs"].as_array().expect("recent_runs is a list");
    assert_eq!(runs.len(), 3, "{status:#}");
    let newest = &runs[0];
    assert_eq!(newest["id"], run_id.as_str(), "newest first: {status:#}");
    assert_eq!(newest["command"], "migrate-tenants");
    assert_eq!(newest["outcome"], "failed");
    assert_eq!((&newest["succeeded"], &newest["failed"]), (&2.into(), &1.into()), "{newest}");
    db.tenantctl(&["status"]).succeeds().mentions("migrate-tenants").mentions("provision-tenant");
    assert_eq!(db.recorded_commands().len(), 3, "status records nothing");
}

#[test]
fn read_only_commands_and_dry_runs_record_no_run_and_create_no_table() {
    let db = TestDb::new();
    let fresh = db.snapshot();
    for args in [&["migrate-master", "--dry-run"][..], &["status"], &["status", "--format", "json"], &["lint"]] {
        db.tenantctl(args).succeeds();
        assert_eq!(db.snapshot(), fresh, "tenantctl {args:?} changed a fresh database");
    }
    // These refuse before migrate-master has run; whatever they say, they create nothing.
    for args in [["migrate-tenants", "--dry-run"], ["rollback-tenants", "--dry-run"], ["rollback-master", "--dry-run"]]
    {
        db.tenantctl(&args);
        assert_eq!(db.snapshot(), fresh, "tenantctl {args:?} changed a fresh database");
    }
    assert_eq!(db.scalar::<i64>("select count(*) from pg_class where relnamespace = 'public'::regnamespace"), 0);

    db.migrate_master();
    db.provision(&["acme-corp"]);
    db.write_next_tenant_migrations();
    for args in [
        &["migrate-tenants", "--dry-run"][..],
        &["migrate-tenants", "--dry-run", "--format", "jsonl"],
        &["rollback-tenants", "--dry-run"],
        &["status", "--tenant", "acme-corp"],
    ] {
        db.tenantctl(args).succeeds();
        assert_eq!(db.recorded_commands(), ["migrate-master", "provision-tenant"], "tenantctl {args:?}");
    }
    assert_eq!(db.applied("acme-corp"), [1, 2, 3]);
}

#[test]
fn jsonl_streams_one_object_per_tenant_then_the_summary() {
    let (db, order) = behind(5);
    db.break_0004_for(&order[3]);
    let out = db.tenantctl(&["migrate-tenants", "--format", "jsonl"]);
    out.exits(1);
    let lines = out.json_lines();
    assert_eq!(lines.len(), order.len() + 1, "one line per tenant and the summary:\n{}", out.stdout);
    let (last, tenants) = lines.split_last().expect("lines");
    assert_eq!(summary(last), [4, 1, 0], "the summary comes last: {last}");
    assert!(last.get("org_id").is_none(), "{last}");
    let mut seen: Vec<String> = tenants
        .iter()
        .map(|t| {
            assert!(t.get("summary").is_none(), "only the last line is the summary: {t}");
            t["org_id"].as_str().unwrap_or_else(|| panic!("a tenant line names its org: {t}")).to_owned()
        })
        .collect();
    seen.sort();
    let mut expected = order.clone();
    expected.sort();
    assert_eq!(seen, expected, "each tenant exactly once");
    for t in tenants {
        match t["org_id"] == order[3].as_str() {
            true => assert!(t["outcome"] == "failed" && t["error"].is_string(), "{t}"),
            false => assert!(t["outcome"] == "succeeded" && versions(&t["applied"]) == [4, 5], "{t}"),
        }
    }

    // provision-tenant streams the same way.
    let out = db.tenantctl(&["provision-tenant", "new-a", "new-b", "--format", "jsonl"]);
    out.succeeds();
    let lines = out.json_lines();
    assert_eq!(lines.len(), 3, "{}", out.stdout);
    assert_eq!(summary(&lines[2]), [2, 0, 0]);
    assert!(lines[..2].iter().all(|t| t["outcome"] == "succeeded"), "{}", out.stdout);
}

#[test]
fn jsonl_of_a_dry_run_says_planned_as_the_json_report_does() {
    let (db, _) = behind(2);
    let report = db.tenantctl(&["migrate-tenants", "--dry-run", "--format", "json"]);
    report.succeeds();
    let out = db.tenantctl(&["migrate-tenants", "--dry-run", "--format", "jsonl"]);
    out.succeeds();
    let lines = out.json_lines();
    let (_, tenants) = lines.split_last().expect("lines");
    assert_eq!(tenants.len(), 2, "{}", out.stdout);
    for t in tenants {
        assert_eq!(t["outcome"], "planned", "{t}");
        assert_eq!(versions(&t["applied"]), [4, 5], "{t}");
    }
    let outcomes =
        |v: &Value| v["tenants"].as_array().expect("tenants").iter().map(|t| t["outcome"].clone()).collect::<Vec<_>>();
    assert_eq!(outcomes(&report.json()), vec![Value::from("planned"); 2]);
}

#[test]
fn json_logs_carry_the_run_id_of_the_summary() {
    let (db, order) = behind(3);
    db.break_0004_for(&order[0]);
    let out = db.tenantctl(&["migrate-tenants", "--log-format", "json", "--format", "json"]);
    out.exits(1);
    let run_id = out.json()["run_id"].as_str().expect("run_id").to_owned();
    let lines = out.stderr_json_lines();
    assert!(lines.iter().any(|l| l.to_string().contains(order[0].as_str())), "the failure is logged:\n{}", out.stderr);
    for line in &lines {
        assert!(carries(line, "run_id", &run_id), "a log line without run_id {run_id}: {line}");
    }
}

#[test]
fn a_no_op_fanout_touches_no_tenant_and_reports_every_one_up_to_date() {
    let orgs = org_ids(5);
    let db = TestDb::new().with_tenants(&orgs);
    // Any connection to this tenant's schema would now fail: a no-op run must not make one.
    let moved = db.schema_for(&orgs[2]);
    db.execute(&format!("ALTER SCHEMA {moved} RENAME TO {moved}_moved"));
    let before = db.snapshot().without_runs();

    let report = migrate(&db, &[], 0);
    assert_eq!(summary(&report), [0, 0, 0]);
    assert_eq!(report["summary"]["up_to_date"], 5, "{report:#}");
    assert_eq!(report["tenants"], Value::from(Vec::<Value>::new()), "{report:#}");
    assert_eq!(db.snapshot().without_runs(), before);

    let status = db.tenantctl(&["status", "--format", "json"]);
    status.succeeds();
    let status = status.json();
    assert_eq!(status["tenants"]["total"], 5, "{status:#}");
    assert_eq!(status["tenants"]["by_status"]["ACTIVE"], 5, "{status:#}");
    assert_eq!(status["tenants"]["behind"], 0, "{status:#}");
    assert_eq!(status["failed"], Value::from(Vec::<Value>::new()), "{status:#}");
    db.tenantctl(&["status"]).succeeds();
}

#[test]
fn concurrency_is_range_checked_and_connection_max_tenants_is_accepted() {
    let (db, order) = behind(5);
    let before = db.snapshot();
    for bad in ["0", "1001", "four"] {
        let refused = db.tenantctl(&["migrate-tenants", "--concurrency", bad]);
        refused.exits(2);
        assert!(refused.one_error_line().contains("concurrency"), "{refused:?}");
    }
    let refused = db.command(&["migrate-tenants"]).env("TENANTCTL_CONCURRENCY", "0").run();
    refused.exits(2);
    refused.one_error_line();
    for (config, key) in [
        ("concurrency = 0\n", "concurrency"),
        ("concurrency = 1001\n", "concurrency"),
        ("connection_max_tenants = \"two\"\n", "connection_max_tenants"),
    ] {
        db.write("tenantctl.toml", config);
        let refused = db.tenantctl(&["migrate-tenants"]);
        refused.exits(2);
        assert!(refused.one_error_line().contains(key), "{config:?}: {refused:?}");
    }
    assert_eq!(db.snapshot(), before, "refused settings changed the database");

    // Connections recycled after every 2 tenants: the fan-out still reaches everyone.
    db.write("tenantctl.toml", "concurrency = 2\nconnection_max_tenants = 2\n");
    let report = migrate(&db, &[], 0);
    assert_eq!(summary(&report), [5, 0, 0]);
    for org in &order {
        assert_migrated(&db, &report, org);
    }
    for bound in ["1", "1000"] {
        let report = migrate(&db, &["--concurrency", bound], 0);
        assert_eq!(report["summary"]["up_to_date"], 5, "--concurrency {bound}: {report:#}");
    }
}
