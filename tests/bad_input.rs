//! Bad input: unknown flags, invalid org ids, malformed migration directories, conflicting
//! options, a bad config file, an unreachable database. Each is exit 2 (or 3 for the database)
//! with one clear line on stderr, and the database is left as it was.

use crate::support::{TestDb, closed_port_url};

/// Runs `args`, expects `code` with one stderr line mentioning `named`, and no change at all.
#[track_caller]
fn refused(db: &TestDb, args: &[&str], code: i32, named: &str) {
    let before = db.snapshot();
    let out = db.tenantctl(args);
    out.exits(code);
    let line = out.one_error_line();
    assert!(line.contains(named), "`tenantctl {}` should name {named:?}: {line}", args.join(" "));
    assert_eq!(db.snapshot(), before, "`tenantctl {}` changed the database", args.join(" "));
}

#[test]
fn unknown_flags_and_commands_are_exit_2() {
    let db = TestDb::new();
    refused(&db, &["migrate-master", "--bogus"], 2, "--bogus");
    refused(&db, &["--bogus", "status"], 2, "--bogus");
    refused(&db, &["migrate-tenants", "--concurrency", "lots"], 2, "lots");
    refused(&db, &["frobnicate"], 2, "frobnicate");
}

#[test]
fn steps_and_to_together_are_exit_2() {
    let db = TestDb::new().with_tenants(&["acme-corp"]);
    refused(&db, &["rollback-master", "--steps", "1", "--to", "0"], 2, "--to");
    refused(&db, &["rollback-tenants", "--steps", "1", "--to", "0"], 2, "--to");
}

#[test]
fn invalid_org_ids_are_refused_before_any_tenant_is_provisioned() {
    let db = TestDb::new();
    db.migrate_master();
    let too_long = "x".repeat(256);
    for bad in [
        "",
        " leading-space",
        "trailing-space ",
        "bell\u{7}",
        "line\nbreak",
        "zero\u{200b}width",
        "bidi\u{202e}override",
        too_long.as_str(),
    ] {
        refused(&db, &["provision-tenant", "good-org", bad], 2, "org id");
    }
    db.write("orgs.txt", "good-org\n\u{feff}bom-inside\n");
    refused(&db, &["provision-tenant", "--from-file", "orgs.txt"], 2, "org id");
    assert_eq!(db.registry_order(), Vec::<String>::new());
}

#[test]
fn malformed_migration_directories_are_refused_before_any_change() {
    let db = TestDb::with_fixture("malformed");
    db.write("not_utf8/0001_a.up.sql", "CREATE TABLE public.a (id integer);\n");
    db.write("not_utf8/0002_latin1.up.sql", b"-- caf\xe9\nSELECT 1;\n");
    let cases = [
        ("duplicate_versions", "1_b.up.sql"),
        ("down_without_up", "0002_b.down.sql"),
        ("bad_name", "add_users.up.sql"),
        ("empty_file", "0002_b.up.sql"),
        ("not_utf8", "0002_latin1.up.sql"),
    ];
    // A fresh database: not even the bootstrap tables may appear.
    for (dir, file) in cases {
        refused(&db, &["migrate-master", "--master-dir", dir], 2, file);
    }
    // With tenants in place, for the tenant side.
    db.migrate_master();
    db.provision(&["acme-corp"]);
    for (dir, file) in cases {
        refused(&db, &["migrate-tenants", "--tenant-dir", dir], 2, file);
        refused(&db, &["provision-tenant", "globex", "--tenant-dir", dir], 2, file);
    }
}

#[test]
fn a_bad_config_file_is_exit_2_naming_the_key() {
    let db = TestDb::new();
    for (toml, key) in [
        ("concurency = 4\n", "concurency"),
        ("concurrency = \"four\"\n", "concurrency"),
        ("schema_hash_len = 3\n", "schema_hash_len"),
        ("schema_hash_len = 33\n", "schema_hash_len"),
        ("schema_prefix = \"Tid-\"\n", "schema_prefix"),
        ("schema_prefix = \"a_very_long_prefix_that_goes_on_and_on_and_on_and_on_\"\nschema_hash_len = 32\n", "63"),
        ("lock_timeout = \"soon\"\n", "lock_timeout"),
    ] {
        db.write("tenantctl.toml", toml);
        refused(&db, &["migrate-master"], 2, key);
    }
}

#[test]
fn an_unreachable_database_is_exit_3_without_the_password() {
    let db = TestDb::new();
    let url = closed_port_url();
    for args in [
        &["migrate-master"][..],
        &["status"],
        &["migrate-tenants"],
        &["provision-tenant", "acme-corp"],
        &["rollback-tenants"],
    ] {
        let out = db.command(args).env("DATABASE_URL", &url).run();
        out.exits(3);
        out.one_error_line();
        assert!(!out.stderr.contains("s3cret-pw") && !out.stdout.contains("s3cret-pw"), "{out:?}");
    }
    let mut args = vec!["--database-url", url.as_str(), "migrate-master"];
    db.tenantctl(&args).exits(3).one_error_line();
    args.rotate_left(2);
    db.tenantctl(&args).exits(3).one_error_line();
}
