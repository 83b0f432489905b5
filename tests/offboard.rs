//! Off-boarding is governed: `archive-tenant` takes a tenant out of every fan-out and keeps its
//! schema; `drop-tenant` drops the schema only for an ARCHIVED tenant whose schema name is typed
//! out, records it, and keeps the registry row; a tenant another run holds is neither archived
//! nor dropped.

use crate::support::TestDb;

const ORGS: [&str; 3] = ["acme-corp", "globex", "initech"];

/// The advisory lock key tenantctl uses for `schema`, computed here independently of the binary:
/// the first 8 bytes of SHA-256("tenantctl/tenant/<schema>"), big-endian.
fn tenant_lock_sql(schema: &str) -> String {
    format!(
        "SELECT pg_advisory_lock(('x' || left(encode(sha256(convert_to('tenantctl/tenant/{schema}', 'UTF8')), 'hex'), \
         16))::bit(64)::bigint)"
    )
}

#[test]
fn an_archived_tenant_keeps_its_schema_and_leaves_every_fan_out() {
    let db = TestDb::new().with_tenants(&ORGS);
    let globex = db.schema_for("globex");

    let out = db.tenantctl(&["archive-tenant", "globex", "--format", "json"]);
    out.succeeds();
    assert_eq!(out.json()["changed"], true, "{}", out.stdout);
    assert_eq!(db.status_of("globex"), "ARCHIVED");
    assert_eq!(db.schemas_named(&globex), std::slice::from_ref(&globex), "the schema is kept");
    db.tenantctl(&["archive-tenant", "globex"]).succeeds().mentions("already");

    // No fan-out touches it: not a full run, not --include-failed, and provisioning skips it.
    db.write_next_tenant_migrations();
    let out = db.tenantctl(&["migrate-tenants", "--include-failed", "--format", "json"]);
    out.succeeds();
    assert_eq!(out.json()["summary"]["succeeded"], 2, "{}", out.stdout);
    assert_eq!(db.applied("globex"), [1, 2, 3]);
    assert_eq!(db.applied("acme-corp"), [1, 2, 3, 4, 5]);
    db.tenantctl(&["rollback-tenants"]).succeeds();
    assert_eq!(db.applied("globex"), [1, 2, 3]);
    let out = db.tenantctl(&["provision-tenant", "globex", "--format", "json"]);
    out.succeeds();
    assert_eq!(out.json()["tenants"][0]["outcome"], "skipped", "{}", out.stdout);
    assert_eq!(db.status_of("globex"), "ARCHIVED");
    db.tenantctl(&["status"]).succeeds().mentions("ARCHIVED");
    assert_eq!(
        db.recorded_commands().iter().filter(|c| *c == "archive-tenant").count(),
        1,
        "archiving is recorded once; the no-op is not"
    );
}

#[test]
fn drop_tenant_drops_only_an_archived_schema_typed_out_and_keeps_the_row() {
    let db = TestDb::new().with_tenants(&ORGS);
    let globex = db.schema_for("globex");

    // Not archived: refused as input, nothing dropped.
    let out = db.tenantctl(&["drop-tenant", "globex", "--confirm", &globex]);
    out.exits(2);
    assert!(out.one_error_line().contains("archive-tenant"), "{}", out.stderr);
    assert_eq!(db.schemas_named(&globex).len(), 1);

    db.tenantctl(&["archive-tenant", "globex"]).succeeds();
    // The wrong confirmation: refused, nothing dropped.
    for wrong in ["globex", "tid_0000000000", &db.schema_for("acme-corp")] {
        let out = db.tenantctl(&["drop-tenant", "globex", "--confirm", wrong]);
        out.exits(2);
        assert!(out.one_error_line().contains(&globex), "the message names the schema to type: {}", out.stderr);
        assert_eq!(db.schemas_named(&globex).len(), 1);
    }
    db.tenantctl(&["drop-tenant", "globex"]).exits(2);

    db.tenantctl(&["drop-tenant", "globex", "--confirm", &globex]).succeeds();
    assert!(db.schemas_named(&globex).is_empty(), "the schema is gone");
    let row = db.tenant("globex");
    assert_eq!(row["status"], "ARCHIVED", "{row}");
    assert!(row["note"].as_str().is_some_and(|n| n.contains("dropped") && n.contains(&globex)), "{row}");
    assert_eq!(db.recorded_commands().last().map(String::as_str), Some("drop-tenant"));
    for org in ["acme-corp", "initech"] {
        assert_eq!(db.applied(org), [1, 2, 3], "{org} is untouched");
        assert_eq!(db.status_of(org), "ACTIVE");
    }
    // Later runs leave the dropped tenant alone.
    db.write_next_tenant_migrations();
    db.tenantctl(&["migrate-tenants", "--include-failed"]).succeeds();
    assert!(db.schemas_named(&globex).is_empty(), "no fan-out recreates a dropped schema");
}

#[test]
fn a_tenant_another_run_holds_is_neither_archived_nor_dropped() {
    let db = TestDb::new().with_tenants(&ORGS);
    let globex = db.schema_for("globex");
    let run = db.hold_session(&tenant_lock_sql(&globex));

    let out = db.tenantctl(&["archive-tenant", "globex"]);
    out.exits(1);
    assert!(out.one_error_line().contains("held by another tenantctl run"), "{}", out.stderr);
    assert_eq!(db.status_of("globex"), "ACTIVE", "a run in flight would set it back: refused instead");

    drop(run);
    db.tenantctl(&["archive-tenant", "globex"]).succeeds();
    let run = db.hold_session(&tenant_lock_sql(&globex));
    let out = db.tenantctl(&["drop-tenant", "globex", "--confirm", &globex]);
    out.exits(1);
    assert!(out.one_error_line().contains("held by another tenantctl run"), "{}", out.stderr);
    assert_eq!(db.schemas_named(&globex).len(), 1, "nothing dropped");
    drop(run);
    db.tenantctl(&["drop-tenant", "globex", "--confirm", &globex]).succeeds();
    assert!(db.schemas_named(&globex).is_empty());
}
