//! Settings resolve here, once: flag > environment (via clap, and `TENANTCTL_SHARD_<NAME>_URL` read
//! here) > `tenantctl.toml` > default. The engine receives plain structs and never sees clap, the
//! environment or the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;
use sqlx::postgres::{PgConnectOptions, PgSslMode};
use tenantctl_engine::{
    ConnectSettings, DEFAULT_SHARD, Isolation, Password, PgTools, RunSettings, SchemaName, SchemaNaming, ShardTarget,
    TenantRoles,
};

use crate::args::{GlobalArgs, RoleArgs, RunArgs};
use crate::exit::InputError;
use crate::tls::{Pem, check_file, check_url_files};

const DEFAULT_CONFIG: &str = "tenantctl.toml";

/// `tenantctl.toml`. Unknown keys and wrong types are input errors naming the key.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    master_dir: Option<PathBuf>,
    tenant_dir: Option<PathBuf>,
    schema_prefix: Option<String>,
    schema_hash_len: Option<usize>,
    extensions: Option<Vec<String>>,
    concurrency: Option<usize>,
    lock_timeout: Option<String>,
    statement_timeout: Option<String>,
    lock_retries: Option<u32>,
    connect_timeout: Option<String>,
    connection_max_tenants: Option<u32>,
    no_transaction_lock_timeout: Option<String>,
    no_transaction_concurrency: Option<usize>,
    create_role: Option<bool>,
    role_group: Option<String>,
    transaction_pooler: Option<bool>,
    shard_master_dir: Option<PathBuf>,
    pg_bin_dir: Option<PathBuf>,
    isolation: Option<String>,
    tenant_database_schema: Option<String>,
    #[serde(default)]
    shards: BTreeMap<String, ShardFile>,
}

/// A `[shards.<name>]` table of `tenantctl.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShardFile {
    url: Option<String>,
    concurrency: Option<usize>,
}

/// A shard as configured: where it is (`None`: `default`, the control database itself), and how
/// many connections its work may use.
#[derive(Debug)]
struct ShardConfig {
    name: String,
    options: Option<PgConnectOptions>,
    /// Its URL's password, for the client programs of `move-tenant`.
    password: Option<String>,
    concurrency: usize,
}

/// Everything a command needs, resolved.
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) master_dir: PathBuf,
    pub(crate) tenant_dir: PathBuf,
    pub(crate) naming: SchemaNaming,
    pub(crate) extensions: Vec<String>,
    pub(crate) run: RunSettings,
    pub(crate) connect_timeout: Duration,
    /// Migrations for `public` on every shard, if any.
    pub(crate) shard_master_dir: Option<PathBuf>,
    /// The shards listed in the file or the environment, by name.
    shards: Vec<ShardConfig>,
    /// How new tenants are isolated (`isolation`), unless `--isolation` says otherwise.
    pub(crate) isolation: Isolation,
    /// Database isolation: the schema in each new tenant's database (`tenant_database_schema`).
    pub(crate) database_schema: SchemaName,
    /// Tenant roles as the file sets them; [`Settings::tenant_roles`] lays the flags over them.
    roles: TenantRoles,
    /// Where pg_dump and pg_restore are (`TENANTCTL_PG_BIN_DIR`, `pg_bin_dir`); `None`: on PATH.
    pg_bin_dir: Option<PathBuf>,
}

impl Settings {
    /// Resolves settings from the command line (flags and environment) and the configuration file.
    pub(crate) fn resolve(global: &GlobalArgs, run: &RunArgs) -> Result<Self, InputError> {
        let (file, base) = load_file(global.config.as_deref())?;
        let dir = |flag: &Option<PathBuf>, from_file: Option<PathBuf>| match (flag, from_file) {
            (Some(p), _) => Some(p.clone()),
            (None, Some(p)) => Some(base.join(p)),
            (None, None) => None,
        };
        let naming =
            SchemaNaming::new(file.schema_prefix.as_deref().unwrap_or("tid_"), file.schema_hash_len.unwrap_or(10))
                .map_err(|e| InputError::new(format!("{e} (in the configuration)")))?;
        let file_duration = |key: &str, value: &Option<String>| -> Result<Option<Duration>, InputError> {
            value
                .as_deref()
                .map(|v| {
                    humantime::parse_duration(v).map_err(|_| {
                        InputError::new(format!(
                            "config key `{key}`: `{v}` is not a duration such as \"500ms\" or \"5s\""
                        ))
                    })
                })
                .transpose()
        };
        let defaults = RunSettings::default();
        let concurrency = match (run.concurrency, file.concurrency) {
            (Some(n), _) => n as usize,
            (None, Some(n)) if (1..=1000).contains(&n) => n,
            (None, Some(n)) => {
                return Err(InputError::new(format!("config key `concurrency`: {n} must be between 1 and 1000")));
            }
            (None, None) => defaults.concurrency,
        };
        let run_settings = RunSettings {
            concurrency,
            lock_timeout: run
                .lock_timeout
                .or(file_duration("lock_timeout", &file.lock_timeout)?)
                .unwrap_or(defaults.lock_timeout),
            lock_retries: run.lock_retries.or(file.lock_retries).unwrap_or(defaults.lock_retries),
            retry_backoff: defaults.retry_backoff,
            statement_timeout: run.statement_timeout.or(file_duration("statement_timeout", &file.statement_timeout)?),
            connection_max_tenants: file.connection_max_tenants.unwrap_or(defaults.connection_max_tenants),
            no_transaction_lock_timeout: file_duration(
                "no_transaction_lock_timeout",
                &file.no_transaction_lock_timeout,
            )?
            .unwrap_or(defaults.no_transaction_lock_timeout),
            no_transaction_concurrency: file
                .no_transaction_concurrency
                .unwrap_or(defaults.no_transaction_concurrency)
                .max(1),
            transaction_pooler: global.transaction_pooler.or(file.transaction_pooler).unwrap_or(false),
        };
        let shard_env: Vec<(String, String)> =
            std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))).collect();
        Ok(Self {
            master_dir: dir(&global.master_dir, file.master_dir).unwrap_or_else(|| "master_migrations".into()),
            tenant_dir: dir(&global.tenant_dir, file.tenant_dir).unwrap_or_else(|| "tenant_migrations".into()),
            shard_master_dir: dir(&global.shard_master_dir, file.shard_master_dir)
                .or_else(|| Some(PathBuf::from("shard_master_migrations")).filter(|p| p.is_dir())),
            shards: resolve_shards(file.shards, &shard_env, run_settings.concurrency)?,
            naming,
            extensions: file.extensions.unwrap_or_default(),
            run: run_settings,
            connect_timeout: run
                .connect_timeout
                .or(file_duration("connect_timeout", &file.connect_timeout)?)
                .unwrap_or(Duration::from_secs(5)),
            roles: TenantRoles { create: file.create_role.unwrap_or(false), group: file.role_group },
            pg_bin_dir: std::env::var_os("TENANTCTL_PG_BIN_DIR")
                .filter(|d| !d.is_empty())
                .map(PathBuf::from)
                .or_else(|| file.pg_bin_dir.map(|d| base.join(d))),
            isolation: match std::env::var("TENANTCTL_ISOLATION") {
                Ok(value) => parse_isolation(Some(&value), "TENANTCTL_ISOLATION")?,
                Err(_) => parse_isolation(file.isolation.as_deref(), "config key `isolation`")?,
            },
            database_schema: parse_database_schema(file.tenant_database_schema.as_deref())?,
        })
    }

    /// Tenant roles for `provision-tenant`: flag or environment > file > default (no role).
    pub(crate) fn tenant_roles(&self, args: &RoleArgs) -> Result<TenantRoles, InputError> {
        let group = args.role_group.clone().or_else(|| self.roles.group.clone());
        if group.as_deref().is_some_and(|g| g.trim().is_empty()) {
            return Err(InputError::new("role_group (--role-group, TENANTCTL_ROLE_GROUP) must name a role"));
        }
        Ok(TenantRoles { create: args.create_role.unwrap_or(self.roles.create), group })
    }

    /// How to reach the control database: `--database-url`/`DATABASE_URL`, else the `DB_*` variables.
    pub(crate) fn connection(&self, global: &GlobalArgs, command: &str) -> Result<ConnectSettings, InputError> {
        let (options, password) = match &global.database_url {
            Some(url) => (parse_database_url(url)?, url_password(url)),
            None => (from_db_vars(&|name| std::env::var(name).ok())?, std::env::var("DB_PASSWORD").ok()),
        };
        Ok(self.connect_settings(options, password, command, self.run.concurrency))
    }

    /// `pg_dump` and `pg_restore`, from `pg_bin_dir` or PATH; a missing one is an input error that
    /// names the setting.
    pub(crate) fn pg_tools(&self) -> Result<PgTools, InputError> {
        let find = |program: &str| match &self.pg_bin_dir {
            Some(dir) => Some(dir.join(program)).filter(|p| p.is_file()),
            None => std::env::var_os("PATH")
                .and_then(|path| std::env::split_paths(&path).map(|d| d.join(program)).find(|p| p.is_file())),
        };
        let found = |program: &str| {
            find(program).ok_or_else(|| {
                let place = match &self.pg_bin_dir {
                    Some(dir) => format!("in {} (pg_bin_dir / TENANTCTL_PG_BIN_DIR)", dir.display()),
                    None => "on PATH (install the PostgreSQL client programs, or set pg_bin_dir in tenantctl.toml \
                             or TENANTCTL_PG_BIN_DIR)"
                        .to_owned(),
                };
                InputError::new(format!("move-tenant needs {program}, which is not {place}"))
            })
        };
        Ok(PgTools { pg_dump: found("pg_dump")?, pg_restore: found("pg_restore")? })
    }

    /// `provision-tenant --shard NAME`: a listed shard, or `default` (the control database).
    pub(crate) fn shard_named<'n>(&self, name: &'n str) -> Result<&'n str, InputError> {
        if name == DEFAULT_SHARD || self.shards.iter().any(|s| s.name == name) {
            return Ok(name);
        }
        let listed: Vec<&str> = self.shards.iter().map(|s| s.name.as_str()).filter(|n| *n != DEFAULT_SHARD).collect();
        let listed = match listed.is_empty() {
            true => "none is configured".to_owned(),
            false => format!("configured: {}", listed.join(", ")),
        };
        Err(InputError::new(format!(
            "--shard {name:?}: no such shard (`default`, the control database, or a shard of [shards.<name>]; {listed})"
        )))
    }

    /// Whether `tenantctl.toml` or the environment lists any shard.
    pub(crate) fn has_shards(&self) -> bool {
        !self.shards.is_empty()
    }

    /// The listed shards, ready to connect to.
    pub(crate) fn shard_targets(&self, command: &str) -> Vec<ShardTarget> {
        let target = |shard: &ShardConfig| ShardTarget {
            name: shard.name.clone(),
            connect: shard
                .options
                .clone()
                .map(|options| self.connect_settings(options, shard.password.clone(), command, shard.concurrency)),
            concurrency: shard.concurrency,
        };
        self.shards.iter().map(target).collect()
    }

    fn connect_settings(
        &self,
        options: PgConnectOptions,
        password: Option<String>,
        command: &str,
        concurrency: usize,
    ) -> ConnectSettings {
        ConnectSettings {
            // PgBouncer refuses startup parameters it does not know unless told to ignore them, and
            // tenantctl reads no floating-point values.
            options: options.application_name(&format!("tenantctl/{command}")).extra_float_digits(None),
            connect_timeout: self.connect_timeout,
            max_connections: u32::try_from(concurrency + 1).unwrap_or(u32::MAX),
            password: password.map(Password::new),
        }
    }
}

/// The default isolation of new tenants, from `TENANTCTL_ISOLATION` or the file's `isolation` (`source`
/// names which); `--isolation` overrides it per command.
fn parse_isolation(value: Option<&str>, source: &str) -> Result<Isolation, InputError> {
    match value {
        None | Some("schema") => Ok(Isolation::Schema),
        Some("database") => Ok(Isolation::Database),
        Some(other) => Err(InputError::new(format!("{source}: `{other}` is neither \"schema\" nor \"database\""))),
    }
}

/// `tenant_database_schema` of the file: a plain lowercase identifier, `public` by default.
fn parse_database_schema(value: Option<&str>) -> Result<SchemaName, InputError> {
    let name = value.unwrap_or("public");
    SchemaName::new(name).ok_or_else(|| {
        InputError::new(format!(
            "config key `tenant_database_schema`: `{name}` is not a plain lowercase identifier ([a-z_][a-z0-9_]*, \
             at most 63 bytes)"
        ))
    })
}

/// The shards of the file, with their URLs set or overridden (or new shards defined) by
/// `TENANTCTL_SHARD_<NAME>_URL` variables among `env`.
fn resolve_shards(
    mut file: BTreeMap<String, ShardFile>,
    env: &[(String, String)],
    default_concurrency: usize,
) -> Result<Vec<ShardConfig>, InputError> {
    let mut from_env: BTreeMap<String, (String, String)> = env
        .iter()
        .filter_map(|(var, url)| {
            let name = var.strip_prefix("TENANTCTL_SHARD_")?.strip_suffix("_URL")?;
            Some((name.to_ascii_lowercase(), (var.clone(), url.clone())))
        })
        .collect();
    for name in from_env.keys() {
        file.entry(name.clone()).or_default();
    }
    file.into_iter()
        .map(|(name, shard)| {
            let env_url = from_env.remove(&name);
            resolve_shard(name, shard, env_url, default_concurrency)
        })
        .collect()
}

/// One shard: its name checked, its URL (the variable's, else the file's) parsed like the main one.
fn resolve_shard(
    name: String,
    file: ShardFile,
    env_url: Option<(String, String)>,
    default_concurrency: usize,
) -> Result<ShardConfig, InputError> {
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
        return Err(InputError::new(format!(
            "shard name `{name}` is invalid: shard names must match [a-z0-9_]+ (lowercase letters, digits, `_`)"
        )));
    }
    let concurrency = match file.concurrency {
        None => default_concurrency,
        Some(n) if (1..=1000).contains(&n) => n,
        Some(n) => {
            return Err(InputError::new(format!(
                "config key `shards.{name}.concurrency`: {n} must be between 1 and 1000"
            )));
        }
    };
    let variable = format!("TENANTCTL_SHARD_{}_URL", name.to_ascii_uppercase());
    let url = env_url.or_else(|| file.url.map(|url| (format!("config key `shards.{name}.url`"), url)));
    let password = url.as_ref().and_then(|(_, url)| url_password(url));
    let options = match (name == DEFAULT_SHARD, url) {
        (true, None) => None,
        (true, Some((source, _))) => {
            return Err(InputError::new(format!(
                "{source}: the `default` shard is the control database (--database-url, DATABASE_URL or DB_*); \
                 list it as [shards.default] without a url"
            )));
        }
        (false, None) => {
            return Err(InputError::new(format!(
                "shard `{name}` has no URL: set `shards.{name}.url` in tenantctl.toml or {variable}"
            )));
        }
        (false, Some((source, url))) => {
            Some(parse_database_url(&url).map_err(|e| InputError::new(format!("shard `{name}` ({source}): {e}")))?)
        }
    };
    Ok(ShardConfig { name, options, password, concurrency })
}

/// Reads the configuration file: the one named, or `tenantctl.toml` if present. Relative paths in
/// it are relative to its directory.
fn load_file(named: Option<&Path>) -> Result<(FileConfig, PathBuf), InputError> {
    let path = match named {
        Some(p) => p.to_owned(),
        None if Path::new(DEFAULT_CONFIG).exists() => PathBuf::from(DEFAULT_CONFIG),
        None => return Ok((FileConfig::default(), PathBuf::new())),
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| InputError::new(format!("cannot read config file {}: {e}", path.display())))?;
    let config: FileConfig = toml::from_str(&text).map_err(|e| {
        let message = e.message().replace('\n', " ");
        let place = e.span().map(|span| describe_place(&text, span.start)).unwrap_or_default();
        InputError::new(format!("config file {}{place}: {message}", path.display()))
    })?;
    let base = path.parent().map(Path::to_owned).unwrap_or_default();
    Ok((config, base))
}

/// `, key `name` (line N)`: where a TOML error is, for a message that names the key.
fn describe_place(text: &str, offset: usize) -> String {
    let before = &text[..offset.min(text.len())];
    let line_number = before.matches('\n').count() + 1;
    let line = text.lines().nth(line_number - 1).unwrap_or_default();
    match line.split_once('=') {
        Some((key, _)) if !key.trim().is_empty() => format!(", key `{}` (line {line_number})", key.trim()),
        _ => format!(", line {line_number}"),
    }
}

/// Connection options from `DB_HOST`, `DB_PORT`, `DB_USER`, `DB_PASSWORD`, `DB_NAME`, `DB_SSL`,
/// `DB_SSL_CERT_PATH`, `DB_SSL_REJECT_UNAUTHORIZED`.
fn from_db_vars(var: &dyn Fn(&str) -> Option<String>) -> Result<PgConnectOptions, InputError> {
    if var("DB_HOST").is_none() && var("DB_NAME").is_none() {
        return Err(InputError::new(
            "no database given: pass --database-url, or set DATABASE_URL, or DB_HOST and DB_NAME (a .env file works too)",
        ));
    }
    let mut options =
        PgConnectOptions::new_without_pgpass().host(&var("DB_HOST").unwrap_or_else(|| "localhost".into()));
    if let Some(port) = var("DB_PORT") {
        let port: u16 = port.parse().map_err(|_| InputError::new(format!("DB_PORT `{port}` is not a port number")))?;
        options = options.port(port);
    }
    if let Some(user) = var("DB_USER") {
        options = options.username(&user);
    }
    if let Some(password) = var("DB_PASSWORD") {
        options = options.password(&password);
    }
    if let Some(name) = var("DB_NAME") {
        options = options.database(&name);
    }
    let ssl = match var("DB_SSL").as_deref() {
        None => false,
        Some(v) => parse_bool("DB_SSL", v)?,
    };
    let cert = var("DB_SSL_CERT_PATH").filter(|path| !path.is_empty());
    if ssl {
        let verify = match var("DB_SSL_REJECT_UNAUTHORIZED").as_deref() {
            None => true,
            Some(v) => parse_bool("DB_SSL_REJECT_UNAUTHORIZED", v)?,
        };
        options = options.ssl_mode(if verify { PgSslMode::VerifyFull } else { PgSslMode::Require });
        if let Some(cert) = cert {
            check_file("DB_SSL_CERT_PATH", Path::new(&cert), Pem::Certificate)?;
            options = options.ssl_root_cert(cert);
        }
    } else if cert.is_some() {
        // A CA that is silently not used would look like verification to whoever set it.
        return Err(InputError::new(
            "DB_SSL_CERT_PATH is set but DB_SSL is not true: set DB_SSL=true to verify the server against it, \
             or unset DB_SSL_CERT_PATH",
        ));
    }
    Ok(options)
}

fn parse_bool(name: &str, value: &str) -> Result<bool, InputError> {
    bool_value(value).ok_or_else(|| InputError::new(format!("{name} must be true, false, 1 or 0, not `{value}`")))
}

/// `true`, `false`, `1` or `0` (any case, padding ignored): how booleans are spelt in the environment.
pub(crate) fn bool_value(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// A `postgres://` (or `postgresql://`) URL; anything else is refused before sqlx guesses at it.
fn parse_database_url(url: &str) -> Result<PgConnectOptions, InputError> {
    const EXPECTED: &str = "expected postgres://user:password@host:port/database";
    let scheme = url.split_once("://").map(|(scheme, _)| scheme);
    if !matches!(scheme, Some("postgres" | "postgresql")) {
        let shown = scheme.map_or_else(|| "no scheme".to_owned(), |s| format!("scheme `{s}`"));
        return Err(InputError::new(format!("invalid database URL: {shown} is not PostgreSQL ({EXPECTED})")));
    }
    if let Ok(parsed) = url::Url::parse(url) {
        // `postgres://` alone would silently mean libpq's defaults: usually an unset variable.
        let names_host =
            parsed.host_str().is_some_and(|h| !h.is_empty()) || parsed.query_pairs().any(|(k, _)| k == "host");
        if !names_host {
            return Err(InputError::new(format!("invalid database URL: it names no host ({EXPECTED})")));
        }
        check_url_files(&parsed)?;
    }
    PgConnectOptions::from_str(url)
        .map_err(|e| InputError::new(format!("invalid database URL: {} ({EXPECTED})", redact(&e.to_string(), url))))
}

/// A URL's password, percent-decoded.
fn url_password(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let password = parsed.password()?;
    Some(percent_decode(password))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Removes a URL's password from a message, should a parser ever echo it.
fn redact(message: &str, url: &str) -> String {
    match url::Url::parse(url).ok().and_then(|u| u.password().map(str::to_owned)) {
        Some(password) if !password.is_empty() => message.replace(&password, "***"),
        _ => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        move |name| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn isolation_and_the_tenant_database_schema_default_and_refuse_bad_values() {
        let key = "config key `isolation`";
        assert_eq!(parse_isolation(None, key).unwrap(), Isolation::Schema);
        assert_eq!(parse_isolation(Some("database"), key).unwrap(), Isolation::Database);
        assert!(parse_isolation(Some("Database"), key).unwrap_err().to_string().contains(key));
        assert_eq!(parse_database_schema(None).unwrap().as_str(), "public");
        assert_eq!(parse_database_schema(Some("app")).unwrap().as_str(), "app");
        assert!(parse_database_schema(Some("a-b")).is_err());
    }

    #[test]
    fn db_vars_build_options() {
        let options =
            from_db_vars(&vars(&[("DB_HOST", "db.internal"), ("DB_PORT", "6543"), ("DB_NAME", "app")])).unwrap();
        assert_eq!(options.get_host(), "db.internal");
        assert_eq!(options.get_port(), 6543);
        assert_eq!(options.get_database(), Some("app"));
    }

    #[test]
    fn database_urls_must_be_postgres() {
        assert!(parse_database_url("postgres://u@h/db").is_ok());
        assert!(parse_database_url("postgresql://u@h:5433/db").is_ok());
        for bad in ["mysql://u@h/db", "http://h/db", "h/db", "", "postgres:/h", "postgres://", "postgres:///db"] {
            let message = parse_database_url(bad).unwrap_err().to_string();
            assert!(message.contains("expected postgres://"), "{bad}: {message}");
        }
    }

    #[test]
    fn db_vars_are_validated() {
        assert!(from_db_vars(&vars(&[])).is_err());
        assert!(from_db_vars(&vars(&[("DB_HOST", "h"), ("DB_PORT", "high")])).is_err());
        assert!(from_db_vars(&vars(&[("DB_HOST", "h"), ("DB_SSL", "yes")])).is_err());
        let unused_ca = from_db_vars(&vars(&[("DB_HOST", "h"), ("DB_SSL_CERT_PATH", "/ca.crt")])).unwrap_err();
        assert!(unused_ca.to_string().contains("DB_SSL is not true"), "{unused_ca}");
        let missing_ca = [("DB_HOST", "h"), ("DB_SSL", "true"), ("DB_SSL_CERT_PATH", "/nonexistent/ca.crt")];
        assert!(from_db_vars(&vars(&missing_ca)).unwrap_err().to_string().contains("DB_SSL_CERT_PATH"));
        let ssl =
            from_db_vars(&vars(&[("DB_HOST", "h"), ("DB_SSL", "1"), ("DB_SSL_REJECT_UNAUTHORIZED", "false")])).unwrap();
        assert!(matches!(ssl.get_ssl_mode(), PgSslMode::Require));
    }

    #[test]
    fn config_files_refuse_unknown_keys_and_wrong_types() {
        assert!(toml::from_str::<FileConfig>("concurency = 4").is_err());
        assert!(toml::from_str::<FileConfig>("concurrency = \"four\"").is_err());
        let ok: FileConfig =
            toml::from_str("concurrency = 8\nlock_timeout = \"500ms\"\nextensions = [\"pg_trgm\"]").unwrap();
        assert_eq!(ok.concurrency, Some(8));
        let pooled: FileConfig = toml::from_str("transaction_pooler = true").unwrap();
        assert_eq!(pooled.transaction_pooler, Some(true));
        assert!(toml::from_str::<FileConfig>("transaction_pooler = \"yes\"").is_err());
    }

    #[test]
    fn type_errors_name_the_key() {
        let text = "lock_retries = 2\nconcurrency = \"four\"\n";
        let error = toml::from_str::<FileConfig>(text).unwrap_err();
        let place = describe_place(text, error.span().unwrap().start);
        assert_eq!(place, ", key `concurrency` (line 2)");
    }

    #[test]
    fn url_passwords_are_decoded_for_the_client_programs() {
        assert_eq!(url_password("postgres://u:p%40ss%2Fw@h/db").as_deref(), Some("p@ss/w"));
        assert_eq!(url_password("postgres://u@h/db"), None);
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("bad s3cret here", "postgres://u:s3cret@h/db"), "bad *** here");
    }

    fn shards(toml_text: &str, env: &[(&str, &str)]) -> Result<Vec<ShardConfig>, String> {
        let file: FileConfig = toml::from_str(toml_text).map_err(|e| e.message().to_owned())?;
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        resolve_shards(file.shards, &env, 8).map_err(|e| e.to_string())
    }

    #[test]
    fn shards_come_from_the_file_and_the_environment() {
        let file = "[shards.eu1]\nurl = \"postgres://u:pw@eu1.internal/app\"\nconcurrency = 3\n[shards.default]\n";
        let env =
            [("TENANTCTL_SHARD_US2_URL", "postgres://u@us2.internal:5433/app"), ("TENANTCTL_SHARD_MASTER_DIR", "x")];
        let resolved = shards(file, &env).unwrap();
        let names: Vec<&str> = resolved.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["default", "eu1", "us2"]);
        assert!(resolved[0].options.is_none(), "default is the control database");
        assert_eq!(resolved[1].concurrency, 3);
        assert_eq!(resolved[2].options.as_ref().unwrap().get_port(), 5433);
        assert_eq!(resolved[2].concurrency, 8);

        let overridden = shards(file, &[("TENANTCTL_SHARD_EU1_URL", "postgres://u@eu1.other/app")]).unwrap();
        assert_eq!(overridden[1].options.as_ref().unwrap().get_host(), "eu1.other");
    }

    #[test]
    fn bad_shard_settings_name_what_to_fix() {
        let refused = |file: &str, env: &[(&str, &str)], expected: &str| {
            let message = shards(file, env).unwrap_err();
            assert!(message.contains(expected), "{file} {env:?}: {message}");
            assert!(!message.contains("s3cret"), "{message}");
        };
        refused("[shards.EU1]\nurl = \"postgres://h/db\"", &[], "shard name `EU1` is invalid");
        refused("", &[("TENANTCTL_SHARD_EU-1_URL", "postgres://h/db")], "[a-z0-9_]+");
        refused("[shards.default]\nurl = \"postgres://h/db\"", &[], "control database");
        refused(
            "[shards.default]",
            &[("TENANTCTL_SHARD_DEFAULT_URL", "postgres://h/db")],
            "TENANTCTL_SHARD_DEFAULT_URL",
        );
        refused("[shards.eu1]\nconcurrency = 2", &[], "`shards.eu1.url` in tenantctl.toml or TENANTCTL_SHARD_EU1_URL");
        refused("[shards.eu1]\nurl = \"postgres://h/db\"\nconcurrency = 0", &[], "between 1 and 1000");
        refused("[shards.eu1]\nurl = \"mysql://u:s3cret@h/db\"", &[], "shard `eu1` (config key `shards.eu1.url`)");
        refused("[shards.eu1]\nurl = \"postgres://u:s3cret@/db\"", &[], "invalid database URL");
        refused("[shards.eu1]\nurl = \"postgres://h/db\"\nport = 5432", &[], "unknown field `port`");
    }
}
