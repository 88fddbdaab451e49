//! The pull pipeline, over any image source (a registry; an OCI layout or a docker-archive
//! for `load`): manifest, platform, config, then the layers, fetched a few at a time and
//! unpacked while they download. Each compressed byte is read once: hashed, written to the
//! blob's temporary file and fed to the unpacker in the same pass. A blob's size and digest
//! are checked as it streams, each layer's diff_id against the config; on any mismatch the
//! pull stops, naming the digest, and keeps nothing of that layer. Memory does not grow with
//! the image: a layer is never held whole.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use oci_spec::image::{Descriptor, ImageManifest};

use crate::digest::Digest;
use crate::error::{BoxError, Error, Result};
use crate::layer::{self, Compression, LayerError, UnpackOptions, Unpacked};
use crate::manifest::{self, FetchedManifest, Manifest, CONFIG_LIMIT};
use crate::platform::Platform;
use crate::reference::Reference;
use crate::store::{BlobWriter, ImageRecord, LayerBlob, LayerRecord, Store, StoreLock};

/// Where images come from. Implementations verify what they fetch by digest (manifests);
/// blobs are verified by the pipeline as they stream.
pub trait ImageSource: Sync {
    /// The top manifest (of the source's tag or digest) when `digest` is `None`, else the
    /// manifest with that digest.
    fn manifest(&self, digest: Option<&Digest>) -> Result<FetchedManifest>;
    /// A blob's bytes as they arrive.
    fn blob(&self, descriptor: &Descriptor) -> Result<Box<dyn Read + Send>>;
}

/// Unpacks one layer's compressed stream into `dest`. The rootless case with subordinate ids
/// runs the unpack in another process inside a user namespace; the default runs
/// [`layer::unpack`] here. `compressed` must be read to its end.
pub trait Unpacker: Sync {
    fn unpack(
        &self,
        compressed: &mut dyn Read,
        compression: Compression,
        dest: &Path,
        options: &UnpackOptions,
    ) -> std::result::Result<Unpacked, BoxError>;
}

/// [`layer::unpack`] in this process.
pub struct InProcess;

impl Unpacker for InProcess {
    fn unpack(
        &self,
        compressed: &mut dyn Read,
        compression: Compression,
        dest: &Path,
        options: &UnpackOptions,
    ) -> std::result::Result<Unpacked, BoxError> {
        Ok(layer::unpack(compressed, compression, dest, options)?)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Queued, or waiting for another process that is fetching the same layer.
    Waiting,
    Downloading,
    /// Downloaded; the last of it being unpacked and verified.
    Extracting,
    Done,
    AlreadyExists,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Waiting => "waiting",
            Phase::Downloading => "downloading",
            Phase::Extracting => "extracting",
            Phase::Done => "done",
            Phase::AlreadyExists => "already exists",
        }
    }
}

/// One layer's state, for a progress bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The image the layer is fetched for: the full reference pulled from
    /// (`docker.io/library/debian:12`), or the image's name in an archive.
    pub image: String,
    /// The layer blob's digest (what Docker and podman show).
    pub layer: Digest,
    pub phase: Phase,
    /// Compressed bytes received.
    pub done: u64,
    pub total: u64,
}

pub struct PullOptions<'a> {
    /// The platform to choose from an index; also checked against a single image's config
    /// when given. `None`: this host's, not enforced for a single image (as Docker).
    pub platform: Option<Platform>,
    pub progress: Option<&'a (dyn Fn(&Progress) + Sync)>,
    /// Set to stop the pull; checked between reads.
    pub cancel: Option<&'a AtomicBool>,
    pub unpacker: &'a dyn Unpacker,
    /// Layers fetched at once.
    pub parallel: usize,
}

impl Default for PullOptions<'_> {
    fn default() -> Self {
        PullOptions { platform: None, progress: None, cancel: None, unpacker: &InProcess, parallel: 3 }
    }
}

/// What a pull stored.
#[derive(Debug, Clone)]
pub struct Pulled {
    pub image: ImageRecord,
    /// The digest of the top manifest (the index for a multi-platform image): the repo
    /// digest Docker prints.
    pub digest: Digest,
    /// The reference it was recorded under: for a short name, the registry that answered.
    pub reference: Reference,
}

/// Pulls the image `reference` names from `source` into `store`, recording it under that
/// name (its tag, and `NAME@DIGEST`).
pub fn pull(store: &Store, source: &dyn ImageSource, reference: &Reference, options: &PullOptions) -> Result<Pulled> {
    // Shared for the whole pull: GC (exclusive) cannot remove a layer this pull found
    // present, or a blob it stored, before the image that uses them is recorded.
    let _store_lock = StoreLock::shared(store)?;
    let fetched = fetch_image(store, source, &reference.to_string(), options)?;
    let mut digests = vec![reference.with_digest_only(fetched.top.clone()).to_string()];
    if fetched.record.manifest != fetched.top {
        digests.push(reference.with_digest_only(fetched.record.manifest.clone()).to_string());
    }
    let names = match reference.tag() {
        Some(tag) => vec![format!("{}:{tag}", reference.name())],
        None => Vec::new(),
    };
    store.add_image(ImageRecord { names, digests, ..fetched.record })?;
    let image = store.find_image(reference)?.ok_or_else(|| Error::ImageNotKnown(reference.to_string()))?;
    Ok(Pulled { image, digest: fetched.top, reference: reference.clone() })
}

/// An image whose layers, config and manifests are stored but not yet recorded: nothing
/// refers to them until its record (given names and digests) is added to the store.
pub(crate) struct Fetched {
    /// Without names or digests.
    pub(crate) record: ImageRecord,
    /// The digest of the top manifest (an index for a multi-platform image).
    pub(crate) top: Digest,
}

/// Fetches, verifies and stores the image `source` serves; `shown` names it in errors. The
/// caller holds the store lock shared until the image is recorded.
pub(crate) fn fetch_image(
    store: &Store,
    source: &dyn ImageSource,
    shown: &str,
    options: &PullOptions,
) -> Result<Fetched> {
    let shown = shown.to_string();
    let canceled = || options.cancel.is_some_and(|c| c.load(Ordering::Relaxed));

    let top = source.manifest(None)?;
    let (image_manifest, child) = match manifest::parse_manifest(&top.bytes, top.media_type.as_deref(), &shown)? {
        Manifest::Image(m) => (m, None),
        Manifest::Index(index) => {
            let wanted = options.platform.clone().unwrap_or_else(Platform::host);
            let descriptor = wanted.select(&index).map_err(|offered| Error::NoMatchingPlatform {
                reference: shown.clone(),
                wanted: wanted.to_string(),
                offered: if offered.is_empty() {
                    "no platforms listed".into()
                } else {
                    offered.iter().map(Platform::to_string).collect::<Vec<_>>().join(", ")
                },
            })?;
            let digest = Digest::try_from(descriptor.digest())?;
            let fetched = source.manifest(Some(&digest))?;
            check_size(&fetched.bytes, descriptor.size(), &format!("the manifest {digest} of {shown}"))?;
            let media_type = Some(descriptor.media_type().to_string()).or(fetched.media_type.clone());
            match manifest::parse_manifest(&fetched.bytes, media_type.as_deref(), &shown)? {
                Manifest::Image(m) => (m, Some(fetched)),
                Manifest::Index(_) => {
                    return Err(Error::UnsupportedMediaType {
                        what: format!("the manifest {digest} of {shown}"),
                        media_type: "a nested index".into(),
                    })
                }
            }
        }
    };
    if canceled() {
        return Err(Error::Canceled);
    }

    let config_digest = Digest::try_from(image_manifest.config().digest())?;
    let config_bytes = fetch_config(store, source, &image_manifest, &config_digest, &shown)?;
    let config = manifest::parse_config(&config_bytes, &image_manifest, &shown)?;
    let image_platform =
        Platform::new(&config.os().to_string(), &config.architecture().to_string(), config.variant().as_deref());
    if let (Some(wanted), None) = (&options.platform, &child) {
        if wanted.os != image_platform.os || wanted.architecture != image_platform.architecture {
            return Err(Error::NoMatchingPlatform {
                reference: shown,
                wanted: wanted.to_string(),
                offered: image_platform.to_string(),
            });
        }
    }

    let mut layers = Vec::new();
    for (descriptor, diff_id) in image_manifest.layers().iter().zip(config.rootfs().diff_ids()) {
        let media_type = descriptor.media_type().to_string();
        let compression = Compression::from_media_type(&media_type).map_err(|_| Error::UnsupportedMediaType {
            what: format!("layer {} of {shown}", descriptor.digest()),
            media_type: media_type.clone(),
        })?;
        layers.push(LayerJob {
            descriptor: descriptor.clone(),
            digest: Digest::try_from(descriptor.digest())?,
            diff_id: diff_id.parse()?,
            compression,
        });
    }
    fetch_layers(store, source, &shown, &layers, options)?;

    store.put_blob(&config_digest, &config_bytes, &format!("the config of {shown}"))?;
    store.put_blob(&top.digest, &top.bytes, &format!("the manifest of {shown}"))?;
    let manifest_digest = match &child {
        Some(c) => {
            store.put_blob(&c.digest, &c.bytes, &format!("the manifest of {shown}"))?;
            c.digest.clone()
        }
        None => top.digest.clone(),
    };
    let mut size = 0;
    for job in &layers {
        size += store.layer_info(&job.diff_id)?.size;
    }
    let record = ImageRecord {
        id: config_digest,
        names: Vec::new(),
        digests: Vec::new(),
        manifest: manifest_digest,
        layers: layers
            .iter()
            .map(|j| LayerRecord {
                diff_id: j.diff_id.clone(),
                digest: j.digest.clone(),
                media_type: j.descriptor.media_type().to_string(),
                size: j.descriptor.size(),
            })
            .collect(),
        created: config.created().clone(),
        stored: crate::store::now_rfc3339(),
        size,
        platform: image_platform.to_string(),
        labels: config
            .config()
            .as_ref()
            .and_then(|c| c.labels().as_ref())
            .map(|labels| labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
    };
    Ok(Fetched { record, top: top.digest })
}

fn check_size(bytes: &[u8], expected: u64, what: &str) -> Result<()> {
    if bytes.len() as u64 != expected {
        return Err(Error::SizeMismatch { what: what.to_string(), expected, actual: bytes.len() as u64 });
    }
    Ok(())
}

/// The config, from the store when it is there, else from the source (verified; stored with
/// the manifests once the layers are).
fn fetch_config(
    store: &Store,
    source: &dyn ImageSource,
    image_manifest: &ImageManifest,
    digest: &Digest,
    shown: &str,
) -> Result<Vec<u8>> {
    let what = format!("the config of {shown}");
    let descriptor = image_manifest.config();
    if descriptor.size() > CONFIG_LIMIT {
        return Err(Error::TooLarge { what, limit: CONFIG_LIMIT });
    }
    if store.has_blob(digest) {
        if let Ok(bytes) = store.read_blob(digest, CONFIG_LIMIT, &what) {
            return Ok(bytes);
        }
    }
    let mut bytes = Vec::new();
    source.blob(descriptor)?.take(CONFIG_LIMIT + 1).read_to_end(&mut bytes).map_err(|e| Error::Network {
        op: "read",
        what: what.clone(),
        source: e.into(),
    })?;
    if bytes.len() as u64 > CONFIG_LIMIT {
        return Err(Error::TooLarge { what, limit: CONFIG_LIMIT });
    }
    check_size(&bytes, descriptor.size(), &what)?;
    let actual = Digest::of(digest.algorithm(), &bytes);
    if &actual != digest {
        return Err(Error::DigestMismatch { what, expected: digest.clone(), actual });
    }
    Ok(bytes)
}

struct LayerJob {
    descriptor: Descriptor,
    digest: Digest,
    diff_id: Digest,
    compression: Compression,
}

/// Runs the layer jobs on `options.parallel` threads; the first failure stops the others
/// (at their next read) and is the one reported.
fn fetch_layers(
    store: &Store,
    source: &dyn ImageSource,
    image: &str,
    layers: &[LayerJob],
    options: &PullOptions,
) -> Result<()> {
    let report = |job: &LayerJob, phase: Phase, done: u64| {
        if let Some(progress) = options.progress {
            let image = image.to_string();
            progress(&Progress { image, layer: job.digest.clone(), phase, done, total: job.descriptor.size() });
        }
    };
    for job in layers {
        report(job, Phase::Waiting, 0);
    }
    let queue: Mutex<VecDeque<&LayerJob>> = Mutex::new(layers.iter().collect());
    let failed = AtomicBool::new(false);
    let first_error: Mutex<Option<Error>> = Mutex::new(None);
    let workers = options.parallel.clamp(1, layers.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                if failed.load(Ordering::Relaxed) {
                    return;
                }
                let Some(job) = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front() else { return };
                if let Err(e) = fetch_layer(store, source, job, options, &failed, &report) {
                    let mut slot = first_error.lock().unwrap_or_else(|p| p.into_inner());
                    // Another worker's failure stops this one with Canceled: keep the cause.
                    if slot.is_none() || matches!(slot.as_ref(), Some(Error::Canceled)) {
                        *slot = Some(e);
                    }
                    failed.store(true, Ordering::Relaxed);
                    return;
                }
            });
        }
    });
    match first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn fetch_layer(
    store: &Store,
    source: &dyn ImageSource,
    job: &LayerJob,
    options: &PullOptions,
    failed: &AtomicBool,
    report: &(dyn Fn(&LayerJob, Phase, u64) + Sync),
) -> Result<()> {
    let Some(slot) = store.claim_layer(&job.diff_id, || report(job, Phase::Waiting, 0))? else {
        report(job, Phase::AlreadyExists, job.descriptor.size());
        return Ok(());
    };
    let staged = slot.stage()?;
    let stream = source.blob(&job.descriptor)?;
    let mut tee = Tee {
        inner: stream,
        blob: BlobWriter::new(store, &job.digest)?,
        job,
        expected: job.descriptor.size(),
        read: 0,
        cancel: options.cancel,
        failed,
        failure: None,
        report,
        last_report: Instant::now(),
    };
    report(job, Phase::Downloading, 0);
    let mut unpack_options = store.unpack_options().clone();
    unpack_options.expected_diff_id = Some(job.diff_id.to_string());
    let unpacked = options.unpacker.unpack(&mut tee, job.compression, &staged.diff(), &unpack_options);
    if let Some(failure) = tee.failure.take() {
        return Err(failure);
    }
    let unpacked = match unpacked {
        Ok(u) => u,
        Err(e) => {
            // A layer that fails to unpack may be a blob damaged on its way: its own digest,
            // checked once the rest is read (no more than its descriptor's size), names the
            // real fault when it does not match.
            tee.drain()?;
            let Tee { blob, .. } = tee;
            blob.verify(&job.digest, Some(job.expected()), &format!("layer {}", job.digest))?;
            return Err(unpack_error(job, e));
        }
    };
    tee.drain()?;
    report(job, Phase::Extracting, job.descriptor.size());
    let Tee { blob, .. } = tee;
    let blob = blob.verify(&job.digest, Some(job.expected()), &format!("layer {}", job.digest))?;
    if unpacked.diff_id != job.diff_id.to_string() {
        return Err(Error::DiffIdMismatch {
            layer: job.digest.clone(),
            expected: job.diff_id.to_string(),
            actual: unpacked.diff_id,
        });
    }
    // The blob before the layer: a layer that exists always has its blob beside it.
    blob.persist(store)?;
    let from = LayerBlob {
        digest: job.digest.clone(),
        media_type: job.descriptor.media_type().to_string(),
        size: job.descriptor.size(),
    };
    slot.commit_with_blob(staged, unpacked.size, Some(from))?;
    report(job, Phase::Done, job.descriptor.size());
    Ok(())
}

impl LayerJob {
    fn expected(&self) -> u64 {
        self.descriptor.size()
    }
}

fn unpack_error(job: &LayerJob, e: BoxError) -> Error {
    match e.downcast::<LayerError>() {
        Ok(layer_error) => match *layer_error {
            LayerError::DigestMismatch { expected, actual } => {
                Error::DiffIdMismatch { layer: job.digest.clone(), expected, actual }
            }
            other => Error::Unpack { layer: job.digest.clone(), source: other },
        },
        Err(other) => Error::Unpacker { layer: job.digest.clone(), source: other },
    }
}

/// The stream between the network and the unpacker: every byte read is counted, hashed and
/// written to the blob's temporary. More bytes than the descriptor's size, fewer at the end,
/// a network error, cancellation or another layer's failure stop the read, and the reason is
/// kept here (the unpacker only sees an I/O error).
struct Tee<'a> {
    inner: Box<dyn Read + Send>,
    blob: BlobWriter,
    job: &'a LayerJob,
    expected: u64,
    read: u64,
    cancel: Option<&'a AtomicBool>,
    failed: &'a AtomicBool,
    failure: Option<Error>,
    report: &'a (dyn Fn(&LayerJob, Phase, u64) + Sync),
    last_report: Instant,
}

impl Tee<'_> {
    fn fail(&mut self, e: Error) -> std::io::Error {
        let io = std::io::Error::other(e.to_string());
        if self.failure.is_none() {
            self.failure = Some(e);
        }
        io
    }

    /// Reads what the unpacker left (a tar's padding after its end marker).
    fn drain(&mut self) -> Result<()> {
        let copied = std::io::copy(self, &mut std::io::sink());
        if let Some(failure) = self.failure.take() {
            return Err(failure);
        }
        copied.map(|_| ()).map_err(|e| Error::Network {
            op: "read",
            what: format!("layer {}", self.job.digest),
            source: e.into(),
        })
    }
}

impl Read for Tee<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.failure.is_some() {
            return Err(std::io::Error::other("the layer's stream already failed"));
        }
        if self.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) || self.failed.load(Ordering::Relaxed) {
            return Err(self.fail(Error::Canceled));
        }
        let n = match self.inner.read(buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => return Err(e),
            Err(e) => {
                let what = format!("layer {}", self.job.digest);
                return Err(self.fail(Error::Network { op: "read", what, source: e.into() }));
            }
        };
        if n == 0 {
            if self.read != self.expected {
                let e = Error::SizeMismatch {
                    what: format!("layer {}", self.job.digest),
                    expected: self.expected,
                    actual: self.read,
                };
                return Err(self.fail(e));
            }
            return Ok(0);
        }
        self.read += n as u64;
        if self.read > self.expected {
            let e = Error::SizeMismatch {
                what: format!("layer {}", self.job.digest),
                expected: self.expected,
                actual: self.read,
            };
            return Err(self.fail(e));
        }
        if let Err(e) = self.blob.write_all(&buf[..n]) {
            let e = crate::error::io("write", self.blob.path())(e);
            return Err(self.fail(e));
        }
        if self.last_report.elapsed() >= Duration::from_millis(100) {
            self.last_report = Instant::now();
            (self.report)(self.job, Phase::Downloading, self.read);
        }
        Ok(n)
    }
}
