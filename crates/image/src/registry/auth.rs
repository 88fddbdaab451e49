//! Credentials in the files podman and Docker keep them in, in their format
//! (`{"auths": {"KEY": {"auth": base64("user:password")}}}`).
//!
//! Read, in order (containers/image's `getAuthFilePaths`): `$REGISTRY_AUTH_FILE` alone when
//! set; otherwise podman's own file (`$XDG_RUNTIME_DIR/containers/auth.json` for a user,
//! `/run/containers/0/auth.json` for root), `$XDG_CONFIG_HOME/containers/auth.json`
//! (`~/.config/...`), then Docker's `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`.
//! In each file a key may name a registry or a repository namespace (`quay.io/org`); the
//! most specific wins. Login writes podman's file (0600, atomically), logout removes the
//! entry there.
//!
//! Credential helpers (`credHelpers`, `credsStore`) are found here and run by the client
//! (helper.rs), only for a registry that asks for credentials.

use std::path::{Path, PathBuf};

use base64::Engine as _;

use crate::error::{io, Error, Result};
use crate::reference::DOCKER_HUB;

#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("username", &self.username).finish_non_exhaustive()
    }
}

/// What the auth files say about one registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    Credentials(Credentials),
    /// Kept by `docker-credential-NAME` (helper.rs).
    Helper(String),
    None,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthFiles {
    read: Vec<PathBuf>,
    write: PathBuf,
}

impl AuthFiles {
    /// The files for this process, from the environment as podman finds them.
    pub fn from_env() -> AuthFiles {
        let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
        if let Some(file) = env("REGISTRY_AUTH_FILE") {
            return AuthFiles { read: vec![file.clone()], write: file };
        }
        let home = env("HOME").unwrap_or_else(|| PathBuf::from("/"));
        let config_home = env("XDG_CONFIG_HOME").unwrap_or_else(|| home.join(".config"));
        let user_file = config_home.join("containers/auth.json");
        let runtime_file = if super::host_root() {
            Some(PathBuf::from("/run/containers/0/auth.json"))
        } else {
            env("XDG_RUNTIME_DIR").map(|d| d.join("containers/auth.json"))
        };
        let docker = env("DOCKER_CONFIG").unwrap_or_else(|| home.join(".docker")).join("config.json");
        let write = runtime_file.clone().unwrap_or_else(|| user_file.clone());
        let read = runtime_file.into_iter().chain([user_file, docker]).collect();
        AuthFiles { read, write }
    }

    /// Exactly these files: `read` in order, `write` for login and logout.
    pub fn new(read: Vec<PathBuf>, write: PathBuf) -> AuthFiles {
        AuthFiles { read, write }
    }

    pub fn write_path(&self) -> &Path {
        &self.write
    }

    /// Credentials for `name` (`registry/repository`, or a registry alone).
    pub fn lookup(&self, name: &str) -> Result<Found> {
        let registry = normalize_registry(name.split('/').next().unwrap_or(name));
        for path in &self.read {
            let Some(file) = read_file(path)? else { continue };
            if let Some(helper) = file.cred_helpers.iter().find(|(k, _)| normalize_key(k) == registry).map(|(_, v)| v) {
                return Ok(Found::Helper(helper.clone()));
            }
            // Most specific key first: registry/a/b, registry/a, registry.
            let mut candidate = normalize_name(name);
            loop {
                let hit = file
                    .auths
                    .iter()
                    .find(|(k, v)| normalize_key(k) == candidate && v.auth.as_deref().is_some_and(|a| !a.is_empty()));
                if let Some((_, entry)) = hit {
                    return decode(entry.auth.as_deref().unwrap_or_default(), path).map(Found::Credentials);
                }
                match candidate.rsplit_once('/') {
                    Some((parent, _)) => candidate = parent.to_string(),
                    None => break,
                }
            }
            if let Some(store) = file.creds_store.filter(|s| !s.is_empty()) {
                return Ok(Found::Helper(store));
            }
        }
        Ok(Found::None)
    }

    /// Records credentials for `key` (a registry or `registry/namespace`) in the write file.
    pub fn store(&self, key: &str, credentials: &Credentials) -> Result<()> {
        let auth = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", credentials.username, credentials.password));
        self.update(|auths| {
            auths.insert(normalize_name(key), serde_json::json!({ "auth": auth }));
            true
        })
        .map(|_| ())
    }

    /// Removes the entry for `key` from the write file; false when there was none.
    pub fn remove(&self, key: &str) -> Result<bool> {
        let key = normalize_name(key);
        self.update(|auths| {
            let before = auths.len();
            auths.retain(|k, _| normalize_key(k) != key);
            auths.len() != before
        })
    }

    /// Read-modify-write of the write file's `auths`, keeping everything else in the file.
    fn update(&self, f: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>) -> bool) -> Result<bool> {
        use std::io::Write;
        use std::os::unix::fs::DirBuilderExt;
        let path = &self.write;
        let mut doc = match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice::<serde_json::Value>(&bytes)
                .map_err(|e| Error::InvalidConfig { path: path.clone(), source: e.into() })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => serde_json::json!({}),
            Err(e) => return Err(io("read", path)(e)),
        };
        let Some(obj) = doc.as_object_mut() else {
            return Err(Error::InvalidConfig { path: path.clone(), source: "it is not a JSON object".into() });
        };
        let auths = obj.entry("auths").or_insert_with(|| serde_json::json!({}));
        let Some(auths) = auths.as_object_mut() else {
            return Err(Error::InvalidConfig { path: path.clone(), source: "its \"auths\" is not an object".into() });
        };
        if !f(auths) {
            return Ok(false);
        }
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(io("create", dir))?;
        let mut tmp =
            tempfile::Builder::new().prefix(".auth.json").tempfile_in(dir).map_err(io("create a temporary in", dir))?;
        let json = serde_json::to_vec_pretty(&doc)
            .map_err(|e| Error::InvalidConfig { path: path.clone(), source: e.into() })?;
        tmp.write_all(&json).map_err(io("write", tmp.path()))?;
        tmp.as_file().sync_all().map_err(io("sync", tmp.path()))?;
        tmp.persist(path).map_err(|e| io("write", path)(e.error))?;
        Ok(true)
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct AuthFile {
    #[serde(default)]
    auths: std::collections::BTreeMap<String, AuthEntry>,
    #[serde(default)]
    cred_helpers: std::collections::BTreeMap<String, String>,
    creds_store: Option<String>,
}

#[derive(serde::Deserialize, Default)]
struct AuthEntry {
    auth: Option<String>,
}

fn read_file(path: &Path) -> Result<Option<AuthFile>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::InvalidConfig { path: path.to_path_buf(), source: e.into() }),
        Err(e) if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory) => Ok(None),
        Err(e) => Err(io("read", path)(e)),
    }
}

fn decode(auth: &str, path: &Path) -> Result<Credentials> {
    let bad = |why: &str| Error::InvalidConfig { path: path.to_path_buf(), source: why.to_string().into() };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(auth.trim())
        .map_err(|_| bad("an \"auth\" value is not base64"))?;
    let text = String::from_utf8(bytes).map_err(|_| bad("an \"auth\" value is not UTF-8"))?;
    let (username, password) = text.split_once(':').ok_or_else(|| bad("an \"auth\" value is not USER:PASSWORD"))?;
    Ok(Credentials { username: username.to_string(), password: password.trim_end_matches('\n').to_string() })
}

/// Docker Hub's many names are one registry.
fn normalize_registry(host: &str) -> String {
    match host {
        "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB.to_string(),
        h => h.to_string(),
    }
}

/// A name given to login/logout or looked up: `registry[/namespace...]`, Docker Hub unified.
fn normalize_name(name: &str) -> String {
    let name = name.trim_end_matches('/');
    match name.split_once('/') {
        Some((host, rest)) => format!("{}/{rest}", normalize_registry(host)),
        None => normalize_registry(name),
    }
}

/// A key as found in a file: Docker's legacy `https://index.docker.io/v1/` form is a URL,
/// of which only the host counts.
fn normalize_key(key: &str) -> String {
    match key.strip_prefix("https://").or_else(|| key.strip_prefix("http://")) {
        Some(url) => normalize_registry(url.split('/').next().unwrap_or(url)),
        None => normalize_name(key),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn reads_the_most_specific_key_in_the_first_file_that_has_one() {
        let dir = tempfile::tempdir().unwrap();
        let podman = dir.path().join("auth.json");
        let docker = dir.path().join("config.json");
        std::fs::write(
            &podman,
            serde_json::json!({"auths": {
                "quay.io": {"auth": b64("org:wide")},
                "quay.io/team": {"auth": b64("team:pw:with:colons")},
            }})
            .to_string(),
        )
        .unwrap();
        std::fs::write(
            &docker,
            serde_json::json!({"auths": {
                "https://index.docker.io/v1/": {"auth": b64("hub:pw")},
                "quay.io": {"auth": b64("docker:ignored")},
                "ghcr.io": {},
            }, "credHelpers": {"gcr.io": "gcloud"}})
            .to_string(),
        )
        .unwrap();
        let files = AuthFiles::new(vec![dir.path().join("missing.json"), podman.clone(), docker], podman);
        let creds = |u: &str, p: &str| Found::Credentials(Credentials { username: u.into(), password: p.into() });
        assert_eq!(files.lookup("quay.io/team/app").unwrap(), creds("team", "pw:with:colons"));
        assert_eq!(files.lookup("quay.io/other/app").unwrap(), creds("org", "wide"));
        assert_eq!(files.lookup("docker.io/library/debian").unwrap(), creds("hub", "pw"));
        assert_eq!(files.lookup("gcr.io/p/i").unwrap(), Found::Helper("gcloud".into()));
        assert_eq!(files.lookup("ghcr.io/x/y").unwrap(), Found::None, "an empty entry is no credential");
        assert_eq!(files.lookup("127.0.0.1:5000/x").unwrap(), Found::None);
    }

    #[test]
    fn a_creds_store_applies_to_registries_without_inline_auth() {
        let dir = tempfile::tempdir().unwrap();
        let docker = dir.path().join("config.json");
        std::fs::write(&docker, r#"{"auths": {"https://index.docker.io/v1/": {}}, "credsStore": "desktop"}"#).unwrap();
        let files = AuthFiles::new(vec![docker.clone()], docker);
        assert_eq!(files.lookup("docker.io/library/x").unwrap(), Found::Helper("desktop".into()));
    }

    #[test]
    fn login_writes_atomically_with_mode_0600_and_logout_removes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run/containers/auth.json");
        let files = AuthFiles::new(vec![path.clone()], path.clone());
        let c = Credentials { username: "me".into(), password: "secret".into() };
        files.store("127.0.0.1:5000", &c).unwrap();
        files.store("index.docker.io", &c).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(doc["auths"]["127.0.0.1:5000"]["auth"], b64("me:secret"));
        assert!(doc["auths"].get("docker.io").is_some(), "Docker Hub is stored under docker.io, as podman does");
        assert_eq!(files.lookup("127.0.0.1:5000/x/y").unwrap(), Found::Credentials(c.clone()));
        assert!(files.remove("127.0.0.1:5000").unwrap());
        assert!(!files.remove("127.0.0.1:5000").unwrap());
        assert_eq!(files.lookup("127.0.0.1:5000/x/y").unwrap(), Found::None);
        assert_eq!(files.lookup("docker.io/x/y").unwrap(), Found::Credentials(c));
    }

    #[test]
    fn keeps_other_content_and_names_a_broken_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.json");
        std::fs::write(&path, r#"{"auths": {}, "HttpHeaders": {"X": "y"}}"#).unwrap();
        let files = AuthFiles::new(vec![path.clone()], path.clone());
        files.store("r.io", &Credentials { username: "u".into(), password: "p".into() }).unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(doc["HttpHeaders"]["X"], "y");
        std::fs::write(&path, "{broken").unwrap();
        let e = files.lookup("r.io").unwrap_err();
        assert_eq!(e.code(), "invalid-config");
        assert!(e.to_string().contains("auth.json"), "{e}");
        std::fs::write(&path, r#"{"auths": {"r.io": {"auth": "!!"}}}"#).unwrap();
        assert_eq!(files.lookup("r.io").unwrap_err().code(), "invalid-config");
    }
}
