//! Node.js bindings for tscontainer (napi-rs).
//!
//! Everything here runs inside the Node process, so nothing here creates a process,
//! clones, unshares or enters a namespace (DESIGN.md, invariant 1): the addon builds and
//! validates specs, reads state, and tells the TypeScript layer where the runtime binary
//! is; containers themselves are made by that binary.

mod errors;
pub mod images;
mod locate;

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use napi_derive::napi;
use tscontainer_core::cgroups::Roots;
use tscontainer_core::datadir::DataDir;
use tscontainer_core::spec::{self, Network, RunOptions, SecurityFlags};
use tscontainer_core::state::StateStore;

use errors::{invalid_option, to_js, Code, Result};

/// The options of `tscontainer run`, as text where the user typed text.
#[napi(object)]
pub struct RunSpecOptions {
    pub id: String,
    pub command: Vec<String>,
    pub rootfs: Option<String>,
    pub hostname: Option<String>,
    pub memory: Option<String>,
    pub pids_limit: Option<i64>,
    pub cpus: Option<String>,
    pub env: Option<Vec<String>>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    /// `none` (default), `host`, `pasta` or `slirp4netns`.
    pub network: Option<String>,
    /// Published ports, `[host-ip:]host-port:container-port[/tcp|udp]`.
    pub publish: Option<Vec<String>>,
    pub volumes: Option<Vec<String>>,
    pub read_only: Option<bool>,
    pub tty: Option<bool>,
    /// Capabilities added to Docker's default set (`NET_ADMIN`, `CAP_NET_ADMIN`, `ALL`).
    pub cap_add: Option<Vec<String>>,
    /// Capabilities dropped from it.
    pub cap_drop: Option<Vec<String>>,
    /// Every capability and device, no seccomp filter, nothing masked.
    pub privileged: Option<bool>,
    /// Docker's `--security-opt`: `seccomp=FILE|unconfined`, `no-new-privileges[=BOOL]`,
    /// `systempaths=unconfined`.
    pub security_opt: Option<Vec<String>>,
    /// The image to run (a reference, an id or an id prefix): createImageBundle only.
    pub image: Option<String>,
    /// `--entrypoint`: replaces the image's Entrypoint; an empty string clears it.
    pub entrypoint: Option<String>,
    /// The store the image and the container's storage are in.
    pub storage_root: Option<String>,
}

/// run's options as the core takes them.
fn run_options(options: RunSpecOptions) -> Result<RunOptions> {
    let network = match options.network.as_deref() {
        None => Network::None,
        Some(n) => n.parse().map_err(to_js)?,
    };
    Ok(RunOptions {
        id: options.id,
        command: options.command,
        rootfs: options.rootfs.map(PathBuf::from),
        hostname: options.hostname,
        memory: options.memory,
        pids_limit: options.pids_limit,
        cpus: options.cpus,
        env: options.env.unwrap_or_default(),
        workdir: options.workdir,
        user: options.user,
        resolved_user: None,
        network,
        publish: options.publish.unwrap_or_default(),
        volumes: options.volumes.unwrap_or_default(),
        read_only: options.read_only.unwrap_or(false),
        tty: options.tty.unwrap_or(false),
        security: SecurityFlags {
            cap_add: options.cap_add.unwrap_or_default(),
            cap_drop: options.cap_drop.unwrap_or_default(),
            privileged: options.privileged.unwrap_or(false),
            security_opt: options.security_opt.unwrap_or_default(),
        },
    })
}

/// Builds the complete OCI config (`config.json` text) for a `run` without an image.
#[napi]
pub fn build_run_spec(options: RunSpecOptions) -> Result<String> {
    if options.image.is_some() {
        return Err(invalid_option("a run of an image is made by createImageBundle".into()));
    }
    let spec = spec::build_run_spec(&run_options(options)?).map_err(to_js)?;
    serde_json::to_string_pretty(&spec).map_err(|e| invalid_option(e.to_string()))
}

/// Makes the directory of a container of `options.image` in the store
/// (`<storage root>/containers/<id>`: its writable layer, an empty `rootfs`, `hosts`,
/// `hostname`, `resolv.conf` and `config.json`, whose first mount is the overlay of the
/// image's layers on `/`) and returns its path, the container's bundle. Synchronous: the
/// files are small, and run() returns its streams at once. The image must be stored
/// (`ERR_TSC_IMAGE_NOT_KNOWN` otherwise); nothing is left when it fails.
#[napi]
pub fn create_image_bundle(options: RunSpecOptions) -> napi::Result<ImageBundle, String> {
    let host = |e: tscontainer_image_host::HostError| napi::Error::new(e.code, e.message);
    let js = |e: napi::Error<Code>| napi::Error::new(e.status.as_ref().to_string(), e.reason.clone());
    let Some(image) = options.image.clone() else {
        return Err(napi::Error::new("ERR_TSC_INVALID_OPTION".to_string(), "createImageBundle needs an image"));
    };
    let run = tscontainer_image_host::run_spec::ImageRun { image, entrypoint: options.entrypoint.clone() };
    let placement = tscontainer_image_host::Placement::detect();
    let root = tscontainer_image_host::storage_root(options.storage_root.clone().map(PathBuf::from)).map_err(host)?;
    let store = tscontainer_image_host::open_store(root, &placement).map_err(host)?;
    let opts = run_options(options).map_err(js)?;
    let made = tscontainer_image_host::run_spec::create_image_bundle(&store, opts, &run).map_err(host)?;
    Ok(ImageBundle { dir: made.dir.display().to_string(), stop_signal: made.stop_signal })
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
/// `tscontainer-runtime storage remove-container` (`ERR_TSC_WRONG_HOST` here).
#[napi]
pub fn remove_image_bundle(id: String, storage_root: String) -> napi::Result<(), String> {
    let host = |e: tscontainer_image_host::HostError| napi::Error::new(e.code, e.message);
    let placement = tscontainer_image_host::Placement::detect();
    if placement.needs_runtime() {
        return Err(napi::Error::new(
            "ERR_TSC_WRONG_HOST".to_string(),
            "this user's container storage is removed by tscontainer-runtime storage",
        ));
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
        .map_err(|e| napi::Error::new(Code::InvalidSpec, format!("not a valid OCI runtime config: {e}")))?;
    spec::validate(&spec).map_err(to_js)?;
    tscontainer_core::hooks::validate(&spec).map_err(|e| napi::Error::new(Code::InvalidSpec, e.to_string()))
}

/// Parses a memory size (`50M`, `1g`, `1048576`) into bytes.
#[napi]
pub fn parse_memory(value: String) -> Result<i64> {
    spec::parse_memory(&value).map_err(to_js)
}

/// A signal name or number (`SIGUSR1`, `usr1`, `10`, `RTMIN+1`) as its number, read as the
/// runtime's `kill` reads it.
#[napi]
pub fn parse_signal(signal: String) -> Result<i32> {
    tscontainer_core::signal::parse_signal(&signal).map_err(|e| {
        invalid_option(format!(
            "{e}: expected a name such as SIGTERM or TERM, or a number from 1 to {}",
            libc::SIGRTMAX()
        ))
    })
}

/// `-e` entries as `run` reads them, for the other ways in (`exec`): `NAME=VALUE` as given,
/// a bare `NAME` with this process's value, left out when it is unset here.
#[napi]
pub fn resolve_env(entries: Vec<String>) -> Vec<String> {
    entries.iter().filter_map(|entry| spec::env_entry(entry)).map(|(k, v)| format!("{k}={v}")).collect()
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
    let resolved = spec::resolve_user(Some(&user), root.as_fd(), &rootfs).map_err(to_js)?;
    Ok(ResolvedUser { uid: resolved.uid, gid: resolved.gid, additional_gids: resolved.additional_gids })
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

/// Checks and reads the output limits (`10m`, `3`); a missing one takes its default.
#[napi]
pub fn output_limits(max_size: Option<String>, max_files: Option<String>) -> Result<OutputLimits> {
    let limits = tscontainer_core::output::Limits::parse(max_size.as_deref(), max_files.as_deref()).map_err(to_js)?;
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
    serde_json::to_string(&state.config).map_err(|e| napi::Error::new(errors::Code::Internal, e.to_string()))
}

/// A container's resource usage from its cgroup, as JSON in runc's `events --stats`
/// shape (cpu, memory, pids). Reading cgroup files creates no process.
#[napi]
pub fn container_stats(id: String, root: Option<String>) -> Result<String> {
    let state = store(root).load(&id).map_err(to_js)?;
    let manager = tscontainer_core::cgroups::manager(&state.cgroup_path, &Roots::default())
        .map_err(|e| napi::Error::new(errors::Code::Internal, e.to_string()))?;
    let stats = tscontainer_core::cgroups::CgroupManager::stats(&manager)
        .map_err(|e| napi::Error::new(errors::Code::Internal, e.to_string()))?;
    serde_json::to_string(&stats).map_err(|e| napi::Error::new(errors::Code::Internal, e.to_string()))
}
