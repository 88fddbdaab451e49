//! Garbage collection, `image prune` and `system df`. What is reachable: every image's
//! config, manifests and layer blobs, and the layers of every image and every container.
//! Everything else in `blobs/` and `layers/` is removed, under the exclusive store lock (so
//! never what a pull in progress has stored but not yet recorded).

use std::collections::HashSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::layers::list_dir;
use super::lock::StoreLock;
use super::{layer_key, Store};
use crate::digest::Digest;
use crate::error::{io, Result};

/// What `prune` removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pruned {
    pub images: Vec<Digest>,
    /// Bytes freed on disk.
    pub reclaimed: u64,
}

/// One line of `system df`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageLine {
    pub total: u64,
    /// Images: used by a container. Containers: left to the caller, which knows which run.
    pub active: u64,
    pub size: u64,
    pub reclaimable: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiskUsage {
    /// Sizes are the images' unique unpacked layers; reclaimable: layers of images that no
    /// container uses and that no such image shares.
    pub images: UsageLine,
    /// Sizes of the writable layers; reclaimable is their whole size (a running container's
    /// is not, which only the caller knows: see `container_sizes`).
    pub containers: UsageLine,
    pub container_sizes: Vec<(String, u64)>,
    /// Unpacked layers on disk; reclaimable: those nothing references.
    pub layers: UsageLine,
    /// Blobs on disk (compressed layers, manifests, configs); reclaimable: unreferenced ones.
    pub blobs: UsageLine,
}

struct Reachable {
    blobs: HashSet<Digest>,
    layers: HashSet<String>,
}

impl Store {
    fn reachable(&self) -> Result<Reachable> {
        let mut blobs = HashSet::new();
        let mut layers = HashSet::new();
        for image in self.images()? {
            blobs.insert(image.id.clone());
            blobs.insert(image.manifest.clone());
            for d in &image.digests {
                if let Some(Ok(digest)) = d.rsplit_once('@').map(|(_, d)| d.parse::<Digest>()) {
                    blobs.insert(digest);
                }
            }
            for l in &image.layers {
                blobs.insert(l.digest.clone());
                layers.insert(layer_key(&l.diff_id));
                // The blob the layer was unpacked from, which may not be this image's own
                // (see LayerInfo::blob): kept for `save`.
                if let Some(blob) = self.layer_info(&l.diff_id).ok().and_then(|info| info.blob) {
                    blobs.insert(blob.digest);
                }
            }
        }
        for c in self.containers()? {
            for l in &c.layers {
                layers.insert(layer_key(l));
            }
        }
        Ok(Reachable { blobs, layers })
    }

    /// Removes unreferenced blobs and layers. The caller holds the exclusive store lock.
    pub(crate) fn collect_garbage(&self) -> Result<u64> {
        let reachable = self.reachable()?;
        let mut freed = 0;
        for (alg, dir) in list_dir(&self.root.join("blobs"))? {
            for (hex, path) in list_dir(&dir)? {
                let known = format!("{alg}:{hex}").parse::<Digest>().ok();
                if known.is_none_or(|d| !reachable.blobs.contains(&d)) {
                    freed += fs::symlink_metadata(&path).map(|m| m.blocks() * 512).unwrap_or(0);
                    super::remove_any(&path)?;
                }
            }
        }
        for (key, path) in self.all_layers()? {
            if !reachable.layers.contains(&key) {
                freed += tree_size(&path);
                self.remove_layer_dir(&path)?;
            }
        }
        self.remove_stale_layer_locks()?;
        Ok(freed)
    }

    /// Lock files of layers that are gone: nobody holds one (everyone who does holds the
    /// store lock shared, and the caller holds it exclusive).
    fn remove_stale_layer_locks(&self) -> Result<()> {
        for (name, path) in list_dir(&self.root.join("locks"))? {
            let layer = name.strip_prefix("layer-").and_then(|n| n.strip_suffix(".lock"));
            if layer.is_some_and(|key| !self.root.join("layers").join(key).exists()) {
                super::remove_any(&path)?;
            }
        }
        Ok(())
    }

    /// Removes the blobs `stored`, and the layers unpacked from them, that no image or
    /// container references: what a load that failed had stored. The caller holds the
    /// exclusive store lock.
    pub(crate) fn discard_unreferenced(&self, stored: &HashSet<Digest>) -> Result<()> {
        let reachable = self.reachable()?;
        for (key, path) in self.all_layers()? {
            let from_stored = fs::read(path.join("layer.json"))
                .ok()
                .and_then(|bytes| serde_json::from_slice::<super::LayerInfo>(&bytes).ok())
                .and_then(|info| info.blob)
                .is_some_and(|blob| stored.contains(&blob.digest));
            if from_stored && !reachable.layers.contains(&key) {
                self.remove_layer_dir(&path)?;
            }
        }
        for digest in stored.iter().filter(|d| !reachable.blobs.contains(d)) {
            super::remove_any(&self.blob_path(digest))?;
        }
        self.remove_stale_layer_locks()
    }

    /// Moves a layer directory out of sight, then removes it: a process killed while the files
    /// go leaves a temporary, never a partial layer under layers/.
    fn remove_layer_dir(&self, path: &Path) -> Result<()> {
        let tmp = self.tmp_dir();
        let doomed =
            tempfile::Builder::new().prefix("removing-").tempdir_in(&tmp).map_err(io("create a temporary in", &tmp))?;
        fs::rename(path, doomed.path().join("layer")).map_err(io("remove", path))?;
        super::remove_any(&doomed.keep())
    }

    /// `image prune`: removes dangling images (neither a name nor a digest), or with `all` every image that no
    /// container uses, then whatever nothing references.
    pub fn prune(&self, all: bool) -> Result<Pruned> {
        let _store = StoreLock::exclusive(self)?;
        let used: HashSet<Digest> = self.containers()?.into_iter().map(|c| c.image).collect();
        let images = self.update_images(|images| {
            let (gone, kept): (Vec<_>, Vec<_>) =
                images.drain(..).partition(|i| !used.contains(&i.id) && (all || i.is_dangling()));
            *images = kept;
            Ok(gone.into_iter().map(|i| i.id).collect())
        })?;
        let reclaimed = self.collect_garbage()?;
        Ok(Pruned { images, reclaimed })
    }

    /// `system df`.
    pub fn disk_usage(&self) -> Result<DiskUsage> {
        let images = self.images()?;
        let containers = self.containers()?;
        let used: HashSet<&Digest> = containers.iter().map(|c| &c.image).collect();
        let layer_size = |key: &str| -> u64 { tree_size(&self.root.join("layers").join(key)) };

        let mut all_layers = HashSet::new();
        let mut active_layers = HashSet::new();
        for image in &images {
            for l in &image.layers {
                all_layers.insert(layer_key(&l.diff_id));
                if used.contains(&image.id) {
                    active_layers.insert(layer_key(&l.diff_id));
                }
            }
        }
        for c in &containers {
            active_layers.extend(c.layers.iter().map(layer_key));
        }
        let sizes: std::collections::HashMap<String, u64> =
            self.all_layers()?.into_iter().map(|(key, _)| (key.clone(), layer_size(&key))).collect();
        let sum =
            |keys: &mut dyn Iterator<Item = &String>| keys.map(|k| sizes.get(k).copied().unwrap_or(0)).sum::<u64>();

        let mut usage = DiskUsage::default();
        usage.images.total = images.len() as u64;
        usage.images.active = images.iter().filter(|i| used.contains(&i.id)).count() as u64;
        usage.images.size = sum(&mut all_layers.iter());
        usage.images.reclaimable = sum(&mut all_layers.difference(&active_layers));

        for c in &containers {
            let size = self.container_dir(&c.id).map(|d| tree_size(&d.join("upper"))).unwrap_or(0);
            usage.container_sizes.push((c.id.clone(), size));
        }
        usage.containers.total = containers.len() as u64;
        usage.containers.size = usage.container_sizes.iter().map(|(_, s)| s).sum();
        usage.containers.reclaimable = usage.containers.size;

        let reachable = self.reachable()?;
        usage.layers.total = sizes.len() as u64;
        usage.layers.active = sizes.keys().filter(|k| active_layers.contains(*k)).count() as u64;
        usage.layers.size = sizes.values().sum();
        usage.layers.reclaimable = sizes.iter().filter(|(k, _)| !reachable.layers.contains(*k)).map(|(_, s)| s).sum();

        for (alg, dir) in list_dir(&self.root.join("blobs"))? {
            for (hex, path) in list_dir(&dir)? {
                let size = fs::symlink_metadata(&path).map(|m| m.blocks() * 512).unwrap_or(0);
                usage.blobs.total += 1;
                usage.blobs.size += size;
                if format!("{alg}:{hex}").parse::<Digest>().ok().is_none_or(|d| !reachable.blobs.contains(&d)) {
                    usage.blobs.reclaimable += size;
                }
            }
        }
        Ok(usage)
    }
}

/// Disk space of a tree (allocated blocks), not following symlinks; files with several
/// links inside it are counted once.
fn tree_size(path: &Path) -> u64 {
    fn walk(path: &Path, seen: &mut HashSet<(u64, u64)>) -> u64 {
        let Ok(meta) = fs::symlink_metadata(path) else { return 0 };
        if meta.nlink() > 1 && !meta.is_dir() && !seen.insert((meta.dev(), meta.ino())) {
            return 0;
        }
        let mut size = meta.blocks() * 512;
        if meta.is_dir() {
            if let Ok(entries) = fs::read_dir(path) {
                for entry in entries.flatten() {
                    size += walk(&entry.path(), seen);
                }
            }
        }
        size
    }
    walk(path, &mut HashSet::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::containers::tests::fake_image;
    use crate::store::Removed;
    use crate::Reference;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("s")).unwrap();
        (dir, store)
    }

    #[test]
    fn shared_layers_are_stored_once_and_kept_while_referenced() {
        let (_d, store) = store();
        let a = fake_image(&store, "a", &[&b"base"[..], b"a-top"]);
        let b = fake_image(&store, "b", &[&b"base"[..], b"b-top"]);
        assert_eq!(store.all_layers().unwrap().len(), 3, "the base layer is shared");
        assert!(matches!(store.remove_image("a", false).unwrap(), Removed::Deleted { .. }));
        assert!(!store.has_layer(&a.layers[1].diff_id), "a's own layer went");
        assert!(!store.has_blob(&a.id) && !store.has_blob(&a.manifest) && !store.has_blob(&a.layers[1].digest));
        assert!(store.has_layer(&b.layers[0].diff_id), "the shared base stayed");
        assert!(store.has_blob(&b.layers[0].digest) && store.has_blob(&b.id));
        store.remove_image("b", false).unwrap();
        assert!(store.all_layers().unwrap().is_empty());
        assert_eq!(list_dir(&store.root.join("blobs/sha256")).unwrap().len(), 0);
        assert_eq!(list_dir(&store.root.join("locks")).unwrap().len(), 0, "lock files of removed layers went");
        assert_eq!(fs::read_dir(store.tmp_dir()).unwrap().count(), 0);
    }

    /// A layer unpacked from a blob of its own, which is stored.
    fn layer_from_blob(store: &Store, content: &[u8], blob: &[u8]) -> (Digest, super::super::LayerBlob) {
        let diff_id = Digest::sha256_of(content);
        let from = super::super::LayerBlob {
            digest: Digest::sha256_of(blob),
            media_type: "application/vnd.oci.image.layer.v1.tar+zstd".into(),
            size: blob.len() as u64,
        };
        store.put_blob(&from.digest, blob, "layer").unwrap();
        let slot = store.claim_layer(&diff_id, || {}).unwrap().unwrap();
        let staged = slot.stage().unwrap();
        slot.commit_with_blob(staged, content.len() as u64, Some(from.clone())).unwrap();
        (diff_id, from)
    }

    #[test]
    fn the_blob_a_layer_was_unpacked_from_is_kept_while_an_image_uses_the_layer() {
        let (_d, store) = store();
        let (diff_id, from) = layer_from_blob(&store, b"base", b"zstd:base");
        assert_eq!(store.layer_info(&diff_id).unwrap().blob.as_ref(), Some(&from));
        // An image of that layer whose own blob (another compression) was never fetched.
        let image = fake_image(&store, "a", &[&b"base"[..]]);
        std::fs::remove_file(store.blob_path(&image.layers[0].digest)).unwrap();
        store.prune(true).unwrap();
        assert!(store.image("a").is_err(), "prune -a removed the image");
        assert!(!store.has_blob(&from.digest), "and then the blob");
        let (diff_id, from) = layer_from_blob(&store, b"base", b"zstd:base");
        fake_image(&store, "b", &[&b"base"[..]]);
        let _lock = StoreLock::exclusive(&store).unwrap();
        store.collect_garbage().unwrap();
        assert!(store.has_blob(&from.digest), "kept while image b uses layer {diff_id}");
    }

    #[test]
    fn what_a_failed_load_stored_is_discarded_unless_referenced() {
        let (_d, store) = store();
        let (orphan, orphan_blob) = layer_from_blob(&store, b"orphan", b"gz:orphan");
        let (used, used_blob) = layer_from_blob(&store, b"base", b"gz:base");
        fake_image(&store, "a", &[&b"base"[..]]);
        let config = Digest::sha256_of(b"config");
        store.put_blob(&config, b"config", "config").unwrap();
        let stale_lock = store.layer_lock_path(&layer_key(&Digest::sha256_of(b"never committed")));
        std::fs::write(&stale_lock, "").unwrap();
        let stored: HashSet<Digest> = [orphan_blob.digest.clone(), used_blob.digest.clone(), config.clone()].into();
        let _lock = StoreLock::exclusive(&store).unwrap();
        store.discard_unreferenced(&stored).unwrap();
        assert!(
            !store.has_layer(&orphan) && !store.has_blob(&orphan_blob.digest),
            "the unreferenced layer and blob went"
        );
        assert!(!store.has_blob(&config));
        assert!(store.has_layer(&used) && store.has_blob(&used_blob.digest), "what image a uses stayed");
        assert!(!stale_lock.exists(), "the lock file of a layer that was never committed went");
        assert_eq!(std::fs::read_dir(store.tmp_dir()).unwrap().count(), 0);
    }

    #[test]
    fn a_container_keeps_its_image_and_layers() {
        let (_d, store) = store();
        let image = fake_image(&store, "a", &[b"base"]);
        store.create_container("c", "a").unwrap();
        let e = store.remove_image("a", false).unwrap_err();
        assert_eq!(e.code(), "in-use");
        assert_eq!(e.to_string(), "image a is used by container c");
        assert_eq!(store.prune(true).unwrap().images, Vec::<Digest>::new());
        assert!(store.has_layer(&image.layers[0].diff_id));
        // Forced: the image goes, the layer stays for the container.
        store.remove_image("a", true).unwrap();
        assert_eq!(store.image("a").unwrap_err().code(), "image-not-known");
        assert!(store.has_layer(&image.layers[0].diff_id));
        assert!(store.container_layers("c").unwrap().lowerdirs.iter().all(|d| d.is_dir()));
        store.remove_container("c").unwrap();
        store.prune(false).unwrap();
        assert!(!store.has_layer(&image.layers[0].diff_id));
    }

    #[test]
    fn tags_move_untag_and_dangle() {
        let (_d, store) = store();
        let a = fake_image(&store, "app:1", &[b"x"]);
        store.tag("app:1", &Reference::parse("app:stable").unwrap()).unwrap();
        store.tag(&a.id.hex()[..8], &Reference::parse("quay.io/me/app").unwrap()).unwrap();
        let names = store.image("app:stable").unwrap().names;
        assert_eq!(names, ["docker.io/library/app:1", "docker.io/library/app:stable", "quay.io/me/app:latest"]);
        // By id with several names: refused unless forced.
        assert_eq!(store.remove_image(&a.id.to_string(), false).unwrap_err().code(), "in-use");
        assert_eq!(
            store.remove_image("app:stable", false).unwrap(),
            Removed::Untagged("docker.io/library/app:stable".into())
        );
        // A new image under an existing name takes it; the old one keeps its other names.
        let b = fake_image(&store, "app:1", &[b"y"]);
        assert_eq!(store.image("app:1").unwrap().id, b.id);
        assert_eq!(store.image(&a.id.to_string()).unwrap().names, ["quay.io/me/app:latest"]);
        store.remove_image("quay.io/me/app", false).unwrap();
        // Dangling images go with a plain prune; named ones only with --all.
        let c = fake_image(&store, "c", &[b"z"]);
        store
            .update_images(|images| {
                let c = images.iter_mut().find(|i| i.id == c.id).unwrap();
                c.names.clear();
                assert!(!c.is_dangling(), "an image pulled by digest is not dangling");
                c.digests.clear();
                Ok(())
            })
            .unwrap();
        let pruned = store.prune(false).unwrap();
        assert_eq!(pruned.images, vec![c.id.clone()]);
        assert!(pruned.reclaimed > 0);
        assert_eq!(store.images().unwrap().len(), 1);
        assert_eq!(store.prune(true).unwrap().images, vec![b.id]);
        assert!(store.images().unwrap().is_empty());
    }

    #[test]
    fn looks_up_by_name_digest_id_and_prefix() {
        let (_d, store) = store();
        let a = fake_image(&store, "debian:12", &[b"x"]);
        let b = fake_image(&store, "quay.io/x/y", &[b"y"]);
        assert_eq!(store.image("debian:12").unwrap().id, a.id);
        assert_eq!(store.image("docker.io/library/debian:12").unwrap().id, a.id);
        assert_eq!(store.image(&format!("debian@{}", a.manifest)).unwrap().id, a.id);
        assert_eq!(store.image(&format!("debian:whatever@{}", a.manifest)).unwrap().id, a.id);
        assert_eq!(store.image(&a.id.to_string()).unwrap().id, a.id);
        assert_eq!(store.image(&a.id.hex()[..12]).unwrap().id, a.id);
        assert_eq!(store.image("quay.io/x/y:latest").unwrap().id, b.id);
        assert_eq!(store.image("debian").unwrap_err().code(), "image-not-known");
        assert_eq!(store.image("debian:11").unwrap_err().code(), "image-not-known");
        assert_eq!(store.image(&format!("debian@{}", b.manifest)).unwrap_err().code(), "image-not-known");
        let config = store.image_config(&a).unwrap();
        assert_eq!(config.rootfs().diff_ids().len(), 1);
    }

    #[test]
    fn disk_usage_counts_images_layers_containers_and_blobs() {
        let (_d, store) = store();
        fake_image(&store, "a", &[&b"base"[..], b"a"]);
        fake_image(&store, "b", &[b"base"]);
        let layers = store.create_container("c", "b").unwrap();
        fs::write(layers.upper.join("new"), vec![1u8; 10_000]).unwrap();
        let df = store.disk_usage().unwrap();
        assert_eq!((df.images.total, df.images.active), (2, 1));
        assert_eq!(df.layers.total, 2);
        assert!(df.images.reclaimable > 0 && df.images.reclaimable < df.images.size, "{df:?}");
        assert_eq!(df.containers.total, 1);
        assert!(df.containers.size >= 10_000, "{df:?}");
        assert_eq!(df.layers.reclaimable, 0);
        assert_eq!(df.blobs.total, 6, "2 configs, 2 manifests, 2 distinct layer blobs: {df:?}");
        assert_eq!(df.blobs.reclaimable, 0);
    }
}
