//! The names an archive gives its images, as full references with a tag, normalized as
//! Docker normalizes them (`busybox:1` is `docker.io/library/busybox:1`; a name with a
//! registry, `localhost/x:1` or `quay.io/a/b:2`, stays as it is). podman differs for a name
//! without a registry: it loads `busybox:1` as `localhost/busybox:1`. Here `tscontainer run
//! busybox:1` after a load finds what `docker load` would have named so.

use std::collections::HashMap;

use super::files::Archive;
use crate::error::Error;
use crate::reference::{valid_tag, Reference, ReferenceError};

/// Why an archive's name for an image is refused.
#[derive(Debug)]
pub(crate) struct BadName {
    reason: String,
    source: Option<ReferenceError>,
}

impl BadName {
    pub(crate) fn into_error(self, archive: &Archive) -> Error {
        match self.source {
            Some(source) => archive.invalid_because(self.reason, source),
            None => archive.invalid(self.reason),
        }
    }
}

/// containerd's (and Docker 25's) full name of an index.json entry.
pub(crate) const CONTAINERD_NAME: &str = "io.containerd.image.name";
/// The OCI layout's name of an index.json entry: a tag (`latest`, as umoci and containerd
/// write it) or a full reference (`localhost/x:1`, as podman and skopeo write it).
pub(crate) const OCI_REF_NAME: &str = "org.opencontainers.image.ref.name";

/// A docker-archive `RepoTags` entry: a reference with a tag, as `docker load` and `podman
/// load` require (a name without a tag, or with a digest, is refused by both).
pub(crate) fn repo_tag(entry: &str) -> Result<String, BadName> {
    let reference = Reference::parse(entry).map_err(|e| BadName {
        reason: format!("its RepoTags entry {entry:?} is not a valid reference"),
        source: Some(e),
    })?;
    if reference.tag().is_none() || reference.digest().is_some() {
        return Err(BadName { reason: format!("its RepoTags entry {entry:?} is not a name with a tag"), source: None });
    }
    Ok(reference.to_string())
}

/// The name an index.json entry's annotations give; `None` when they give none (a bare tag
/// names no repository).
pub(crate) fn annotated(annotations: Option<&HashMap<String, String>>) -> Result<Option<String>, BadName> {
    let Some(annotations) = annotations else { return Ok(None) };
    let (key, value) = match (annotations.get(CONTAINERD_NAME), annotations.get(OCI_REF_NAME)) {
        (Some(name), _) => (CONTAINERD_NAME, name),
        (None, Some(tag)) if valid_tag(tag) => return Ok(None),
        (None, Some(name)) => (OCI_REF_NAME, name),
        (None, None) => return Ok(None),
    };
    let reference = Reference::parse(value).map_err(|e| BadName {
        reason: format!("its index.json names an image {value:?} by {key}, which is not a reference"),
        source: Some(e),
    })?;
    Ok(match (reference.tag(), reference.digest()) {
        (Some(tag), _) => Some(format!("{}:{tag}", reference.name())),
        // Pinned to a digest only: no tag to record.
        (None, Some(_)) => None,
        (None, None) => Some(format!("{}:latest", reference.name())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn annotations(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn repo_tags_are_normalized_as_docker_does() {
        assert_eq!(repo_tag("busybox:latest").unwrap(), "docker.io/library/busybox:latest");
        assert_eq!(repo_tag("user/app:1").unwrap(), "docker.io/user/app:1");
        assert_eq!(repo_tag("localhost/tsfixture/busybox:latest").unwrap(), "localhost/tsfixture/busybox:latest");
        assert_eq!(repo_tag("127.0.0.1:5000/x:2").unwrap(), "127.0.0.1:5000/x:2");
        assert_eq!(repo_tag("busybox").unwrap_err().reason, "its RepoTags entry \"busybox\" is not a name with a tag");
        let pinned = format!("busybox@sha256:{}", "a".repeat(64));
        assert!(repo_tag(&pinned).is_err());
        assert!(repo_tag("Not/Valid:1").is_err());
    }

    #[test]
    fn index_annotations_name_images_as_containerd_and_podman_write_them() {
        let name = |pairs: &[(&str, &str)]| annotated(Some(&annotations(pairs)));
        assert_eq!(name(&[]).unwrap(), None);
        assert_eq!(annotated(None).unwrap(), None);
        // Docker 25: both; containerd's full name wins over the tag.
        let docker25 = [(CONTAINERD_NAME, "docker.io/library/busybox:latest"), (OCI_REF_NAME, "latest")];
        assert_eq!(name(&docker25).unwrap().as_deref(), Some("docker.io/library/busybox:latest"));
        // umoci, containerd: a tag alone names no repository.
        assert_eq!(name(&[(OCI_REF_NAME, "latest")]).unwrap(), None);
        assert_eq!(name(&[(OCI_REF_NAME, "busybox")]).unwrap(), None);
        // podman, skopeo: a full reference.
        let podman = [(OCI_REF_NAME, "localhost/tsfixture/busybox:configured")];
        assert_eq!(name(&podman).unwrap().as_deref(), Some("localhost/tsfixture/busybox:configured"));
        assert_eq!(name(&[(OCI_REF_NAME, "debian:12")]).unwrap().as_deref(), Some("docker.io/library/debian:12"));
        assert_eq!(name(&[(CONTAINERD_NAME, "quay.io/a/b")]).unwrap().as_deref(), Some("quay.io/a/b:latest"));
        let pinned = format!("quay.io/a/b@sha256:{}", "a".repeat(64));
        assert_eq!(name(&[(CONTAINERD_NAME, &pinned)]).unwrap(), None);
        let both = format!("quay.io/a/b:3@sha256:{}", "a".repeat(64));
        assert_eq!(name(&[(CONTAINERD_NAME, &both)]).unwrap().as_deref(), Some("quay.io/a/b:3"));
        assert!(name(&[(CONTAINERD_NAME, "Bad/Name:1")]).is_err());
    }
}
