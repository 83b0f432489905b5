//! No-transaction migrations (`-- tenantctl:no-transaction`, for `CREATE INDEX CONCURRENTLY`): a
//! fan-out between transactional phases, a failed concurrent build recovered by a rerun,
//! provisioning and rolling back with such files.
//!
//! The `no_transaction` fixture: `chat_messages` (0001); next, 0002 adds a column (transactional),
//! 0003 builds `chat_messages_body_idx` concurrently, 0004 comments on that index (transactional,
//! so it fails unless 0003 ran first). `tenant_migrations_unique` holds a unique concurrent index
//! (0002) instead, which duplicate rows make fail.

use crate::support::{
    TestDb, org_ids,
    report::{entry, summary, versions},
};

const ORGS: [&str; 3] = ["acme-corp", "globex", "initech"];

/// The fixture with `orgs` provisioned at 0001.
fn tenants_at_0001<S: AsRef<str>>(orgs: &[S]) -> TestDb {
    TestDb::with_fixture("no_transaction").with_tenants(orgs)
}

/// `org` holds 0001-0004: a valid body index with 0004's comment, the columns of 0002.
#[track_caller]
fn assert_fully_migrated(db: &TestDb, org: &str) {
    let schema = db.schema_for(org);
    assert_eq!(db.applied(org), [1, 2, 3, 4], "{org}");
    assert_eq!(db.index_valid(&format!("{schema}.chat_messages_body_idx")), Some(true), "{org}: a valid index");
    let comment: Option<String> =
        db.scalar(&format!("select obj_description(to_regclass('{schema}.chat_messages_body_idx'), 'pg_class')"));
    assert_eq!(comment.as_deref(), Some("message search by body"), "{org}: 0004 ran after 0003");
    assert_eq!(db.status_of(org), "ACTIVE", "{org}");
}

/// Every registry row mirrors its tracking table.
#[track_caller]
fn assert_mirrors_agree(db: &TestDb) {
    for state in db.tenant_states() {
        assert!(state.mirror_agrees(), "the registry mirror disagrees with the tracking table: {state:?}");
    }
}

#[test]
fn a_concurrent_index_fans_out_to_50_tenants_between_transactional_phases() {
    let orgs = org_ids(50);
    let db = tenants_at_0001(&orgs);
    db.merge("tenant_migrations_next", "tenant_migrations");

    let out = db.tenantctl(&["migrate-tenants", "--format", "json"]);
    out.succeeds();
    let report = out.json();
    assert_eq!(summary(&report), [50, 0, 0]);
    for org in &orgs {
        assert_eq!(versions(&entry(&report, org)["applied"]), [2, 3, 4], "{org}");
        assert_fully_migrated(&db, org);
        let schema = db.schema_for(org);
        // Recorded in version order, with the checksum recorded centrally.
        let in_order: bool = db.scalar(&format!(
            "select bool_and(applied_at >= previous) from (select applied_at, \
             lag(applied_at) over (order by version) as previous from {schema}.tenantctl_migrations) t"
        ));
        assert!(in_order, "{org}: applied in version order");
        let recorded: i64 = db.scalar(&format!(
            "select count(*) from {schema}.tenantctl_migrations t join public.tenantctl_tenant_migrations c \
             using (version) where version = 3 and t.checksum = c.checksum"
        ));
        assert_eq!(recorded, 1, "{org}: 0003 in the tracking table and centrally");
    }
    assert_mirrors_agree(&db);
    let states = db.tenant_states();
    assert!(states.iter().all(|s| s.schema_version == Some(4)), "{states:?}");
}

#[test]
fn a_failed_concurrent_build_fails_its_tenant_and_a_rerun_after_the_fix_completes_it() {
    let db = tenants_at_0001(&ORGS);
    db.in_schema_of("globex", "INSERT INTO chat_messages (body) VALUES ('hello'), ('hello'), ('bye')");
    db.merge("tenant_migrations_unique", "tenant_migrations");
    let index = |org: &str| format!("{}.chat_messages_body_key", db.schema_for(org));

    let out = db.tenantctl(&["migrate-tenants", "--format", "json"]);
    out.exits(1);
    let report = out.json();
    assert_eq!(summary(&report), [2, 1, 0]);
    let failed = entry(&report, "globex");
    assert_eq!(failed["outcome"], "failed", "{failed}");
    let error = failed["error"].as_str().unwrap_or_default();
    assert!(error.contains("0002_chat_messages_body_key"), "the file is named: {error}");
    assert!(
        error.contains("statement 2") || error.contains("CREATE UNIQUE INDEX CONCURRENTLY"),
        "the failed statement is named: {error}"
    );
    assert!(error.contains("partly applied"), "the partial application is stated: {error}");
    let row = db.tenant("globex");
    assert_eq!(row["status"], "FAILED", "{row}");
    assert!(row["last_error"].as_str().unwrap_or_default().contains("partly applied"), "{row}");
    assert_eq!(db.applied("globex"), [1], "not recorded");
    assert_eq!(db.index_valid(&index("globex")), Some(false), "the failed build leaves an INVALID index");
    for org in ["acme-corp", "initech"] {
        assert_eq!(entry(&report, org)["outcome"], "succeeded");
        assert_eq!(db.applied(org), [1, 2], "{org}");
        assert_eq!(db.index_valid(&index(org)), Some(true), "{org}");
    }
    assert_mirrors_agree(&db);

    // The data is fixed; the rerun drops the invalid leftover and builds the index again.
    db.in_schema_of(
        "globex",
        "DELETE FROM chat_messages WHERE id = (SELECT max(id) FROM chat_messages WHERE body = 'hello')",
    );
    let out = db.tenantctl(&["migrate-tenants", "--include-failed", "--format", "json"]);
    out.succeeds();
    let report = out.json();
    assert_eq!(summary(&report), [1, 0, 0]);
    assert_eq!(versions(&entry(&report, "globex")["applied"]), [2]);
    let row = db.tenant("globex");
    assert_eq!((&row["status"], &row["last_error"]), (&"ACTIVE".into(), &serde_json::Value::Null), "{row}");
    assert_eq!(db.applied("globex"), [1, 2]);
    assert_eq!(db.index_valid(&index("globex")), Some(true));
    assert_mirrors_agree(&db);
}

#[test]
fn provisioning_applies_a_set_holding_a_no_transaction_migration() {
    let db = TestDb::with_fixture("no_transaction");
    db.merge("tenant_migrations_next", "tenant_migrations");
    db.migrate_master();

    let out = db.tenantctl(&["provision-tenant", "acme-corp", "globex", "--format", "json"]);
    out.succeeds();
    let report = out.json();
    assert_eq!(summary(&report), [2, 0, 0]);
    for org in ["acme-corp", "globex"] {
        assert_eq!(versions(&entry(&report, org)["applied"]), [1, 2, 3, 4], "{org}");
        assert_fully_migrated(&db, org);
    }
    assert_mirrors_agree(&db);
}

#[test]
fn rollback_runs_a_no_transaction_down_file_and_reapplying_builds_the_index_again() {
    let db = tenants_at_0001(&ORGS);
    db.merge("tenant_migrations_next", "tenant_migrations");
    db.tenantctl(&["migrate-tenants"]).succeeds();

    let out = db.tenantctl(&["rollback-tenants", "--steps", "2", "--format", "json"]);
    out.succeeds();
    let report = out.json();
    assert_eq!(summary(&report), [3, 0, 0]);
    for org in ORGS {
        assert_eq!(versions(&entry(&report, org)["reverted"]), [3, 4], "{org}");
        assert_eq!(db.applied(org), [1, 2], "{org}");
        assert_eq!(db.index_valid(&format!("{}.chat_messages_body_idx", db.schema_for(org))), None, "{org}: dropped");
        assert_eq!(db.status_of(org), "ACTIVE", "{org}");
    }
    assert_mirrors_agree(&db);

    db.tenantctl(&["migrate-tenants"]).succeeds();
    for org in ORGS {
        assert_fully_migrated(&db, org);
    }
    assert_mirrors_agree(&db);
}
