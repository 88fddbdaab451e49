//! docker-archive: what `docker save` (before Docker 25), `podman save` and `skopeo copy
//! docker-archive:` write. `manifest.json` lists each image: its config file, its names
//! (`RepoTags`) and its layer files, in any order in the tar and at any path (skopeo and podman
//! write `HEX.tar` with `ID/layer.tar` links to them, Docker `ID/layer.tar`, Docker 25
//! `blobs/sha256/HEX`).
//!
//! Such an archive has no manifest of its own. As podman and containerd do when they load
//! one, an image manifest is made for it (here an OCI one: the config's digest, then each
//! layer file's digest, size and real compression), and the image's id is its config's
//! digest, so the same archive loaded by podman, by Docker or here has the same id. A
//! layer file is most often an uncompressed tar: its digest is then its diff_id, which the
//! pipeline checks as for any layer, and that tar is the blob the store keeps.
//!
//! Written: `manifest.json` first, then each config as `HEX.json` (its digest's) and each
//! layer as `HEX.tar` (its diff_id's), uncompressed (what `docker load` of every version and `podman load`
//! read). There is no `repositories` file and no `ID/` directories: they serve Docker
//! before 1.10 only, and every loader since reads `manifest.json`.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::sync::Arc;

use oci_spec::image::Descriptor;

use super::files::{Archive, Member};
use super::layer_media_type;
use super::load::ArchiveImage;
use super::save::{Output, SaveImage, Verified};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::layer::Compression;
use crate::manifest::{FetchedManifest, CONFIG_LIMIT, MANIFEST_LIMIT, OCI_CONFIG, OCI_MANIFEST};
use crate::pull::ImageSource;
use crate::store::Store;

pub(crate) const MANIFEST_JSON: &str = "manifest.json";

#[derive(serde::Serialize, serde::Deserialize)]
struct ManifestItem {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers", default)]
    layers: Vec<String>,
}

#[derive(serde::Deserialize)]
struct ConfigRootfs {
    rootfs: Rootfs,
}

#[derive(serde::Deserialize)]
struct Rootfs {
    diff_ids: Vec<Digest>,
}

/// The images of a docker-archive, each checked as far as it can be without reading its
/// layers: its config read, every layer file found.
pub(crate) fn images(archive: &Arc<Archive>, manifest: &Member) -> Result<Vec<ArchiveImage>> {
    let what = format!("{MANIFEST_JSON} of {}", archive.name());
    let bytes = manifest.read(MANIFEST_LIMIT, &what)?;
    let items: Vec<ManifestItem> = serde_json::from_slice(&bytes)
        .map_err(|e| archive.invalid_because(format!("its {MANIFEST_JSON} is not a list of images"), e))?;
    items.iter().enumerate().map(|(i, item)| image(archive, i, item)).collect()
}

fn image(archive: &Arc<Archive>, index: usize, item: &ManifestItem) -> Result<ArchiveImage> {
    let missing = |what: &str, path: &str| {
        archive.invalid(format!("{MANIFEST_JSON} names {what} {path}, which it does not hold"))
    };
    let config_member = archive.get(&item.config)?.ok_or_else(|| missing("the config", &item.config))?;
    let what = format!("the config {} in {}", super::files::tame(&item.config), archive.name());
    let config = config_member.read(CONFIG_LIMIT, &what)?;
    let rootfs: ConfigRootfs = serde_json::from_slice(&config)
        .map_err(|e| archive.invalid_because(format!("its config {} is not an image config", item.config), e))?;
    let diff_ids = rootfs.rootfs.diff_ids;
    if diff_ids.len() != item.layers.len() {
        return Err(archive.invalid(format!(
            "{MANIFEST_JSON} lists {} layers for the config {}, which has {} diff_ids",
            item.layers.len(),
            item.config,
            diff_ids.len()
        )));
    }
    let config_digest = Digest::sha256_of(&config);
    let mut blobs = HashMap::new();
    blobs.insert(config_digest.clone(), config_member);
    let mut layers = Vec::new();
    for (path, diff_id) in item.layers.iter().zip(diff_ids) {
        let member = archive.get(path)?.ok_or_else(|| missing("the layer", path))?;
        let compression = Compression::detect(&member.prefix(4)?);
        let digest = match compression {
            // An uncompressed layer is its own diff_id (checked as it is read).
            None => diff_id,
            // Docker 25 names a blob by its digest (checked as it is read).
            Some(_) => match blob_path_digest(member.path()) {
                Some(digest) => digest,
                None => member.sha256()?,
            },
        };
        layers.push(serde_json::json!({
            "mediaType": layer_media_type(compression),
            "digest": digest.to_string(),
            "size": member.size(),
        }));
        blobs.insert(digest, member);
    }
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest.to_string(), "size": config.len()},
        "layers": layers,
    });
    let bytes = serde_json::to_vec(&manifest).map_err(|e| Error::InvalidContent {
        what: format!("the manifest made for {}", item.config),
        source: e.into(),
    })?;
    let digest = Digest::sha256_of(&bytes);
    let names = item
        .repo_tags
        .iter()
        .flatten()
        .map(|tag| super::names::repo_tag(tag).map_err(|bad| bad.into_error(archive)))
        .collect::<Result<Vec<_>>>()?;
    let shown = names.first().cloned().unwrap_or_else(|| format!("image {} of {}", index + 1, archive.name()));
    let manifest = FetchedManifest { bytes, media_type: Some(OCI_MANIFEST.to_string()), digest };
    let source = Box::new(DockerArchiveImage { archive: archive.clone(), manifest, blobs });
    Ok(ArchiveImage { source, index: false, names, shown })
}

/// `blobs/ALG/HEX` (Docker 25's layout inside a docker-archive).
fn blob_path_digest(path: &str) -> Option<Digest> {
    let rest = path.strip_prefix("blobs/")?;
    let (algorithm, hex) = rest.split_once('/')?;
    format!("{algorithm}:{hex}").parse().ok()
}

struct DockerArchiveImage {
    archive: Arc<Archive>,
    manifest: FetchedManifest,
    blobs: HashMap<Digest, Member>,
}

impl ImageSource for DockerArchiveImage {
    fn manifest(&self, digest: Option<&Digest>) -> Result<FetchedManifest> {
        match digest {
            Some(d) if *d != self.manifest.digest => Err(self.archive.invalid(format!("it has no manifest {d}"))),
            _ => Ok(self.manifest.clone()),
        }
    }

    fn blob(&self, descriptor: &Descriptor) -> Result<Box<dyn Read + Send>> {
        let digest = Digest::try_from(descriptor.digest())?;
        let member = self.blobs.get(&digest).ok_or_else(|| self.archive.invalid(format!("it has no blob {digest}")))?;
        Ok(Box::new(member.reader()))
    }
}

/// Writes a docker-archive of `images`.
pub(crate) fn write(store: &Store, images: &[SaveImage], out: &mut dyn Output) -> Result<()> {
    let items: Vec<ManifestItem> = images
        .iter()
        .map(|image| ManifestItem {
            config: format!("{}.json", image.record.id.hex()),
            repo_tags: Some(image.names.clone()),
            layers: image.layers.iter().map(|l| format!("{}.tar", l.diff_id.hex())).collect(),
        })
        .collect();
    let manifest = serde_json::to_vec(&items)
        .map_err(|e| Error::InvalidContent { what: MANIFEST_JSON.into(), source: e.into() })?;
    out.file(MANIFEST_JSON, manifest.len() as u64, &mut &manifest[..])?;
    let mut written = HashSet::new();
    for image in images {
        if written.insert(&image.record.id) {
            let path = format!("{}.json", image.record.id.hex());
            out.file(&path, image.config.len() as u64, &mut &image.config[..])?;
        }
    }
    for layer in images.iter().flat_map(|i| &i.layers) {
        if !written.insert(&layer.diff_id) {
            continue;
        }
        // The stored blob, decompressed: the tar whose digest is the diff_id, checked as
        // it is written.
        let what = format!("layer {} in the store", layer.diff_id);
        let blob = super::save::open_blob(store, &layer.blob.digest)?;
        let (tar, _) = crate::layer::Decoder::new(blob)
            .map_err(|e| Error::Unpack { layer: layer.blob.digest.clone(), source: e })?;
        let mut verified = Verified::new(tar, &layer.diff_id, layer.size, what);
        let path = format!("{}.tar", layer.diff_id.hex());
        out.file(&path, layer.size, &mut verified).map_err(|e| verified.failure().unwrap_or(e))?;
    }
    Ok(())
}
