//! The image operations, each a thin call into `tscontainer_image` that answers with a
//! [`crate::view`] type. Both hosts call exactly these functions, so the addon's objects and
//! the runtime's JSON lines come from the same code.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use tscontainer_image::archive::{self, Format};
use tscontainer_image::pull::Phase;
use tscontainer_image::registry::{self, AuthFiles, ClientOptions, Credentials, RegistriesConf, RegistryClient};
use tscontainer_image::store::{ContainerRecord, ImageRecord, Removed};
use tscontainer_image::{ImageSource, Platform, Progress, PullOptions, Pulled, Reference, Store};

use crate::error::Result;
use crate::inspect::run_config;
use crate::view::{
    ContainerLayers, ContainerSize, DiskUsage, ImageSummary, LoadedImage, ProgressEvent, PrunedImages, PulledImage,
    RemovedImage, UsageLine,
};
use crate::HostError;

/// How to reach registries: podman's `--tls-verify`, `--cert-dir` and `--authfile`.
#[derive(Debug, Clone, Default)]
pub struct RegistryOptions {
    /// `Some(false)`: plain HTTP and unverified TLS allowed for every registry; `Some(true)`:
    /// forbidden even where registries.conf allows them.
    pub tls_verify: Option<bool>,
    /// The only directory searched for CAs and client certificates.
    pub cert_dir: Option<PathBuf>,
    /// The only credentials file read, and the one login writes.
    pub auth_file: Option<PathBuf>,
}

impl RegistryOptions {
    /// A client over registries.conf and the auth files. The runtime makes it before it
    /// enters a user namespace, where this process would look like root to the library.
    pub fn client(&self) -> Result<RegistryClient> {
        let options = ClientOptions { tls_verify: self.tls_verify, cert_dir: self.cert_dir.clone(), credentials: None };
        let auth = match &self.auth_file {
            Some(file) => AuthFiles::new(vec![file.clone()], file.clone()),
            None => AuthFiles::from_env(),
        };
        Ok(RegistryClient::new(RegistriesConf::load()?, auth, options))
    }
}

/// What the library's progress says, as [`ProgressEvent`].
pub fn progress_event(p: &Progress) -> ProgressEvent {
    let phase = match p.phase {
        Phase::AlreadyExists => "already-exists",
        other => other.as_str(),
    };
    ProgressEvent {
        image: p.image.clone(),
        layer: p.layer.to_string(),
        phase: phase.to_string(),
        done: as_i64(p.done),
        total: as_i64(p.total),
    }
}

fn as_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn summary(image: &ImageRecord, containers: &[ContainerRecord]) -> ImageSummary {
    ImageSummary {
        id: image.id.to_string(),
        repo_tags: image.names.clone(),
        repo_digests: image.digests.clone(),
        digest: image.manifest.to_string(),
        created: image.created.clone(),
        stored: image.stored.clone(),
        size: as_i64(image.size),
        platform: image.platform.clone(),
        containers: containers.iter().filter(|c| c.image == image.id).count() as i64,
        dangling: image.is_dangling(),
        labels: (!image.labels.is_empty()).then(|| image.labels.clone()),
    }
}

/// `pull REF`: from the registry the reference names (registries.conf's aliases, search
/// registries and mirrors applied), reporting each layer's progress, stopping when `cancel`
/// is set.
pub fn pull(
    store: &Store,
    client: &RegistryClient,
    reference: &str,
    platform: Option<&str>,
    progress: &(dyn Fn(&ProgressEvent) + Sync),
    cancel: &AtomicBool,
) -> Result<PulledImage> {
    let reference = Reference::parse(reference).map_err(tscontainer_image::Error::from)?;
    let platform = platform.map(str::parse::<Platform>).transpose().map_err(tscontainer_image::Error::from)?;
    pull_with(store, &reference, platform, progress, cancel, |options| {
        registry::pull_image(store, client, &reference, options)
    })
}

/// `pull` from any image source (an OCI layout, a docker-archive: what `load` brings), with
/// the same progress, cancellation and result as a pull from a registry.
pub fn pull_from(
    store: &Store,
    source: &dyn ImageSource,
    reference: &Reference,
    progress: &(dyn Fn(&ProgressEvent) + Sync),
    cancel: &AtomicBool,
) -> Result<PulledImage> {
    // As a registry pull names it: `latest` when the reference has neither tag nor digest.
    let reference = reference.clone().with_default_tag();
    pull_with(store, &reference, None, progress, cancel, |options| {
        tscontainer_image::pull(store, source, &reference, options)
    })
}

fn pull_with(
    store: &Store,
    reference: &Reference,
    platform: Option<Platform>,
    progress: &(dyn Fn(&ProgressEvent) + Sync),
    cancel: &AtomicBool,
    run: impl FnOnce(&PullOptions) -> tscontainer_image::Result<Pulled>,
) -> Result<PulledImage> {
    let before = store.find_image(&reference.clone().with_default_tag())?.map(|i| i.id);
    let report = |p: &Progress| progress(&progress_event(p));
    let options = PullOptions { platform, progress: Some(&report), cancel: Some(cancel), ..PullOptions::default() };
    let pulled = run(&options)?;
    let containers = store.containers()?;
    Ok(PulledImage {
        up_to_date: before.as_ref() == Some(&pulled.image.id),
        image: summary(&pulled.image, &containers),
        digest: pulled.digest.to_string(),
        reference: pulled.reference.to_string(),
    })
}

/// `load`: every image of the archive at `path` (a docker-archive or an oci-archive, plain or
/// gzip/zstd compressed, or an OCI layout directory; a pipe such as `/dev/stdin` is read
/// whole first), through the pull pipeline: the same checks, progress and cancellation. A
/// load stores all of its images or none.
pub fn load(
    store: &Store,
    path: &Path,
    progress: &(dyn Fn(&ProgressEvent) + Sync),
    cancel: &AtomicBool,
) -> Result<Vec<LoadedImage>> {
    let report = |p: &Progress| progress(&progress_event(p));
    let options = PullOptions { progress: Some(&report), cancel: Some(cancel), ..PullOptions::default() };
    let loaded = archive::load(store, path, &options)?;
    Ok(loaded.into_iter().map(|l| LoadedImage { id: l.id.to_string(), names: l.names }).collect())
}

/// `load` from an open descriptor (standard input), read whole into the store's tmp/ first.
/// `name` says where it came from in errors.
pub fn load_from_descriptor(
    store: &Store,
    fd: std::os::fd::OwnedFd,
    name: &str,
    progress: &(dyn Fn(&ProgressEvent) + Sync),
    cancel: &AtomicBool,
) -> Result<Vec<LoadedImage>> {
    let report = |p: &Progress| progress(&progress_event(p));
    let options = PullOptions { progress: Some(&report), cancel: Some(cancel), ..PullOptions::default() };
    let loaded = archive::load_reader(store, Blocking(std::fs::File::from(fd)), name, &options)?;
    Ok(loaded.into_iter().map(|l| LoadedImage { id: l.id.to_string(), names: l.names }).collect())
}

/// The archive format `save --format` names (`docker-archive` when none).
pub fn save_format(format: Option<&str>) -> Result<Format> {
    format
        .unwrap_or("docker-archive")
        .parse()
        .map_err(|e: archive::UnknownFormat| HostError::invalid_option(e.to_string()))
}

/// `save -o DEST`: the images `refs` name into one archive at `dest`, replacing what is there
/// once complete.
pub fn save(store: &Store, refs: &[String], dest: &Path, format: Format) -> Result<()> {
    let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
    Ok(archive::save(store, &refs, dest, format)?)
}

/// `save` to a stream (standard output): a docker-archive or an oci-archive.
pub fn save_to_writer(store: &Store, refs: &[String], out: impl Write, format: Format) -> Result<()> {
    let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
    Ok(archive::save_to_writer(store, &refs, out, format)?)
}

/// `save` to an open descriptor (standard output, a pipe), which may be non-blocking: Node
/// leaves pipes so, and a write that would block waits until the descriptor is writable.
pub fn save_to_descriptor(store: &Store, refs: &[String], fd: std::os::fd::OwnedFd, format: Format) -> Result<()> {
    save_to_writer(store, refs, std::io::BufWriter::with_capacity(1 << 20, Blocking(std::fs::File::from(fd))), format)
}

/// A descriptor read or written as if it were blocking: Node leaves its standard streams
/// non-blocking (pipes, sockets), and an operation that would block waits in poll(2).
struct Blocking(std::fs::File);

impl Blocking {
    fn wait(&self, events: nix::poll::PollFlags) -> std::io::Result<()> {
        use std::os::fd::AsFd;
        let mut fds = [nix::poll::PollFd::new(self.0.as_fd(), events)];
        match nix::poll::poll(&mut fds, nix::poll::PollTimeout::NONE) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

impl std::io::Read for Blocking {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            match self.0.read(buf) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => self.wait(nix::poll::PollFlags::POLLIN)?,
                other => return other,
            }
        }
    }
}

impl Write for Blocking {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        loop {
            match self.0.write(buf) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => self.wait(nix::poll::PollFlags::POLLOUT)?,
                other => return other,
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// `images`: every image in the store, in the order they were first stored.
pub fn images(store: &Store) -> Result<Vec<ImageSummary>> {
    let containers = store.containers()?;
    Ok(store.images()?.iter().map(|i| summary(i, &containers)).collect())
}

/// `rmi [-f] REF`.
pub fn remove_image(store: &Store, spec: &str, force: bool) -> Result<RemovedImage> {
    Ok(match store.remove_image(spec, force)? {
        Removed::Untagged(name) => RemovedImage { untagged: vec![name], deleted: None },
        Removed::Deleted { id, untagged } => RemovedImage { untagged, deleted: Some(id.to_string()) },
    })
}

/// `image prune [-a]`.
pub fn prune(store: &Store, all: bool) -> Result<PrunedImages> {
    let pruned = store.prune(all)?;
    Ok(PrunedImages {
        images: pruned.images.iter().map(ToString::to_string).collect(),
        reclaimed: as_i64(pruned.reclaimed),
    })
}

/// `tag SRC DST`.
pub fn tag(store: &Store, source: &str, target: &str) -> Result<()> {
    let target = Reference::parse(target).map_err(tscontainer_image::Error::from)?;
    Ok(store.tag(source, &target)?)
}

/// `system df`.
pub fn disk_usage(store: &Store) -> Result<DiskUsage> {
    let df = store.disk_usage()?;
    let line = |l: &tscontainer_image::store::UsageLine| UsageLine {
        total: as_i64(l.total),
        active: as_i64(l.active),
        size: as_i64(l.size),
        reclaimable: as_i64(l.reclaimable),
    };
    Ok(DiskUsage {
        images: line(&df.images),
        containers: line(&df.containers),
        container_sizes: df
            .container_sizes
            .iter()
            .map(|(id, size)| ContainerSize { id: id.clone(), size: as_i64(*size) })
            .collect(),
        layers: line(&df.layers),
        blobs: line(&df.blobs),
    })
}

/// `login REGISTRY`: checks the credentials against the registry, then records them.
pub fn login(client: &RegistryClient, registry: &str, username: &str, password: &str) -> Result<()> {
    let credentials = Credentials { username: username.to_string(), password: password.to_string() };
    Ok(client.login(registry, &credentials)?)
}

/// `logout REGISTRY`.
pub fn logout(client: &RegistryClient, registry: &str) -> Result<()> {
    Ok(client.logout(registry)?)
}

/// A new container's writable layer over `image`, and what its overlay and its spec need.
pub fn create_container_layers(store: &Store, id: &str, image: &str) -> Result<ContainerLayers> {
    let layers = store.create_container(id, image)?;
    let record = store.container(id)?;
    // The image by its id: a name may have moved to another image since.
    let config = store.image(&record.image.to_string()).and_then(|i| store.image_config(&i));
    let config = match config {
        Ok(config) => config,
        Err(e) => {
            let _ = store.remove_container(id);
            return Err(e.into());
        }
    };
    let path = |p: &std::path::Path| p.display().to_string();
    Ok(ContainerLayers {
        upper: path(&layers.upper),
        work: path(&layers.work),
        lowerdirs: layers.lowerdirs.iter().map(|p| path(p)).collect(),
        image_id: record.image.to_string(),
        config: run_config(&config),
    })
}

/// Removes a container's writable layer.
pub fn remove_container_layers(store: &Store, id: &str) -> Result<()> {
    Ok(store.remove_container(id)?)
}
