//! Per-container writable layers: `containers/ID/{upper,work}` and `container.json`, which
//! records the image and the layers the container's root is made of, so that no removal of
//! images or garbage collection takes a layer a container still uses.

use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;

use super::lock::StoreLock;
use super::Store;
use crate::digest::Digest;
use crate::error::{io, Error, Result};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ContainerRecord {
    pub id: String,
    /// The image's id when it was created (the image may since have been removed by force).
    pub image: Digest,
    /// diff_ids of the layers under it, bottom first.
    pub layers: Vec<Digest>,
    pub created: String,
}

/// What an overlay mount of a container's root needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerLayers {
    pub upper: PathBuf,
    pub work: PathBuf,
    /// The image's unpacked layers, top first (overlayfs's `lowerdir=` order).
    pub lowerdirs: Vec<PathBuf>,
}

/// Container ids as the runtime takes them (and no path separators).
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('.')
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

impl Store {
    pub(crate) fn container_dir(&self, id: &str) -> Result<PathBuf> {
        if !valid_id(id) {
            return Err(Error::InvalidContainerId(id.to_string()));
        }
        Ok(self.root.join("containers").join(id))
    }

    /// Creates the writable layer of container `id` over the image `image` names (a reference
    /// or an id) and returns the directories for its overlay.
    pub fn create_container(&self, id: &str, image: &str) -> Result<ContainerLayers> {
        let dest = self.container_dir(id)?;
        // Shared: the image cannot be removed between the lookup and the record.
        let _store = StoreLock::shared(self)?;
        let image = self.image(image)?;
        if dest.exists() {
            return Err(Error::ContainerExists(id.to_string()));
        }
        let record = ContainerRecord {
            id: id.to_string(),
            image: image.id.clone(),
            layers: image.layers.iter().map(|l| l.diff_id.clone()).collect(),
            created: super::now_rfc3339(),
        };
        for layer in &record.layers {
            if !self.has_layer(layer) {
                return Err(Error::ImageNotKnown(format!("{} (layer {layer} is missing)", image.id)));
            }
        }
        let tmp = self.tmp_dir();
        let staged = tempfile::Builder::new()
            .prefix("container-")
            .tempdir_in(&tmp)
            .map_err(io("create a temporary in", &tmp))?;
        let upper = staged.path().join("upper");
        fs::DirBuilder::new().mode(0o755).create(&upper).map_err(io("create", &upper))?;
        super::set_mode(&upper, 0o755)?;
        let work = staged.path().join("work");
        fs::DirBuilder::new().mode(0o700).create(&work).map_err(io("create", &work))?;
        let json_path = staged.path().join("container.json");
        let json = serde_json::to_vec_pretty(&record)
            .map_err(|e| Error::InvalidContent { what: "container.json".into(), source: e.into() })?;
        fs::write(&json_path, json).map_err(io("write", &json_path))?;
        let staged_path = staged.keep();
        if let Err(e) = fs::rename(&staged_path, &dest) {
            let _ = super::remove_any(&staged_path);
            return Err(match e.raw_os_error() {
                Some(libc::EEXIST) | Some(libc::ENOTEMPTY) => Error::ContainerExists(id.to_string()),
                _ => io("rename a container's layer to", &dest)(e),
            });
        }
        self.container_layers(id)
    }

    /// The record of container `id`.
    pub fn container(&self, id: &str) -> Result<ContainerRecord> {
        let path = self.container_dir(id)?.join("container.json");
        let bytes = fs::read(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::ContainerNotKnown(id.to_string()),
            _ => io("read", &path)(e),
        })?;
        serde_json::from_slice(&bytes)
            .map_err(|e| Error::InvalidContent { what: path.display().to_string(), source: e.into() })
    }

    /// The overlay directories of container `id`.
    pub fn container_layers(&self, id: &str) -> Result<ContainerLayers> {
        let record = self.container(id)?;
        let dir = self.container_dir(id)?;
        Ok(ContainerLayers {
            upper: dir.join("upper"),
            work: dir.join("work"),
            lowerdirs: record.layers.iter().rev().map(|l| self.layer_diff(l)).collect(),
        })
    }

    /// Every container with storage here.
    pub fn containers(&self) -> Result<Vec<ContainerRecord>> {
        let mut out = Vec::new();
        for (name, _) in super::layers::list_dir(&self.root.join("containers"))? {
            match self.container(&name) {
                Ok(record) => out.push(record),
                // Not a container directory of ours (a stray name): nothing to keep for it.
                Err(Error::InvalidContainerId(_)) | Err(Error::ContainerNotKnown(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Removes container `id`'s writable layer. It disappears at once (renamed into `tmp/`),
    /// then its files are removed; a process killed in between leaves only a temporary.
    pub fn remove_container(&self, id: &str) -> Result<()> {
        let dir = self.container_dir(id)?;
        let tmp = self.tmp_dir();
        let doomed =
            tempfile::Builder::new().prefix("removing-").tempdir_in(&tmp).map_err(io("create a temporary in", &tmp))?;
        let target = doomed.path().join("c");
        fs::rename(&dir, &target).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::ContainerNotKnown(id.to_string()),
            _ => io("remove", &dir)(e),
        })?;
        let doomed = doomed.keep();
        super::remove_any(&doomed)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::store::images::{ImageRecord, LayerRecord};

    pub(crate) fn fake_image(store: &Store, name: &str, layers: &[&[u8]]) -> ImageRecord {
        let mut records = Vec::new();
        for content in layers {
            let diff_id = Digest::sha256_of(content);
            if !store.has_layer(&diff_id) {
                let slot = store.claim_layer(&diff_id, || {}).unwrap().unwrap();
                let staged = slot.stage().unwrap();
                fs::write(staged.diff().join("content"), content).unwrap();
                slot.commit(staged, content.len() as u64).unwrap();
            }
            let blob = format!("gz:{}", String::from_utf8_lossy(content));
            let digest = Digest::sha256_of(blob.as_bytes());
            store.put_blob(&digest, blob.as_bytes(), "layer").unwrap();
            records.push(LayerRecord {
                diff_id,
                digest,
                media_type: "application/vnd.oci.image.layer.v1.tar+gzip".into(),
                size: blob.len() as u64,
            });
        }
        let config = serde_json::json!({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers",
            "diff_ids": records.iter().map(|l| l.diff_id.to_string()).collect::<Vec<_>>()}, "created": name});
        let config = serde_json::to_vec(&config).unwrap();
        let id = Digest::sha256_of(&config);
        store.put_blob(&id, &config, "config").unwrap();
        let manifest = format!("manifest of {name}");
        let manifest_digest = Digest::sha256_of(manifest.as_bytes());
        store.put_blob(&manifest_digest, manifest.as_bytes(), "manifest").unwrap();
        let reference = crate::Reference::parse(name).unwrap().with_default_tag();
        let record = ImageRecord {
            id,
            names: vec![reference.to_string()],
            digests: vec![reference.with_digest_only(manifest_digest.clone()).to_string()],
            manifest: manifest_digest,
            layers: records,
            created: None,
            stored: crate::store::now_rfc3339(),
            size: layers.iter().map(|l| l.len() as u64).sum(),
            platform: "linux/amd64".into(),
            labels: Default::default(),
        };
        store.add_image(record.clone()).unwrap();
        record
    }

    #[test]
    fn creates_finds_and_removes_a_containers_layer() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("s")).unwrap();
        let image = fake_image(&store, "base", &[b"one", b"two"]);
        let layers = store.create_container("c1", "base").unwrap();
        assert!(layers.upper.is_dir() && layers.work.is_dir());
        assert_eq!(layers.lowerdirs, image.lowerdirs(&store));
        assert_eq!(layers.lowerdirs[0], store.layer_diff(&Digest::sha256_of(b"two")), "top layer first");
        assert_eq!(store.container_layers("c1").unwrap(), layers);
        assert_eq!(store.containers().unwrap().len(), 1);
        assert_eq!(store.create_container("c1", "base").unwrap_err().code(), "container-exists");
        assert_eq!(store.create_container("../x", "base").unwrap_err().code(), "invalid-container-id");
        assert_eq!(store.create_container("c2", "nothing").unwrap_err().code(), "image-not-known");
        store.remove_container("c1").unwrap();
        assert!(!layers.upper.exists());
        assert_eq!(store.remove_container("c1").unwrap_err().code(), "container-not-known");
        assert!(store.containers().unwrap().is_empty());
        assert_eq!(fs::read_dir(store.tmp_dir()).unwrap().count(), 0);
    }
}
