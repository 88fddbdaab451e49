//! TLS settings for one registry host, as podman makes them: the system's roots plus the
//! `*.crt` files of the host's certs.d directory, and a client certificate from a
//! `NAME.cert` + `NAME.key` pair there. Directories: `--cert-dir` alone when given, else
//! `$HOME/.config/containers/certs.d/HOST` (an ordinary user), `/etc/containers/certs.d/HOST`
//! and `/etc/docker/certs.d/HOST` (HOST with its port, as in the reference).

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use ureq::tls::{Certificate, ClientCert, PemItem, PrivateKey, RootCerts, TlsConfig};

use crate::error::{io, Error, Result};

/// The directories searched for `host`'s certificates.
pub fn cert_dirs(host: &str, cert_dir: Option<&Path>) -> Vec<PathBuf> {
    if let Some(dir) = cert_dir {
        return vec![dir.to_path_buf()];
    }
    let mut dirs = Vec::new();
    if !super::host_root() {
        if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
            dirs.push(Path::new(&home).join(".config/containers/certs.d").join(host));
        }
    }
    dirs.push(Path::new("/etc/containers/certs.d").join(host));
    dirs.push(Path::new("/etc/docker/certs.d").join(host));
    dirs
}

/// The system's trust roots, loaded once per process (reading the bundle costs milliseconds).
fn system_roots() -> Arc<Vec<Certificate<'static>>> {
    static ROOTS: OnceLock<Arc<Vec<Certificate<'static>>>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let found = rustls_native_certs::load_native_certs();
            Arc::new(found.certs.iter().map(|c| Certificate::from_der(c.as_ref()).to_owned()).collect())
        })
        .clone()
}

fn bad(path: &Path, why: impl Into<crate::error::BoxError>) -> Error {
    Error::InvalidConfig { path: path.to_path_buf(), source: why.into() }
}

fn pem_items(path: &Path) -> Result<Vec<PemItem<'static>>> {
    let bytes = std::fs::read(path).map_err(io("read", path))?;
    ureq::tls::parse_pem(&bytes).collect::<std::result::Result<Vec<_>, _>>().map_err(|e| bad(path, e))
}

/// The TLS configuration for `host`: `verify` false skips verification (an insecure
/// registry or `--tls-verify=false`).
pub fn tls_config(host: &str, cert_dir: Option<&Path>, verify: bool) -> Result<TlsConfig> {
    let mut extra: Vec<Certificate<'static>> = Vec::new();
    let mut client: Option<ClientCert> = None;
    for dir in cert_dirs(host, cert_dir) {
        let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
            Ok(entries) => entries.flatten().map(|e| e.path()).collect(),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory) => continue,
            Err(e) => return Err(io("read", &dir)(e)),
        };
        files.sort();
        for file in &files {
            match file.extension().and_then(|e| e.to_str()) {
                Some("crt") => {
                    for item in pem_items(file)? {
                        if let PemItem::Certificate(c) = item {
                            extra.push(c);
                        }
                    }
                }
                Some("cert") => {
                    let key = file.with_extension("key");
                    if !key.exists() {
                        return Err(bad(file, format!("the client certificate has no key {}", key.display())));
                    }
                    let chain: Vec<Certificate<'static>> = pem_items(file)?
                        .into_iter()
                        .filter_map(|i| if let PemItem::Certificate(c) = i { Some(c) } else { None })
                        .collect();
                    let key_item: Option<PrivateKey<'static>> = pem_items(&key)?.into_iter().find_map(|i| {
                        if let PemItem::PrivateKey(k) = i {
                            Some(k)
                        } else {
                            None
                        }
                    });
                    let key_item = key_item.ok_or_else(|| bad(&key, "it holds no private key"))?;
                    if chain.is_empty() {
                        return Err(bad(file, "it holds no certificate"));
                    }
                    client = Some(ClientCert::new_with_certs(&chain, key_item));
                }
                Some("key") if !file.with_extension("cert").exists() => {
                    return Err(bad(file, "the key has no client certificate beside it (NAME.cert)"));
                }
                _ => {}
            }
        }
    }
    let system = system_roots();
    let roots = if extra.is_empty() && !system.is_empty() {
        RootCerts::Specific(system)
    } else if system.is_empty() && extra.is_empty() {
        RootCerts::WebPki
    } else {
        let mut all = (*system).clone();
        all.extend(extra);
        RootCerts::Specific(Arc::new(all))
    };
    Ok(TlsConfig::builder().root_certs(roots).client_cert(client).disable_verification(!verify).build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cert_dir_replaces_the_default_directories() {
        let dirs = cert_dirs("127.0.0.1:5000", None);
        assert!(dirs.contains(&PathBuf::from("/etc/containers/certs.d/127.0.0.1:5000")));
        assert!(dirs.contains(&PathBuf::from("/etc/docker/certs.d/127.0.0.1:5000")));
        assert_eq!(cert_dirs("x", Some(Path::new("/my/certs"))), [PathBuf::from("/my/certs")]);
    }

    #[test]
    fn refuses_a_half_client_pair_and_bad_pem() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("client.key"), "x").unwrap();
        let e = tls_config("h", Some(dir.path()), true).unwrap_err();
        assert_eq!(e.code(), "invalid-config");
        assert!(e.to_string().contains("client.key"), "{e}");
        std::fs::remove_file(dir.path().join("client.key")).unwrap();
        std::fs::write(dir.path().join("ca.crt"), "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n")
            .unwrap();
        assert_eq!(tls_config("h", Some(dir.path()), true).unwrap_err().code(), "invalid-config");
        std::fs::remove_file(dir.path().join("ca.crt")).unwrap();
        assert!(tls_config("h", Some(dir.path()), true).is_ok());
    }
}
