//! A PgBouncer in transaction-pooling mode in front of the test server, started once per test binary
//! for the connection pooler tests: on a free port of 127.0.0.1, its configuration, password file,
//! log and pid file in a directory of its own, run as the `postgres` user when the tests run as root
//! (PgBouncer refuses root). A watchdog stops it and deletes the directory when this process exits.
//!
//! It has fewer server connections than tenantctl opens client connections, and hands them out in
//! turn (`server_round_robin`), so consecutive transactions of one client land on different server
//! connections: anything tenantctl kept in a session would be missing, or found by another client.

use std::{
    fs,
    net::TcpListener,
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::OnceLock,
    thread,
    time::{Duration, Instant},
};

use sqlx::{Column, Connection, PgConnection, Row, postgres::PgConnectOptions};

use super::{db::block_on, server::server_url};

/// Server connections per database and user: fewer than the fan-outs' concurrency.
pub const POOL_SIZE: u32 = 3;

/// The running pooler.
#[derive(Debug)]
pub struct Pgbouncer {
    port: u16,
    user: String,
    password: String,
}

/// The pooler. Panics, in every test that asks, when it cannot be started: never a skip.
pub fn pgbouncer() -> &'static Pgbouncer {
    static POOLER: OnceLock<Result<Pgbouncer, String>> = OnceLock::new();
    match POOLER.get_or_init(start) {
        Ok(pooler) => pooler,
        Err(message) => panic!("no PgBouncer for the tests: {message}"),
    }
}

impl Pgbouncer {
    /// `database_url` (a database of the test server) through the pooler.
    pub fn url_for(&self, database_url: &str) -> String {
        let mut url = url::Url::parse(database_url).expect("the test database URL parses");
        url.set_host(Some("127.0.0.1")).expect("a host");
        url.set_port(Some(self.port)).expect("a port");
        url.to_string()
    }

    /// `SHOW <what>` on the admin console: the rows about `database`, each column as text.
    pub fn show(&self, what: &str, database: &str) -> Vec<Vec<(String, String)>> {
        let options = PgConnectOptions::new_without_pgpass()
            .host("127.0.0.1")
            .port(self.port)
            .username(&self.user)
            .password(&self.password)
            .database("pgbouncer")
            // The admin console knows no startup parameter but the usual few.
            .extra_float_digits(None);
        let rows = block_on(async {
            let mut console = PgConnection::connect_with(&options).await?;
            // The console speaks the simple query protocol only.
            let rows = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("SHOW {what}"))).fetch_all(&mut console).await?;
            console.close().await?;
            Ok::<_, sqlx::Error>(rows)
        })
        .unwrap_or_else(|e| panic!("SHOW {what} on PgBouncer's admin console: {e}"));
        rows.iter()
            .map(|row| {
                row.columns()
                    .iter()
                    .map(|c| {
                        let value: Option<String> = row.try_get_unchecked(c.ordinal()).expect("a text value");
                        (c.name().to_owned(), value.unwrap_or_default())
                    })
                    .collect::<Vec<_>>()
            })
            .filter(|row| row.iter().any(|(name, value)| name == "database" && value == database))
            .collect()
    }
}

fn start() -> Result<Pgbouncer, String> {
    let binary = find_binary()?;
    let server = url::Url::parse(server_url()).map_err(|e| format!("the test server's URL: {e}"))?;
    let user = server.username().to_owned();
    let password = server.password().unwrap_or_default().to_owned();
    let dir = tempfile::Builder::new()
        .prefix("tenantctl-test-pgbouncer-")
        .tempdir()
        .map_err(|e| format!("cannot create a directory for PgBouncer: {e}"))?
        .keep();
    let quoted = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    write(&dir.join("userlist.txt"), &format!("{} {}\n", quoted(&user), quoted(&password)))?;
    let as_root = fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false);
    if as_root {
        run(Command::new("chown").arg("-R").arg("postgres:").arg(&dir))?;
    }
    // A port that looks free can be taken before PgBouncer binds it: retry on another one.
    let mut last_error = String::new();
    for _ in 0..5 {
        let port = free_port()?;
        write(&dir.join("pgbouncer.ini"), &config(&dir, &server, &user, &password, port))?;
        let mut command = match as_root {
            true => {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(&binary);
                c
            }
            false => Command::new(&binary),
        };
        command.arg("-d").arg(dir.join("pgbouncer.ini"));
        match run(&mut command).and_then(|()| wait_for(port, &dir)) {
            Ok(()) => {
                watch(&dir)?;
                return Ok(Pgbouncer { port, user, password });
            }
            Err(e) => last_error = e,
        }
    }
    let _ = fs::remove_dir_all(&dir);
    Err(last_error)
}

/// `pgbouncer` on the PATH, or where distributions put it (Debian: /usr/sbin, not on a user's PATH).
fn find_binary() -> Result<PathBuf, String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/usr/local/bin"].map(PathBuf::from))
        .map(|dir| dir.join("pgbouncer"))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| {
            "pgbouncer not found on the PATH or in /usr/sbin, /usr/local/sbin, /usr/local/bin: install it \
             (Debian: apt-get install pgbouncer; `make deps` does)"
                .to_owned()
        })
}

fn config(dir: &Path, server: &url::Url, user: &str, password: &str, port: u16) -> String {
    let auth = if password.is_empty() { "trust" } else { "scram-sha-256" };
    format!(
        "[databases]\n\
         * = host={host} port={server_port}\n\
         [pgbouncer]\n\
         listen_addr = 127.0.0.1\n\
         listen_port = {port}\n\
         unix_socket_dir =\n\
         auth_type = {auth}\n\
         auth_file = {dir}/userlist.txt\n\
         admin_users = {user}\n\
         pool_mode = transaction\n\
         default_pool_size = {POOL_SIZE}\n\
         server_round_robin = 1\n\
         max_client_conn = 500\n\
         logfile = {dir}/pgbouncer.log\n\
         pidfile = {dir}/pgbouncer.pid\n",
        host = server.host_str().unwrap_or("127.0.0.1"),
        server_port = server.port().unwrap_or(5432),
        dir = dir.display(),
    )
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// Waits until PgBouncer accepts connections on `port` (it daemonizes first, then binds).
fn wait_for(port: u16, dir: &Path) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        thread::sleep(Duration::from_millis(20));
    }
    let log = fs::read_to_string(dir.join("pgbouncer.log")).unwrap_or_default();
    Err(format!("PgBouncer did not listen on port {port} within 10s; its log:\n{log}"))
}

/// Stops PgBouncer and deletes its directory once this process has exited (libtest has no global
/// teardown). Detached and without inherited output, as `scripts/pg.sh`'s watchdog.
fn watch(dir: &Path) -> Result<(), String> {
    let script = r#"
        while kill -0 "$1" 2>/dev/null; do sleep 1; done
        kill "$(cat "$2/pgbouncer.pid")" 2>/dev/null
        sleep 1
        rm -rf "$2"
    "#;
    Command::new("setsid")
        .args(["bash", "-c", script, "pgbouncer-watchdog", &std::process::id().to_string()])
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(drop)
        .map_err(|e| format!("cannot start PgBouncer's watchdog: {e}"))
}

fn write(path: &Path, contents: &str) -> Result<(), String> {
    fs::write(path, contents).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn run(command: &mut Command) -> Result<(), String> {
    let output = command.output().map_err(|e| format!("cannot run {command:?}: {e}"))?;
    match output.status.success() {
        true => Ok(()),
        false => Err(format!("{command:?} failed ({}): {}", output.status, String::from_utf8_lossy(&output.stderr))),
    }
}
