//! Node.js bindings for tscontainer (napi-rs).
//!
//! Everything here runs inside the Node process, so nothing here clones, unshares, enters a
//! namespace or starts a container's process (DESIGN.md, invariant 1): the addon builds and
//! validates specs, reads state, pulls images, and tells the TypeScript layer where the
//! runtime binary is; containers themselves are made by that binary. The one program a call
//! may start is a registry's credential helper during a pull (crates/image's helper.rs),
//! through std's spawn (no work between fork and exec).

mod errors;
pub mod images;
mod locate;

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use napi::bindgen_prelude::Unknown;
use napi::Env;
use napi_derive::napi;
use tscontainer_core::cgroups::Roots;
use tscontainer_core::datadir::DataDir;
use tscontainer_core::error::Code;
use tscontainer_core::spec;
use tscontainer_core::state::StateStore;
use tscontainer_run_options::RunOptions;

use errors::{error, to_js, Result};

/// Builds the complete OCI config (`config.json` text) for a `run`. `options` is read
/// through serde into the run-options crate's `RunOptions`, whose TypeScript type is
/// `RunSpecOptions` (ts/api/generated/run-spec-options.ts, generated from it).
#[napi(ts_args_type = "options: object")]
pub fn build_run_spec(env: Env, options: Unknown<'_>) -> Result<String> {
    let options: RunOptions = env.from_js_value(options).map_err(|e| error(Code::InvalidOption, e.reason))?;
    let spec = tscontainer_run_options::build_run_spec(&options).map_err(to_js)?;
    serde_json::to_string_pretty(&spec).map_err(|e| error(Code::Internal, e.to_string()))
}

/// The image a run is of, beside its run options (createImageBundle).
#[napi(object)]
pub struct ImageRunArgs {
    /// A reference, an id or an id prefix of a stored image.
    pub image: String,
    /// `--entrypoint`: replaces the image's Entrypoint; an empty string clears it.
    pub entrypoint: Option<String>,
    /// The store the image and the container's storage are in.
    pub storage_root: Option<String>,
}

/// Makes the directory of a container of `image.image` in the store
/// (`<storage root>/containers/<id>`: its writable layer, an empty `rootfs`, `hosts`,
/// `hostname`, `resolv.conf` and `config.json`, whose first mount is the overlay of the
/// image's layers on `/`) and resolves with its path, the container's bundle. `options`
/// are buildRunSpec's, read now; the rest runs on the thread pool, as it waits for the
/// store's lock while a removal or prune holds it. The image must be stored
/// (`image-not-known` otherwise); nothing is left when it fails.
#[napi(ts_args_type = "options: object, image: ImageRunArgs", ts_return_type = "Promise<ImageBundle>")]
pub fn create_image_bundle(
    env: Env,
    options: Unknown<'_>,
    image: ImageRunArgs,
) -> Result<napi::bindgen_prelude::AsyncTask<images::ImageTask<ImageBundle>>> {
    use tscontainer_image_host::{open_store, run_spec, storage_root, Placement};
    let options: RunOptions = env.from_js_value(options).map_err(|e| error(Code::InvalidOption, e.reason))?;
    let run = run_spec::ImageRun { image: image.image, entrypoint: image.entrypoint };
    let root = image.storage_root.map(PathBuf::from);
    Ok(images::task(move || {
        let store = open_store(storage_root(root)?, &Placement::detect())?;
        let made = run_spec::create_image_bundle(&store, options, &run)?;
        Ok(ImageBundle { dir: made.dir.display().to_string(), stop_signal: made.stop_signal })
    }))
}

/// A container of an image, as createImageBundle made it.
#[napi(object)]
pub struct ImageBundle {
    /// Its directory in the store: the bundle.
    pub dir: String,
    /// The image's StopSignal, which stop and an abort send first.
    pub stop_signal: Option<String>,
}

/// Removes container `id`'s directory in the store at `storage_root` (a missing one is
/// fine): for root and users without subordinate ids; a user with them removes it through
/// `tscontainer-runtime storage remove-container` (`wrong-host` here).
#[napi]
pub fn remove_image_bundle(id: String, storage_root: String) -> Result<()> {
    let host = |e: tscontainer_image_host::HostError| error(e.code, e.message);
    let placement = tscontainer_image_host::Placement::detect();
    if placement.needs_runtime() {
        return Err(error(Code::WrongHost, "this user's container storage is removed by tscontainer-runtime storage"));
    }
    let store = tscontainer_image_host::open_store(PathBuf::from(storage_root), &placement).map_err(host)?;
    match store.remove_container(&id) {
        Ok(()) | Err(tscontainer_image::Error::ContainerNotKnown(_)) => Ok(()),
        Err(e) => Err(host(e.into())),
    }
}

/// Checks an OCI config the way `create` will, without creating anything.
#[napi]
pub fn validate_spec(config_json: String) -> Result<()> {
    let spec = spec::parse(config_json.as_bytes())
        .map_err(|e| error(Code::InvalidConfig, format!("not a valid OCI runtime config: {e}")))?;
    spec::validate(&spec).map_err(to_js)?;
    tscontainer_core::hooks::validate(&spec).map_err(to_js)
}

/// Parses a memory size (`50M`, `1g`, `1048576`) into bytes.
#[napi]
pub fn parse_memory(value: String) -> Result<i64> {
    tscontainer_run_options::parse_memory(&value).map_err(to_js)
}

/// A signal name or number (`SIGUSR1`, `usr1`, `10`, `RTMIN+1`) as its number, read as the
/// runtime's `kill` reads it.
#[napi]
pub fn parse_signal(signal: String) -> Result<i32> {
    tscontainer_core::signal::parse_signal(&signal).map_err(|e| {
        error(
            e.code(),
            format!("{e}: expected a name such as SIGTERM or TERM, or a number from 1 to {}", libc::SIGRTMAX()),
        )
    })
}

/// `-e` entries as `run` reads them, for the other ways in (`exec`): `NAME=VALUE` as given,
/// a bare `NAME` with this process's value, left out when it is unset here.
#[napi]
pub fn resolve_env(entries: Vec<String>) -> Vec<String> {
    entries
        .iter()
        .filter_map(|entry| tscontainer_run_options::env_entry(entry))
        .map(|(k, v)| format!("{k}={v}"))
        .collect()
}

/// A user as the container sees it.
#[napi(object)]
pub struct ResolvedUser {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups: the user's memberships in the rootfs's /etc/group, unless a
    /// group was given.
    pub additional_gids: Vec<u32>,
}

/// `uid[:gid]` or `name[:group]` resolved in `rootfs`'s /etc/passwd and /etc/group, as
/// `run --user` resolves it: the files are read inside the rootfs (a symlink or `..` in them
/// cannot leave it), regular files only and bounded. The rootfs may be the host's `/` (a
/// container over the host's root): reading inside it is then reading the host's databases.
#[napi]
pub fn resolve_user(user: String, rootfs: String) -> Result<ResolvedUser> {
    let rootfs = PathBuf::from(rootfs);
    let root = spec::open_rootfs_directory(&rootfs).map_err(to_js)?;
    let resolved = tscontainer_run_options::resolve_user(Some(&user), root.as_fd(), &rootfs).map_err(to_js)?;
    Ok(ResolvedUser { uid: resolved.uid, gid: resolved.gid, additional_gids: resolved.additional_gids })
}

/// Every `code` an error of the addon (containers and images), an `error` entry of the
/// runtime's JSON log or an error of `tscontainer-runtime storage` can carry: one vocabulary,
/// for a front end that maps each to an error of its own.
#[napi]
pub fn error_codes() -> Vec<String> {
    Code::ALL.iter().map(|c| c.as_str().to_string()).collect()
}

/// The `tscontainer-runtime` executable: `TSCONTAINER_RUNTIME_PATH` if set, else the one
/// installed beside this addon.
#[napi]
pub fn runtime_path() -> Result<String> {
    locate::runtime_path().map(|p| p.display().to_string())
}

/// Where container state lives for this user when no root is given.
#[napi]
pub fn default_state_root() -> String {
    tscontainer_core::state::default_root().display().to_string()
}

/// Where this user's bundles and exec files go (`/var/lib/tscontainer` for root).
#[napi]
pub fn data_dir() -> Result<String> {
    tscontainer_core::datadir::default_dir().map(|p| p.display().to_string()).map_err(to_js)
}

fn data() -> Result<DataDir> {
    DataDir::open(None).map_err(to_js)
}

/// Makes container `id`'s bundle in this user's data directory, holding `config`, and
/// returns its path: a new directory no one else can write to, never in `$TMPDIR`.
#[napi]
pub fn create_bundle(id: String, config: String) -> Result<String> {
    data()?.create_bundle(&id, config.as_bytes()).map(|p| p.display().to_string()).map_err(to_js)
}

/// Where container `id`'s bundle is when this package made it.
#[napi]
pub fn bundle_path(id: String) -> Result<String> {
    Ok(data()?.bundle_path(&id).display().to_string())
}

/// Removes container `id`'s bundle (a missing one is fine), through the data directory.
#[napi]
pub fn remove_bundle(id: String) -> Result<()> {
    data()?.remove_bundle(&id).map_err(to_js)
}

/// A new private directory for an exec's log and pid file; its path.
#[napi]
pub fn create_scratch_dir() -> Result<String> {
    data()?.create_scratch().map(|p| p.display().to_string()).map_err(to_js)
}

/// Removes a directory `createScratchDir` made; any other path is refused.
#[napi]
pub fn remove_scratch_dir(path: String) -> Result<()> {
    data()?.remove_scratch(Path::new(&path)).map_err(to_js)
}

/// A detached container's output limits, as Docker's `--log-opt max-size` and `max-file`.
#[napi(object)]
pub struct OutputLimits {
    /// Bytes per file.
    pub max_size: i64,
    /// Files kept, the current one included.
    pub max_files: u32,
}

/// Docker's `--log-opt` entries (`max-size=10m`, `max-file=3`), checked and read; a missing
/// one takes its default.
#[napi]
pub fn output_limits(entries: Vec<String>) -> Result<OutputLimits> {
    let limits = tscontainer_run_options::log_options(&entries).map_err(to_js)?;
    Ok(OutputLimits { max_size: limits.max_size as i64, max_files: limits.max_files })
}

/// The version of the native core.
#[napi]
pub fn native_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// How a container's process ended, as its supervising runtime recorded it.
#[napi(object)]
pub struct ExitInfo {
    /// The exit code, or 128 + the signal number.
    pub exit_code: i32,
    /// `SIGKILL` and the like when a signal ended it.
    pub signal: Option<String>,
    pub oom_killed: bool,
    /// RFC 3339, UTC.
    pub finished: String,
}

/// A container as the state store sees it.
#[napi(object)]
pub struct ContainerInfo {
    pub id: String,
    /// 0 when stopped.
    pub pid: i32,
    /// `creating`, `created`, `running`, `paused` or `stopped`.
    pub status: String,
    pub bundle: String,
    pub rootfs: String,
    pub created: String,
    /// Set once a supervised container's process has ended.
    pub exit: Option<ExitInfo>,
}

fn info(r: tscontainer_core::container::StateReport) -> ContainerInfo {
    ContainerInfo {
        id: r.id,
        pid: r.pid,
        status: r.status.to_string(),
        bundle: r.bundle.display().to_string(),
        rootfs: r.rootfs.display().to_string(),
        created: r.created,
        exit: r.exit.map(|e| ExitInfo {
            exit_code: e.exit_code,
            signal: e.signal,
            oom_killed: e.oom_killed,
            finished: e.finished,
        }),
    }
}

fn store(root: Option<String>) -> StateStore {
    StateStore::new(root.map(PathBuf::from).unwrap_or_else(tscontainer_core::state::default_root))
}

/// Every container in the state root.
#[napi]
pub fn list_containers(root: Option<String>) -> Result<Vec<ContainerInfo>> {
    let store = store(root);
    let roots = Roots::default();
    let ids = store.list().map_err(to_js)?;
    Ok(ids.iter().filter_map(|id| tscontainer_core::container::state(&store, id, &roots).ok()).map(info).collect())
}

/// One container's live state.
#[napi]
pub fn container_state(id: String, root: Option<String>) -> Result<ContainerInfo> {
    tscontainer_core::container::state(&store(root), &id, &Roots::default()).map(info).map_err(to_js)
}

/// The config a container was created from (`config.json` text).
#[napi]
pub fn container_config(id: String, root: Option<String>) -> Result<String> {
    let state = store(root).load(&id).map_err(to_js)?;
    serde_json::to_string(&state.config).map_err(|e| error(Code::Internal, e.to_string()))
}

/// A container's resource usage from its cgroup, as JSON in runc's `events --stats`
/// shape (cpu, memory, pids). Reading cgroup files creates no process.
#[napi]
pub fn container_stats(id: String, root: Option<String>) -> Result<String> {
    let state = store(root).load(&id).map_err(to_js)?;
    let manager = tscontainer_core::cgroups::manager(&state.cgroup_path, &Roots::default()).map_err(to_js)?;
    let stats = tscontainer_core::cgroups::CgroupManager::stats(&manager).map_err(to_js)?;
    serde_json::to_string(&stats).map_err(|e| error(Code::Internal, e.to_string()))
}
