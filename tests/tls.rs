//! TLS is real: `DB_SSL=true` with `DB_SSL_CERT_PATH` verifies the server's certificate and host
//! name, `DB_SSL_REJECT_UNAUTHORIZED=false` only encrypts, a URL's `sslmode` and `sslrootcert` do the
//! same, and the server sees tenantctl's own connections encrypted.
//!
//! Against a second throwaway cluster with TLS on (`support::tls`): its certificate names 127.0.0.1
//! only and is signed by a CA made for the run; `localhost` reaches the same server under a name the
//! certificate does not hold. The `tls` fixture's migrations record, from the server's side
//! (`pg_stat_ssl`), whether the connection that applied them was encrypted, and whose it was.

use serde_json::{Value, json};

use crate::support::{TLS_PASSWORD, Tenantctl, TestDb, tls_server};

/// A fresh database on the TLS server, with its CA (`ca.crt`) and a CA that signed nothing
/// (`wrong-ca.crt`) in the project directory.
fn tls_db() -> TestDb {
    let server = tls_server();
    let db = TestDb::with_fixture_on(&server.url, "tls");
    db.write("ca.crt", &server.ca);
    db.write("wrong-ca.crt", &server.wrong_ca);
    db
}

/// The absolute path of a project file, as a connection setting names it.
fn path(db: &TestDb, file: &str) -> String {
    db.project().join(file).display().to_string()
}

/// `tenantctl <args>` reaching `db` through `host` with the `DB_*` variables alone, TLS on.
fn with_db_vars(db: &TestDb, host: &str, args: &[&str]) -> Tenantctl {
    let url = url::Url::parse(db.url()).expect("the test database URL parses");
    db.command(args)
        .env_remove("DATABASE_URL")
        .env("DB_HOST", host)
        .env("DB_PORT", &url.port().expect("a port").to_string())
        .env("DB_USER", url.username())
        .env("DB_PASSWORD", url.password().expect("a password"))
        .env("DB_NAME", url.path().trim_start_matches('/'))
        .env("DB_SSL", "true")
}

/// The URL of `db` through `host`, with the query `query` (`sslmode=...`).
fn url_with(db: &TestDb, host: &str, query: &str) -> String {
    let mut url = url::Url::parse(db.url()).expect("the test database URL parses");
    url.set_host(Some(host)).expect("a host");
    url.set_query(Some(query));
    url.to_string()
}

/// `tenantctl <args>` reaching `db` by `url`.
fn with_url(db: &TestDb, url: &str, args: &[&str]) -> Tenantctl {
    db.command(args).env("DATABASE_URL", url)
}

/// What the server saw of the connection that ran the master migration.
fn master_probe(db: &TestDb) -> Value {
    db.rows("select application_name, ssl from public.connection_probe").into_iter().next().unwrap_or(Value::Null)
}

/// What the server saw of the connection that provisioned `org`.
fn tenant_probe(db: &TestDb, org: &str) -> Value {
    let schema = db.schema_for(org);
    let sql = format!("select application_name, ssl from {schema}.connection_probe");
    db.rows(&sql).into_iter().next().unwrap_or(Value::Null)
}

/// A refused connection: exit 3, one line that says TLS and names `named`, never the password.
#[track_caller]
fn refused_as_tls(tenantctl: Tenantctl, named: &str) {
    let out = tenantctl.run();
    out.exits(3).never_shows(TLS_PASSWORD);
    let line = out.one_error_line();
    assert!(line.contains("TLS") && line.contains("certificate") && line.contains(named), "{line}");
}

#[test]
fn a_verified_connection_is_encrypted_and_the_server_sees_every_connection_so() {
    let db = tls_db();
    let ca = path(&db, "ca.crt");
    with_db_vars(&db, "127.0.0.1", &["migrate-master"]).env("DB_SSL_CERT_PATH", &ca).run().succeeds();
    assert_eq!(master_probe(&db), json!({"application_name": "tenantctl/migrate-master", "ssl": true}));

    let verified = url_with(&db, "127.0.0.1", &format!("sslmode=verify-full&sslrootcert={ca}"));
    let orgs = ["acme-corp", "globex", "initech"];
    with_url(&db, &verified, &[&["provision-tenant", "--concurrency", "3"][..], &orgs].concat()).run().succeeds();
    for org in orgs {
        assert_eq!(tenant_probe(&db, org), json!({"application_name": "tenantctl/provision-tenant", "ssl": true}));
    }

    // The probe tells an unencrypted connection apart.
    with_url(&db, &url_with(&db, "127.0.0.1", "sslmode=disable"), &["provision-tenant", "plain"]).run().succeeds();
    assert_eq!(tenant_probe(&db, "plain")["ssl"], json!(false));
}

#[test]
fn a_server_certificate_from_another_ca_is_refused_with_exit_3() {
    let db = tls_db();
    let wrong = path(&db, "wrong-ca.crt");
    let before = db.snapshot();
    refused_as_tls(
        with_db_vars(&db, "127.0.0.1", &["migrate-master"]).env("DB_SSL_CERT_PATH", &wrong),
        "DB_SSL_CERT_PATH",
    );
    for mode in ["verify-full", "verify-ca"] {
        let url = url_with(&db, "127.0.0.1", &format!("sslmode={mode}&sslrootcert={wrong}"));
        refused_as_tls(with_url(&db, &url, &["migrate-master"]), "sslrootcert");
    }
    assert_eq!(db.snapshot(), before, "a refused connection changed the database");
}

#[test]
fn a_host_name_the_certificate_does_not_name_is_refused_with_exit_3() {
    let db = tls_db();
    let ca = path(&db, "ca.crt");
    let before = db.snapshot();
    refused_as_tls(with_db_vars(&db, "localhost", &["migrate-master"]).env("DB_SSL_CERT_PATH", &ca), "localhost");
    let url = url_with(&db, "localhost", &format!("sslmode=verify-full&sslrootcert={ca}"));
    refused_as_tls(with_url(&db, &url, &["migrate-master"]), "localhost");
    assert_eq!(db.snapshot(), before, "a refused connection changed the database");

    // verify-ca checks who signed the certificate, not the name.
    let url = url_with(&db, "localhost", &format!("sslmode=verify-ca&sslrootcert={ca}"));
    with_url(&db, &url, &["migrate-master"]).run().succeeds();
    assert_eq!(master_probe(&db)["ssl"], json!(true));
}

#[test]
fn reject_unauthorized_false_encrypts_without_verifying() {
    let db = tls_db();
    // Both checks would fail: a CA that signed nothing, a name the certificate does not hold.
    with_db_vars(&db, "localhost", &["migrate-master"])
        .env("DB_SSL_CERT_PATH", &path(&db, "wrong-ca.crt"))
        .env("DB_SSL_REJECT_UNAUTHORIZED", "false")
        .run()
        .succeeds();
    assert_eq!(master_probe(&db), json!({"application_name": "tenantctl/migrate-master", "ssl": true}));

    with_url(&db, &url_with(&db, "localhost", "sslmode=require"), &["provision-tenant", "acme-corp"]).run().succeeds();
    assert_eq!(tenant_probe(&db, "acme-corp"), json!({"application_name": "tenantctl/provision-tenant", "ssl": true}));
}

#[test]
fn tls_required_of_a_server_without_tls_is_exit_3() {
    // The shared test server has ssl off.
    let db = TestDb::new();
    let out = with_db_vars(&db, "127.0.0.1", &["migrate-master"]).run();
    out.exits(3);
    let line = out.one_error_line();
    assert!(line.contains("TLS") && line.contains("does not support TLS"), "{line}");
}

#[test]
fn missing_or_wrong_tls_files_are_input_errors_naming_the_setting() {
    // Refused before connecting: any server would do.
    let db = TestDb::new();
    db.write("notes.txt", "not a certificate\n");
    let missing = path(&db, "missing.crt");
    let not_pem = path(&db, "notes.txt");
    let cases = [
        (with_db_vars(&db, "127.0.0.1", &["migrate-master"]).env("DB_SSL_CERT_PATH", &missing), "DB_SSL_CERT_PATH"),
        (with_db_vars(&db, "127.0.0.1", &["migrate-master"]).env("DB_SSL_CERT_PATH", &not_pem), "DB_SSL_CERT_PATH"),
        (
            with_db_vars(&db, "127.0.0.1", &["migrate-master"]).env_remove("DB_SSL").env("DB_SSL_CERT_PATH", &not_pem),
            "DB_SSL is not true",
        ),
        (
            with_url(
                &db,
                &url_with(&db, "127.0.0.1", &format!("sslmode=verify-full&sslrootcert={missing}")),
                &["migrate-master"],
            ),
            "sslrootcert",
        ),
    ];
    let before = db.snapshot();
    for (tenantctl, named) in cases {
        let out = tenantctl.run();
        out.exits(2);
        let line = out.one_error_line();
        assert!(line.contains(named), "should name {named}: {line}");
    }
    assert_eq!(db.snapshot(), before, "a refused command changed the database");
}
