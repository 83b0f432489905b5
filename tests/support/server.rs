//! The PostgreSQL server the tests run against: the one in `TEST_DATABASE_URL`, or else a
//! throwaway cluster that `scripts/pg.sh` starts once per test binary. Its watchdog stops the
//! cluster and deletes it when this process exits (libtest has no global teardown).

use std::{
    ffi::OsStr,
    path::Path,
    process::{Command, Stdio},
    sync::OnceLock,
};

/// The URL of the server's maintenance database. Panics, in every test that asks, when no
/// server can be had: the tests never skip for lack of one.
pub fn server_url() -> &'static str {
    static SERVER: OnceLock<Result<String, String>> = OnceLock::new();
    match SERVER.get_or_init(start) {
        Ok(url) => url,
        Err(message) => panic!("no PostgreSQL server for the tests: {message}"),
    }
}

fn start() -> Result<String, String> {
    if let Some(url) = std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) {
        return Ok(url);
    }
    start_cluster("tenantctl-test-pg-", &[], &[])
        .map_err(|e| format!("{e}\n(or set TEST_DATABASE_URL to a server the tests may create databases on)"))
}

/// Starts a throwaway cluster with `scripts/pg.sh start <dir> <args>` (environment `env` added), in
/// a new directory named from `prefix`; its watchdog stops it when this process exits, unless
/// `TEST_KEEP_CLUSTER=1`. Returns its URL.
pub fn start_cluster(prefix: &str, args: &[&OsStr], env: &[(&str, &str)]) -> Result<String, String> {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .map_err(|e| format!("cannot create a directory for the cluster: {e}"))?
        .keep();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/pg.sh");
    let mut command = Command::new("bash");
    command.arg(&script).arg("start").arg(&dir).args(args).envs(env.iter().copied());
    // TEST_KEEP_CLUSTER=1 leaves the cluster running after the tests, to look at kept databases.
    let keep = std::env::var_os("TEST_KEEP_CLUSTER").is_some_and(|v| !v.is_empty());
    if !keep {
        command.arg("--watch").arg(std::process::id().to_string());
    }
    let output = command.output().map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let url = stdout.lines().last().unwrap_or_default().trim().to_owned();
    if !output.status.success() || !url.starts_with("postgres://") {
        // Whatever the failed start left behind: a half-made cluster, or the empty directory.
        let _ = Command::new("bash").arg(&script).arg("stop").arg(&dir).stderr(Stdio::null()).status();
        let _ = std::fs::remove_dir(&dir);
        return Err(format!(
            "`{} start` failed ({}); install the PostgreSQL server binaries (`make deps` does), or set PG_BIN \
             to their directory.\n{}",
            script.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    if keep {
        eprintln!("test cluster kept at {url}; stop it with scripts/pg.sh stop {}", dir.display());
    }
    Ok(url)
}

/// `url` with its database replaced by `database` (query parameters kept).
pub fn with_database(url: &str, database: &str) -> String {
    let authority_start = url.find("://").map_or(0, |i| i + 3);
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

/// `url` without its password, for messages.
pub fn redacted(url: &str) -> String {
    let authority_start = url.find("://").map_or(0, |i| i + 3);
    let Some(at) = url[authority_start..].find('@').map(|i| authority_start + i) else {
        return url.to_owned();
    };
    match url[authority_start..at].find(':') {
        Some(colon) => format!("{}:***{}", &url[..authority_start + colon], &url[at..]),
        None => url.to_owned(),
    }
}
