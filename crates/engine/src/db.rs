//! Connections: the control database's pool, its settings, and errors that mean "unreachable".

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgSslMode};
use sqlx::{Connection, Row};

use crate::EngineError;

/// How to reach the control database.
#[derive(Debug, Clone)]
pub struct ConnectSettings {
    /// Host, port, user, password, database and TLS, as built by the caller.
    pub options: PgConnectOptions,
    /// How long to wait for a connection before giving up.
    pub connect_timeout: Duration,
    /// The most connections the run may open.
    pub max_connections: u32,
    /// The password, for the PostgreSQL client programs `move-tenant` runs (sqlx's options keep
    /// theirs to themselves); `None`: libpq's own (`PGPASSWORD`, `~/.pgpass`), if any.
    pub password: Option<Password>,
}

/// A password, never shown by `Debug`.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Wraps a password.
    pub fn new(password: impl Into<String>) -> Self {
        Self(password.into())
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// A pool of connections to the control database.
#[derive(Debug, Clone)]
pub struct Database {
    pool: PgPool,
}

impl Database {
    /// Connects, proving the server is reachable with one connection before returning.
    pub async fn connect(settings: &ConnectSettings) -> Result<Self, EngineError> {
        let target = describe_target(&settings.options);
        let unreachable = |reason: String| EngineError::Connect { target: target.clone(), reason };
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections.max(1))
            .min_connections(0)
            .acquire_timeout(settings.connect_timeout)
            // No ping per tenant: a connection that saw an error is closed rather than returned
            // (runner::step), and sqlx rolls back a transaction left open by a cancelled task.
            .test_before_acquire(false)
            .connect_lazy_with(settings.options.clone());
        // One direct connection first: the pool would retry a refused connection until its timeout
        // and then report only "timed out", hiding the reason.
        let probe = PgConnection::connect_with(&settings.options);
        match tokio::time::timeout(settings.connect_timeout, probe).await {
            Ok(Ok(connection)) => {
                let _ = connection.close().await;
                Ok(Self { pool })
            }
            Ok(Err(error)) => Err(unreachable(connect_reason(&error, &settings.options))),
            Err(_) => Err(unreachable(format!("no answer within {:?} (connect_timeout)", settings.connect_timeout))),
        }
    }

    /// The server's major version (15 for 15.18): the linter's target in front of a run.
    pub async fn server_major_version(&self) -> Result<u32, EngineError> {
        let number: String = sqlx::raw_sql("SELECT current_setting('server_version_num')")
            .fetch_one(&self.pool)
            .await
            .and_then(|row| row.try_get(0))
            .map_err(|error| EngineError::Database { context: "reading the server version".into(), error })?;
        Ok(number.parse::<u32>().map_or(15, |n| n / 10_000))
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// `host:port/database`: what the user needs to recognise the target; never the password.
pub fn describe_target(options: &PgConnectOptions) -> String {
    format!("{}:{}/{}", options.get_host(), options.get_port(), options.get_database().unwrap_or("postgres"))
}

fn connect_reason(error: &sqlx::Error, options: &PgConnectOptions) -> String {
    match error {
        sqlx::Error::Database(db) => match db.code().as_deref() {
            Some("28P01") => "password authentication failed (check DB_PASSWORD or the URL)".to_owned(),
            Some("3D000") => format!("{} (create it, or fix DB_NAME or the URL)", db.message()),
            Some("28000") => format!("{} (check pg_hba.conf and the user name)", db.message()),
            _ => db.message().to_owned(),
        },
        sqlx::Error::PoolTimedOut => "timed out (connect_timeout)".to_owned(),
        // The TLS library's verdict on the server's certificate comes back as invalid data on the socket.
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::InvalidData && requires_tls(options) => {
            tls_reason(&io.to_string())
        }
        sqlx::Error::Io(io) => io.to_string(),
        sqlx::Error::Tls(tls) => tls_reason(&tls.to_string()),
        other => other.to_string(),
    }
}

fn requires_tls(options: &PgConnectOptions) -> bool {
    matches!(options.get_ssl_mode(), PgSslMode::Require | PgSslMode::VerifyCa | PgSslMode::VerifyFull)
}

/// A TLS failure, with what to check.
fn tls_reason(detail: &str) -> String {
    let hint = if detail.contains("UnknownIssuer") {
        "the server's certificate is not signed by the CA in DB_SSL_CERT_PATH or the URL's sslrootcert"
    } else if detail.contains("not valid for name") {
        "connect by a host name or address that the server's certificate names in its subjectAltName"
    } else if detail.contains("does not support TLS") {
        "enable ssl on the server, or connect without DB_SSL=true or sslmode=require/verify-*"
    } else {
        "check the server's certificate against DB_SSL_CERT_PATH or sslrootcert, and the host name"
    };
    format!("TLS: {detail} ({hint})")
}
