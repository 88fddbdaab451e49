//! `load`: the images of an archive into the store, through the pull pipeline, so that
//! sizes, digests and diff_ids are checked, layers stored, unpacked and reported exactly as
//! for a pull.
//!
//! A tar is read in place: a first pass indexes its entries (headers only, data skipped
//! with seeks), then each member is read at its offset, so `manifest.json` may come after
//! the layers and layers are read in parallel. What cannot be read in place is first
//! copied into the store's `tmp/` (as podman copies standard input to a temporary file): a
//! stream (standard input, a pipe) and a gzip or zstd compressed archive (`docker save |
//! gzip`), decompressed on the way.
//!
//! All images are checked as far as they can be before anything is stored (every
//! `manifest.json` entry's config and layers found, `index.json` parsed), then fetched, and
//! recorded only once all are: a load stores all of its images or none. When it fails, what
//! it stored that nothing else references is removed again (when no other process is using
//! the store at that moment: it may be about to record an image that uses the same layers).

use std::collections::HashSet;
use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::{Arc, Mutex};

use oci_spec::image::Descriptor;

use super::docker::MANIFEST_JSON;
use super::files::Archive;
use super::oci::OCI_LAYOUT;
use crate::digest::Digest;
use crate::error::{io, BoxError, Error, Result};
use crate::layer::Compression;
use crate::manifest::FetchedManifest;
use crate::pull::{fetch_image, Fetched, ImageSource, PullOptions};
use crate::store::{ImageRecord, Store, StoreLock};

/// One image a load stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// The image id (its config's digest).
    pub id: Digest,
    /// Its names from the archive, full references with a tag (`docker.io/library/busybox:latest`);
    /// empty for an image the archive does not name (podman prints `Loaded image: sha256:ID`
    /// for it, Docker `Loaded image ID: sha256:ID`).
    pub names: Vec<String>,
}

/// An image of an archive, checked but not read yet.
pub(crate) struct ArchiveImage {
    pub(crate) source: Box<dyn ImageSource>,
    /// Its top manifest is an index, from which the platform is picked.
    pub(crate) index: bool,
    pub(crate) names: Vec<String>,
    /// How errors name it.
    pub(crate) shown: String,
}

/// Loads every image of the archive at `path`: a docker-archive or an oci-archive (a tar,
/// possibly gzip or zstd compressed), or an OCI layout directory. `options` as for a pull:
/// the platform picked from an index (this host's by default; an image that is not in an
/// index is loaded whatever its platform, as `docker load` does), progress, cancellation,
/// the unpacker.
pub fn load(store: &Store, path: &Path, options: &PullOptions) -> Result<Vec<Loaded>> {
    let lock = StoreLock::shared(store)?;
    let name = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(io("open", path))?;
    let mut spooled = None;
    let archive = if meta.is_dir() {
        Archive::dir(path)?
    } else {
        let file = File::open(path).map_err(io("open", path))?;
        let mut magic = [0u8; 4];
        let n = if meta.is_file() { file.read_at(&mut magic, 0).map_err(io("read", path))? } else { 0 };
        if meta.is_file() && Compression::detect(&magic[..n]).is_none() {
            Archive::tar(file, name)?
        } else {
            // A compressed archive, or not a file (a pipe, /dev/stdin): copied first.
            let copy = spool(store, file, &name)?;
            let archive = Archive::tar(copy.reopen().map_err(io("open", copy.path()))?, name)?;
            spooled = Some(copy);
            archive
        }
    };
    let loaded = load_archive(store, lock, Arc::new(archive), options);
    drop(spooled);
    loaded
}

/// Loads every image of a tar archive read from `input` (standard input): it is copied to a
/// temporary file in the store first. `name` says where it came from in errors.
pub fn load_reader(store: &Store, input: impl Read, name: &str, options: &PullOptions) -> Result<Vec<Loaded>> {
    let lock = StoreLock::shared(store)?;
    let copy = spool(store, input, name)?;
    let archive = Archive::tar(copy.reopen().map_err(io("open", copy.path()))?, name.to_string())?;
    load_archive(store, lock, Arc::new(archive), options)
}

/// Copies `input` into the store's tmp/ (under the caller's shared lock, so that no `open`
/// cleaning temporaries removes it), decompressing a gzip or zstd stream.
fn spool(store: &Store, input: impl Read, name: &str) -> Result<tempfile::NamedTempFile> {
    let tmp = store.tmp_dir();
    let mut copy =
        tempfile::Builder::new().prefix("archive-").tempfile_in(&tmp).map_err(io("create a temporary in", &tmp))?;
    let unreadable = |e: BoxError| Error::InvalidArchive {
        archive: name.to_string(),
        reason: "cannot read it".into(),
        source: Some(e),
    };
    let (mut decoded, _) = crate::layer::Decoder::new(input).map_err(|e| unreadable(e.into()))?;
    let mut writer = std::io::BufWriter::with_capacity(1 << 20, copy.as_file_mut());
    std::io::copy(&mut decoded, &mut writer).map_err(|e| match e.raw_os_error() {
        Some(libc::ENOSPC) | Some(libc::EDQUOT) => io("write", &tmp)(e),
        _ => unreadable(e.into()),
    })?;
    writer.flush().map_err(io("write", &tmp))?;
    drop(writer);
    Ok(copy)
}

fn load_archive(store: &Store, lock: StoreLock, archive: Arc<Archive>, options: &PullOptions) -> Result<Vec<Loaded>> {
    let served = Mutex::new(HashSet::new());
    let result = load_images(store, &archive, options, &served);
    drop(lock);
    if result.is_err() {
        let served = served.into_inner().unwrap_or_else(|p| p.into_inner());
        // Exclusive, or not at all: another process holding the store may be about to
        // record an image that uses what this load stored. The load's own error is the one
        // reported.
        if !served.is_empty() {
            if let Ok(Some(_exclusive)) = StoreLock::try_exclusive(store) {
                let _ = store.discard_unreferenced(&served);
            }
        }
    }
    result
}

fn load_images(
    store: &Store,
    archive: &Arc<Archive>,
    options: &PullOptions,
    served: &Mutex<HashSet<Digest>>,
) -> Result<Vec<Loaded>> {
    let images = if let Some(layout) = archive.get(OCI_LAYOUT)? {
        super::oci::images(archive, &layout)?
    } else if let Some(manifest) = archive.get(MANIFEST_JSON)? {
        super::docker::images(archive, &manifest)?
    } else if archive.get("repositories")?.is_some() {
        return Err(archive.invalid(
            "it is in the format of Docker before 1.10 (a repositories file and no manifest.json), which tscontainer does not read",
        ));
    } else {
        return Err(
            archive.invalid("it has neither manifest.json (a docker-archive) nor oci-layout (an OCI image layout)")
        );
    };
    if images.is_empty() {
        return Err(archive.invalid("it holds no image"));
    }
    let mut fetched: Vec<(Fetched, &[String])> = Vec::new();
    for image in &images {
        let source = Recording { inner: image.source.as_ref(), served };
        let options = PullOptions {
            platform: options.platform.clone().filter(|_| image.index),
            progress: options.progress,
            cancel: options.cancel,
            unpacker: options.unpacker,
            parallel: options.parallel,
        };
        fetched.push((fetch_image(store, &source, &image.shown, &options)?, &image.names));
    }
    let mut loaded: Vec<Loaded> = Vec::new();
    for (image, names) in fetched {
        let id = image.record.id.clone();
        store.add_image(ImageRecord { names: names.to_vec(), digests: Vec::new(), ..image.record })?;
        match loaded.iter_mut().find(|l| l.id == id) {
            Some(l) => {
                for name in names {
                    if !l.names.contains(name) {
                        l.names.push(name.clone());
                    }
                }
            }
            None => loaded.push(Loaded { id, names: names.to_vec() }),
        }
    }
    Ok(loaded)
}

/// An image source that remembers every digest it served: what a failed load may have
/// stored.
struct Recording<'a> {
    inner: &'a dyn ImageSource,
    served: &'a Mutex<HashSet<Digest>>,
}

impl Recording<'_> {
    fn note(&self, digest: Digest) {
        self.served.lock().unwrap_or_else(|p| p.into_inner()).insert(digest);
    }
}

impl ImageSource for Recording<'_> {
    fn manifest(&self, digest: Option<&Digest>) -> Result<FetchedManifest> {
        let manifest = self.inner.manifest(digest)?;
        self.note(manifest.digest.clone());
        Ok(manifest)
    }

    fn blob(&self, descriptor: &Descriptor) -> Result<Box<dyn Read + Send>> {
        self.note(Digest::try_from(descriptor.digest())?);
        self.inner.blob(descriptor)
    }
}
