//! Hostile input. Bad org ids, migration directories, configuration files, URLs, flags and
//! environment values are refused before any change: exit 2, one line naming the problem, and a
//! database identical before and after (the cases here complement `bad_input.rs`, none repeated).
//! And nothing user-supplied reaches SQL as text: org ids full of quotes, semicolons, `$$` and
//! keywords become tenants byte for byte, and nothing else in the database changes.

use std::{collections::BTreeSet, net::TcpListener};

use crate::support::{Output, TestDb, report::summary};

/// One bad input: the command line (and environment) that must be refused, and what the one
/// line on stderr must mention.
struct Case {
    what: &'static str,
    args: Vec<String>,
    env: Vec<(&'static str, String)>,
    unset: Vec<&'static str>,
    stdin: Option<&'static str>,
    named: String,
}

fn case(what: &'static str, args: &[&str], named: &str) -> Case {
    Case {
        what,
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        env: Vec::new(),
        unset: Vec::new(),
        stdin: None,
        named: named.to_owned(),
    }
}

impl Case {
    fn env(mut self, name: &'static str, value: &str) -> Self {
        self.env.push((name, value.to_owned()));
        self
    }

    /// Without `DATABASE_URL`: the connection comes from the `DB_*` variables given.
    fn db_vars(mut self, vars: &[(&'static str, &str)]) -> Self {
        self.unset.push("DATABASE_URL");
        for (name, value) in vars {
            self.env.push((name, (*value).to_owned()));
        }
        self
    }

    fn stdin(mut self, input: &'static str) -> Self {
        self.stdin = Some(input);
        self
    }

    fn run(&self, db: &TestDb) -> Output {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        let mut command = db.command(&args);
        for name in &self.unset {
            command = command.env_remove(name);
        }
        for (name, value) in &self.env {
            command = command.env(name, value);
        }
        if let Some(input) = self.stdin {
            command = command.stdin(input);
        }
        command.run()
    }
}

/// Runs every case against `db`; each must exit 2 with one line mentioning what it names and leave
/// the database as it was. Collects every violation before failing, so one report shows them all.
#[track_caller]
fn refused_before_any_change(db: &TestDb, cases: &[Case]) {
    let before = db.snapshot();
    let mut violations = Vec::new();
    for case in cases {
        let out = case.run(db);
        let lines: Vec<&str> = out.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        if out.code != 2 || lines.len() != 1 || !lines[0].contains(&case.named) {
            violations.push(format!(
                "{} (`tenantctl {}`): expected exit 2 and one stderr line naming {:?}; got exit {} and {:?}",
                case.what,
                case.args.join(" ").escape_debug(),
                case.named,
                out.code,
                lines
            ));
        }
        if db.snapshot() != before {
            violations.push(format!("{}: the database changed", case.what));
            break;
        }
    }
    assert!(violations.is_empty(), "{} of {} bad inputs mishandled:\n{}", violations.len(), cases.len(), {
        violations.join("\n")
    });
}

/// Two tenants behind the migration files: any command that went ahead would change the database.
fn tenants_behind() -> TestDb {
    TestDb::with_tenants_behind(&["acme-corp", "globex"])
}

/// Files for the directory cases, each bad directory a copy of the good tenant migrations plus
/// one problem (so the problem, not a missing migration, is what is refused).
fn write_bad_directories(db: &TestDb) {
    let good = db.files("tenant_migrations");
    let dir = |name: &str, files: &[(&str, &[u8])]| {
        for file in &good {
            db.write(&format!("bad/{name}/{file}"), db.read(&format!("tenant_migrations/{file}")));
        }
        for (file, contents) in files {
            db.write(&format!("bad/{name}/{file}"), contents);
        }
    };
    let sql: &[u8] = b"CREATE TABLE labels (name text);\n";
    dir("padded_duplicate", &[("20260101000000_a.up.sql", sql), ("020260101000000_b.up.sql", sql)]);
    dir("plain_and_up", &[("0006_a.up.sql", sql), ("0006_a.sql", sql)]);
    dir("short_long_pair", &[("6_a.up.sql", sql), ("0006_b.up.sql", sql)]);
    dir("orphan_down", &[("0007_c.down.sql", b"DROP TABLE labels;\n"), ("0008_c.up.sql", sql)]);
    dir("no_underscore", &[("0006-labels.up.sql", sql)]);
    dir("version_zero", &[("0000_labels.up.sql", sql)]);
    dir("no_name", &[("0006_.up.sql", sql)]);
    dir("space_in_name", &[("0006_add labels.up.sql", sql)]);
    dir("huge_version", &[("99999999999999999999_labels.up.sql", sql)]);
    dir("letter_version", &[("v6_labels.up.sql", sql)]);
    dir("non_ascii_name", &[("0006_étiquettes.up.sql", sql)]);
    dir("upper_suffix", &[("0006_labels.UP.sql", sql)]);
    dir("utf16", &[("0006_labels.up.sql", b"\xff\xfeC\0R\0E\0A\0T\0E\0")]);
    dir("nul_byte", &[("0006_labels.up.sql", b"CREATE TABLE labels (name text);\0\n")]);
    dir("zero_bytes", &[("0006_labels.up.sql", b"")]);
    dir("only_blanks", &[("0006_labels.up.sql", b" \n\t\n\r\n")]);
    dir("only_semicolons", &[("0006_labels.up.sql", b";\n ; ;\n")]);
    dir(
        "unknown_directive",
        &[("0006_labels.up.sql", b"-- tenantctl:no-transactions\nCREATE TABLE labels (name text);\n")],
    );
    dir(
        "bad_directive_duration",
        &[("0006_labels.up.sql", b"-- tenantctl:lock-timeout soon\nCREATE TABLE labels (n text);\n")],
    );
    dir(
        "unparsable_no_transaction",
        &[("0006_labels.up.sql", b"-- tenantctl:no-transaction\nCREATE INDEX CONCURRENTLY (;\n")],
    );
    dir("dangling_symlink", &[]);
    std::os::unix::fs::symlink("nowhere.sql", db.project().join("bad/dangling_symlink/0006_labels.up.sql"))
        .expect("create a dangling symlink");
    dir("non_utf8_name", &[]);
    let name = <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(b"0006_\xe9tiquettes.up.sql");
    std::fs::write(db.project().join("bad/non_utf8_name").join(name), sql).expect("write a non-UTF-8 file name");
    db.write("bad/not_a_directory", sql);
    // Master side: the basic master migrations plus one problem.
    for file in db.files("master_migrations") {
        db.write(&format!("bad_master/{file}"), db.read(&format!("master_migrations/{file}")));
    }
    db.write("bad_master/0003_limits.up.sql", b"/* only a block comment */\n");
}

#[test]
fn bad_input_of_every_kind_is_refused_before_any_change() {
    let db = tenants_behind();
    write_bad_directories(&db);
    // Org id files: a good id first, so that a tool going ahead would change something.
    let too_long = format!("good-org\n{}\n", "y".repeat(256));
    let org_files: [(&str, &[u8]); 9] = [
        ("nul", b"good-org\nnul\0inside\n"),
        ("carriage_return", b"good-org\ncarriage\rreturn\n"),
        ("zero_width", "good-org\nzero\u{200b}width\n".as_bytes()),
        ("bidi", "good-org\nbidi\u{202e}override\n".as_bytes()),
        ("leading_space", b"good-org\n  leading\n"),
        ("trailing_space", b"good-org\ntrailing \n"),
        ("latin1", b"good-org\ncaf\xe9\n"),
        ("too_long", too_long.as_bytes()),
        ("only_comments", b"# nobody yet\n\n   \n# still nobody\n"),
    ];
    for (name, contents) in org_files {
        db.write(&format!("orgs/{name}.txt"), contents);
    }
    let configs: [(&str, &str); 14] = [
        ("unknown_table", "[database]\nurl = \"postgres://x\"\n"),
        ("unknown_key", "lock_timeout_ms = 500\n"),
        ("extensions_not_a_list", "extensions = \"pg_trgm\"\n"),
        ("negative_retries", "lock_retries = -1\n"),
        ("duration_as_number", "lock_timeout = 5\n"),
        ("bad_connect_timeout", "connect_timeout = \"5 parsecs\"\n"),
        ("empty_statement_timeout", "statement_timeout = \"\"\n"),
        ("prefix_starts_with_digit", "schema_prefix = \"1tid_\"\n"),
        ("empty_prefix", "schema_prefix = \"\"\n"),
        ("non_ascii_prefix", "schema_prefix = \"t\u{ef}d_\"\n"),
        ("hash_len_zero", "schema_hash_len = 0\n"),
        ("prefix_too_long_for_default_hash", &format!("schema_prefix = \"{}\"\n", "p".repeat(54))),
        ("concurrency_zero", "concurrency = 0\n"),
        ("not_toml", "concurrency = \n"),
    ];
    for (name, contents) in configs {
        db.write(&format!("cfg/{name}.toml"), contents);
    }
    let long_accented = "\u{e9}".repeat(256);
    let tenant_dir = |what, dir: &str, named: &str| case(what, &["migrate-tenants", "--tenant-dir", dir], named);
    let config = |what, name: &str, named: &str| {
        case(what, &["--config", &format!("cfg/{name}.toml"), "migrate-tenants"], named)
    };
    let from_file = |what, name: &str, named: &str| {
        case(what, &["provision-tenant", "--from-file", &format!("orgs/{name}.txt")], named)
    };
    let cases = vec![
        // Org ids on the command line.
        case("org id with a tab", &["provision-tenant", "good-org", "tab\there"], "U+0009"),
        case("org id with DEL", &["provision-tenant", "good-org", "del\u{7f}"], "U+007F"),
        case("org id with a C1 control (NEL)", &["provision-tenant", "good-org", "next\u{85}line"], "U+0085"),
        case("org id with a soft hyphen (Cf)", &["provision-tenant", "good-org", "soft\u{ad}hyphen"], "U+00AD"),
        case("org id starting with a BOM", &["provision-tenant", "good-org", "\u{feff}bom"], "U+FEFF"),
        case("org id with a leading no-break space", &["provision-tenant", "good-org", "\u{a0}nbsp"], "white space"),
        case(
            "org id with a trailing ideographic space",
            &["provision-tenant", "good-org", "wide\u{3000}"],
            "white space",
        ),
        case("org id of 256 two-byte characters", &["provision-tenant", "good-org", &long_accented], "256"),
        case("--tenant with a control character", &["migrate-tenants", "--tenant", "bad\tid"], "U+0009"),
        case("--canary-tenant with a format character", &["migrate-tenants", "--canary-tenant", "a\u{200e}"], "U+200E"),
        case("provision-tenant without any org id", &["provision-tenant"], "ORG_ID"),
        // Org ids from a file or stdin.
        from_file("NUL in --from-file", "nul", "U+0000"),
        from_file("carriage return inside a line", "carriage_return", "U+000D"),
        from_file("zero-width space in --from-file", "zero_width", "U+200B"),
        from_file("bidi override in --from-file", "bidi", "U+202E"),
        from_file("leading spaces in --from-file", "leading_space", "white space"),
        from_file("trailing space in --from-file", "trailing_space", "white space"),
        from_file("invalid UTF-8 in --from-file", "latin1", "UTF-8"),
        from_file("256 characters in --from-file", "too_long", "256"),
        from_file("--from-file with comments only", "only_comments", "no org id"),
        from_file("--from-file that does not exist", "missing", "orgs/missing.txt"),
        case("NUL on stdin", &["provision-tenant", "--from-file", "-"], "U+0000").stdin("good-org\nnul\0here\n"),
        // Migration directories.
        tenant_dir("timestamp versions equal as numbers", "bad/padded_duplicate", "020260101000000_b.up.sql"),
        tenant_dir("a plain and an .up file of one version", "bad/plain_and_up", "0006_a"),
        tenant_dir("`6_a` and `0006_b`", "bad/short_long_pair", "6_a.up.sql"),
        tenant_dir("down file without its up file", "bad/orphan_down", "0007_c.down.sql"),
        tenant_dir("no `_` after the version", "bad/no_underscore", "0006-labels.up.sql"),
        tenant_dir("version 0", "bad/version_zero", "0000_labels.up.sql"),
        tenant_dir("no name after the version", "bad/no_name", "0006_.up.sql"),
        tenant_dir("space in the name", "bad/space_in_name", "0006_add labels.up.sql"),
        tenant_dir("version beyond bigint", "bad/huge_version", "99999999999999999999_labels.up.sql"),
        tenant_dir("version that is not a number", "bad/letter_version", "v6_labels.up.sql"),
        tenant_dir("non-ASCII name", "bad/non_ascii_name", "0006_étiquettes.up.sql"),
        tenant_dir("upper-case .UP", "bad/upper_suffix", "0006_labels.UP.sql"),
        tenant_dir("UTF-16 content", "bad/utf16", "0006_labels.up.sql"),
        tenant_dir("NUL byte in the SQL", "bad/nul_byte", "0006_labels.up.sql"),
        tenant_dir("empty file", "bad/zero_bytes", "0006_labels.up.sql"),
        tenant_dir("white space only", "bad/only_blanks", "0006_labels.up.sql"),
        tenant_dir("semicolons only", "bad/only_semicolons", "0006_labels.up.sql"),
        tenant_dir("unknown directive", "bad/unknown_directive", "no-transactions"),
        tenant_dir("directive with a bad duration", "bad/bad_directive_duration", "soon"),
        tenant_dir("no-transaction file that does not parse", "bad/unparsable_no_transaction", "0006_labels.up.sql"),
        tenant_dir("dangling symlink", "bad/dangling_symlink", "0006_labels.up.sql"),
        tenant_dir("file name that is not UTF-8", "bad/non_utf8_name", "UTF-8"),
        tenant_dir("directory that does not exist", "bad/nowhere", "bad/nowhere"),
        tenant_dir("directory that is a file", "bad/not_a_directory", "bad/not_a_directory"),
        case(
            "provisioning with a bad directory",
            &["provision-tenant", "new-org", "--tenant-dir", "bad/orphan_down"],
            "0007_c.down.sql",
        ),
        case(
            "master file with only a block comment",
            &["migrate-master", "--master-dir", "bad_master"],
            "0003_limits.up.sql",
        ),
        // Configuration files.
        config("unknown table", "unknown_table", "database"),
        config("unknown key", "unknown_key", "lock_timeout_ms"),
        config("extensions as a string", "extensions_not_a_list", "extensions"),
        config("negative lock_retries", "negative_retries", "lock_retries"),
        config("duration as a number", "duration_as_number", "lock_timeout"),
        config("unknown duration unit", "bad_connect_timeout", "connect_timeout"),
        config("empty duration", "empty_statement_timeout", "statement_timeout"),
        config("schema_prefix starting with a digit", "prefix_starts_with_digit", "schema_prefix"),
        config("empty schema_prefix", "empty_prefix", "schema_prefix"),
        config("non-ASCII schema_prefix", "non_ascii_prefix", "schema_prefix"),
        config("schema_hash_len 0", "hash_len_zero", "schema_hash_len"),
        config("prefix too long for the default hash length", "prefix_too_long_for_default_hash", "63"),
        config("concurrency 0 in the file", "concurrency_zero", "concurrency"),
        config("not TOML at all", "not_toml", "cfg/not_toml.toml, key `concurrency`"),
        config("--config that does not exist", "missing", "cfg/missing.toml"),
        // Flags.
        case(
            "--tenant with --include-failed",
            &["migrate-tenants", "--tenant", "acme-corp", "--include-failed"],
            "--include-failed",
        ),
        case(
            "rollback --tenant with --include-failed",
            &["rollback-tenants", "--include-failed", "--tenant", "acme-corp"],
            "--tenant",
        ),
        case(
            "--canary with --canary-tenant",
            &["migrate-tenants", "--canary", "1", "--canary-tenant", "acme-corp"],
            "--canary",
        ),
        case("status --tenant with --verify", &["status", "--tenant", "acme-corp", "--verify"], "--verify"),
        case("-v with -q", &["migrate-tenants", "-v", "-q"], "--quiet"),
        case("misspelt flag", &["migrate-tenants", "--concurency", "2"], "--concurency"),
        case("misspelt --from-file", &["provision-tenant", "--from-fille", "orgs.txt"], "--from-fille"),
        case("--concurrency 0", &["migrate-tenants", "--concurrency", "0"], "'0' for '--concurrency"),
        case("--concurrency 1001", &["migrate-tenants", "--concurrency", "1001"], "1001"),
        case("--concurrency -1", &["migrate-tenants", "--concurrency", "-1"], "'-1'"),
        case("--lock-timeout without a unit", &["migrate-tenants", "--lock-timeout", "500"], "500"),
        case("--connect-timeout in parsecs", &["migrate-tenants", "--connect-timeout", "5parsecs"], "5parsecs"),
        case("--format yaml", &["status", "--format", "yaml"], "yaml"),
        case("--steps 0", &["rollback-tenants", "--steps", "0"], "'0' for '--steps"),
        case("--max-failures 0", &["migrate-tenants", "--max-failures", "0"], "'0' for '--max-failures"),
        case("--waves that shrink", &["migrate-tenants", "--waves", "50%,10%,100%"], "50%,10%,100%"),
        case("--waves that stop short", &["migrate-tenants", "--waves", "10%,50%"], "100%"),
        case("--tenant not in the registry", &["migrate-tenants", "--tenant", "nobody-here"], "nobody-here"),
        case(
            "--canary-tenant not among the targets",
            &["migrate-tenants", "--canary-tenant", "nobody-here"],
            "nobody-here",
        ),
        case("make-migration with a bad name", &["make-migration", "tenant", "drop;table"], "drop;table"),
        // Environment.
        case("DB_PORT not a number", &["migrate-tenants"], "DB_PORT").db_vars(&[
            ("DB_HOST", "127.0.0.1"),
            ("DB_NAME", "x"),
            ("DB_PORT", "fivefourthreetwo"),
        ]),
        case("DB_PORT above 65535", &["migrate-tenants"], "DB_PORT").db_vars(&[
            ("DB_HOST", "127.0.0.1"),
            ("DB_NAME", "x"),
            ("DB_PORT", "70000"),
        ]),
        case("DB_SSL maybe", &["migrate-tenants"], "DB_SSL").db_vars(&[
            ("DB_HOST", "127.0.0.1"),
            ("DB_NAME", "x"),
            ("DB_SSL", "maybe"),
        ]),
        case("DB_SSL_REJECT_UNAUTHORIZED nope", &["migrate-tenants"], "DB_SSL_REJECT_UNAUTHORIZED").db_vars(&[
            ("DB_HOST", "127.0.0.1"),
            ("DB_NAME", "x"),
            ("DB_SSL", "true"),
            ("DB_SSL_REJECT_UNAUTHORIZED", "nope"),
        ]),
        case("no database configured at all", &["migrate-tenants"], "DATABASE_URL").db_vars(&[]),
        case("TENANTCTL_CONCURRENCY=0", &["migrate-tenants"], "'0' for '--concurrency")
            .env("TENANTCTL_CONCURRENCY", "0"),
        case("TENANTCTL_LOCK_TIMEOUT=soon", &["migrate-tenants"], "soon").env("TENANTCTL_LOCK_TIMEOUT", "soon"),
    ];
    assert!(cases.len() >= 30);
    refused_before_any_change(&db, &cases);
    assert!(
        !db.project()
            .join("tenant_migrations")
            .read_dir()
            .expect("dir")
            .any(|e| { e.expect("entry").file_name().to_string_lossy().contains("drop") })
    );
}

#[test]
fn bad_database_urls_are_refused_as_input_without_connecting() {
    let db = tenants_behind();
    // Should a URL be taken anyway, PGHOST/PGPORT (which the driver reads for what a URL leaves
    // out) point at a closed port on this machine: nothing leaves 127.0.0.1.
    let closed = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
    let closed = closed.to_string();
    let mysql = format!("mysql://app@127.0.0.1:{closed}/app");
    let http = format!("http://127.0.0.1:{closed}/app");
    let cases: Vec<Case> = [
        ("a scheme and nothing else", "postgres://", "URL"),
        ("a MySQL URL", mysql.as_str(), "mysql"),
        ("an HTTP URL", http.as_str(), "http"),
        ("garbage", "garbage", "URL"),
        ("a port that is not a number", "postgres://app@127.0.0.1:fivefour/app", "URL"),
        ("a port above 65535", "postgres://app@127.0.0.1:70000/app", "URL"),
    ]
    .into_iter()
    .map(|(what, url, named)| {
        case(what, &["migrate-tenants"], named)
            .env("DATABASE_URL", url)
            .env("PGHOST", "127.0.0.1")
            .env("PGPORT", &closed)
    })
    .collect();
    refused_before_any_change(&db, &cases);
}

/// Org ids a naive tool would paste into SQL.
const HOSTILE_ORG_IDS: [&str; 16] = [
    "'; DROP TABLE public.tenants; --",
    "\"; DROP SCHEMA public CASCADE; --",
    "Robert'); DROP TABLE public.plans;--",
    "$$; DROP TABLE public.feature_flags; $$",
    "$tag$ SELECT pg_sleep(10) $tag$",
    "a';SELECT pg_terminate_backend(pg_backend_pid());--",
    "1 OR 1=1",
    "SELECT * FROM pg_shadow",
    "public",
    "tid_0000000000",
    "\\x00\\' \\\\ backslashes",
    "%s %n %x {0} ${HOME} `id`",
    "Ünïcødé 東京 ✓ 🦀",
    "e\u{301}t\u{e9}",
    "CREATE ROLE evil SUPERUSER",
    "null",
];

#[test]
fn hostile_org_ids_become_tenants_byte_for_byte_and_nothing_else_changes() {
    let db = TestDb::new();
    db.migrate_master();
    let public_tables = || -> Vec<String> {
        db.column("select format('%s %s', relname, relkind) from pg_class where relnamespace = 'public'::regnamespace order by 1")
    };
    let tables_before = public_tables();
    let plans_before = db.rows("select * from public.plans order by id");
    let roles_before: Vec<String> = db.column("select rolname::text from pg_roles order by 1");

    // Half on the command line, half through a file: both paths to the registry.
    let (argv, file) = HOSTILE_ORG_IDS.split_at(HOSTILE_ORG_IDS.len() / 2);
    let mut args = vec!["provision-tenant", "--format", "json"];
    args.extend(argv);
    let out = db.tenantctl(&args);
    out.succeeds();
    assert_eq!(summary(&out.json()), [argv.len() as u64, 0, 0]);
    db.write("hostile.txt", file.join("\r\n") + "\r\n");
    let out = db.tenantctl(&["provision-tenant", "--from-file", "hostile.txt", "--format", "json"]);
    out.succeeds();
    assert_eq!(summary(&out.json()), [file.len() as u64, 0, 0]);

    // Every org id stored exactly as given (compared as bytes), and each found by equality.
    let stored: BTreeSet<Vec<u8>> =
        db.column::<Vec<u8>>("select convert_to(org_id, 'UTF8') from public.tenants").into_iter().collect();
    let given: BTreeSet<Vec<u8>> = HOSTILE_ORG_IDS.iter().map(|o| o.as_bytes().to_vec()).collect();
    assert_eq!(stored, given);
    for org in HOSTILE_ORG_IDS {
        let row = db.tenant(org);
        assert_eq!(row["status"], "ACTIVE", "{org:?}: {row}");
        assert_eq!(row["schema_name"], db.schema_for(org).as_str(), "{org:?}");
        assert_eq!(db.applied(org), [1, 2, 3], "{org:?}");
    }

    // Nothing else: the schemas are public and one per org; public, the rows and the roles as before.
    let mut expected: Vec<String> = HOSTILE_ORG_IDS.iter().map(|o| db.schema_for(o)).collect();
    expected.push("public".to_owned());
    expected.sort();
    let schemas: Vec<String> = db.column(
        "select nspname::text from pg_namespace where nspname !~ '^pg_' and nspname <> 'information_schema' order by 1",
    );
    assert_eq!(schemas, expected);
    assert_eq!(public_tables(), tables_before);
    assert_eq!(db.rows("select * from public.plans order by id"), plans_before);
    assert_eq!(db.column::<String>("select rolname::text from pg_roles order by 1"), roles_before);

    // Selecting them by --tenant goes through the same bind parameters.
    db.write_next_tenant_migrations();
    let out = db.tenantctl(&["migrate-tenants", "--tenant", HOSTILE_ORG_IDS[0], "--tenant", HOSTILE_ORG_IDS[3]]);
    out.succeeds();
    assert_eq!(db.applied(HOSTILE_ORG_IDS[0]), [1, 2, 3, 4, 5]);
    assert_eq!(db.applied(HOSTILE_ORG_IDS[3]), [1, 2, 3, 4, 5]);
    assert_eq!(db.applied(HOSTILE_ORG_IDS[1]), [1, 2, 3]);
}

#[test]
fn a_hostile_extension_name_or_directory_name_reaches_sql_only_quoted() {
    let db = TestDb::new();
    db.migrate_master();
    let tables_before: Vec<String> =
        db.column("select relname::text from pg_class where relnamespace = 'public'::regnamespace order by 1");
    // A directory name with quotes and a semicolon works like any other.
    db.merge("tenant_migrations", "it's; \"odd\" $$dir$$");
    db.tenantctl(&["provision-tenant", "acme-corp", "--tenant-dir", "it's; \"odd\" $$dir$$"]).succeeds();
    assert_eq!(db.applied("acme-corp"), [1, 2, 3]);
    // An extension name is an identifier, never SQL: this one names no extension, so it fails.
    db.write("tenantctl.toml", "extensions = [\"pgcrypto; DROP TABLE public.plans; --\"]\n");
    let out = db.tenantctl(&["provision-tenant", "globex"]);
    assert_ne!(out.code, 0, "{out:?}");
    assert!(db.exists("public.plans"), "the extension name was executed as SQL");
    let tables: Vec<String> =
        db.column("select relname::text from pg_class where relnamespace = 'public'::regnamespace order by 1");
    assert_eq!(tables, tables_before);
    assert_eq!(db.scalar::<i64>("select count(*) from pg_extension where extname like 'pgcrypto%'"), 0);
}
