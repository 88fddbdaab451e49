//! Image references as Docker parses and normalizes them (distribution/reference's grammar
//! and `ParseNormalizedNamed`): `debian` is `docker.io/library/debian`, a first component
//! with a `.` or `:`, `localhost`, or an upper-case letter names a registry, `index.docker.io`
//! is `docker.io`, and a 64-character hex string alone is an image id, not a name.

use std::fmt;
use std::str::FromStr;

use crate::digest::Digest;

pub const DOCKER_HUB: &str = "docker.io";
const NAME_MAX: usize = 255;
const TAG_MAX: usize = 128;

/// A normalized reference: registry (domain), repository path, and a tag and/or a digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<Digest>,
    /// The name as written when it named no registry (`debian`, `library/debian`): what a
    /// short-name resolution puts after each search registry.
    short_name: Option<String>,
}

/// One sentence on why a string is not a reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid reference {input:?}: {reason}")]
pub struct ReferenceError {
    pub input: String,
    pub reason: String,
}

fn invalid(input: &str, reason: impl Into<String>) -> ReferenceError {
    ReferenceError { input: input.to_string(), reason: reason.into() }
}

impl Reference {
    /// Parses and normalizes `input` as Docker does; no tag is added (see
    /// [`Reference::with_default_tag`]).
    pub fn parse(input: &str) -> Result<Reference, ReferenceError> {
        if input.is_empty() {
            return Err(invalid(input, "it is empty"));
        }
        if input.len() == 64 && input.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(invalid(input, "a 64-character hex string is an image id, not a repository name"));
        }
        let (rest, digest) = match input.split_once('@') {
            Some((rest, digest)) => {
                let digest = digest.parse::<Digest>().map_err(|e| invalid(input, e.to_string()))?;
                (rest, Some(digest))
            }
            None => (input, None),
        };
        let slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[slash..].rfind(':') {
            Some(i) => (&rest[..slash + i], Some(&rest[slash + i + 1..])),
            None => (rest, None),
        };
        if let Some(tag) = tag {
            if !valid_tag(tag) {
                return Err(invalid(
                    input,
                    format!(
                        "tag {tag:?} must be 1 to {TAG_MAX} letters, digits, '_', '.' or '-', not starting with '.' or '-'"
                    ),
                ));
            }
        }
        let (domain, remainder, short_name) = split_domain(name);
        if domain != DOCKER_HUB || short_name.is_none() {
            validate_domain(domain).map_err(|reason| invalid(input, reason))?;
        }
        if remainder.is_empty() {
            return Err(invalid(input, "the repository name is missing"));
        }
        if remainder.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(invalid(input, format!("repository name {remainder:?} must be lower-case")));
        }
        for component in remainder.split('/') {
            if !valid_path_component(component) {
                return Err(invalid(
                    input,
                    format!(
                        "path component {component:?} must be lower-case letters and digits separated by '.', '_', '__' or '-'"
                    ),
                ));
            }
        }
        let domain = if domain == "index.docker.io" { DOCKER_HUB } else { domain };
        let path = if domain == DOCKER_HUB && !remainder.contains('/') {
            format!("library/{remainder}")
        } else {
            remainder.to_string()
        };
        if domain.len() + 1 + path.len() > NAME_MAX {
            return Err(invalid(input, format!("the name is longer than {NAME_MAX} characters")));
        }
        Ok(Reference {
            domain: domain.to_string(),
            path,
            tag: tag.map(str::to_string),
            digest,
            short_name: short_name.map(str::to_string),
        })
    }

    /// `latest` when the reference has neither a tag nor a digest (Docker's `TagNameOnly`).
    pub fn with_default_tag(mut self) -> Reference {
        if self.tag.is_none() && self.digest.is_none() {
            self.tag = Some("latest".to_string());
        }
        self
    }

    pub fn with_tag(mut self, tag: &str) -> Result<Reference, ReferenceError> {
        if !valid_tag(tag) {
            return Err(invalid(tag, "not a valid tag"));
        }
        self.tag = Some(tag.to_string());
        Ok(self)
    }

    /// This reference without its tag, pinned to `digest` (a repo digest: `NAME@DIGEST`).
    pub fn with_digest_only(&self, digest: Digest) -> Reference {
        Reference { tag: None, digest: Some(digest), ..self.clone() }
    }

    /// The same name, tag and digest in `registry` (`host[:port][/namespace]`): one candidate
    /// of a short-name resolution. `None` for a reference that named its registry.
    pub fn in_registry(&self, registry: &str) -> Option<Result<Reference, ReferenceError>> {
        let short = self.short_name.as_deref()?;
        let mut s = format!("{registry}/{short}");
        if let Some(tag) = &self.tag {
            s = format!("{s}:{tag}");
        }
        if let Some(digest) = &self.digest {
            s = format!("{s}@{digest}");
        }
        Some(Reference::parse(&s).map(|mut r| {
            r.short_name = None;
            r
        }))
    }

    /// The registry: `docker.io`, `quay.io`, `127.0.0.1:5000`, `[::1]:5000`.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The repository path within the registry: `library/debian`.
    pub fn repository(&self) -> &str {
        &self.path
    }

    /// `domain/repository`, without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// The input named no registry (`debian`, `library/debian`, `user/app`).
    pub fn is_short(&self) -> bool {
        self.short_name.is_some()
    }

    /// The name as written when it named no registry (`debian`, `user/app`).
    pub fn short_name(&self) -> Option<&str> {
        self.short_name.as_deref()
    }

    /// The short form Docker prints: `debian:12`, `user/app`, `quay.io/x/y:1`.
    pub fn familiar(&self) -> String {
        let mut s = if self.domain == DOCKER_HUB {
            self.path.strip_prefix("library/").filter(|p| !p.contains('/')).unwrap_or(&self.path).to_string()
        } else {
            self.name()
        };
        self.push_tag_and_digest(&mut s);
        s
    }

    fn push_tag_and_digest(&self, s: &mut String) {
        if let Some(tag) = &self.tag {
            s.push(':');
            s.push_str(tag);
        }
        if let Some(digest) = &self.digest {
            s.push('@');
            s.push_str(&digest.to_string());
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = self.name();
        self.push_tag_and_digest(&mut s);
        f.write_str(&s)
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reference::parse(s)
    }
}

/// distribution/reference's `splitDockerDomain`: the first component is a registry when it
/// has a `.` or `:`, is `localhost`, or has an upper-case letter (which a path cannot).
/// Returns (domain, remainder, the short name when no registry was named).
fn split_domain(name: &str) -> (&str, &str, Option<&str>) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':']) || first == "localhost" || first.bytes().any(|b| b.is_ascii_uppercase()) =>
        {
            (first, rest, None)
        }
        _ => (DOCKER_HUB, name, Some(name)),
    }
}

/// `host[:port]` where host is a DNS name, an IPv4 address or a bracketed IPv6 address.
fn validate_domain(domain: &str) -> Result<(), String> {
    let bad = || format!("registry {domain:?} is not a host name or address with an optional port");
    let (host, port) = if let Some(rest) = domain.strip_prefix('[') {
        let (v6, after) = rest.split_once(']').ok_or_else(bad)?;
        if v6.is_empty() || !v6.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return Err(bad());
        }
        match after {
            "" => (None, None),
            p => (None, Some(p.strip_prefix(':').ok_or_else(bad)?)),
        }
    } else {
        match domain.split_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(domain), None),
        }
    };
    if let Some(host) = host {
        let component_ok = |c: &str| {
            let b = c.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter().all(|&x| x.is_ascii_alphanumeric() || x == b'-')
        };
        if !host.split('.').all(component_ok) {
            return Err(bad());
        }
    }
    if let Some(port) = port {
        if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
    }
    Ok(())
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn valid_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    let mut i = 0;
    loop {
        let start = i;
        while i < b.len() && alnum(b[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i == b.len() {
            return true;
        }
        let sep = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let ok = match &b[sep..i] {
            b"." | b"_" | b"__" => true,
            s => s.iter().all(|&x| x == b'-'),
        };
        if !ok {
            return false;
        }
    }
}

/// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`
pub(crate) fn valid_tag(tag: &str) -> bool {
    let b = tag.as_bytes();
    let word = |x: u8| x.is_ascii_alphanumeric() || x == b'_';
    !b.is_empty() && b.len() <= TAG_MAX && word(b[0]) && b.iter().all(|&x| word(x) || x == b'.' || x == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c";

    fn full(s: &str) -> String {
        Reference::parse(s).unwrap_or_else(|e| panic!("{s}: {e}")).to_string()
    }

    #[test]
    fn normalizes_as_docker_does() {
        for (input, expected) in [
            ("debian", "docker.io/library/debian"),
            ("debian:12", "docker.io/library/debian:12"),
            ("library/debian", "docker.io/library/debian"),
            ("docker.io/debian", "docker.io/library/debian"),
            ("index.docker.io/debian", "docker.io/library/debian"),
            ("index.docker.io/user/app", "docker.io/user/app"),
            ("user/app:v1", "docker.io/user/app:v1"),
            ("docker.io/library/foo/bar", "docker.io/library/foo/bar"),
            ("test_com/foo", "docker.io/test_com/foo"),
            ("test.com/foo", "test.com/foo"),
            ("test-com:8080/foo", "test-com:8080/foo"),
            ("xn--n3h.com:18080/foo", "xn--n3h.com:18080/foo"),
            ("localhost/foo", "localhost/foo"),
            ("localhost:5000/ns/name:tag", "localhost:5000/ns/name:tag"),
            ("127.0.0.1:5000/debian", "127.0.0.1:5000/debian"),
            ("[fc00::1]:5000/docker/docker", "[fc00::1]:5000/docker/docker"),
            ("Foo/bar", "Foo/bar"),
            ("192.168.0.1:80", "docker.io/library/192.168.0.1:80"),
            (&format!("redis@{D}"), &format!("docker.io/library/redis@{D}")),
            (&format!("busybox:latest@{D}"), &format!("docker.io/library/busybox:latest@{D}")),
            (
                "docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
                "docker.io/library/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
            ),
            (
                "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
                "docker.io/library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
            ),
        ] {
            assert_eq!(full(input), expected, "{input}");
        }
    }

    #[test]
    fn components_default_tag_and_familiar_form() {
        let r = Reference::parse("debian").unwrap();
        assert_eq!((r.domain(), r.repository(), r.tag(), r.digest()), ("docker.io", "library/debian", None, None));
        assert!(r.is_short());
        let r = r.with_default_tag();
        assert_eq!(r.to_string(), "docker.io/library/debian:latest");
        assert_eq!(r.familiar(), "debian:latest");
        let pinned = Reference::parse(&format!("debian@{D}")).unwrap().with_default_tag();
        assert_eq!(pinned.tag(), None, "a digest alone gets no default tag");
        assert_eq!(Reference::parse("library/foo/bar").unwrap().familiar(), "library/foo/bar");
        assert_eq!(Reference::parse("quay.io/a/b:1").unwrap().familiar(), "quay.io/a/b:1");
        assert!(!Reference::parse("docker.io/debian").unwrap().is_short());
        assert!(!Reference::parse("localhost/x").unwrap().is_short());
    }

    #[test]
    fn a_short_name_moves_to_each_search_registry() {
        let r = Reference::parse("debian:12").unwrap();
        assert_eq!(r.in_registry("quay.io").unwrap().unwrap().to_string(), "quay.io/debian:12");
        assert_eq!(r.in_registry("docker.io").unwrap().unwrap().to_string(), "docker.io/library/debian:12");
        assert_eq!(
            r.in_registry("127.0.0.1:5000/mirror").unwrap().unwrap().to_string(),
            "127.0.0.1:5000/mirror/debian:12"
        );
        assert!(Reference::parse("quay.io/x").unwrap().in_registry("docker.io").is_none());
    }

    #[test]
    fn refuses_what_docker_refuses() {
        for input in [
            "",
            "https://github.com/docker/docker",
            "docker/Docker",
            "-docker",
            "-docker/docker",
            "-docker.io/docker/docker",
            "docker///docker",
            "docker.io/docker/Docker",
            "docker.io/docker///docker",
            "[fc00::1]",
            "[fc00::1]:5000",
            "fc00::1:5000/debian",
            "[fe80::1%eth0]:5000/debian",
            "[2001:db8:3:4::192.0.2.33]:5000/debian",
            "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
            "docker-/docker",
            "-docker-/docker",
            "____/____",
            "_docker/_docker",
            "dock..er/docker",
            "dock_.er/docker",
            "dock-.er/docker",
            "dock___er/docker",
            "docker/",
            "debian:",
            "debian:-x",
            "debian:.x",
            "debian@sha256:abc",
            "debian@md5:d41d8cd98f00b204e9800998ecf8427e",
            "a:b:c",
            "debian:12@",
        ] {
            assert!(Reference::parse(input).is_err(), "{input:?} was accepted");
        }
        let long_ns = format!("{}/docker", "a".repeat(256));
        assert!(Reference::parse(&long_ns).is_err());
        let long_tag = format!("debian:{}", "a".repeat(129));
        assert!(Reference::parse(&long_tag).is_err());
        assert!(Reference::parse(&format!("debian:{}", "a".repeat(128))).is_ok());
    }

    #[test]
    fn valid_names_from_docker_vectors() {
        for input in [
            "docker/docker",
            "docker-rules/docker",
            "docker---rules/docker",
            "doc/docker",
            "d/docker",
            "jess/t",
            "dock__er/docker",
            "192.168.0.1",
            "192.168.0.1:8/debian",
            "[fc00:1:2:3:4:5:6:7]:5000/library/debian",
            "DOCKER/docker",
        ] {
            assert!(Reference::parse(input).is_ok(), "{input:?} was refused");
        }
    }

    #[test]
    fn errors_are_one_sentence_naming_the_input() {
        let e = Reference::parse("Debian/Ubuntu").unwrap_err();
        assert_eq!(e.to_string(), "invalid reference \"Debian/Ubuntu\": repository name \"Ubuntu\" must be lower-case");
        let e = Reference::parse("debian@sha256:abc").unwrap_err().to_string();
        assert!(e.starts_with("invalid reference \"debian@sha256:abc\": invalid digest"), "{e}");
    }
}
