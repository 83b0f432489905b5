//! `provision-tenant`: the registry row, the schema named after the org id's hash, every tenant
//! migration applied, ACTIVE; skipped when already ACTIVE, resumed after FAILED, collisions refused.

use serde_json::Value;

use crate::support::{
    TestDb, org_ids,
    report::{entry, summary, versions},
};

#[test]
fn provisioning_a_tenant_creates_its_schema_applies_every_migration_and_marks_it_active() {
    let db = TestDb::new();
    db.migrate_master();
    let out = db.tenantctl(&["provision-tenant", "acme-corp", "--format", "json"]);
    out.succeeds();
    let report = out.json();
    let schema = db.schema_for("acme-corp");

    assert_eq!(summary(&report), [1, 0, 0]);
    let tenant = entry(&report, "acme-corp");
    assert_eq!(tenant["schema"], schema.as_str());
    assert_eq!(tenant["outcome"], "succeeded");
    assert_eq!(versions(&tenant["applied"]), [1, 2, 3]);
    assert_eq!(tenant["error"], Value::Null);

    let row = db.tenant("acme-corp");
    assert_eq!(row["status"], "ACTIVE");
    assert_eq!(row["schema_name"], schema.as_str());
    assert_eq!(row["schema_version"], 3);
    assert_eq!(row["last_error"], Value::Null);
    assert_eq!(db.applied("acme-corp"), [1, 2, 3]);
    assert!(db.exists(&format!("{schema}.users")) && db.exists(&format!("{schema}.projects")));
    let batches: Vec<i32> = db.column(&format!("select distinct batch from {schema}.tenantctl_migrations"));
    assert_eq!(batches.len(), 1, "one batch for the whole provisioning: {batches:?}");
}

#[test]
fn many_tenants_are_provisioned_in_one_command() {
    let db = TestDb::new();
    db.migrate_master();
    let orgs = org_ids(12);
    let mut args = vec!["provision-tenant", "--concurrency", "4", "--format", "json"];
    args.extend(orgs.iter().map(String::as_str));
    let out = db.tenantctl(&args);
    out.succeeds();
    let report = out.json();

    assert_eq!(summary(&report), [12, 0, 0]);
    for org in &orgs {
        assert_eq!(entry(&report, org)["outcome"], "succeeded");
        assert_eq!(db.status_of(org), "ACTIVE");
        assert_eq!(db.applied(org), [1, 2, 3]);
    }
    let schemas: i64 = db.scalar("select count(distinct schema_name) from public.tenants");
    assert_eq!(schemas, 12);
}

#[test]
fn org_ids_come_from_a_file_or_stdin_one_a_line() {
    let db = TestDb::new();
    db.migrate_master();
    db.write("orgs.txt", "# our customers\r\nalpha\r\n\r\nbeta\n#gamma\n\n");
    db.tenantctl(&["provision-tenant", "--from-file", "orgs.txt"]).succeeds();
    db.command(&["provision-tenant", "--from-file", "-"]).stdin("delta\r\nepsilon\n").run().succeeds();

    let mut registered = db.registry_order();
    registered.sort();
    assert_eq!(registered, ["alpha", "beta", "delta", "epsilon"]);
    for org in &registered {
        assert_eq!(db.status_of(org), "ACTIVE");
    }
}

#[test]
fn reprovisioning_an_active_tenant_is_skipped_and_changes_nothing() {
    let db = TestDb::new().with_tenants(&["acme-corp"]);
    let before = db.snapshot().without_runs();
    let out = db.tenantctl(&["provision-tenant", "acme-corp", "--format", "json"]);
    out.succeeds();
    let report = out.json();
    assert_eq!(summary(&report), [0, 0, 1]);
    assert_eq!(entry(&report, "acme-corp")["outcome"], "skipped");
    assert_eq!(db.snapshot().without_runs(), before);
}

#[test]
fn a_failed_provisioning_marks_the_tenant_failed_and_the_next_run_resumes_it() {
    let db = TestDb::new();
    db.migrate_master();
    db.write("tenant_migrations/0004_broken.up.sql", "SELECT 1 / 0;\n");

    let out = db.tenantctl(&["provision-tenant", "acme-corp", "--format", "json"]);
    out.exits(1);
    let report = out.json();
    assert_eq!(summary(&report), [0, 1, 0]);
    let failed = entry(&report, "acme-corp");
    assert_eq!(failed["outcome"], "failed");
    assert!(failed["error"].as_str().unwrap_or_default().contains("division by zero"), "{failed}");
    let row = db.tenant("acme-corp");
    assert_eq!(row["status"], "FAILED");
    assert!(row["last_error"].as_str().unwrap_or_default().contains("division by zero"), "{row}");
    let schema = db.schema_for("acme-corp");
    assert!(!db.exists(&format!("{schema}.users")), "the failed tenant's migrations are rolled back");

    db.write("tenant_migrations/0004_broken.up.sql", "CREATE TABLE tags (name text PRIMARY KEY);\n");
    let out = db.tenantctl(&["provision-tenant", "acme-corp", "--format", "json"]);
    out.succeeds();
    assert_eq!(entry(&out.json(), "acme-corp")["outcome"], "succeeded");
    let row = db.tenant("acme-corp");
    assert_eq!(row["status"], "ACTIVE");
    assert_eq!(row["last_error"], Value::Null);
    assert_eq!(db.applied("acme-corp"), [1, 2, 3, 4]);
}

#[test]
fn a_provisioning_interrupted_after_creating_the_schema_is_resumed() {
    let db = TestDb::new();
    db.migrate_master();
    let schema = db.schema_for("acme-corp");
    // What a crash between "schema created" and "migrations applied" leaves behind.
    db.execute(&format!(
        "insert into public.tenants (org_id, schema_name, status) values ('acme-corp', '{schema}', 'PROVISIONING');
         create schema {schema};"
    ));
    let out = db.tenantctl(&["provision-tenant", "acme-corp", "--format", "json"]);
    out.succeeds();
    assert_eq!(entry(&out.json(), "acme-corp")["outcome"], "succeeded");
    assert_eq!(db.status_of("acme-corp"), "ACTIVE");
    assert_eq!(db.applied("acme-corp"), [1, 2, 3]);
}

#[test]
fn configured_extensions_are_created_in_public() {
    let db = TestDb::new();
    db.migrate_master();
    db.write("tenantctl.toml", "extensions = [\"pgcrypto\"]\n");
    db.provision(&["acme-corp"]);
    let schema: String =
        db.scalar("select extnamespace::regnamespace::text from pg_extension where extname = 'pgcrypto'");
    assert_eq!(schema, "public");
}

#[test]
fn org_ids_are_taken_byte_for_byte() {
    let composed = "Caf\u{e9} \u{682a}\u{5f0f}\u{4f1a}\u{793e}";
    let decomposed = "Cafe\u{301} \u{682a}\u{5f0f}\u{4f1a}\u{793e}";
    let longest = "x".repeat(255);
    let db = TestDb::new().with_tenants(&[composed, decomposed, &longest]);
    for org in [composed, decomposed, longest.as_str()] {
        assert_eq!(db.tenant(org)["schema_name"], db.schema_for(org).as_str());
        assert_eq!(db.status_of(org), "ACTIVE");
    }
    assert_ne!(db.schema_for(composed), db.schema_for(decomposed));
}

#[test]
fn an_org_whose_schema_name_is_taken_is_refused_and_not_registered() {
    let db = TestDb::new();
    db.migrate_master();
    db.write("tenantctl.toml", "schema_hash_len = 4\n");
    // Two org ids whose hashes share their first 4 hex digits (deterministic: a birthday search).
    let pair = db.rows(
        "with h as (select 'org-' || g as org, left(encode(sha256(convert_to('org-' || g, 'UTF8')), 'hex'), 4) as hash \
         from generate_series(1, 5000) g) \
         select a.org as first, b.org as second from h a join h b on a.hash = b.hash and a.org < b.org \
         order by a.org, b.org limit 1",
    );
    let [first, second] = ["first", "second"].map(|k| pair[0][k].as_str().unwrap().to_owned());

    db.provision(&[&first]);
    let out = db.tenantctl(&["provision-tenant", &second, "--format", "json"]);
    out.exits(1).mentions(&first).mentions(&second);
    assert_eq!(db.tenant(&second), Value::Null, "the colliding org must not be registered");
    assert_eq!(db.status_of(&first), "ACTIVE");
    assert_eq!(db.registry_order(), [first]);
}
