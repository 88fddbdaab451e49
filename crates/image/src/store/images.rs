//! Image metadata: one `images.json` rewritten atomically under `images.lock`. An image's id
//! is its config's digest; its names are full references with a tag, its digests the
//! `NAME@DIGEST` forms it was pulled by. A name belongs to one image at a time: tagging or
//! pulling a name again moves it, and an image left without names is dangling.

use std::collections::BTreeMap;
use std::path::PathBuf;

use oci_spec::image::ImageConfiguration;

use super::lock::{FileLock, StoreLock};
use super::Store;
use crate::digest::Digest;
use crate::error::{io, Error, Result};
use crate::manifest::CONFIG_LIMIT;
use crate::reference::Reference;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImageRecord {
    /// The config's digest.
    pub id: Digest,
    /// Full references with a tag: `docker.io/library/debian:12`.
    pub names: Vec<String>,
    /// Repo digests: `docker.io/library/debian@sha256:...`, the digest of what was pulled
    /// (the index for a multi-platform image) and of the platform's manifest.
    pub digests: Vec<String>,
    /// The image manifest's digest (its blob is stored).
    pub manifest: Digest,
    /// Bottom layer first.
    pub layers: Vec<LayerRecord>,
    /// The config's `created`.
    pub created: Option<String>,
    /// When it was stored.
    pub stored: String,
    /// Bytes of the uncompressed layers.
    pub size: u64,
    /// `os/arch[/variant]` from the config.
    pub platform: String,
    /// The config's `Labels` (podman's `images --format json` shows them). Absent in records
    /// written before it was kept: those show none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LayerRecord {
    /// Digest of the uncompressed tar: the key of its unpacked directory.
    pub diff_id: Digest,
    /// Digest of the blob as distributed (compressed).
    pub digest: Digest,
    pub media_type: String,
    /// Bytes of the blob.
    pub size: u64,
}

/// What `remove_image` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removed {
    /// A name was removed; the image stays under its other names.
    Untagged(String),
    /// The image was removed, with these names.
    Deleted { id: Digest, untagged: Vec<String> },
}

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct ImagesFile {
    images: Vec<ImageRecord>,
}

impl ImageRecord {
    /// Overlay lowerdirs of this image, top layer first, as overlayfs takes them.
    pub fn lowerdirs(&self, store: &Store) -> Vec<PathBuf> {
        self.layers.iter().rev().map(|l| store.layer_diff(&l.diff_id)).collect()
    }

    /// Neither a name nor a digest refers to it: what a plain `image prune` removes (an
    /// image whose name moved to a newer pull, with its repository's digests).
    pub fn is_dangling(&self) -> bool {
        self.names.is_empty() && self.digests.is_empty()
    }

    fn matches(&self, reference: &Reference) -> bool {
        match reference.digest() {
            // A digest pins the content; Docker ignores a tag given with it.
            Some(digest) => {
                let pinned = reference.with_digest_only(digest.clone()).to_string();
                self.digests.contains(&pinned)
            }
            None => {
                let tagged = reference.clone().with_default_tag().to_string();
                self.names.contains(&tagged)
            }
        }
    }
}

/// A string that can only be an image id or an id prefix: `sha256:HEX...` or bare hex.
fn id_prefix(spec: &str) -> Option<&str> {
    let hex = spec.strip_prefix("sha256:").unwrap_or(spec);
    (!hex.is_empty() && hex.len() <= 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))).then_some(hex)
}

impl Store {
    fn images_path(&self) -> PathBuf {
        self.root.join("images.json")
    }

    /// Every image in the store.
    pub fn images(&self) -> Result<Vec<ImageRecord>> {
        let path = self.images_path();
        match std::fs::read(&path) {
            Ok(bytes) => {
                let file: ImagesFile = serde_json::from_slice(&bytes)
                    .map_err(|e| Error::InvalidContent { what: path.display().to_string(), source: e.into() })?;
                Ok(file.images)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(io("read", &path)(e)),
        }
    }

    /// Runs `f` on the image list under `images.lock` and writes the result atomically.
    pub(crate) fn update_images<T>(&self, f: impl FnOnce(&mut Vec<ImageRecord>) -> Result<T>) -> Result<T> {
        let _lock = FileLock::exclusive(&self.root.join("images.lock"))?;
        let mut images = self.images()?;
        let out = f(&mut images)?;
        let file = ImagesFile { images };
        let json = serde_json::to_vec_pretty(&file)
            .map_err(|e| Error::InvalidContent { what: "images.json".into(), source: e.into() })?;
        self.write_atomic(&self.images_path(), &json)?;
        Ok(out)
    }

    /// Records an image whose blobs and layers are stored. Its names move to it from any
    /// other image; an image already stored under this id gains the names and digests.
    pub(crate) fn add_image(&self, record: ImageRecord) -> Result<()> {
        self.update_images(|images| {
            // A name that moves takes its repository's digests off the old image too: that
            // image is then what the repository used to hold, dangling unless named otherwise.
            for other in images.iter_mut().filter(|i| i.id != record.id) {
                let moved: Vec<String> = other.names.iter().filter(|n| record.names.contains(n)).cloned().collect();
                other.names.retain(|n| !moved.contains(n));
                for name in &moved {
                    let repository = Reference::parse(name).map(|r| r.name()).unwrap_or_default();
                    other.digests.retain(|d| d.rsplit_once('@').is_none_or(|(repo, _)| repo != repository));
                }
            }
            match images.iter_mut().find(|i| i.id == record.id) {
                Some(existing) => {
                    for n in &record.names {
                        if !existing.names.contains(n) {
                            existing.names.push(n.clone());
                        }
                    }
                    for d in &record.digests {
                        if !existing.digests.contains(d) {
                            existing.digests.push(d.clone());
                        }
                    }
                }
                None => images.push(record),
            }
            Ok(())
        })
    }

    /// The image a reference names, if stored.
    pub fn find_image(&self, reference: &Reference) -> Result<Option<ImageRecord>> {
        Ok(self.images()?.into_iter().find(|i| i.matches(reference)))
    }

    /// The image `spec` names: a reference (`debian`, `debian:12`, `x@sha256:...`), an image
    /// id or a unique prefix of one, as `docker rmi`, `inspect` and `run` take them.
    pub fn image(&self, spec: &str) -> Result<ImageRecord> {
        let images = self.images()?;
        if let Ok(reference) = Reference::parse(spec) {
            if let Some(found) = images.iter().find(|i| i.matches(&reference)) {
                return Ok(found.clone());
            }
        }
        if let Some(prefix) = id_prefix(spec) {
            let mut hits = images.iter().filter(|i| i.id.hex().starts_with(prefix));
            if let Some(found) = hits.next() {
                if hits.next().is_some() {
                    return Err(Error::AmbiguousImageId(spec.to_string()));
                }
                return Ok(found.clone());
            }
        }
        Err(Error::ImageNotKnown(spec.to_string()))
    }

    /// The config of a stored image.
    pub fn image_config(&self, image: &ImageRecord) -> Result<ImageConfiguration> {
        let what = format!("the config of image {}", image.id);
        let bytes = self.read_blob(&image.id, CONFIG_LIMIT, &what)?;
        serde_json::from_slice(&bytes).map_err(|e| Error::InvalidContent { what, source: e.into() })
    }

    /// Gives the image `source` names the name `target` (`latest` when it has no tag).
    pub fn tag(&self, source: &str, target: &Reference) -> Result<()> {
        if target.digest().is_some() {
            return Err(Error::InvalidReference(crate::reference::ReferenceError {
                input: target.to_string(),
                reason: "a tag target cannot have a digest".into(),
            }));
        }
        let id = self.image(source)?.id;
        let name = target.clone().with_default_tag().to_string();
        self.update_images(|images| {
            for image in images.iter_mut() {
                image.names.retain(|n| *n != name);
                if image.id == id {
                    image.names.push(name.clone());
                }
            }
            Ok(())
        })
    }

    /// `rmi`: by name, removes that name, and the image with its last name; by id, removes
    /// the image (several names need `force`). An image a container uses is kept unless
    /// `force`; a forced removal keeps the layers that containers use. Layers and blobs that
    /// nothing references any more are removed.
    pub fn remove_image(&self, spec: &str, force: bool) -> Result<Removed> {
        let _store = StoreLock::exclusive(self)?;
        let image = self.image(spec)?;
        let by_name = Reference::parse(spec).ok().filter(|r| image.matches(r));
        let users: Vec<String> = self.containers()?.into_iter().filter(|c| c.image == image.id).map(|c| c.id).collect();
        let removed = self.update_images(|images| {
            let Some(pos) = images.iter().position(|i| i.id == image.id) else {
                return Err(Error::ImageNotKnown(spec.to_string()));
            };
            if let Some(reference) = by_name.as_ref().filter(|r| r.digest().is_none()) {
                let name = reference.clone().with_default_tag().to_string();
                if images[pos].names.len() > 1 {
                    images[pos].names.retain(|n| *n != name);
                    return Ok(Removed::Untagged(name));
                }
            } else if images[pos].names.len() > 1 && !force {
                return Err(Error::ImageHasNames { image: image.id.to_string(), names: images[pos].names.clone() });
            }
            if !users.is_empty() && !force {
                return Err(Error::InUse { image: spec.to_string(), containers: users.clone() });
            }
            let gone = images.remove(pos);
            Ok(Removed::Deleted { id: gone.id, untagged: gone.names })
        })?;
        if matches!(removed, Removed::Deleted { .. }) {
            self.collect_garbage()?;
        }
        Ok(removed)
    }
}
