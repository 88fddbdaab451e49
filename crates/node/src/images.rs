//! Images from JavaScript: every operation of `tscontainer_image_host::ops` as a promise that
//! settles on libuv's thread pool (a store operation can wait on another process's lock, a
//! pull for minutes: none blocks the main thread), answering with the same objects the
//! runtime prints as JSON. Nothing here creates a process or enters a namespace
//! (DESIGN.md, invariant 1): for an ordinary user with subordinate ids, the operations that
//! write or remove layers belong to `tscontainer-runtime storage`, and these refuse with
//! `wrong-host` ([`image_host`] says which host to use).
//!
//! Errors reject with an `Error` whose `code` is a code of the one vocabulary the addon's
//! other errors and the runtime use (`image-not-known`, `unauthorized`, ...;
//! `tscontainer_core::error::Code` lists them all) and whose message is one sentence with its
//! causes.

use std::os::fd::{FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use napi::bindgen_prelude::{
    AsyncTask, Either, FnArgs, Function, JsObjectValue, Object, ToNapiValue, TypeName, Unknown,
};

use tscontainer_core::error::{chain, Code};

use crate::errors::image_error;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode, UnknownReturnValue};
use napi::{Env, Status, Task};
use napi_derive::napi;
use tscontainer_image::Store;
use tscontainer_image_host::ops::{self, RegistryOptions};
use tscontainer_image_host::spec::ImageForSpec;
use tscontainer_image_host::view::{
    ContainerLayers, DiskUsage, ImageHostInfo, ImageInspect, ImageSummary, ImageUser, LoadedImage, ProgressEvent,
    PrunedImages, PulledImage, RemovedImage,
};
use tscontainer_image_host::{open_store, storage_root, HostError, Placement};

/// One image operation on the thread pool: its work runs in `compute`, and a failure
/// becomes a JavaScript `Error` with the operation's code in `resolve` (on the main thread,
/// where such an object can be made: a `Task`'s own errors only carry napi's statuses).
pub struct ImageTask<T: Send + 'static> {
    work: Option<Box<dyn FnOnce() -> Result<T, HostError> + Send>>,
}

pub(crate) fn task<T: ToNapiValue + TypeName + Send + 'static>(
    work: impl FnOnce() -> Result<T, HostError> + Send + 'static,
) -> AsyncTask<ImageTask<T>> {
    AsyncTask::new(ImageTask { work: Some(Box::new(work)) })
}

impl<T: ToNapiValue + TypeName + Send + 'static> Task for ImageTask<T> {
    type Output = Result<T, HostError>;
    type JsValue = T;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        match self.work.take() {
            Some(work) => Ok(work()),
            None => Err(napi::Error::new(Status::GenericFailure, "an image task ran twice")),
        }
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<T> {
        output.map_err(|e| image_error(&env, e))
    }
}

fn wrong_host(operation: &str) -> HostError {
    HostError::new(
        Code::WrongHost,
        format!(
            "this user has subordinate ids: {operation} runs in tscontainer-runtime storage, inside the user's namespace (imageHost() says so), not in the addon"
        ),
    )
}

/// The store, for this process's placement, at `root` or the default root.
fn store(root: Option<String>) -> Result<(Store, Placement), HostError> {
    let placement = Placement::detect();
    let store = open_store(storage_root(root.map(PathBuf::from))?, &placement)?;
    Ok((store, placement))
}

/// The store, for an operation that writes or removes layers (the addon's only for root
/// and for users without subordinate ids).
fn writable_store(root: Option<String>, operation: &str) -> Result<Store, HostError> {
    if Placement::detect().needs_runtime() {
        return Err(wrong_host(operation));
    }
    store(root).map(|(s, _)| s)
}

/// Where the store is.
#[napi(object, object_to_js = false)]
pub struct StorageOptions {
    /// The store's root (default: `TSCONTAINER_STORAGE`, else `/var/lib/tscontainer` for root,
    /// `$XDG_DATA_HOME/tscontainer` for a user).
    pub storage_root: Option<String>,
}

fn root_of(options: Option<StorageOptions>) -> Option<String> {
    options.and_then(|o| o.storage_root)
}

/// How registries are reached (podman's `--tls-verify`, `--cert-dir`, `--authfile`).
#[napi(object, object_to_js = false)]
pub struct RegistryAccess {
    /// `false`: plain HTTP and unverified TLS for every registry; `true`: never, even where
    /// registries.conf allows them; unset: as registries.conf says.
    pub tls_verify: Option<bool>,
    /// The only directory searched for CA certificates (`*.crt`) and client certificates.
    pub cert_dir: Option<String>,
    /// The only credentials file read (and written by `login`).
    pub auth_file: Option<String>,
}

fn registry_options(tls_verify: Option<bool>, cert_dir: Option<String>, auth_file: Option<String>) -> RegistryOptions {
    RegistryOptions { tls_verify, cert_dir: cert_dir.map(PathBuf::from), auth_file: auth_file.map(PathBuf::from) }
}

/// `pull`'s options.
#[napi(object, object_to_js = false)]
pub struct PullOptions<'a> {
    /// `os/arch[/variant]` to choose from a multi-platform image (default: this host's).
    pub platform: Option<String>,
    pub tls_verify: Option<bool>,
    pub cert_dir: Option<String>,
    pub auth_file: Option<String>,
    pub storage_root: Option<String>,
    /// Called on the main thread with each layer's progress; every event is delivered, and
    /// all of them before the promise settles.
    #[napi(ts_type = "(event: ProgressEvent) => void")]
    pub on_progress: Option<Function<'a, ProgressEvent, UnknownReturnValue>>,
    /// Aborting it stops the pull at its next read; the promise rejects with
    /// `canceled` and nothing of the pull is kept.
    #[napi(ts_type = "AbortSignal")]
    pub signal: Option<Object<'a>>,
}

type ProgressFn = ThreadsafeFunction<ProgressEvent, UnknownReturnValue, ProgressEvent, Status, false, true>;

/// Progress events on their way to JavaScript, counted so that the pull settles only once
/// every one has been delivered: the promise's settlement and the events travel through
/// different queues of the event loop, and a "done" seen after `await pull()` is a lie.
struct Delivery {
    callback: ProgressFn,
    pending: Mutex<u64>,
    delivered: Condvar,
}

impl Delivery {
    fn send(self: &Arc<Self>, event: ProgressEvent) {
        *self.pending.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        let this = self.clone();
        // Non-blocking on an unbounded queue: never refused for being full, never waits.
        let status =
            self.callback.call_with_return_value(event, ThreadsafeFunctionCallMode::NonBlocking, move |r, _| {
                this.settle();
                // A throwing onProgress is an uncaught exception, as with an event listener.
                r.map(|_| ())
            });
        if status != Status::Ok {
            self.settle();
        }
    }

    fn settle(&self) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        *pending = pending.saturating_sub(1);
        self.delivered.notify_all();
    }

    /// Waits until every event sent has reached JavaScript (bounded: an environment being
    /// torn down runs no more callbacks).
    fn wait(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        while *pending > 0 {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else { return };
            pending = match self.delivered.wait_timeout(pending, left) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }
}

/// `EventTarget.addEventListener(type, listener, options)`.
type AddEventListener<'a> = Function<'a, FnArgs<(&'a str, Function<'a, (), ()>, Object<'a>)>, Unknown<'a>>;

/// Sets `cancel` when `signal` aborts (or now, when it already has). A listener of its own
/// (`addEventListener`), so the signal's other listeners and its `onabort` stay as they are.
fn watch_abort(env: &Env, signal: Object, cancel: &Arc<AtomicBool>) -> napi::Result<()> {
    if signal.get_named_property::<Option<bool>>("aborted")?.unwrap_or(false) {
        cancel.store(true, Ordering::Relaxed);
        return Ok(());
    }
    let flag = cancel.clone();
    let listener = env.create_function_from_closure::<(), (), _>("onTscontainerPullAbort", move |_| {
        flag.store(true, Ordering::Relaxed);
        Ok(())
    })?;
    let mut once = Object::new(env)?;
    once.set_named_property("once", true)?;
    let add: AddEventListener = signal.get_named_property("addEventListener")?;
    add.apply(signal, ("abort", listener, once).into())?;
    Ok(())
}

/// An operation's progress callback and cancellation, set up on the main thread.
struct Watched {
    cancel: Arc<AtomicBool>,
    delivery: Option<Arc<Delivery>>,
}

impl Watched {
    fn new(
        env: &Env,
        on_progress: Option<&Function<'_, ProgressEvent, UnknownReturnValue>>,
        signal: Option<Object>,
    ) -> napi::Result<Watched> {
        let cancel = Arc::new(AtomicBool::new(false));
        if let Some(signal) = signal {
            watch_abort(env, signal, &cancel)?;
        }
        let delivery = match on_progress {
            Some(f) => {
                let callback = f.build_threadsafe_function().callee_handled::<false>().weak::<true>().build()?;
                Some(Arc::new(Delivery { callback, pending: Mutex::new(0), delivered: Condvar::new() }))
            }
            None => None,
        };
        Ok(Watched { cancel, delivery })
    }

    /// Runs `work` with the progress reporter and the cancel flag, then waits until every
    /// progress event has reached JavaScript.
    fn run<T>(
        &self,
        work: impl FnOnce(&(dyn Fn(&ProgressEvent) + Sync), &AtomicBool) -> Result<T, HostError>,
    ) -> Result<T, HostError> {
        let report = |e: &ProgressEvent| {
            if let Some(d) = &self.delivery {
                d.send(e.clone());
            }
        };
        let result = work(&report, &self.cancel);
        if let Some(d) = &self.delivery {
            d.wait();
        }
        result
    }
}

/// Pulls an image from its registry into the store, reporting each layer's progress.
/// Resolves once the image is stored.
#[napi(ts_return_type = "Promise<PulledImage>")]
pub fn pull(
    env: &Env,
    reference: String,
    options: Option<PullOptions>,
) -> napi::Result<AsyncTask<ImageTask<PulledImage>>> {
    let (mut platform, mut registry, mut root) = (None, RegistryOptions::default(), None);
    let mut watched = Watched::new(env, None, None)?;
    if let Some(o) = options {
        watched = Watched::new(env, o.on_progress.as_ref(), o.signal)?;
        platform = o.platform;
        registry = registry_options(o.tls_verify, o.cert_dir, o.auth_file);
        root = o.storage_root;
    }
    Ok(task(move || {
        let store = writable_store(root, "pull")?;
        let client = registry.client()?;
        watched.run(|report, cancel| ops::pull(&store, &client, &reference, platform.as_deref(), report, cancel))
    }))
}

/// `loadImage`'s options.
#[napi(object, object_to_js = false)]
pub struct LoadOptions<'a> {
    pub storage_root: Option<String>,
    /// Each layer's progress, as for `pull`.
    #[napi(ts_type = "(event: ProgressEvent) => void")]
    pub on_progress: Option<Function<'a, ProgressEvent, UnknownReturnValue>>,
    /// Aborting it stops the load; it rejects with the code `canceled` and keeps nothing.
    #[napi(ts_type = "AbortSignal")]
    pub signal: Option<Object<'a>>,
}

/// `load`: every image of a docker-archive, an oci-archive (plain, gzip or zstd) or an OCI
/// layout directory, through the pull pipeline's checks; all of them or none. `input` is a
/// path, or an open descriptor (standard input) whose tar is read whole first.
#[napi(ts_return_type = "Promise<Array<LoadedImage>>")]
pub fn load_image(
    env: &Env,
    input: Either<String, i32>,
    options: Option<LoadOptions>,
) -> napi::Result<AsyncTask<ImageTask<Vec<LoadedImage>>>> {
    let (watched, root) = match options {
        Some(o) => (Watched::new(env, o.on_progress.as_ref(), o.signal)?, o.storage_root),
        None => (Watched::new(env, None, None)?, None),
    };
    let input = match input {
        Either::A(path) => Either::A(PathBuf::from(path)),
        Either::B(fd) => Either::B(duplicate(fd)?),
    };
    Ok(task(move || {
        let store = writable_store(root, "loading images")?;
        watched.run(|report, cancel| match input {
            Either::A(path) => ops::load(&store, &path, report, cancel),
            Either::B(fd) => ops::load_from_descriptor(&store, fd, "standard input", report, cancel),
        })
    }))
}

/// `saveImage`'s options.
#[napi(object, object_to_js = false)]
pub struct SaveOptions {
    /// `docker-archive` (default), `oci-archive` or `oci-dir`.
    pub format: Option<String>,
    pub storage_root: Option<String>,
}

/// `save`: the images `refs` name into one archive, at the path `output` (replaced once
/// complete) or written to the open descriptor `output` (a tar format only).
#[napi(ts_return_type = "Promise<void>")]
pub fn save_image(
    refs: Vec<String>,
    output: Either<String, i32>,
    options: Option<SaveOptions>,
) -> napi::Result<AsyncTask<ImageTask<()>>> {
    let (format, root) = options.map(|o| (o.format, o.storage_root)).unwrap_or_default();
    let output = match output {
        Either::A(path) => Either::A(PathBuf::from(path)),
        // Our own copy now, on the main thread: the caller may close its descriptor after
        // this returns.
        Either::B(fd) => Either::B(duplicate(fd)?),
    };
    Ok(task(move || {
        let format = ops::save_format(format.as_deref())?;
        let (store, _) = store(root)?;
        match output {
            Either::A(path) => ops::save(&store, &refs, &path, format),
            Either::B(fd) => ops::save_to_descriptor(&store, &refs, fd, format),
        }
    }))
}

/// A copy of the caller's descriptor `fd`, owned by the save.
fn duplicate(fd: i32) -> napi::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC on any integer is sound: one that is not open fails with EBADF.
    let copy = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
    if copy < 0 {
        let e = std::io::Error::last_os_error();
        return Err(napi::Error::new(Status::InvalidArg, format!("cannot use descriptor {fd}: {e}")));
    }
    // SAFETY: `copy` was just returned by fcntl and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(copy) })
}

/// Every image in the store.
#[napi(ts_return_type = "Promise<Array<ImageSummary>>")]
pub fn images(options: Option<StorageOptions>) -> AsyncTask<ImageTask<Vec<ImageSummary>>> {
    let root = root_of(options);
    task(move || ops::images(&store(root)?.0))
}

/// `image inspect`, in podman's shape, of the image `image` names (a reference, an id or a
/// unique prefix of one).
#[napi(ts_return_type = "Promise<ImageInspect>")]
pub fn inspect_image(image: String, options: Option<StorageOptions>) -> AsyncTask<ImageTask<ImageInspect>> {
    let root = root_of(options);
    task(move || tscontainer_image_host::inspect::inspect(&store(root)?.0, &image))
}

/// `removeImage`'s options.
#[napi(object, object_to_js = false)]
pub struct RemoveImageOptions {
    /// Remove an image with several names by its id, or one a container uses (its layers
    /// stay while the container does).
    pub force: Option<bool>,
    pub storage_root: Option<String>,
}

/// `rmi`: by name, removes that name (and the image with its last name); by id, the image.
#[napi(ts_return_type = "Promise<RemovedImage>")]
pub fn remove_image(image: String, options: Option<RemoveImageOptions>) -> AsyncTask<ImageTask<RemovedImage>> {
    let (force, root) = options.map(|o| (o.force.unwrap_or(false), o.storage_root)).unwrap_or((false, None));
    task(move || ops::remove_image(&writable_store(root, "removing an image")?, &image, force))
}

/// `pruneImages`'s options.
#[napi(object, object_to_js = false)]
pub struct PruneOptions {
    /// Every image no container uses, not only the dangling ones.
    pub all: Option<bool>,
    pub storage_root: Option<String>,
}

/// `image prune`: removes dangling images (or, with `all`, every image no container uses)
/// and whatever nothing references.
#[napi(ts_return_type = "Promise<PrunedImages>")]
pub fn prune_images(options: Option<PruneOptions>) -> AsyncTask<ImageTask<PrunedImages>> {
    let (all, root) = options.map(|o| (o.all.unwrap_or(false), o.storage_root)).unwrap_or((false, None));
    task(move || ops::prune(&writable_store(root, "pruning images")?, all))
}

/// `tag SRC DST`: gives the image `source` names the name `target` (`:latest` when it has no
/// tag); the name moves from any other image.
#[napi(ts_return_type = "Promise<void>")]
pub fn tag_image(source: String, target: String, options: Option<StorageOptions>) -> AsyncTask<ImageTask<()>> {
    let root = root_of(options);
    task(move || ops::tag(&store(root)?.0, &source, &target))
}

/// `system df`: what the store holds on disk.
#[napi(ts_return_type = "Promise<DiskUsage>")]
pub fn disk_usage(options: Option<StorageOptions>) -> AsyncTask<ImageTask<DiskUsage>> {
    let root = root_of(options);
    task(move || ops::disk_usage(&store(root)?.0))
}

/// `login`'s options.
#[napi(object, object_to_js = false)]
pub struct LoginOptions {
    pub username: String,
    pub password: String,
    pub tls_verify: Option<bool>,
    pub cert_dir: Option<String>,
    pub auth_file: Option<String>,
}

/// `login REGISTRY`: checks the credentials against the registry, then records them where
/// podman does (`$XDG_RUNTIME_DIR/containers/auth.json`, or `authFile`).
#[napi(ts_return_type = "Promise<void>")]
pub fn login(registry: String, options: LoginOptions) -> AsyncTask<ImageTask<()>> {
    let access = registry_options(options.tls_verify, options.cert_dir, options.auth_file);
    let (username, password) = (options.username, options.password);
    task(move || ops::login(&access.client()?, &registry, &username, &password))
}

/// `logout REGISTRY`: removes the recorded credentials (`not-logged-in` when there
/// are none).
#[napi(ts_return_type = "Promise<void>")]
pub fn logout(registry: String, options: Option<RegistryAccess>) -> AsyncTask<ImageTask<()>> {
    let access = options.map(|o| registry_options(o.tls_verify, o.cert_dir, o.auth_file)).unwrap_or_default();
    task(move || ops::logout(&access.client()?, &registry))
}

/// Makes container `id`'s writable layer over the image `image` names: the directories of
/// its overlay (upper, work, the image's layers top first) and the image's run defaults.
#[napi(ts_return_type = "Promise<ContainerLayers>")]
pub fn create_container_layers(
    id: String,
    image: String,
    options: Option<StorageOptions>,
) -> AsyncTask<ImageTask<ContainerLayers>> {
    let root = root_of(options);
    task(move || ops::create_container_layers(&store(root)?.0, &id, &image))
}

/// Removes container `id`'s writable layer.
#[napi(ts_return_type = "Promise<void>")]
pub fn remove_container_layers(id: String, options: Option<StorageOptions>) -> AsyncTask<ImageTask<()>> {
    let root = root_of(options);
    task(move || ops::remove_container_layers(&writable_store(root, "removing a container's layer")?, &id))
}

/// `--user` (`uid`, `uid:gid`, `name`, `name:group`; unset: the image's own `User`)
/// resolved against the image's `/etc/passwd` and `/etc/group`, read from its layers.
#[napi(ts_return_type = "Promise<ImageUser>")]
pub fn resolve_image_user(
    image: String,
    user: Option<String>,
    options: Option<StorageOptions>,
) -> AsyncTask<ImageTask<ImageUser>> {
    let root = root_of(options);
    task(move || {
        let image = ImageForSpec::open(&store(root)?.0, &image)?;
        let user = image.user_spec(user.as_deref());
        let resolved = tscontainer_run_options::resolve_user_in(user.as_deref(), &image.users()?, &image.groups()?)
            .map_err(|e| HostError::new(e.code(), chain(&e)))?;
        Ok(ImageUser {
            uid: resolved.uid,
            gid: resolved.gid,
            additional_gids: resolved.additional_gids,
            home: resolved.home,
        })
    })
}

/// Which native host runs this caller's image operations, and why. Cheap (a few small
/// files read): no store is opened.
#[napi]
pub fn image_host() -> ImageHostInfo {
    Placement::detect().info()
}

/// The store's root when none is given (`TSCONTAINER_STORAGE`, else root's
/// `/var/lib/tscontainer`, else `$XDG_DATA_HOME/tscontainer`).
#[napi]
pub fn default_storage_root() -> Option<String> {
    storage_root(None).ok().map(|p| p.display().to_string())
}
