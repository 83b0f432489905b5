//! A second throwaway PostgreSQL that speaks TLS, started once per test binary for the TLS tests.
//! Its certificate names only 127.0.0.1 and is signed by a certificate authority that `openssl`
//! makes for the run; a second CA, which signed nothing, stands for the wrong one. Keys never leave
//! temporary directories: the server's is copied into the cluster, which its watchdog deletes.

use std::{ffi::OsStr, fs, path::Path, process::Command, sync::OnceLock};

use super::server::start_cluster;

/// The superuser's password on the TLS server: distinctive, so a test can prove it is never shown.
pub const TLS_PASSWORD: &str = "tls-s3cret-pw";

/// The TLS server, and the certificate authorities a client may verify it with.
#[derive(Debug)]
pub struct TlsServer {
    /// The URL of its maintenance database. It names no TLS mode: the harness's own connections
    /// encrypt when they can and verify nothing.
    pub url: String,
    /// The CA that signed the server's certificate (PEM).
    pub ca: String,
    /// A CA that signed nothing (PEM).
    pub wrong_ca: String,
}

/// The TLS server. Panics, in every test that asks, when it cannot be had: never a skip.
pub fn tls_server() -> &'static TlsServer {
    static SERVER: OnceLock<Result<TlsServer, String>> = OnceLock::new();
    match SERVER.get_or_init(start) {
        Ok(server) => server,
        Err(message) => panic!("no TLS PostgreSQL server for the tests: {message}"),
    }
}

fn start() -> Result<TlsServer, String> {
    let certificates = tempfile::tempdir().map_err(|e| format!("cannot create a directory for certificates: {e}"))?;
    let dir = certificates.path();
    make_ca(dir, "ca", "tenantctl test CA")?;
    make_ca(dir, "wrong-ca", "tenantctl wrong CA")?;
    make_server_certificate(dir, "ca", "IP:127.0.0.1")?;
    let args = [OsStr::new("--tls"), dir.as_os_str()];
    let url = start_cluster("tenantctl-test-tls-pg-", &args, &[("PG_PASSWORD", TLS_PASSWORD)])?;
    let read = |name: &str| fs::read_to_string(dir.join(name)).map_err(|e| format!("cannot read {name}: {e}"));
    Ok(TlsServer { url, ca: read("ca.crt")?, wrong_ca: read("wrong-ca.crt")? })
}

/// A self-signed certificate authority: `<name>.crt` and `<name>.key` in `dir`.
fn make_ca(dir: &Path, name: &str, common_name: &str) -> Result<(), String> {
    let (key, certificate, subject) = (format!("{name}.key"), format!("{name}.crt"), format!("/CN={common_name}"));
    let mut args = vec!["req", "-x509", "-nodes", "-keyout", &key, "-out", &certificate, "-days", "2"];
    args.extend(["-subj", &subject, "-addext", "basicConstraints=critical,CA:TRUE"]);
    args.extend(["-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    args.extend(NEW_KEY);
    openssl(dir, &args)
}

/// `server.crt` and `server.key` in `dir`, signed by the CA `<ca>.crt`, valid for `subject_alt_name`
/// only (the common name is not a host name: clients go by the subjectAltName).
fn make_server_certificate(dir: &Path, ca: &str, subject_alt_name: &str) -> Result<(), String> {
    let mut request = vec!["req", "-new", "-nodes", "-keyout", "server.key", "-out", "server.csr"];
    request.extend(["-subj", "/CN=tenantctl test server"]);
    request.extend(NEW_KEY);
    openssl(dir, &request)?;
    let extensions = format!(
        "subjectAltName = {subject_alt_name}\nextendedKeyUsage = serverAuth\n\
         basicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\n"
    );
    fs::write(dir.join("server.ext"), extensions).map_err(|e| format!("cannot write server.ext: {e}"))?;
    let (ca_certificate, ca_key) = (format!("{ca}.crt"), format!("{ca}.key"));
    let mut sign = vec!["x509", "-req", "-in", "server.csr", "-out", "server.crt", "-days", "2"];
    sign.extend(["-CA", &ca_certificate, "-CAkey", &ca_key, "-CAcreateserial", "-extfile", "server.ext"]);
    openssl(dir, &sign)
}

/// A new P-256 key (fast to make, and accepted by both PostgreSQL and rustls).
const NEW_KEY: [&str; 4] = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];

fn openssl(dir: &Path, args: &[&str]) -> Result<(), String> {
    let output = Command::new("openssl").args(args).current_dir(dir).output().map_err(|e| {
        format!("cannot run openssl ({e}): install it (Debian: apt-get install openssl; `make deps` does)")
    })?;
    match output.status.success() {
        true => Ok(()),
        false => Err(format!("`openssl {}` failed: {}", args.join(" "), String::from_utf8_lossy(&output.stderr))),
    }
}
