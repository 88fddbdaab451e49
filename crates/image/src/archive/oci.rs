//! OCI image layouts (image-spec `image-layout.md`): a directory, or the same files in a tar
//! (`oci-archive`). `oci-layout` says the version, `index.json` lists the images (each entry
//! an image manifest, or an index from which the pipeline picks the platform), and every
//! manifest, config and layer is a blob at `blobs/ALG/HEX`. An entry's name is containerd's
//! `io.containerd.image.name` annotation, else `org.opencontainers.image.ref.name` when that
//! is a reference and not a bare tag (`names`); entries of one manifest are one image.
//!
//! Written: every blob as stored (compressed layers as pulled), the image's manifest as
//! stored when it is an OCI manifest whose blobs are all there, else an OCI manifest made
//! for it (same config, so the same image id), and one index.json entry per name carrying
//! both annotations with the full name (podman and skopeo read `ref.name`, containerd and
//! Docker 25 `io.containerd.image.name`), with the image's platform.

use std::collections::HashSet;
use std::io::Read;
use std::sync::Arc;

use oci_spec::image::{Descriptor, ImageIndex};

use super::files::{Archive, Member};
use super::layer_media_type;
use super::load::ArchiveImage;
use super::names::{annotated, CONTAINERD_NAME, OCI_REF_NAME};
use super::save::{open_blob, Output, SaveImage, Verified};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::layer::Compression;
use crate::manifest::{FetchedManifest, DOCKER_MANIFEST_LIST, MANIFEST_LIMIT, OCI_CONFIG, OCI_INDEX, OCI_MANIFEST};
use crate::pull::ImageSource;
use crate::store::Store;

pub(crate) const OCI_LAYOUT: &str = "oci-layout";
const INDEX_JSON: &str = "index.json";
const LAYOUT_VERSION: &str = "1.0.0";

#[derive(serde::Deserialize)]
struct LayoutFile {
    #[serde(rename = "imageLayoutVersion")]
    version: String,
}

fn blob_path(digest: &Digest) -> String {
    format!("blobs/{}/{}", digest.algorithm().name(), digest.hex())
}

/// The images of an OCI layout; their manifests are read by the pipeline.
pub(crate) fn images(archive: &Arc<Archive>, layout: &Member) -> Result<Vec<ArchiveImage>> {
    let bytes = layout.read(4096, &format!("{OCI_LAYOUT} of {}", archive.name()))?;
    let version = serde_json::from_slice::<LayoutFile>(&bytes)
        .map_err(|e| archive.invalid_because(format!("its {OCI_LAYOUT} file cannot be parsed"), e))?
        .version;
    if version.split('.').next() != Some("1") {
        return Err(archive.invalid(format!("it is an OCI layout of version {version}, not 1.x")));
    }
    let index =
        archive.get(INDEX_JSON)?.ok_or_else(|| archive.invalid(format!("it has {OCI_LAYOUT} but no {INDEX_JSON}")))?;
    let bytes = index.read(MANIFEST_LIMIT, &format!("{INDEX_JSON} of {}", archive.name()))?;
    let index: ImageIndex = serde_json::from_slice(&bytes)
        .map_err(|e| archive.invalid_because(format!("its {INDEX_JSON} cannot be parsed"), e))?;

    let mut images: Vec<ArchiveImage> = Vec::new();
    let mut tops: Vec<Digest> = Vec::new();
    for descriptor in index.manifests() {
        let digest = Digest::try_from(descriptor.digest())?;
        let name = annotated(descriptor.annotations().as_ref()).map_err(|bad| bad.into_error(archive))?;
        if let Some(i) = tops.iter().position(|d| *d == digest) {
            let names = &mut images[i].names;
            if let Some(name) = name.filter(|n| !names.contains(n)) {
                names.push(name);
            }
            continue;
        }
        let shown = name.clone().unwrap_or_else(|| format!("image {digest} of {}", archive.name()));
        let media_type = descriptor.media_type().to_string();
        let index = media_type == OCI_INDEX || media_type == DOCKER_MANIFEST_LIST;
        let source = Box::new(LayoutImage { archive: archive.clone(), top: descriptor.clone() });
        images.push(ArchiveImage { source, index, names: name.into_iter().collect(), shown });
        tops.push(digest);
    }
    Ok(images)
}

struct LayoutImage {
    archive: Arc<Archive>,
    top: Descriptor,
}

impl LayoutImage {
    fn member(&self, digest: &Digest) -> Result<Member> {
        self.archive.get(&blob_path(digest))?.ok_or_else(|| self.archive.invalid(format!("it has no blob {digest}")))
    }
}

impl ImageSource for LayoutImage {
    fn manifest(&self, digest: Option<&Digest>) -> Result<FetchedManifest> {
        let top = Digest::try_from(self.top.digest())?;
        let digest = digest.unwrap_or(&top);
        let what = format!("the manifest {digest} in {}", self.archive.name());
        let bytes = self.member(digest)?.read(MANIFEST_LIMIT, &what)?;
        if *digest == top && bytes.len() as u64 != self.top.size() {
            return Err(Error::SizeMismatch { what, expected: self.top.size(), actual: bytes.len() as u64 });
        }
        let actual = Digest::of(digest.algorithm(), &bytes);
        if actual != *digest {
            return Err(Error::DigestMismatch { what, expected: digest.clone(), actual });
        }
        let media_type = (*digest == top).then(|| self.top.media_type().to_string());
        Ok(FetchedManifest { bytes, media_type, digest: actual })
    }

    fn blob(&self, descriptor: &Descriptor) -> Result<Box<dyn Read + Send>> {
        Ok(Box::new(self.member(&Digest::try_from(descriptor.digest())?)?.reader()))
    }
}

/// Writes an OCI layout of `images`: blobs first, `index.json` last.
pub(crate) fn write(store: &Store, images: &[SaveImage], out: &mut dyn Output) -> Result<()> {
    let layout = format!(r#"{{"imageLayoutVersion":"{LAYOUT_VERSION}"}}"#);
    out.file(OCI_LAYOUT, layout.len() as u64, &mut layout.as_bytes())?;
    let mut blobs = Blobs { out, written: HashSet::new(), dirs: HashSet::new() };
    let mut entries = Vec::new();
    for image in images {
        blobs.bytes(&image.record.id, &image.config)?;
        for layer in &image.layers {
            blobs.copy(store, &layer.blob.digest, layer.blob.size)?;
        }
        let manifest = manifest_for(store, image)?;
        let digest = Digest::sha256_of(&manifest);
        blobs.bytes(&digest, &manifest)?;
        let mut platform = image.record.platform.split('/');
        let mut descriptor = serde_json::json!({
            "mediaType": OCI_MANIFEST,
            "digest": digest.to_string(),
            "size": manifest.len(),
        });
        if let (Some(os), Some(architecture)) = (platform.next(), platform.next()) {
            descriptor["platform"] = serde_json::json!({"os": os, "architecture": architecture});
            if let Some(variant) = platform.next() {
                descriptor["platform"]["variant"] = serde_json::json!(variant);
            }
        }
        if image.names.is_empty() {
            entries.push(descriptor.clone());
        }
        for name in &image.names {
            let mut named = descriptor.clone();
            named["annotations"] = serde_json::json!({CONTAINERD_NAME: name, OCI_REF_NAME: name});
            entries.push(named);
        }
    }
    let index = serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries});
    let index =
        serde_json::to_vec(&index).map_err(|e| Error::InvalidContent { what: INDEX_JSON.into(), source: e.into() })?;
    out.file(INDEX_JSON, index.len() as u64, &mut &index[..])
}

/// The image's stored manifest when it is an OCI one naming exactly the blobs written, else
/// an OCI manifest of the same config and those blobs.
fn manifest_for(store: &Store, image: &SaveImage) -> Result<Vec<u8>> {
    let what = format!("the manifest of image {}", image.record.id);
    let stored = store.read_blob(&image.record.manifest, MANIFEST_LIMIT, &what)?;
    if let Ok(m) = serde_json::from_slice::<serde_json::Value>(&stored) {
        let layers: Option<Vec<&str>> =
            m["layers"].as_array().map(|ls| ls.iter().filter_map(|l| l["digest"].as_str()).collect());
        let written: Vec<String> = image.layers.iter().map(|l| l.blob.digest.to_string()).collect();
        // (An OCI manifest may leave its own media type out.)
        if (m["mediaType"] == OCI_MANIFEST || m["mediaType"].is_null())
            && m["config"]["mediaType"] == OCI_CONFIG
            && m["config"]["digest"] == image.record.id.to_string().as_str()
            && layers.is_some_and(|ls| ls == written)
        {
            return Ok(stored);
        }
    }
    let mut layers = Vec::new();
    for layer in &image.layers {
        let mut prefix = Vec::new();
        open_blob(store, &layer.blob.digest)?.take(4).read_to_end(&mut prefix).map_err(|e| Error::Io {
            op: "read",
            path: store.blob_path(&layer.blob.digest),
            source: e,
        })?;
        layers.push(serde_json::json!({
            "mediaType": layer_media_type(Compression::detect(&prefix)),
            "digest": layer.blob.digest.to_string(),
            "size": layer.blob.size,
        }));
    }
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": image.record.id.to_string(), "size": image.config.len()},
        "layers": layers,
    });
    serde_json::to_vec(&manifest).map_err(|e| Error::InvalidContent { what, source: e.into() })
}

/// Blobs written once each, under `blobs/ALG/`.
struct Blobs<'a> {
    out: &'a mut dyn Output,
    written: HashSet<Digest>,
    dirs: HashSet<&'static str>,
}

impl Blobs<'_> {
    fn start(&mut self, digest: &Digest) -> Result<bool> {
        if !self.written.insert(digest.clone()) {
            return Ok(false);
        }
        let algorithm = digest.algorithm().name();
        if self.dirs.is_empty() {
            self.out.dir("blobs")?;
        }
        if self.dirs.insert(algorithm) {
            self.out.dir(&format!("blobs/{algorithm}"))?;
        }
        Ok(true)
    }

    fn bytes(&mut self, digest: &Digest, bytes: &[u8]) -> Result<()> {
        if self.start(digest)? {
            self.out.file(&blob_path(digest), bytes.len() as u64, &mut &bytes[..])?;
        }
        Ok(())
    }

    /// A stored blob, checked against its digest and size as it is copied.
    fn copy(&mut self, store: &Store, digest: &Digest, size: u64) -> Result<()> {
        if self.start(digest)? {
            let what = format!("blob {digest} in the store");
            let mut verified = Verified::new(open_blob(store, digest)?, digest, size, what);
            self.out.file(&blob_path(digest), size, &mut verified).map_err(|e| verified.failure().unwrap_or(e))?;
        }
        Ok(())
    }
}
