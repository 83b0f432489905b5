//! Connection poolers work: through PgBouncer in transaction-pooling mode (`support::pgbouncer`:
//! fewer server connections than tenantctl's clients, handed out in turn), with `transaction_pooler`
//! set, master migrations, provisioning, the fan-out and the rollbacks succeed, the global lock
//! serialises two runs, and no-transaction migrations, which need a session of their own, are refused
//! before anything changes. tenantctl only ever gets the pooler's address; the results are read from
//! the database directly, and PgBouncer's own statistics show the transactions went through it.

use crate::support::{POOL_SIZE, Tenantctl, TestDb, org_ids, pgbouncer, report::summary};

/// `tenantctl <args>` against `db` through the pooler, `transaction_pooler` set by the environment.
fn pooled(db: &TestDb, args: &[&str]) -> Tenantctl {
    db.command(args).env("DATABASE_URL", &pgbouncer().url_for(db.url())).env("TENANTCTL_TRANSACTION_POOLER", "true")
}

/// The name of `db`'s database.
fn database(db: &TestDb) -> String {
    url::Url::parse(db.url()).expect("the test database URL parses").path().trim_start_matches('/').to_owned()
}

/// Transactions PgBouncer has passed on to `db`'s database so far.
fn pooled_transactions(db: &TestDb) -> u64 {
    let stats = pgbouncer().show("STATS", &database(db));
    let row = stats.first().unwrap_or_else(|| panic!("PgBouncer has no statistics for {}", database(db)));
    let count = row.iter().find(|(name, _)| name == "total_xact_count").expect("a total_xact_count column");
    count.1.parse().expect("a count")
}

/// Advisory locks held in `db`'s database by any session: none may outlive a run, wherever the
/// pooler put its statements.
fn advisory_locks(db: &TestDb) -> i64 {
    db.scalar(
        "select count(*) from pg_locks l join pg_database d on d.oid = l.database \
         where l.locktype = 'advisory' and d.datname = current_database()",
    )
}

/// Every tenant ACTIVE with exactly `versions` applied, and the registry mirror in agreement.
#[track_caller]
fn assert_tenants_at(db: &TestDb, orgs: &[String], versions: &[i64]) {
    for org in orgs {
        assert_eq!(db.applied(org), versions, "{org}");
        assert_eq!(db.status_of(org), "ACTIVE", "{org}");
    }
    for state in db.tenant_states() {
        assert!(state.mirror_agrees(), "the registry mirror disagrees with the tracking table: {state:?}");
    }
}

#[test]
fn the_whole_flow_runs_through_pgbouncer_in_transaction_mode() {
    let db = TestDb::new();
    // The file's key this time (the other tests use the environment).
    db.write("tenantctl.toml", "transaction_pooler = true\n");
    let through_pooler = |args: &[&str]| db.command(args).env("DATABASE_URL", &pgbouncer().url_for(db.url()));
    let orgs = org_ids(12);
    let concurrency = (POOL_SIZE * 3).to_string();
    let fan_out = |command: &str| through_pooler(&[command, "--concurrency", &concurrency, "--format", "json"]).run();

    through_pooler(&["migrate-master"]).run().succeeds();
    assert_eq!(db.master_applied(), [1, 2]);

    let mut provision = vec!["provision-tenant", "--concurrency", &concurrency, "--format", "json"];
    provision.extend(orgs.iter().map(String::as_str));
    let out = through_pooler(&provision).run();
    out.succeeds();
    assert_eq!(summary(&out.json()), [12, 0, 0]);
    assert_tenants_at(&db, &orgs, &[1, 2, 3]);

    db.write_next_tenant_migrations();
    let out = fan_out("migrate-tenants");
    out.succeeds();
    assert_eq!(summary(&out.json()), [12, 0, 0]);
    assert_tenants_at(&db, &orgs, &[1, 2, 3, 4, 5]);

    let out = fan_out("rollback-tenants");
    out.succeeds();
    assert_eq!(summary(&out.json()), [12, 0, 0]);
    assert_tenants_at(&db, &orgs, &[1, 2, 3]);
    fan_out("migrate-tenants").succeeds();
    assert_tenants_at(&db, &orgs, &[1, 2, 3, 4, 5]);

    db.write_next_master_migration();
    through_pooler(&["migrate-master"]).run().succeeds();
    assert_eq!(db.master_applied(), [1, 2, 3]);
    through_pooler(&["rollback-master"]).run().succeeds();
    assert_eq!(db.master_applied(), [1, 2]);

    through_pooler(&["status", "--check"]).run().succeeds();
    through_pooler(&["verify"]).run().succeeds();
    assert_eq!(
        db.recorded_commands(),
        [
            "migrate-master",
            "provision-tenant",
            "migrate-tenants",
            "rollback-tenants",
            "migrate-tenants",
            "migrate-master",
            "rollback-master"
        ]
    );
    assert_eq!(advisory_locks(&db), 0, "an advisory lock outlived its run on a pooled server connection");
    // Every tenant's transactions went through the pooler: at least one per tenant and fan-out.
    let transactions = pooled_transactions(&db);
    assert!(transactions >= 12 * 4, "PgBouncer passed on only {transactions} transactions");
}

#[test]
fn the_global_lock_serialises_two_master_runs_through_the_pooler() {
    let db = TestDb::new();
    db.migrate_master();
    db.write("master_migrations/0003_slow.up.sql", "SELECT pg_sleep(2);\n");
    let first = pooled(&db, &["migrate-master"]).spawn();
    db.eventually("the first run is in its slow migration", |db| {
        db.scalar(
            "select exists (select from pg_stat_activity where datname = current_database() \
             and query like 'SELECT pg_sleep(2)%')",
        )
    });
    let second = pooled(&db, &["migrate-master", "--format", "json"]).run();
    first.wait().succeeds();
    second.succeeds().mentions("holds the global lock");
    // The second run waited, then found nothing to do: 0003 ran once.
    assert_eq!(second.json()["applied"], serde_json::json!([]));
    assert_eq!(db.master_applied(), [1, 2, 3]);
    assert_eq!(advisory_locks(&db), 0, "the global lock outlived its run on a pooled server connection");
}

#[test]
fn no_transaction_migrations_are_refused_through_the_pooler_and_run_on_a_direct_connection() {
    let db = TestDb::with_fixture("no_transaction").with_tenants(&["acme-corp"]);
    db.merge("tenant_migrations_next", "tenant_migrations");
    let before = db.snapshot();
    for args in [&["migrate-tenants"][..], &["provision-tenant", "globex"], &["migrate-tenants", "--dry-run"]] {
        let out = pooled(&db, args).run();
        out.exits(2);
        let line = out.one_error_line();
        assert!(line.contains("0003_chat_messages_body_idx.up.sql") && line.contains("direct connection"), "{line}");
    }
    // The flag says the same as the environment.
    let out = db.command(&["--transaction-pooler", "migrate-tenants"]).run();
    out.exits(2).mentions("transaction_pooler = true");
    assert_eq!(db.snapshot(), before, "a refused run changed the database");

    // What was refused runs on a direct connection; rolling it back through the pooler is refused too.
    db.tenantctl(&["migrate-tenants"]).succeeds();
    assert_eq!(db.applied("acme-corp"), [1, 2, 3, 4]);
    let out = pooled(&db, &["rollback-tenants", "--to", "1"]).run();
    out.exits(2).mentions("0003_chat_messages_body_idx.down.sql");
    assert_eq!(db.applied("acme-corp"), [1, 2, 3, 4]);
}
