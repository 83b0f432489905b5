//! `move-tenant` over three real servers (the control database and the shards `eu1` and `us2`):
//! a tenant with data moves and keeps every row, sequence, index and reference to a shared table; the
//! registry flips in one step; later migrations reach the new copy only; the old copy stays or is
//! dropped; bad input changes nothing; a move killed before its flip resumes or rolls back; a
//! fan-out leaves a MOVING tenant alone; and a copy that differs from its source is never flipped to.

use serde_json::Value;

use crate::support::{HeldTransaction, ShardDb, TestDb, shard_dbs};

/// The shared table tenant migration 0002 references, on every shard (`default` has it already), which
/// tenant roles may reference.
const PLANS: &str = "CREATE TABLE IF NOT EXISTS public.plans (id integer PRIMARY KEY, code text NOT NULL UNIQUE);\n\
INSERT INTO public.plans (id, code) VALUES (1, 'free'), (2, 'team'), (3, 'enterprise') ON CONFLICT DO NOTHING;\n\
-- tenantctl:allow grant-to-public reason=\"reference data every tenant role reads\"\n\
GRANT SELECT, REFERENCES ON public.plans TO PUBLIC;\n";

/// A migrated control database and both shards, listed in `tenantctl.toml`, each with `public.plans`.
fn fleet() -> (TestDb, [ShardDb; 2]) {
    let db = TestDb::new();
    db.write("shard_master_migrations/0001_plans.up.sql", PLANS);
    let shards = shard_dbs();
    db.write("tenantctl.toml", shards.iter().map(ShardDb::toml).collect::<String>());
    db.migrate_master();
    (db, shards)
}

/// Provisions `org` on `default` and gives it rows, a sequence of its own and references to `public.plans`.
fn tenant_with_data(db: &TestDb, org: &str) -> String {
    db.tenantctl(&["provision-tenant", "--shard", "default", org]).succeeds();
    let s = db.schema_for(org);
    db.execute(&format!(
        "insert into {s}.users (email, display_name) select 'u' || g || '@example.com', 'User ' || g \
           from generate_series(1, 200) g;
         insert into {s}.projects (owner_id, plan_id, name) select g, 1 + g % 3, 'project ' || g \
           from generate_series(1, 150) g;
         create sequence {s}.invoice_no start 1000; select setval('{s}.invoice_no', 1234);"
    ));
    s
}

/// What a copy of the schema holds: its rows, its sequences, its index and its history.
fn picture(on: &TestDb, s: &str) -> Value {
    let rows = on.rows(&format!(
        "select (select md5(string_agg(t::text, '|' order by t.id)) from {s}.users t) as users,
                (select md5(string_agg(t::text, '|' order by t.id)) from {s}.projects t) as projects,
                (select last_value from {s}.invoice_no) as invoice_no,
                (select last_value from {s}.users_id_seq) as users_seq,
                to_regclass('{s}.projects_owner_id_idx') is not null as index,
                (select array_agg(version order by version) from {s}.tenantctl_migrations)::text as versions"
    ));
    rows.into_iter().next().expect("one row")
}

fn has_schema(on: &TestDb, s: &str) -> bool {
    on.scalar(&format!("select exists (select from pg_namespace where nspname = '{s}')"))
}

/// The tenant's registry row: status, shard, moving_to, moved_from.
pub(crate) fn row(db: &TestDb, org: &str) -> (String, String, Option<String>, Option<String>) {
    let r = db.tenant(org);
    let text = |k: &str| r[k].as_str().map(str::to_owned);
    (text("status").expect("status"), text("shard").expect("shard"), text("moving_to"), text("moved_from"))
}

pub(crate) fn moved(db: &TestDb, args: &[&str]) -> Value {
    let mut all = vec!["move-tenant", "--format", "json"];
    all.extend(args);
    db.tenantctl(&all).succeeds().json()
}

#[test]
fn a_tenant_moves_default_to_eu1_to_us2_with_its_data_and_later_migrations_reach_the_new_copy_only() {
    let (db, [eu1, us2]) = fleet();
    let s = tenant_with_data(&db, "acme");
    let before = picture(&db, &s);

    let report = moved(&db, &["acme", "--to", "eu1"]);
    assert_eq!((report["outcome"].as_str(), report["from"].as_str()), (Some("moved"), Some("default")), "{report}");
    assert_eq!(report["source_copy_on"], "default", "{report}");
    assert!(report["tables"].as_array().is_some_and(|t| t.len() == 3), "users, projects, tracking: {report}");
    assert_eq!(row(&db, "acme"), ("ACTIVE".into(), "eu1".into(), None, Some("default".into())));
    assert_eq!(picture(&eu1.db, &s), before, "the copy on eu1 holds every row, sequence and index");
    assert_eq!(picture(&db, &s), before, "the source copy is kept, untouched");

    // A new migration reaches the copy on eu1, not the one left on default.
    db.write_next_tenant_migrations();
    db.tenantctl(&["migrate-tenants"]).succeeds();
    assert_eq!(picture(&eu1.db, &s)["versions"], "{1,2,3,4,5}");
    assert_eq!(picture(&db, &s)["versions"], "{1,2,3}");

    // The copy left on default must go before another move; --drop-source alone drops it.
    let out = db.tenantctl(&["move-tenant", "acme", "--to", "us2"]);
    out.exits(2);
    assert!(out.one_error_line().contains("--drop-source"), "{}", out.stderr);
    assert_eq!(moved(&db, &["acme", "--drop-source"])["outcome"], "dropped");
    assert!(!has_schema(&db, &s));
    assert_eq!(row(&db, "acme"), ("ACTIVE".into(), "eu1".into(), None, None));

    let on_eu1 = picture(&eu1.db, &s);
    let report = moved(&db, &["acme", "--to", "us2", "--drop-source"]);
    assert_eq!(report["source_copy_on"], Value::Null, "{report}");
    assert_eq!(row(&db, "acme"), ("ACTIVE".into(), "us2".into(), None, None));
    assert_eq!(picture(&us2.db, &s), on_eu1);
    assert!(!has_schema(&eu1.db, &s), "--drop-source dropped the copy on eu1");
    db.tenantctl(&["status", "--tenant", "acme"]).succeeds();
    assert_eq!(db.recorded_commands().iter().filter(|c| *c == "move-tenant").count(), 3);
}

#[test]
fn bad_moves_are_refused_in_one_line_and_change_nothing() {
    let (db, [eu1, _]) = fleet();
    tenant_with_data(&db, "acme");
    db.tenantctl(&["provision-tenant", "--shard", "default", "gone"]).succeeds();
    db.tenantctl(&["archive-tenant", "gone"]).succeeds();
    let before = (db.snapshot(), eu1.db.snapshot());
    let cases: [(&[&str], &str); 6] = [
        (&["nobody", "--to", "eu1"], "is not in the registry"),
        (&["acme", "--to", "mars"], "--to \"mars\": no such shard"),
        (&["acme", "--to", "default"], "is already on shard default"),
        (&["gone", "--to", "eu1"], "is ARCHIVED; only an ACTIVE tenant can be moved"),
        (&["acme", "--abort"], "has no move in progress"),
        (&["acme", "--drop-source"], "has no copy left by an earlier move"),
    ];
    for (args, expected) in cases {
        let mut all = vec!["move-tenant"];
        all.extend(args);
        let out = db.tenantctl(&all);
        out.exits(2);
        assert!(out.one_error_line().contains(expected), "{args:?}: {}", out.stderr);
    }
    let out = db.command(&["move-tenant", "acme", "--to", "eu1"]).env("TENANTCTL_PG_BIN_DIR", "/nonexistent").run();
    out.exits(2);
    assert!(out.one_error_line().contains("pg_dump") && out.stderr.contains("TENANTCTL_PG_BIN_DIR"), "{}", out.stderr);
    assert_eq!((db.snapshot().without_runs(), eu1.db.snapshot()), (before.0.without_runs(), before.1));
}

/// Starts `move-tenant <org> --to <to>`, lets it copy, and kills it (`kill -9`) while its flip waits
/// for the registry row, which the test holds: the copy on the target is complete, the flip not done.
fn kill_before_the_flip(db: &TestDb, org: &str, to: &str) {
    let s = db.schema_for(org);
    kill_holding_the_copy(db, org, to, db.hold(&format!("LOCK TABLE {s}.users IN ACCESS EXCLUSIVE MODE")));
}

/// Like [`kill_before_the_flip`], the copy kept waiting by `copy_held` (a lock on one of the tenant's
/// tables, wherever they are) until the tenant is MOVING.
pub(crate) fn kill_holding_the_copy(db: &TestDb, org: &str, to: &str, copy_held: HeldTransaction) {
    let running = db.command(&["move-tenant", org, "--to", to]).spawn();
    db.eventually("the tenant is MOVING", |db| db.status_of(org) == "MOVING");
    let row_held = db.hold(&format!("SELECT 1 FROM public.tenants WHERE org_id = '{org}' FOR UPDATE"));
    drop(copy_held);
    db.eventually("the flip waits for the registry row", |db| {
        db.scalar::<i64>(
            "select count(*) from pg_stat_activity where datname = current_database() and application_name = 'tenantctl/move-tenant' \
             and wait_event_type = 'Lock' and query like 'UPDATE public.tenants SET moved_from%'",
        ) == 1
    });
    let (out, killed) = running.kill();
    assert!(killed, "killed before the flip: {}", out.stderr);
    drop(row_held);
    db.wait_until_tenantctl_is_gone();
}

#[test]
fn a_move_killed_before_its_flip_resumes_and_another_rolls_back_with_abort_while_fan_outs_skip_it() {
    let (db, [eu1, us2]) = fleet();
    let s = tenant_with_data(&db, "acme");
    let g = tenant_with_data(&db, "globex");
    let (acme, globex) = (picture(&db, &s), picture(&db, &g));

    kill_before_the_flip(&db, "acme", "eu1");
    assert_eq!(row(&db, "acme"), ("MOVING".into(), "default".into(), Some("eu1".into()), None));
    assert!(has_schema(&eu1.db, &s), "the copy was complete before the kill");
    db.tenantctl(&["status"]).succeeds().mentions("MOVING 1");
    db.tenantctl(&["status", "--check"]).exits(1);
    db.tenantctl(&["archive-tenant", "acme"]).exits(2).mentions("--abort");

    // Fan-outs leave the MOVING tenant alone; naming it is refused; another target is refused.
    db.write_next_tenant_migrations();
    let out = db.tenantctl(&["migrate-tenants", "--format", "json"]);
    out.succeeds();
    assert_eq!(out.json()["summary"]["succeeded"], 1, "{}", out.stdout);
    assert_eq!(picture(&db, &s)["versions"], "{1,2,3}");
    db.tenantctl(&["migrate-tenants", "--tenant", "acme"]).exits(2).mentions("MOVING");
    let out = db.tenantctl(&["move-tenant", "acme", "--to", "us2"]);
    out.exits(2);
    assert!(out.one_error_line().contains("--abort"), "{}", out.stderr);

    // Resumed: the copy on eu1 is compared, found equal, and the registry flips.
    let report = moved(&db, &["acme", "--to", "eu1"]);
    assert_eq!((report["resumed"].as_bool(), report["copied"].as_bool()), (Some(true), Some(false)), "{report}");
    assert_eq!(row(&db, "acme"), ("ACTIVE".into(), "eu1".into(), None, Some("default".into())));
    assert_eq!(picture(&eu1.db, &s), acme);
    db.tenantctl(&["migrate-tenants"]).succeeds();
    assert_eq!(picture(&eu1.db, &s)["versions"], "{1,2,3,4,5}");

    // Killed again (globex, which the fan-out brought to 5), then rolled back: ACTIVE on default, no copy on us2.
    let globex_now = picture(&db, &g);
    assert_ne!(globex_now, globex);
    kill_before_the_flip(&db, "globex", "us2");
    assert!(has_schema(&us2.db, &g));
    assert_eq!(moved(&db, &["globex", "--abort"])["outcome"], "aborted");
    assert_eq!(row(&db, "globex"), ("ACTIVE".into(), "default".into(), None, None));
    assert!(!has_schema(&us2.db, &g), "the target's copy is dropped");
    assert_eq!(picture(&db, &g), globex_now);
}

#[test]
fn a_copy_that_differs_from_its_source_is_dropped_and_the_tenant_stays_on_its_source() {
    let (db, [eu1, _]) = fleet();
    let s = tenant_with_data(&db, "acme");
    // The restore waits for public.plans on eu1 (its foreign key), after pg_dump took its snapshot:
    // rows written to the source meanwhile (an app that ignored MOVING) are not in the copy: one
    // more user (the counts differ) and one project renamed (the counts agree, the checksums not).
    let restore_held = eu1.db.hold("LOCK TABLE public.plans IN ACCESS EXCLUSIVE MODE");
    let running = db.command(&["move-tenant", "acme", "--to", "eu1"]).spawn();
    eu1.db.eventually("the restore waits for public.plans", |on| {
        on.scalar::<i64>(
            "select count(*) from pg_stat_activity where datname = current_database() \
             and application_name like 'tenantctl/move-tenant/%' \
             and wait_event_type = 'Lock'",
        ) == 1
    });
    db.execute(&format!(
        "insert into {s}.users (email) values ('late@example.com');
         update {s}.projects set name = 'renamed' where id = 7"
    ));
    drop(restore_held);
    let out = running.wait();
    out.exits(1);
    let error = out.one_error_line();
    assert!(error.contains("table users: 201 rows, the copy has 200"), "{}", out.stderr);
    assert!(error.contains("table projects: the rows' checksums differ"), "{}", out.stderr);
    assert_eq!(row(&db, "acme"), ("ACTIVE".into(), "default".into(), None, None));
    assert!(!has_schema(&eu1.db, &s), "the differing copy is dropped");
}

#[test]
fn a_fan_out_that_selected_a_tenant_before_its_move_skips_it_after_the_flip() {
    let (db, [eu1, _]) = fleet();
    let b = tenant_with_data(&db, "blocker");
    let s = tenant_with_data(&db, "acme");
    db.write_next_tenant_migrations();
    // One tenant at a time, in registry order: the run waits on `blocker` with `acme` selected, on default.
    let held = db.hold(&format!("LOCK TABLE {b}.projects IN ACCESS EXCLUSIVE MODE"));
    let fan_out =
        db.command(&["migrate-tenants", "--concurrency", "1", "--lock-timeout", "60s", "--format", "json"]).spawn();
    db.eventually("the fan-out waits on blocker", |db| {
        db.scalar::<i64>(
            "select count(*) from pg_stat_activity where datname = current_database() \
             and application_name = 'tenantctl/migrate-tenants' and wait_event_type = 'Lock'",
        ) == 1
    });
    moved(&db, &["acme", "--to", "eu1"]);
    drop(held);
    let out = fan_out.wait();
    out.succeeds();
    let report = out.json();
    let acme = crate::support::report::entry(&report, "acme");
    assert_eq!(acme["outcome"], "skipped", "{report:#}");
    assert!(out.stdout.contains("moved to another shard since the run started"), "{}", out.stdout);
    assert_eq!(picture(&eu1.db, &s)["versions"], "{1,2,3}", "the new copy is left for the next run");
    assert_eq!(picture(&db, &s)["versions"], "{1,2,3}", "the old copy is not migrated");
    db.tenantctl(&["migrate-tenants"]).succeeds();
    assert_eq!(picture(&eu1.db, &s)["versions"], "{1,2,3,4,5}");
}

#[test]
fn a_tenant_with_its_own_role_moves_with_its_owner_and_the_role_is_made_on_the_target() {
    let (db, [eu1, _]) = fleet();
    // As the shards' files grant it there.
    db.execute("GRANT SELECT, REFERENCES ON public.plans TO PUBLIC");
    db.tenantctl(&["provision-tenant", "--shard", "default", "--create-role", "acme"]).succeeds();
    let s = db.schema_for("acme");
    moved(&db, &["acme", "--to", "eu1"]);
    let owner = |on: &TestDb| -> String {
        on.scalar(&format!("select tableowner::text from pg_tables where schemaname = '{s}' and tablename = 'users'"))
    };
    assert_eq!(owner(&eu1.db), s, "the tenant's role owns its tables on the target too");
    db.write_next_tenant_migrations();
    db.tenantctl(&["migrate-tenants"]).succeeds();
    let tasks_owner: String = eu1
        .db
        .scalar(&format!("select tableowner::text from pg_tables where schemaname = '{s}' and tablename = 'tasks'"));
    assert_eq!(tasks_owner, s, "later migrations run as the role on the target");
}

#[test]
fn a_copy_that_fails_on_the_target_is_rolled_back_and_the_tenant_is_active_on_its_source() {
    let (db, [_, us2]) = fleet();
    let s = tenant_with_data(&db, "acme");
    // Its projects reference public.plans, which us2 no longer has: the restore fails as a whole.
    us2.db.execute("DROP TABLE public.plans");
    let out = db.tenantctl(&["move-tenant", "acme", "--to", "us2"]);
    out.exits(1);
    let line = out.one_error_line();
    assert!(line.contains("pg_restore") && line.contains("the move was rolled back"), "{}", out.stderr);
    assert_eq!(row(&db, "acme"), ("ACTIVE".into(), "default".into(), None, None));
    assert!(!has_schema(&us2.db, &s), "nothing is left on the target");
}

#[test]
fn a_move_killed_during_its_copy_leaves_no_copy_behind_once_aborted() {
    let (db, [eu1, _]) = fleet();
    let s = tenant_with_data(&db, "acme");
    let before = picture(&db, &s);
    let copy_held = db.hold(&format!("LOCK TABLE {s}.users IN ACCESS EXCLUSIVE MODE"));
    let running = db.command(&["move-tenant", "acme", "--to", "eu1"]).spawn();
    let copying = format!("tenantctl/move-tenant/{s}");
    let sessions = |on: &TestDb, waiting: &str| -> i64 {
        on.scalar(&format!(
            "select count(*) from pg_stat_activity where datname = current_database() \
             and application_name = '{copying}' {waiting}"
        ))
    };
    db.eventually("pg_dump waits for the table", |db| sessions(db, "and wait_event_type = 'Lock'") == 1);
    let (out, killed) = running.kill();
    assert!(killed, "killed during the copy: {}", out.stderr);
    // pg_dump and pg_restore outlive tenantctl; --abort ends them before it decides anything.
    assert_eq!(moved(&db, &["acme", "--abort"])["outcome"], "aborted");
    drop(copy_held);
    db.eventually("no copying session is left", |db| sessions(db, "") == 0 && sessions(&eu1.db, "") == 0);
    assert!(!has_schema(&eu1.db, &s), "no copy committed after the abort");
    assert_eq!(row(&db, "acme"), ("ACTIVE".into(), "default".into(), None, None));
    assert_eq!(picture(&db, &s), before);
}
