//! podman's `registries.conf` (v2, containers-registries.conf(5)): search registries for short
//! names, aliases, and per-prefix `[[registry]]` entries with a `location`, `insecure`,
//! `blocked` and mirrors.
//!
//! Files, as containers/image reads them: `$HOME/.config/containers/registries.conf` when it
//! exists, else `/etc/containers/registries.conf`; then the drop-ins
//! `/etc/containers/registries.conf.d/*.conf` and `$HOME/.config/containers/registries.conf.d/*.conf`
//! in name order, each overriding what it sets (a `[[registry]]` replaces the one with the same
//! prefix). `TSCONTAINER_REGISTRIES_CONF` names one file to read instead of all of them.
//!
//! Short names, as podman resolves them: an alias first; then the search registries. With one
//! search registry it is used; with several, podman's default `short-name-mode = "enforcing"`
//! prompts on a terminal and fails without one; tscontainer never prompts, so it fails as
//! podman does without a terminal, and with `permissive` or `disabled` tries each in order,
//! taking the first that has the image. With no search registries at all, podman fails and
//! tscontainer uses docker.io, as Docker does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::reference::{Reference, DOCKER_HUB};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ShortNameMode {
    #[default]
    Enforcing,
    Permissive,
    Disabled,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegistriesConf {
    pub search: Vec<String>,
    pub short_name_mode: ShortNameMode,
    pub registries: Vec<RegistryEntry>,
    pub aliases: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryEntry {
    pub prefix: String,
    pub location: String,
    pub insecure: bool,
    pub blocked: bool,
    pub mirror_by_digest_only: bool,
    pub mirrors: Vec<Mirror>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirror {
    pub location: String,
    pub insecure: bool,
    pub pull_from: PullFrom,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PullFrom {
    #[default]
    All,
    DigestOnly,
    TagOnly,
}

/// One place to try for an image: its reference rewritten there, and whether plain HTTP and
/// unverified TLS are allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub reference: Reference,
    pub insecure: bool,
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
struct FileV2 {
    unqualified_search_registries: Option<Vec<String>>,
    short_name_mode: Option<String>,
    #[serde(default)]
    registry: Vec<FileRegistry>,
    aliases: Option<BTreeMap<String, String>>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
struct FileRegistry {
    prefix: Option<String>,
    location: Option<String>,
    #[serde(default)]
    insecure: bool,
    #[serde(default)]
    blocked: bool,
    #[serde(default)]
    mirror_by_digest_only: bool,
    #[serde(default)]
    mirror: Vec<FileMirror>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
struct FileMirror {
    location: String,
    #[serde(default)]
    insecure: bool,
    pull_from_mirror: Option<String>,
}

fn bad(path: &Path, why: impl Into<crate::error::BoxError>) -> Error {
    Error::InvalidConfig { path: path.to_path_buf(), source: why.into() }
}

impl RegistriesConf {
    /// The configuration in effect for this process (see the module's notes on files).
    pub fn load() -> Result<RegistriesConf> {
        if let Some(path) = std::env::var_os("TSCONTAINER_REGISTRIES_CONF").filter(|p| !p.is_empty()) {
            return RegistriesConf::load_files(&[PathBuf::from(path)]);
        }
        let home = std::env::var_os("HOME").filter(|h| !h.is_empty()).map(PathBuf::from);
        let user = home.as_ref().map(|h| h.join(".config/containers/registries.conf"));
        let main = match user.filter(|u| u.is_file()) {
            Some(user) => user,
            None => PathBuf::from("/etc/containers/registries.conf"),
        };
        let mut files = vec![main];
        let mut dirs = vec![PathBuf::from("/etc/containers/registries.conf.d")];
        dirs.extend(home.map(|h| h.join(".config/containers/registries.conf.d")));
        for dir in dirs {
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            let mut dropins: Vec<PathBuf> =
                entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "conf")).collect();
            dropins.sort();
            files.extend(dropins);
        }
        RegistriesConf::load_files(&files)
    }

    /// Reads `files` in order, each overriding what it sets; missing files are skipped.
    pub fn load_files(files: &[PathBuf]) -> Result<RegistriesConf> {
        let mut conf = RegistriesConf::default();
        for path in files {
            match std::fs::read_to_string(path) {
                Ok(text) => conf.merge(&text, path)?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(bad(path, e)),
            }
        }
        Ok(conf)
    }

    /// Applies one file's settings over these.
    pub fn merge(&mut self, text: &str, path: &Path) -> Result<()> {
        let file: FileV2 = toml::from_str(text).map_err(|e| bad(path, e))?;
        if let Some(search) = file.unqualified_search_registries {
            self.search = search;
        }
        if let Some(mode) = file.short_name_mode {
            self.short_name_mode = match mode.as_str() {
                "enforcing" => ShortNameMode::Enforcing,
                "permissive" => ShortNameMode::Permissive,
                "disabled" => ShortNameMode::Disabled,
                other => {
                    return Err(bad(
                        path,
                        format!("short-name-mode {other:?} is not enforcing, permissive or disabled"),
                    ))
                }
            };
        }
        for r in file.registry {
            let prefix = match (r.prefix, &r.location) {
                (Some(p), _) if !p.is_empty() => p,
                (_, Some(l)) if !l.is_empty() => l.clone(),
                _ => return Err(bad(path, "a [[registry]] has neither a prefix nor a location")),
            };
            let location = r.location.filter(|l| !l.is_empty()).unwrap_or_else(|| prefix.clone());
            if prefix.starts_with("*.") && location != prefix {
                return Err(bad(
                    path,
                    format!("registry prefix {prefix:?} is a wildcard and cannot have its own location"),
                ));
            }
            let mut mirrors = Vec::new();
            for m in r.mirror {
                let pull_from = match m.pull_from_mirror.as_deref() {
                    None | Some("all") | Some("") => PullFrom::All,
                    Some("digest-only") => PullFrom::DigestOnly,
                    Some("tag-only") => PullFrom::TagOnly,
                    Some(other) => {
                        return Err(bad(
                            path,
                            format!("pull-from-mirror {other:?} is not all, digest-only or tag-only"),
                        ))
                    }
                };
                mirrors.push(Mirror { location: m.location, insecure: m.insecure, pull_from });
            }
            let entry = RegistryEntry {
                prefix: normalize_prefix(&prefix),
                location,
                insecure: r.insecure,
                blocked: r.blocked,
                mirror_by_digest_only: r.mirror_by_digest_only,
                mirrors,
            };
            self.registries.retain(|e| e.prefix != entry.prefix);
            self.registries.push(entry);
        }
        if let Some(aliases) = file.aliases {
            self.aliases.extend(aliases);
        }
        Ok(())
    }

    /// The `[[registry]]` whose prefix matches `name` (`domain/path`) most specifically.
    fn entry_for(&self, name: &str) -> Option<&RegistryEntry> {
        self.registries.iter().filter(|e| prefix_matches(&e.prefix, name)).max_by_key(|e| {
            // A wildcard is less specific than any exact prefix.
            if e.prefix.starts_with("*.") {
                0
            } else {
                e.prefix.len() + 1
            }
        })
    }

    /// Whether `registry` (a host, or `host/namespace`) allows plain HTTP and unverified TLS.
    pub fn is_insecure(&self, registry: &str) -> bool {
        self.entry_for(registry).is_some_and(|e| e.insecure)
    }

    /// The fully qualified references a reference may mean, in the order to try them: the
    /// reference itself when qualified, else an alias, else the search registries.
    pub fn candidates(&self, reference: &Reference) -> Result<Vec<Reference>> {
        if !reference.is_short() {
            return Ok(vec![reference.clone()]);
        }
        let short = reference.short_name().unwrap_or_default().to_string();
        if let Some(target) = self.aliases.get(&short) {
            let mut aliased = Reference::parse(target)?;
            if let Some(tag) = reference.tag() {
                aliased = aliased.with_tag(tag)?;
            }
            if let Some(digest) = reference.digest() {
                aliased = Reference::parse(&format!("{aliased}@{digest}"))?;
            }
            return Ok(vec![aliased]);
        }
        match self.search.as_slice() {
            [] => Ok(vec![reference.in_registry(DOCKER_HUB).unwrap_or(Ok(reference.clone()))?]),
            [one] => Ok(vec![reference.in_registry(one).unwrap_or(Ok(reference.clone()))?]),
            many if self.short_name_mode == ShortNameMode::Enforcing => {
                Err(Error::AmbiguousShortName { name: short, registries: many.join(", ") })
            }
            many => many
                .iter()
                .map(|r| reference.in_registry(r).unwrap_or(Ok(reference.clone())).map_err(Error::from))
                .collect(),
        }
    }

    /// Where to pull a fully qualified reference from, in order: its mirrors, then its
    /// location (with the prefix rewritten), as containers/image's `PullSourcesFromReference`.
    pub fn endpoints(&self, reference: &Reference) -> Result<Vec<Endpoint>> {
        let name = reference.name();
        let Some(entry) = self.entry_for(&name) else {
            return Ok(vec![Endpoint { reference: reference.clone(), insecure: false }]);
        };
        if entry.blocked {
            return Err(Error::BlockedRegistry(reference.domain().to_string()));
        }
        let rewrite = |location: &str| -> Result<Reference> {
            let rest = if entry.prefix.starts_with("*.") { name.as_str() } else { &name[entry.prefix.len()..] };
            let base = if entry.prefix.starts_with("*.") { String::new() } else { location.to_string() };
            let mut s = format!("{base}{rest}");
            if let Some(tag) = reference.tag() {
                s = format!("{s}:{tag}");
            }
            if let Some(digest) = reference.digest() {
                s = format!("{s}@{digest}");
            }
            Ok(Reference::parse(&s)?)
        };
        let by_digest = reference.digest().is_some();
        let mut out = Vec::new();
        for m in &entry.mirrors {
            let wanted = match m.pull_from {
                PullFrom::All => !entry.mirror_by_digest_only || by_digest,
                PullFrom::DigestOnly => by_digest,
                PullFrom::TagOnly => !by_digest,
            };
            if wanted {
                out.push(Endpoint { reference: rewrite(&m.location)?, insecure: m.insecure });
            }
        }
        out.push(Endpoint { reference: rewrite(&entry.location)?, insecure: entry.insecure });
        Ok(out)
    }
}

/// `docker.io/library/x` style prefixes compare against normalized names.
fn normalize_prefix(prefix: &str) -> String {
    match prefix.strip_prefix("index.docker.io") {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => format!("{DOCKER_HUB}{rest}"),
        _ => prefix.to_string(),
    }
}

/// A prefix matches a name when equal, or followed in the name by `/`, `:` or `@`;
/// `*.example.com` matches every subdomain of example.com.
fn prefix_matches(prefix: &str, name: &str) -> bool {
    if let Some(domain) = prefix.strip_prefix("*.") {
        let host = name.split('/').next().unwrap_or("");
        let host = host.split(':').next().unwrap_or(host);
        return host.ends_with(&format!(".{domain}"));
    }
    name == prefix || name.strip_prefix(prefix).is_some_and(|rest| rest.starts_with(['/', ':', '@']))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(text: &str) -> RegistriesConf {
        let mut c = RegistriesConf::default();
        c.merge(text, Path::new("test.conf")).unwrap();
        c
    }

    fn r(s: &str) -> Reference {
        Reference::parse(s).unwrap()
    }

    fn names(refs: Vec<Reference>) -> Vec<String> {
        refs.into_iter().map(|r| r.to_string()).collect()
    }

    #[test]
    fn short_names_resolve_as_podman_without_a_terminal() {
        let none = conf("");
        assert_eq!(names(none.candidates(&r("debian:12")).unwrap()), ["docker.io/library/debian:12"]);
        let one = conf(r#"unqualified-search-registries = ["quay.io"]"#);
        assert_eq!(names(one.candidates(&r("debian")).unwrap()), ["quay.io/debian"]);
        let two = conf(r#"unqualified-search-registries = ["quay.io", "docker.io"]"#);
        let e = two.candidates(&r("debian")).unwrap_err();
        assert_eq!(e.code(), "ambiguous-short-name");
        assert!(e.to_string().contains("quay.io, docker.io"), "{e}");
        let permissive =
            conf("unqualified-search-registries = [\"quay.io\", \"docker.io\"]\nshort-name-mode = \"permissive\"");
        assert_eq!(
            names(permissive.candidates(&r("debian:12")).unwrap()),
            ["quay.io/debian:12", "docker.io/library/debian:12"]
        );
        // Qualified names are never searched.
        assert_eq!(names(two.candidates(&r("localhost/x")).unwrap()), ["localhost/x"]);
        assert_eq!(names(two.candidates(&r("docker.io/debian")).unwrap()), ["docker.io/library/debian"]);
    }

    #[test]
    fn aliases_come_first() {
        let c = conf(
            "unqualified-search-registries = [\"a.io\", \"b.io\"]\n[aliases]\n\"fedora\" = \"registry.fedoraproject.org/fedora\"\n\"x/y\" = \"quay.io/x/y\"",
        );
        assert_eq!(names(c.candidates(&r("fedora:40")).unwrap()), ["registry.fedoraproject.org/fedora:40"]);
        assert_eq!(names(c.candidates(&r("x/y")).unwrap()), ["quay.io/x/y"]);
    }

    #[test]
    fn endpoints_rewrite_prefixes_and_list_mirrors_first() {
        let c = conf(
            r#"
[[registry]]
prefix = "example.com/foo"
location = "internal.example.com/bar"
insecure = true

[[registry.mirror]]
location = "mirror.local:5000/foo"
insecure = true

[[registry.mirror]]
location = "digests.local/foo"
pull-from-mirror = "digest-only"

[[registry]]
location = "blocked.io"
blocked = true

[[registry]]
prefix = "*.corp.example"
insecure = true
"#,
        );
        let eps = c.endpoints(&r("example.com/foo/app:1")).unwrap();
        let got: Vec<(String, bool)> = eps.iter().map(|e| (e.reference.to_string(), e.insecure)).collect();
        assert_eq!(
            got,
            [("mirror.local:5000/foo/app:1".into(), true), ("internal.example.com/bar/app:1".into(), true)]
        );
        let pinned = format!("example.com/foo/app@sha256:{}", "a".repeat(64));
        assert_eq!(c.endpoints(&r(&pinned)).unwrap().len(), 3, "digest pulls also use the digest-only mirror");
        assert_eq!(c.endpoints(&r("example.com/foobar/x")).unwrap()[0].reference.to_string(), "example.com/foobar/x");
        assert_eq!(c.endpoints(&r("blocked.io/x")).unwrap_err().code(), "blocked-registry");
        assert!(c.endpoints(&r("reg.corp.example/x")).unwrap()[0].insecure);
        assert!(c.is_insecure("example.com/foo") && !c.is_insecure("example.com"));
        assert!(c.is_insecure("a.corp.example:5000"));
        assert!(!c.is_insecure("corp.example"));
    }

    #[test]
    fn later_files_override_earlier_ones() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("registries.conf");
        let dropin = dir.path().join("50-local.conf");
        std::fs::write(&main, "unqualified-search-registries = [\"quay.io\"]\n[[registry]]\nlocation = \"127.0.0.1:5000\"\ninsecure = false\n").unwrap();
        std::fs::write(&dropin, "[[registry]]\nlocation = \"127.0.0.1:5000\"\ninsecure = true\n").unwrap();
        let c = RegistriesConf::load_files(&[main, dropin, dir.path().join("missing.conf")]).unwrap();
        assert_eq!(c.search, ["quay.io"]);
        assert_eq!(c.registries.len(), 1);
        assert!(c.is_insecure("127.0.0.1:5000"));
    }

    #[test]
    fn malformed_files_are_named() {
        let mut c = RegistriesConf::default();
        let e = c.merge("unqualified-search-registries = 1", Path::new("/etc/x.conf")).unwrap_err();
        assert_eq!(e.code(), "invalid-config");
        assert!(e.to_string().contains("/etc/x.conf"), "{e}");
        assert!(c.merge("short-name-mode = \"sometimes\"", Path::new("x")).is_err());
        assert!(c.merge("[[registry]]\ninsecure = true", Path::new("x")).is_err());
    }
}
