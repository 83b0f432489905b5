//! `make-migration`: the next version in the directory's style (sequential at its width, or UTC
//! timestamps), normalised names, bad names refused, placeholders refused until written.

use crate::support::TestDb;

/// The current UTC time as a migration version.
fn now() -> u64 {
    chrono::Utc::now().format("%Y%m%d%H%M%S").to_string().parse().unwrap()
}

/// The version of a file name (`0003_x.up.sql` is 3).
fn version_of(file: &str) -> u64 {
    file.split('_').next().unwrap().parse().unwrap()
}

/// The files of `dir` that `make` added.
fn new_files(db: &TestDb, dir: &str, make: impl FnOnce()) -> Vec<String> {
    let before = db.files(dir);
    make();
    db.files(dir).into_iter().filter(|f| !before.contains(f)).collect()
}

#[test]
fn the_first_migration_of_an_empty_directory_is_0001_with_a_normalised_name() {
    let db = TestDb::new();
    db.mkdir("fresh");
    let out = db.tenantctl(&["make-migration", "tenant", "Add Users-Table", "--tenant-dir", "fresh"]);
    out.succeeds().mentions("0001_add_users_table.up.sql").mentions("0001_add_users_table.down.sql");
    assert_eq!(db.files("fresh"), ["0001_add_users_table.down.sql", "0001_add_users_table.up.sql"]);
}

#[test]
fn a_sequential_directory_gets_the_next_number_at_its_width() {
    let db = TestDb::new();
    let master = new_files(&db, "master_migrations", || {
        db.tenantctl(&["make-migration", "master", "audit_log"]).succeeds();
    });
    assert_eq!(master, ["0003_audit_log.down.sql", "0003_audit_log.up.sql"]);
    let tenant = new_files(&db, "tenant_migrations", || {
        db.tenantctl(&["make-migration", "tenant", "invoices"]).succeeds();
    });
    assert_eq!(tenant, ["0004_invoices.down.sql", "0004_invoices.up.sql"]);
}

#[test]
fn a_timestamp_directory_gets_the_current_utc_timestamp() {
    let db = TestDb::with_fixture("timestamps");
    let start = now();
    let added = new_files(&db, "master_migrations", || {
        db.tenantctl(&["make-migration", "master", "add_event_kinds"]).succeeds();
    });
    let end = now();
    assert_eq!(added.len(), 2, "{added:?}");
    assert!(added[0].ends_with("_add_event_kinds.down.sql"), "{added:?}");
    assert!(added[1].ends_with("_add_event_kinds.up.sql"), "{added:?}");
    let version = version_of(&added[0]);
    assert!((start..=end).contains(&version), "{version} is not between {start} and {end}");
}

#[test]
fn the_timestamp_flag_uses_a_timestamp_in_any_directory() {
    let db = TestDb::new();
    let start = now();
    let added = new_files(&db, "tenant_migrations", || {
        db.tenantctl(&["make-migration", "tenant", "notes", "--timestamp"]).succeeds();
    });
    assert_eq!(added.len(), 2, "{added:?}");
    let version = version_of(&added[0]);
    assert!((start..=now()).contains(&version), "{added:?}");
}

#[test]
fn names_outside_letters_digits_and_underscores_are_refused() {
    let db = TestDb::new();
    for name in ["drop;table", "caf\u{e9}", "a/b", "", "   "] {
        let added = new_files(&db, "master_migrations", || {
            let out = db.tenantctl(&["make-migration", "master", name]);
            out.exits(2).one_error_line();
        });
        assert_eq!(added, Vec::<String>::new(), "{name:?} wrote files");
    }
}

#[test]
fn a_made_migration_is_refused_until_it_is_written() {
    let db = TestDb::new();
    db.tenantctl(&["make-migration", "master", "todo"]).succeeds();
    let before = db.snapshot();
    let refused = db.tenantctl(&["migrate-master"]);
    refused.exits(2);
    assert!(refused.one_error_line().contains("0003_todo.up.sql"), "{refused:?}");
    assert_eq!(db.snapshot(), before);
}
