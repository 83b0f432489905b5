//! Settings: where the connection comes from (`DATABASE_URL`, `DB_*`, `.env`), the config file,
//! and global flags before or after the subcommand.

use crate::support::{TestDb, closed_port_url};

/// The parts of a `postgres://user:password@host:port/database` URL, as `DB_*` variables.
fn db_variables(url: &str) -> [(&'static str, String); 5] {
    let rest = url.split_once("://").expect("a URL").1;
    let (credentials, location) = rest.rsplit_once('@').expect("credentials in the URL");
    let (user, password) = credentials.split_once(':').expect("a password in the URL");
    let (host_port, database) = location.split_once('/').expect("a database in the URL");
    let (host, port) = host_port.rsplit_once(':').expect("a port in the URL");
    let database = database.split('?').next().unwrap();
    [("DB_HOST", host), ("DB_PORT", port), ("DB_USER", user), ("DB_PASSWORD", password), ("DB_NAME", database)]
        .map(|(k, v)| (k, v.to_owned()))
}

#[test]
fn db_variables_are_used_without_database_url() {
    let db = TestDb::new();
    let mut command = db.command(&["migrate-master"]).env_remove("DATABASE_URL").env("DB_SSL", "false");
    for (name, value) in db_variables(db.url()) {
        command = command.env(name, &value);
    }
    command.run().succeeds();
    assert_eq!(db.master_applied(), [1, 2]);
}

#[test]
fn database_url_wins_over_db_variables() {
    let db = TestDb::new();
    let unreachable = closed_port_url();
    let mut command = db.command(&["migrate-master"]);
    for (name, value) in db_variables(&unreachable) {
        command = command.env(name, &value);
    }
    command.run().succeeds();
    assert_eq!(db.master_applied(), [1, 2]);
}

#[test]
fn a_dotenv_file_is_read_but_never_overrides_the_environment() {
    let db = TestDb::new();
    db.write(".env", format!("DATABASE_URL={}\n", closed_port_url()));
    db.tenantctl(&["migrate-master"]).succeeds();

    db.write(".env", format!("DATABASE_URL={}\n", db.url()));
    db.command(&["status"]).env_remove("DATABASE_URL").run().succeeds();
}

#[test]
fn paths_in_a_config_file_are_relative_to_that_file() {
    let db = TestDb::new();
    db.merge("master_migrations", "deploy/db/master");
    db.merge("tenant_migrations", "deploy/db/tenant");
    db.write("deploy/tenantctl.toml", "master_dir = \"db/master\"\ntenant_dir = \"db/tenant\"\n");
    db.tenantctl(&["--config", "deploy/tenantctl.toml", "migrate-master"]).succeeds();
    assert_eq!(db.master_applied(), [1, 2], "deploy/db/master was used");
}

#[test]
fn flags_override_the_config_file() {
    let db = TestDb::new();
    db.merge("master_migrations", "other");
    db.write("other/0003_more.up.sql", "CREATE TABLE public.more (id integer);\n");
    db.write("tenantctl.toml", "master_dir = \"master_migrations\"\n");
    db.tenantctl(&["migrate-master", "--master-dir", "other"]).succeeds();
    assert_eq!(db.master_applied(), [1, 2, 3]);
}

#[test]
fn global_flags_go_before_or_after_the_subcommand() {
    let db = TestDb::new().with_tenants(&["acme-corp"]);
    let before = db.tenantctl(&["--format", "json", "status"]).json();
    let after = db.tenantctl(&["status", "--format", "json"]).json();
    assert_eq!(before, after);
    db.tenantctl(&["status", "-q"]).succeeds();
    db.tenantctl(&["-v", "status"]).succeeds();
}

#[test]
fn a_bad_value_from_the_environment_names_its_variable() {
    let db = TestDb::new();
    let before = db.snapshot();
    let out = db.command(&["migrate-tenants"]).env("TENANTCTL_CONCURRENCY", "0").run();
    out.exits(2);
    assert!(out.one_error_line().contains("TENANTCTL_CONCURRENCY"), "{}", out.stderr);
    // The same value on the command line is the flag's fault, not the variable's.
    let out = db.command(&["migrate-tenants", "--concurrency", "0"]).env("TENANTCTL_CONCURRENCY", "0").run();
    out.exits(2);
    assert!(!out.one_error_line().contains("TENANTCTL_CONCURRENCY"), "{}", out.stderr);
    assert_eq!(db.snapshot(), before);
}
