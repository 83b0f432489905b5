//! Property tests of the migration-file loader: no file name and no file content makes it panic,
//! and what it accepts has the promised shape.

use std::{ffi::OsStr, os::unix::ffi::OsStrExt, path::Path};

use proptest::prelude::*;
use tenantctl_migrations::{FileKind, FileName, MigrationSet, migration_name};

/// Names that look like migration files, give or take a character, and names that do not at all.
fn file_name() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "[0-9]{1,20}_[a-zA-Z0-9_ .é-]{0,12}(\\.up|\\.down|\\.UP|)\\.sql".prop_map(String::into_bytes),
        "0*[1-9][0-9]{0,3}_[a-z]{1,8}(\\.up|\\.down)?\\.sql".prop_map(String::into_bytes),
        any::<String>().prop_map(|s| (s + ".sql").into_bytes()),
        // Not UTF-8 at all.
        prop::collection::vec(any::<u8>(), 1..40).prop_map(|mut b| {
            b.extend_from_slice(b".sql");
            b
        }),
    ]
}

/// File contents: arbitrary bytes, and SQL-ish text with header directives, comments, dollar
/// quotes and multi-byte characters, which reach the parser and the directive reader.
fn contents() -> impl Strategy<Value = Vec<u8>> {
    let header = prop_oneof![
        Just(String::new()),
        Just("-- tenantctl:no-transaction\n".to_owned()),
        Just("-- tenantctl:lock-timeout 30s\n".to_owned()),
        "-- tenantctl:[a-z-]{0,20} [ -~]{0,20}\n",
        "-- [^\n]{0,30}\n",
    ];
    let body = prop_oneof![
        Just("CREATE INDEX CONCURRENTLY i ON t (c);".to_owned()),
        Just("SELECT $$ unterminated".to_owned()),
        Just("/* unterminated".to_owned()),
        "[ -~\n\t;$'\"/*-]{0,80}",
        any::<String>(),
    ];
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300),
        (header, body, "\\PC{0,10}").prop_map(|(h, b, tail)| format!("{h}{b}{tail}").into_bytes()),
    ]
}

/// A name the file system accepts: no `/`, no NUL, not `.` or `..`, at most 255 bytes.
fn writable(name: &[u8]) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.contains(&b'/')
        && !name.contains(&0)
        && name != b"."
        && name != b".."
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn file_name_parse_never_panics(name in any::<String>()) {
        let _ = FileName::parse(&name);
    }

    #[test]
    fn accepted_file_names_have_a_positive_version_and_a_plain_name(name in file_name()) {
        let Ok(name) = String::from_utf8(name) else { return Ok(()) };
        if let Ok(Some(parsed)) = FileName::parse(&name) {
            let digits = &name[..parsed.digits];
            prop_assert!(digits.bytes().all(|b| b.is_ascii_digit()), "{name}");
            prop_assert_eq!(digits.parse::<u64>().ok(), Some(parsed.version.get()));
            prop_assert!(parsed.version.get() > 0 && i64::try_from(parsed.version.get()).is_ok());
            prop_assert!(!parsed.name.is_empty());
            prop_assert!(parsed.name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'));
            let suffix = match parsed.kind {
                FileKind::Down => ".down.sql",
                FileKind::Up if name.ends_with(".up.sql") => ".up.sql",
                FileKind::Up => ".sql",
            };
            prop_assert_eq!(format!("{digits}_{}{suffix}", parsed.name), name);
        }
    }

    #[test]
    fn migration_name_never_panics_and_its_output_is_lowercase_alphanumeric(raw in any::<String>()) {
        if let Ok(name) = migration_name(&raw) {
            prop_assert!(!name.is_empty());
            prop_assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'), "{:?}", name);
        }
    }

    #[test]
    fn migration_name_of_plausible_names(raw in "[ \t]{0,2}[A-Za-z0-9 _-]{0,20}[ \t]{0,2}") {
        match migration_name(&raw) {
            Ok(name) => prop_assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')),
            Err(_) => prop_assert!(raw.trim().is_empty()),
        }
    }

    #[test]
    fn loading_arbitrary_files_never_panics(files in prop::collection::vec((file_name(), contents()), 0..6)) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        for (name, bytes) in files.iter().filter(|(name, _)| writable(name)) {
            std::fs::write(dir.path().join(OsStr::from_bytes(name)), bytes).expect("write a file");
        }
        check_loaded(dir.path())?;
    }

    #[test]
    fn loading_plausible_migration_directories_never_panics(
        files in prop::collection::vec(("0*[1-9]_[a-z]{1,3}(\\.up|\\.down)?\\.sql", contents()), 1..8)
    ) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        for (name, bytes) in &files {
            std::fs::write(dir.path().join(name), bytes).expect("write a file");
        }
        check_loaded(dir.path())?;
    }
}

/// Loads `dir`; when it loads, the set is in strictly increasing version order.
fn check_loaded(dir: &Path) -> Result<(), TestCaseError> {
    if let Ok(set) = MigrationSet::load(dir) {
        let versions: Vec<u64> = set.iter().map(|m| m.version.get()).collect();
        prop_assert!(versions.windows(2).all(|w| w[0] < w[1]), "{:?}", versions);
        prop_assert_eq!(set.len(), versions.len());
    }
    Ok(())
}
