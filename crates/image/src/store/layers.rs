//! Unpacked layers, one directory per diff_id, shared by every image and container that uses
//! it. A layer is unpacked into a temporary directory and renamed into place whole, under a
//! per-layer lock, so two pulls of the same layer store it once and a layer directory that
//! exists is complete.

use std::fs;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use super::lock::FileLock;
use super::{layer_key, Store};
use crate::digest::Digest;
use crate::error::{io, Error, Result};

/// `layers/HEX/layer.json`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct LayerInfo {
    pub diff_id: Digest,
    /// Bytes of the uncompressed tar stream.
    pub size: u64,
    pub created: String,
    /// The blob this layer was unpacked from. An image pulled later with the same layer in
    /// another compression does not store its own blob (the layer is not fetched again), so
    /// this one is what `save` writes for it, and garbage collection keeps it as long as the
    /// layer is used by an image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob: Option<LayerBlob>,
}

/// A stored layer blob as a manifest describes it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LayerBlob {
    pub digest: Digest,
    pub media_type: String,
    pub size: u64,
}

/// The right to create one layer: held while it is fetched and unpacked.
pub(crate) struct LayerSlot<'s> {
    store: &'s Store,
    diff_id: Digest,
    _lock: FileLock,
}

/// A layer being unpacked: `diff()` is the new empty directory to unpack into.
pub(crate) struct StagedLayer {
    dir: TempDir,
}

impl StagedLayer {
    pub(crate) fn diff(&self) -> PathBuf {
        self.dir.path().join("diff")
    }
}

impl Store {
    /// Claims layer `diff_id` for creation. `None` when it exists, possibly after waiting for
    /// another process that was creating it (`on_wait` is called before such a wait).
    pub(crate) fn claim_layer(&self, diff_id: &Digest, on_wait: impl FnOnce()) -> Result<Option<LayerSlot<'_>>> {
        if self.has_layer(diff_id) {
            return Ok(None);
        }
        let path = self.layer_lock_path(&layer_key(diff_id));
        let lock = match FileLock::try_exclusive(&path)? {
            Some(lock) => lock,
            None => {
                on_wait();
                FileLock::exclusive(&path)?
            }
        };
        if self.has_layer(diff_id) {
            return Ok(None);
        }
        Ok(Some(LayerSlot { store: self, diff_id: diff_id.clone(), _lock: lock }))
    }

    pub fn layer_info(&self, diff_id: &Digest) -> Result<LayerInfo> {
        let path = self.layer_dir(diff_id).join("layer.json");
        let bytes = fs::read(&path).map_err(io("read", &path))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| Error::InvalidContent { what: path.display().to_string(), source: e.into() })
    }

    /// Every layer directory in the store, by diff_id.
    pub(crate) fn all_layers(&self) -> Result<Vec<(String, PathBuf)>> {
        list_dir(&self.root.join("layers"))
    }
}

impl LayerSlot<'_> {
    pub(crate) fn stage(&self) -> Result<StagedLayer> {
        let tmp = self.store.tmp_dir();
        let dir =
            tempfile::Builder::new().prefix("layer-").tempdir_in(&tmp).map_err(io("create a temporary in", &tmp))?;
        let diff = dir.path().join("diff");
        fs::create_dir(&diff).map_err(io("create", &diff))?;
        Ok(StagedLayer { dir })
    }

    /// A layer of the tests, with no blob.
    #[cfg(test)]
    pub(crate) fn commit(self, staged: StagedLayer, size: u64) -> Result<()> {
        self.commit_with_blob(staged, size, None)
    }

    /// Records the layer's size and the (stored) blob it was unpacked from, and renames the
    /// staged directory into place.
    pub(crate) fn commit_with_blob(self, staged: StagedLayer, size: u64, blob: Option<LayerBlob>) -> Result<()> {
        let info = LayerInfo { diff_id: self.diff_id.clone(), size, created: super::now_rfc3339(), blob };
        let info_path = staged.dir.path().join("layer.json");
        let json = serde_json::to_vec_pretty(&info)
            .map_err(|e| Error::InvalidContent { what: "layer.json".into(), source: e.into() })?;
        fs::write(&info_path, json).map_err(io("write", &info_path))?;
        let dest = self.store.layer_dir(&self.diff_id);
        let staged_path = staged.dir.keep();
        fs::rename(&staged_path, &dest).map_err(|e| {
            let _ = super::remove_any(&staged_path);
            io("rename a layer to", &dest)(e)
        })?;
        super::sync_dir(dest.parent().unwrap_or(Path::new("/")))
    }
}

pub(crate) fn list_dir(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(io("read", dir))? {
        let entry = entry.map_err(io("read", dir))?;
        if let Some(name) = entry.file_name().to_str() {
            out.push((name.to_string(), entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn a_layer_is_created_once_and_appears_whole() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("s")).unwrap();
        let id = Digest::sha256_of(b"layer");
        let slot = store.claim_layer(&id, || {}).unwrap().unwrap();
        let staged = slot.stage().unwrap();
        fs::write(staged.diff().join("f"), "x").unwrap();
        assert!(!store.has_layer(&id), "a staged layer is not visible");
        slot.commit(staged, 1).unwrap();
        assert!(store.has_layer(&id));
        assert_eq!(fs::read(store.layer_diff(&id).join("f")).unwrap(), b"x");
        assert_eq!(store.layer_info(&id).unwrap().size, 1);
        assert!(store.claim_layer(&id, || {}).unwrap().is_none());
    }

    #[test]
    fn a_second_claimant_waits_then_finds_the_layer() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("s")).unwrap();
        let id = Digest::sha256_of(b"layer");
        let waits = AtomicUsize::new(0);
        let slot = store.claim_layer(&id, || {}).unwrap().unwrap();
        std::thread::scope(|s| {
            let waiter = s.spawn(|| {
                store
                    .claim_layer(&id, || {
                        waits.fetch_add(1, Ordering::SeqCst);
                    })
                    .unwrap()
                    .is_none()
            });
            while waits.load(Ordering::SeqCst) == 0 {
                std::thread::yield_now();
            }
            let staged = slot.stage().unwrap();
            slot.commit(staged, 0).unwrap();
            assert!(waiter.join().unwrap(), "the waiter claimed a layer that exists");
        });
    }

    #[test]
    fn a_dropped_slot_leaves_nothing_and_frees_the_layer() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("s")).unwrap();
        let id = Digest::sha256_of(b"layer");
        let slot = store.claim_layer(&id, || {}).unwrap().unwrap();
        let staged = slot.stage().unwrap();
        fs::write(staged.diff().join("f"), "x").unwrap();
        drop(staged);
        drop(slot);
        assert_eq!(fs::read_dir(store.tmp_dir()).unwrap().count(), 0);
        assert!(store.claim_layer(&id, || panic!("nobody holds it")).unwrap().is_some());
    }
}
