//! Resilience: a live application's lock on a tenant table makes only that tenant fail, after
//! `--lock-timeout` and `--lock-retries` with backoff, within a bounded time; backends killed with
//! `pg_terminate_backend` mid-run are retried on new connections or failed cleanly; an unreachable,
//! silent, wrongly authenticated or missing database is exit 3 within 3x `--connect-timeout`, in one
//! line naming host, port and database, and never showing the password.

use std::{
    net::TcpListener,
    sync::atomic::{AtomicUsize, Ordering},
    time::{Duration, Instant},
};

use serde_json::Value;

use crate::support::{
    Output, TestDb, org_ids,
    report::{entry, summary, versions},
};

#[test]
fn a_tenant_whose_table_a_live_session_locks_gives_up_after_its_retries_and_only_it_fails() {
    let orgs = ["acme-corp", "globex", "initech", "umbrella", "hooli"];
    let db = TestDb::with_examples().with_tenants(&orgs);
    db.write("tenant_migrations/0005_org_users_note.up.sql", "ALTER TABLE org_users ADD COLUMN note text;\n");
    let locked = db.schema_for("initech");
    let app = db.hold(&format!("LOCK TABLE {locked}.org_users IN ACCESS EXCLUSIVE MODE"));

    let started = Instant::now();
    let out = db.tenantctl(&[
        "migrate-tenants",
        "--lock-timeout",
        "200ms",
        "--lock-retries",
        "2",
        "--concurrency",
        "2",
        "--format",
        "json",
    ]);
    let elapsed = started.elapsed();
    out.exits(1);
    // 3 attempts of 200 ms each, with 250 ms then 500 ms of backoff between them: never unbounded.
    assert!(elapsed >= Duration::from_millis(1300), "retried with backoff, yet done in {elapsed:?}");
    assert!(elapsed < Duration::from_secs(30), "a locked tenant must not stall the run: {elapsed:?}");
    let report = out.json();
    assert_eq!(summary(&report), [4, 1, 0], "{report:#}");
    let failed = entry(&report, "initech");
    let error = failed["error"].as_str().unwrap_or_default();
    assert!(error.contains("lock timeout") && error.contains("gave up after 3 attempts"), "{failed}");
    assert!(error.contains("0005_org_users_note"), "the file is named: {failed}");
    out.mentions("attempt 1 failed").mentions("retrying in 250ms").mentions("attempt 2 failed");
    out.mentions("retrying in 500ms");

    let row = db.tenant("initech");
    assert_eq!(row["status"], "FAILED");
    let last_error = row["last_error"].as_str().unwrap_or_default();
    assert!(last_error.contains("lock timeout") && last_error.contains("gave up after 3 attempts"), "{row}");
    assert_eq!(db.applied("initech"), [1, 2, 3, 4], "its transaction was rolled back");
    assert!(!has_note(&db, "initech"));
    drop(app);
    for org in orgs.iter().filter(|o| **o != "initech") {
        assert_eq!(entry(&report, org)["outcome"], "succeeded");
        assert_eq!(db.applied(org), [1, 2, 3, 4, 5], "{org}");
        assert!(has_note(&db, org), "{org}");
    }
}

fn has_note(db: &TestDb, org: &str) -> bool {
    db.scalar_with(
        "select exists (select from information_schema.columns where table_schema = $1 \
         and table_name = 'org_users' and column_name = 'note')",
        &db.schema_for(org),
    )
}

/// `pg_terminate_backend` on every session of `tenantctl migrate-tenants` in this database (only
/// this one: other tests run `tenantctl` on the same server); how many there were.
#[track_caller]
fn terminate_backends(db: &TestDb) -> i64 {
    let terminated: i64 = db.scalar(
        "select count(*) from (select pg_terminate_backend(pid) from pg_stat_activity \
         where application_name = 'tenantctl/migrate-tenants' and datname = current_database() \
         and pid <> pg_backend_pid()) t",
    );
    assert!(terminated > 0, "tenantctl had no session to terminate");
    terminated
}

#[test]
fn backends_terminated_mid_run_are_retried_or_failed_cleanly_and_a_rerun_finishes() {
    let orgs = org_ids(40);
    let db = TestDb::new().with_tenants(&orgs);
    db.write(
        "tenant_migrations/0004_ledger.up.sql",
        "CREATE TABLE ledger (version integer NOT NULL);\nSELECT pg_sleep(0.1);\nINSERT INTO ledger VALUES (4);\n",
    );
    let run = db.command(&["migrate-tenants", "--concurrency", "4", "--format", "json"]).spawn();
    db.poll_until("8 tenants are migrated", |db| db.tenants_at("ACTIVE", 4) >= 8);
    let terminated = terminate_backends(&db);

    let out = run.wait();
    assert!(out.code == 0 || out.code == 1, "the run goes on after lost connections\n{out:?}");
    let report = out.json();
    let [succeeded, failed, skipped] = summary(&report);
    assert_eq!((succeeded + failed, skipped), (40, 0), "{report:#}");
    assert!(failed <= u64::try_from(terminated).expect("count"), "only tenants that lost a connection fail");
    assert_eq!(out.code == 1, failed > 0);
    let states = db.tenant_states();
    for t in &states {
        assert!(t.mirror_agrees(), "{t:?}");
        let reported = entry(&report, &t.org_id);
        match reported["outcome"].as_str() {
            Some("succeeded") => {
                assert_eq!(versions(&reported["applied"]), [4]);
                assert_eq!((t.status.as_str(), t.tracked.as_deref()), ("ACTIVE", Some(&[1, 2, 3, 4][..])), "{t:?}");
            }
            // Failed cleanly: rolled back, FAILED with the reason.
            Some("failed") => {
                assert!(reported["error"].as_str().is_some_and(|e| !e.is_empty()), "{reported}");
                assert_eq!((t.status.as_str(), t.tracked.as_deref()), ("FAILED", Some(&[1, 2, 3][..])), "{t:?}");
            }
            _ => panic!("{reported}"),
        }
    }

    db.tenantctl(&["migrate-tenants", "--include-failed"]).succeeds();
    let schemas: Vec<String> = db.tenant_states().iter().map(|t| t.schema.clone()).collect();
    let ledgers = db.over_schemas(&schemas, "select count(*) as n, min(version) as v from {schema}.ledger");
    for ledger in ledgers {
        assert_eq!((&ledger["n"], &ledger["v"]), (&Value::from(1), &Value::from(4)), "applied once: {ledger}");
    }
    for t in db.tenant_states() {
        assert_eq!((t.status.as_str(), t.tracked.as_deref()), ("ACTIVE", Some(&[1, 2, 3, 4][..])), "{t:?}");
        assert!(t.mirror_agrees(), "{t:?}");
    }
}

#[test]
fn a_retry_after_a_lost_connection_runs_on_a_live_connection() {
    let orgs = org_ids(40);
    let db = TestDb::new().with_tenants(&orgs);
    db.write("tenant_migrations/0004_slow.up.sql", "SELECT pg_sleep(0.1);\n");
    // One retry only: it must not be spent on a connection the server already closed.
    let run = db.command(&["migrate-tenants", "--concurrency", "4", "--lock-retries", "1", "--format", "json"]).spawn();
    db.poll_until("8 tenants are migrated", |db| db.tenants_at("ACTIVE", 4) >= 8);
    terminate_backends(&db);
    let out = run.wait();
    let report = out.json();
    let failed: Vec<&Value> =
        report["tenants"].as_array().expect("tenants").iter().filter(|t| t["outcome"] == "failed").collect();
    assert!(failed.is_empty(), "the database was up all along, yet a retry failed: {failed:#?}\n{}", out.stderr);
    out.succeeds();
}

/// A password that appears nowhere else, to prove it is never printed.
const SECRET: &str = "Pw-d1stinct1ve-7f3c9e";

/// Host, port and database of a `postgres://user:password@host:port/database` URL.
fn location(url: &str) -> (String, u16, String) {
    let rest = url.split_once("://").expect("a URL").1;
    let location = rest.rsplit_once('@').map_or(rest, |(_, l)| l);
    let (host_port, database) = location.split_once('/').expect("a database in the URL");
    let (host, port) = host_port.rsplit_once(':').expect("a port in the URL");
    let database = database.split('?').next().expect("a database");
    (host.to_owned(), port.parse().expect("a port number"), database.to_owned())
}

/// A login role with [`SECRET`] as its password, dropped again when the test ends.
struct Role<'a> {
    db: &'a TestDb,
    name: String,
}

impl<'a> Role<'a> {
    fn create(db: &'a TestDb) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let name = format!("tenantctl_pw_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
        db.execute(&format!("create role {name} login password '{SECRET}'"));
        Self { db, name }
    }
}

impl Drop for Role<'_> {
    fn drop(&mut self) {
        self.db.execute(&format!("drop role if exists {}", self.name));
    }
}

/// Runs `migrate-tenants` with `--connect-timeout 2s` against (host, port, database) as `user`
/// with `password`, once through `DATABASE_URL` and once through the `DB_*` variables: exit 3 within
/// 6 s, one line naming host, port and database, the password nowhere.
#[track_caller]
fn unreachable(db: &TestDb, case: &str, (host, port, database): (&str, u16, &str), user: &str, password: &str) {
    let url = format!("postgres://{user}:{password}@{host}:{port}/{database}");
    let with_url = db.command(&["migrate-tenants", "--connect-timeout", "2s"]).env("DATABASE_URL", &url);
    let with_vars = db
        .command(&["migrate-tenants", "--connect-timeout", "2s"])
        .env_remove("DATABASE_URL")
        .env("DB_HOST", host)
        .env("DB_PORT", &port.to_string())
        .env("DB_USER", user)
        .env("DB_PASSWORD", password)
        .env("DB_NAME", database);
    for (how, command) in [("DATABASE_URL", with_url), ("DB_*", with_vars)] {
        let started = Instant::now();
        let out: Output = command.run();
        let elapsed = started.elapsed();
        assert!(elapsed < Duration::from_secs(6), "{case} via {how}: exit after {elapsed:?}, not within 3x 2s");
        out.exits(3).never_shows(password);
        let line = out.one_error_line();
        for part in [host.to_owned(), port.to_string(), database.to_owned()] {
            assert!(line.contains(&part), "{case} via {how}: the line should name {part:?}: {line}");
        }
    }
}

#[test]
fn an_unreachable_silent_or_refusing_database_is_exit_3_within_three_connect_timeouts() {
    let db = TestDb::new();
    let database = "tenantctl_nowhere";
    // Refused: a port that was just free (nothing listens there any more).
    let refused = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
    unreachable(&db, "refused port", ("127.0.0.1", refused, database), "postgres", SECRET);
    // Silent: TCP connections are accepted (by the kernel, into the backlog) and never answered.
    let silent = TcpListener::bind("127.0.0.1:0").expect("a listening port");
    let silent_port = silent.local_addr().expect("its address").port();
    unreachable(&db, "silent host", ("127.0.0.1", silent_port, database), "postgres", SECRET);
    drop(silent);
}

#[test]
fn a_wrong_password_or_a_missing_database_is_exit_3_without_the_password() {
    let db = TestDb::new();
    let (host, port, database) = location(db.url());
    let role = Role::create(&db);
    let wrong = format!("{SECRET}-but-wrong");
    unreachable(&db, "wrong password", (&host, port, &database), &role.name, &wrong);
    unreachable(&db, "missing database", (&host, port, "tenantctl_no_such_database"), &role.name, SECRET);
}
