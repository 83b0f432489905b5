//! The TLS files a connection names (`DB_SSL_CERT_PATH`, a URL's `sslrootcert`, `sslcert`, `sslkey`),
//! checked before connecting: a missing or wrong file is the user's input to fix (exit 2, the setting
//! named), not an unreachable database, which is all the driver could say once it tried.

use std::path::Path;

use crate::exit::InputError;

/// What a TLS file must hold.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Pem {
    /// One or more certificates (a CA to verify the server with, or the client's certificate).
    Certificate,
    /// A private key (the client's).
    PrivateKey,
}

impl Pem {
    fn marker(self) -> &'static str {
        match self {
            Self::Certificate => "-----BEGIN CERTIFICATE-----",
            Self::PrivateKey => "PRIVATE KEY-----",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Certificate => "PEM certificate",
            Self::PrivateKey => "PEM private key",
        }
    }
}

/// Refuses a file named by `setting` that cannot be read or does not hold what it must.
pub(crate) fn check_file(setting: &str, path: &Path, pem: Pem) -> Result<(), InputError> {
    let shown = path.display();
    let text = std::fs::read(path)
        .map_err(|e| InputError::new(format!("{setting} `{shown}`: cannot read it ({e}): fix the path")))?;
    match String::from_utf8_lossy(&text).contains(pem.marker()) {
        true => Ok(()),
        false => Err(InputError::new(format!("{setting} `{shown}` holds no {} ({})", pem.name(), pem.marker()))),
    }
}

/// Checks the TLS files a database URL names, under every spelling sqlx accepts.
pub(crate) fn check_url_files(url: &url::Url) -> Result<(), InputError> {
    for (key, value) in url.query_pairs() {
        let pem = match &*key {
            "sslrootcert" | "ssl-root-cert" | "ssl-ca" | "sslcert" | "ssl-cert" => Pem::Certificate,
            "sslkey" | "ssl-key" => Pem::PrivateKey,
            _ => continue,
        };
        check_file(&format!("database URL parameter {key}"), Path::new(&*value), pem)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_wrong_files_name_the_setting() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.crt");
        let message = check_file("DB_SSL_CERT_PATH", &missing, Pem::Certificate).unwrap_err().to_string();
        assert!(message.starts_with("DB_SSL_CERT_PATH `") && message.contains("cannot read it"), "{message}");

        let not_pem = dir.path().join("ca.crt");
        std::fs::write(&not_pem, "hello").unwrap();
        let message = check_file("DB_SSL_CERT_PATH", &not_pem, Pem::Certificate).unwrap_err().to_string();
        assert!(message.contains("holds no PEM certificate"), "{message}");

        std::fs::write(&not_pem, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n").unwrap();
        assert!(check_file("DB_SSL_CERT_PATH", &not_pem, Pem::Certificate).is_ok());
        assert!(check_file("sslkey", &not_pem, Pem::PrivateKey).is_err());
    }

    #[test]
    fn url_parameters_are_checked_under_each_spelling() {
        for key in ["sslrootcert", "ssl-root-cert", "ssl-ca", "sslcert", "ssl-cert", "sslkey", "ssl-key"] {
            let url = url::Url::parse(&format!("postgres://u@h/db?sslmode=verify-full&{key}=/nonexistent/x")).unwrap();
            let message = check_url_files(&url).unwrap_err().to_string();
            assert!(message.contains(&format!("parameter {key} `/nonexistent/x`")), "{message}");
        }
        assert!(check_url_files(&url::Url::parse("postgres://u@h/db?sslmode=require").unwrap()).is_ok());
    }
}
