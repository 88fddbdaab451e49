//! Manifests, indexes and configs: OCI image manifest and index, Docker schema 2 manifest and
//! manifest list (both parse into `oci-spec`'s types), Docker schema 1 refused in one
//! sentence, size limits on everything that is read whole.

use oci_spec::image::{ImageConfiguration, ImageIndex, ImageManifest};

use crate::error::{Error, Result};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";

/// What a manifest request accepts, best first. Schema 1 is listed last so that a registry
/// holding only a schema 1 image serves it and the refusal names the real reason, instead of
/// "manifest unknown".
pub const MANIFEST_ACCEPT: &[&str] =
    &[OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST, DOCKER_SCHEMA1_SIGNED, DOCKER_SCHEMA1];

/// Manifests and configs are read whole into memory: larger ones are refused (containerd and
/// containers/image use 4 MiB for manifests too).
pub const MANIFEST_LIMIT: u64 = 4 << 20;
pub const CONFIG_LIMIT: u64 = 4 << 20;

/// A manifest as a source served it, verified against the digest it was asked by (or, for a
/// tag, the one the registry announced in `Docker-Content-Digest`, when it did).
#[derive(Debug, Clone)]
pub struct FetchedManifest {
    pub bytes: Vec<u8>,
    /// The `Content-Type` it was served with, if any.
    pub media_type: Option<String>,
    pub digest: crate::digest::Digest,
}

#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // one per pull, moved once
pub enum Manifest {
    Image(ImageManifest),
    Index(ImageIndex),
}

#[derive(serde::Deserialize)]
struct Probe {
    #[serde(rename = "schemaVersion")]
    schema_version: Option<u32>,
    #[serde(rename = "mediaType")]
    media_type: Option<String>,
    manifests: Option<serde::de::IgnoredAny>,
    config: Option<serde::de::IgnoredAny>,
}

fn invalid(what: &str, source: impl Into<crate::error::BoxError>) -> Error {
    Error::InvalidContent { what: what.to_string(), source: source.into() }
}

/// Parses a manifest or index served as `content_type` (the `Content-Type` header, or the
/// descriptor's media type). `what` names it in errors (the reference).
pub fn parse_manifest(bytes: &[u8], content_type: Option<&str>, what: &str) -> Result<Manifest> {
    if bytes.len() as u64 > MANIFEST_LIMIT {
        return Err(Error::TooLarge { what: format!("the manifest of {what}"), limit: MANIFEST_LIMIT });
    }
    let probe: Probe = serde_json::from_slice(bytes).map_err(|e| invalid(&format!("the manifest of {what}"), e))?;
    if probe.schema_version == Some(1) {
        return Err(Error::Schema1(what.to_string()));
    }
    let header =
        content_type.map(|c| c.split(';').next().unwrap_or("").trim()).filter(|c| c.starts_with("application/vnd."));
    // The body's own mediaType wins over a header; a body without one (OCI allows that) is
    // recognized by its shape.
    let media_type = match (probe.media_type.as_deref(), header) {
        (Some(m), _) => m,
        (None, Some(h)) => h,
        (None, None) if probe.manifests.is_some() => OCI_INDEX,
        (None, None) if probe.config.is_some() => OCI_MANIFEST,
        (None, None) => {
            return Err(invalid(&format!("the manifest of {what}"), "neither an image manifest nor an index"))
        }
    };
    match media_type {
        OCI_MANIFEST | DOCKER_MANIFEST => {
            let m: ImageManifest =
                serde_json::from_slice(bytes).map_err(|e| invalid(&format!("the manifest of {what}"), e))?;
            let config_type = m.config().media_type().to_string();
            if config_type != OCI_CONFIG && config_type != DOCKER_CONFIG {
                return Err(Error::UnsupportedMediaType {
                    what: format!("the config of {what} (not a container image)"),
                    media_type: config_type,
                });
            }
            Ok(Manifest::Image(m))
        }
        OCI_INDEX | DOCKER_MANIFEST_LIST => {
            let i: ImageIndex =
                serde_json::from_slice(bytes).map_err(|e| invalid(&format!("the index of {what}"), e))?;
            Ok(Manifest::Index(i))
        }
        DOCKER_SCHEMA1 | DOCKER_SCHEMA1_SIGNED => Err(Error::Schema1(what.to_string())),
        other => {
            Err(Error::UnsupportedMediaType { what: format!("the manifest of {what}"), media_type: other.to_string() })
        }
    }
}

/// Parses an image config and checks it against its manifest: one diff_id per layer.
pub fn parse_config(bytes: &[u8], manifest: &ImageManifest, what: &str) -> Result<ImageConfiguration> {
    if bytes.len() as u64 > CONFIG_LIMIT {
        return Err(Error::TooLarge { what: format!("the config of {what}"), limit: CONFIG_LIMIT });
    }
    let config: ImageConfiguration =
        serde_json::from_slice(bytes).map_err(|e| invalid(&format!("the config of {what}"), e))?;
    let diff_ids = config.rootfs().diff_ids();
    if diff_ids.len() != manifest.layers().len() {
        return Err(invalid(
            &format!("the config of {what}"),
            format!("it lists {} layer diff_ids for the manifest's {} layers", diff_ids.len(), manifest.layers().len()),
        ));
    }
    for d in diff_ids {
        d.parse::<crate::digest::Digest>().map_err(|e| invalid(&format!("the config of {what}"), e))?;
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CFG: &str = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
    const L1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

    fn image_manifest(media_type: Option<&str>, config_type: &str) -> Vec<u8> {
        let mut v = serde_json::json!({
            "schemaVersion": 2,
            "config": {"mediaType": config_type, "digest": CFG, "size": 2},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": L1, "size": 10}],
        });
        if let Some(m) = media_type {
            v["mediaType"] = serde_json::json!(m);
        }
        serde_json::to_vec(&v).unwrap()
    }

    #[test]
    fn oci_and_docker_manifests_parse_alike() {
        for (body_type, header) in [
            (Some(OCI_MANIFEST), None),
            (Some(DOCKER_MANIFEST), Some("application/json")),
            (None, Some(OCI_MANIFEST)),
            (None, None),
        ] {
            let config = if body_type == Some(DOCKER_MANIFEST) { DOCKER_CONFIG } else { OCI_CONFIG };
            match parse_manifest(&image_manifest(body_type, config), header, "x").unwrap() {
                Manifest::Image(m) => assert_eq!(m.layers().len(), 1),
                Manifest::Index(_) => panic!("an image manifest parsed as an index"),
            }
        }
    }

    #[test]
    fn indexes_and_lists_parse() {
        for media_type in [OCI_INDEX, DOCKER_MANIFEST_LIST] {
            let body = serde_json::json!({"schemaVersion": 2, "mediaType": media_type, "manifests": [
                {"mediaType": DOCKER_MANIFEST, "digest": L1, "size": 5, "platform": {"architecture": "amd64", "os": "linux"}}
            ]});
            assert!(matches!(parse_manifest(body.to_string().as_bytes(), None, "x"), Ok(Manifest::Index(_))));
        }
        let bare = serde_json::json!({"schemaVersion": 2, "manifests": []});
        assert!(matches!(parse_manifest(bare.to_string().as_bytes(), None, "x"), Ok(Manifest::Index(_))));
    }

    #[test]
    fn schema1_is_refused_in_one_sentence() {
        let body = br#"{"schemaVersion": 1, "name": "x", "tag": "latest", "fsLayers": []}"#;
        let e = parse_manifest(body, Some(DOCKER_SCHEMA1_SIGNED), "docker.io/library/old:1").unwrap_err();
        assert_eq!(e.code(), "unsupported-media-type");
        assert_eq!(
            e.to_string(),
            "docker.io/library/old:1 is a Docker schema 1 image, which is no longer supported: push it again with a current tool"
        );
    }

    #[test]
    fn refuses_unknown_types_non_images_and_oversized_manifests() {
        let e =
            parse_manifest(&image_manifest(Some("application/vnd.example+json"), OCI_CONFIG), None, "x").unwrap_err();
        assert_eq!(e.code(), "unsupported-media-type");
        let helm = image_manifest(Some(OCI_MANIFEST), "application/vnd.cncf.helm.config.v1+json");
        let e = parse_manifest(&helm, None, "x").unwrap_err();
        assert_eq!(e.code(), "unsupported-media-type");
        assert!(e.to_string().contains("application/vnd.cncf.helm.config.v1+json"), "{e}");
        let big = vec![b' '; MANIFEST_LIMIT as usize + 1];
        assert_eq!(parse_manifest(&big, None, "x").unwrap_err().code(), "too-large");
        assert_eq!(parse_manifest(b"{not json", None, "x").unwrap_err().code(), "invalid-content");
        assert_eq!(parse_manifest(b"{}", None, "x").unwrap_err().code(), "invalid-content");
    }

    #[test]
    fn a_config_must_list_one_diff_id_per_layer() {
        let m = match parse_manifest(&image_manifest(None, OCI_CONFIG), None, "x").unwrap() {
            Manifest::Image(m) => m,
            Manifest::Index(_) => unreachable!(),
        };
        let config = |ids: &[&str]| {
            serde_json::to_vec(&serde_json::json!({
                "architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": ids}
            }))
            .unwrap()
        };
        assert!(parse_config(&config(&[L1]), &m, "x").is_ok());
        assert_eq!(parse_config(&config(&[]), &m, "x").unwrap_err().code(), "invalid-content");
        assert_eq!(parse_config(&config(&["sha256:zz"]), &m, "x").unwrap_err().code(), "invalid-content");
        assert_eq!(parse_config(&vec![b' '; CONFIG_LIMIT as usize + 1], &m, "x").unwrap_err().code(), "too-large");
    }
}
