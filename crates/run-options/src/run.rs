//! The spec behind `tscontainer run`: options in, a complete runtime-spec config out, with
//! the defaults Docker and podman apply. The CLI and the Node API both come through here.

use std::collections::HashMap;
use std::os::fd::AsFd;
use std::path::{Component, Path, PathBuf};

use oci_spec::runtime::{
    Capabilities, LinuxBuilder, LinuxCapabilitiesBuilder, LinuxCpu, LinuxMemory, LinuxNamespaceType, LinuxPids,
    LinuxResources, Mount, ProcessBuilder, RootBuilder, Spec, SpecBuilder, UserBuilder,
};
use tscontainer_core::network::{Helper, NetworkError, NetworkRequest, PortMapping};
use tscontainer_core::spec::defaults::{
    default_mounts, device_allowlist, host_root_private_mounts, namespaces, rlimits, MASKED_PATHS, READONLY_PATHS,
};
use tscontainer_core::spec::{open_rootfs_argument, Rootfs, SpecError, DEFAULT_PATH, OCI_VERSION};

use crate::security::{confinement, Confinement};
use crate::units::{parse_cpus, parse_memory};
use crate::user::resolve;
use crate::{OptionError, RunOptions};

/// The CFS period `--cpus` is expressed against (Docker's).
const CPU_PERIOD: u64 = 100_000;

/// The pids limit `tscontainer run` and the API give a container unless told otherwise:
/// podman's default (containers.conf `pids_limit`), which stops a fork bomb long before it
/// exhausts the host's pid space and is far above what a service needs. Only for the front
/// ends' own specs: a config a manager hands the runtime is run as written.
pub const DEFAULT_PIDS_LIMIT: i64 = 2048;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Network {
    /// Its own network namespace with only `lo`, which the runtime brings up; with
    /// published ports, a user-mode network through the first helper installed.
    #[default]
    None,
    /// The host's network namespace.
    Host,
    /// Its own network namespace, connected to the outside by a user-mode helper.
    User(Helper),
}

impl std::str::FromStr for Network {
    type Err = OptionError;
    fn from_str(s: &str) -> Result<Self, OptionError> {
        match s {
            "none" => Ok(Network::None),
            "host" => Ok(Network::Host),
            other => other.parse().map(Network::User).map_err(|_| {
                OptionError::invalid("network", other, "expected `none`, `host`, `pasta` or `slirp4netns`")
            }),
        }
    }
}

impl Network {
    /// The network `opts` asks for (none given: [`Network::None`]).
    fn of(opts: &RunOptions) -> Result<Network, OptionError> {
        opts.network.as_deref().map_or(Ok(Network::None), str::parse)
    }
}

/// A bind mount requested with `--volume`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    pub source: PathBuf,
    pub destination: PathBuf,
    pub read_only: bool,
}

fn lexically_normal(path: &Path) -> bool {
    path.is_absolute() && path.components().all(|c| matches!(c, Component::RootDir | Component::Normal(_)))
}

/// Whether a container path is /proc or /sys, or under them: a volume there would show the
/// host's processes or kernel settings through the container's own kernel filesystems.
fn on_kernel_filesystems(destination: &Path) -> bool {
    destination.starts_with("/proc") || destination.starts_with("/sys")
}

fn parse_volume(value: &str, cwd: &Path, privileged: bool) -> Result<Volume, OptionError> {
    let bad = |reason: &str| OptionError::invalid("volume", value, reason);
    let parts: Vec<&str> = value.split(':').collect();
    let (source, destination, mode) = match parts.as_slice() {
        [s, d] => (*s, *d, None),
        [s, d, m] => (*s, *d, Some(*m)),
        _ => return Err(bad("expected host-path:container-path[:ro|rw]")),
    };
    let read_only = match mode {
        None | Some("rw") => false,
        Some("ro") => true,
        Some(_) => return Err(bad("the mode must be `ro` or `rw`")),
    };
    if source.is_empty() || destination.is_empty() {
        return Err(bad("expected host-path:container-path[:ro|rw]"));
    }
    let source = if Path::new(source).is_absolute() { PathBuf::from(source) } else { cwd.join(source) };
    let source = std::fs::canonicalize(&source).map_err(|e| {
        OptionError::unusable("volume", value, format!("the host path {} cannot be used", source.display()), e)
    })?;
    let destination = PathBuf::from(destination);
    if !lexically_normal(&destination) {
        return Err(bad("the container path must be absolute, without `.` or `..`"));
    }
    if destination == Path::new("/") {
        return Err(bad("the container path cannot be `/`"));
    }
    if on_kernel_filesystems(&destination) && !privileged {
        return Err(bad(&format!(
            "a volume on or under /proc or /sys ({}) would expose the host's kernel state; only --privileged allows it",
            destination.display()
        )));
    }
    Ok(Volume { source, destination, read_only })
}

fn bind_mount(volume: &Volume) -> Mount {
    let mut options = vec!["rbind".to_string(), "rprivate".to_string()];
    // `:ro` covers the volume's submounts too (`rro`), as Docker's does since 25; a writable
    // volume leaves its submounts as the host has them.
    if volume.read_only {
        options.extend(["ro".to_string(), "rro".to_string()]);
    } else {
        options.push("rw".to_string());
    }
    let mut m = Mount::default();
    m.set_destination(volume.destination.clone())
        .set_typ(Some("bind".into()))
        .set_source(Some(volume.source.clone()))
        .set_options(Some(options));
    m
}

/// A hostname the kernel and resolvers accept, derived from the container id.
fn hostname_for(id: &str) -> String {
    let mut name: String =
        id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '-' }).collect();
    name.truncate(63);
    let trimmed = name.trim_matches(|c| c == '-' || c == '.').to_string();
    if trimmed.is_empty() {
        "tscontainer".into()
    } else {
        trimmed
    }
}

fn environment(opts: &RunOptions, hostname: &str, home: &str) -> Vec<String> {
    let mut ordered: Vec<String> = Vec::new();
    let mut values: HashMap<String, String> = HashMap::new();
    let mut set = |key: &str, value: String| {
        if !values.contains_key(key) {
            ordered.push(key.to_string());
        }
        values.insert(key.to_string(), value);
    };
    let (path_key, path_value) = DEFAULT_PATH.split_once('=').unwrap_or(("PATH", ""));
    set(path_key, path_value.to_string());
    set("HOSTNAME", hostname.to_string());
    set("HOME", home.to_string());
    if opts.tty {
        set("TERM", "xterm".into());
    }
    for (k, v) in opts.env.iter().filter_map(|entry| env_entry(entry)) {
        set(k, v);
    }
    ordered.into_iter().map(|k| format!("{k}={}", values[&k])).collect()
}

/// The variable one `-e` entry sets: `NAME=VALUE` as given; a bare `NAME` passes this
/// process's value through, as Docker does, and sets nothing when it is unset here.
pub fn env_entry(entry: &str) -> Option<(&str, String)> {
    match entry.split_once('=') {
        Some((k, v)) => Some((k, v.to_string())),
        None => std::env::var(entry).ok().map(|v| (entry, v)),
    }
}

fn validate_env(env: &[String]) -> Result<(), OptionError> {
    for entry in env {
        let key = entry.split_once('=').map_or(entry.as_str(), |(k, _)| k);
        if key.is_empty() || key.contains('\0') || entry.contains('\0') {
            return Err(OptionError::invalid("environment variable", entry, "expected KEY=VALUE"));
        }
    }
    Ok(())
}

/// Every device, for a privileged container.
fn all_devices() -> Vec<oci_spec::runtime::LinuxDeviceCgroup> {
    let mut rule = oci_spec::runtime::LinuxDeviceCgroup::default();
    rule.set_allow(true).set_access(Some("rwm".into()));
    vec![rule]
}

/// The pids limit for `requested` (`--pids-limit`): as with Docker and podman, 0 and -1 mean
/// none; nothing given means the default, where the caller's containers can have one (a
/// pids controller for root, or in a cgroup delegated to the user). Elsewhere, as podman
/// does, the default is skipped, so an unprivileged run without a cgroup works as before.
fn pids_limit(requested: Option<i64>, caller: &Caller) -> Result<Option<i64>, OptionError> {
    match requested {
        None => Ok(caller.pids_controller.then_some(DEFAULT_PIDS_LIMIT)),
        Some(0 | -1) => Ok(None),
        Some(limit) if limit > 0 => Ok(Some(limit)),
        Some(limit) => Err(OptionError::invalid(
            "pids limit",
            limit.to_string(),
            "expected a positive number, or 0 or -1 for unlimited",
        )),
    }
}

fn resources(
    opts: &RunOptions,
    online_cpus: u64,
    privileged: bool,
    pids: Option<i64>,
) -> Result<LinuxResources, OptionError> {
    let mut resources = LinuxResources::default();
    resources.set_devices(Some(if privileged { all_devices() } else { device_allowlist() }));
    if let Some(memory) = &opts.memory {
        let limit = parse_memory(memory)?;
        let mut m = LinuxMemory::default();
        // swap = limit: the container gets exactly the memory asked for and no swap, so a
        // process that outgrows it is OOM-killed instead of thrashing the host's swap.
        m.set_limit(Some(limit)).set_swap(Some(limit));
        resources.set_memory(Some(m));
    }
    if let Some(limit) = pids {
        let mut p = LinuxPids::default();
        p.set_limit(limit);
        resources.set_pids(Some(p));
    }
    if let Some(cpus) = &opts.cpus {
        let quota = parse_cpus(cpus, CPU_PERIOD, online_cpus)?;
        let mut c = LinuxCpu::default();
        c.set_quota(Some(quota)).set_period(Some(CPU_PERIOD));
        resources.set_cpu(Some(c));
    }
    Ok(resources)
}

fn online_cpus() -> u64 {
    // SAFETY: sysconf has no preconditions; it only reads a system value.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    u64::try_from(n).ok().filter(|n| *n > 0).unwrap_or(1)
}

/// Who runs the container, as far as the spec cares.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    uid: u32,
    gid: u32,
    /// The user's subordinate id ranges, when it has them and the helpers to map them.
    ranges: Option<(tscontainer_core::userns::SubordinateRange, tscontainer_core::userns::SubordinateRange)>,
    /// A cgroup (v2) delegated to the user, under which its containers' cgroups go.
    delegated_cgroup: Option<PathBuf>,
    /// The user-mode network helpers installed here, in order of preference.
    network_helpers: Vec<Helper>,
    /// Whether this caller's containers can get a pids limit: a pids controller for root,
    /// available in the cgroup delegated to a user.
    pids_controller: bool,
}

impl Caller {
    fn this_process() -> Self {
        let (uid, gid) = (nix::unistd::geteuid().as_raw(), nix::unistd::getegid().as_raw());
        let network_helpers = Helper::ALL.into_iter().filter(|h| h.program().is_some()).collect();
        let root = Path::new(tscontainer_core::cgroups::DEFAULT_CGROUP_ROOT);
        let setup = tscontainer_core::cgroups::detect(root).ok();
        let v2_controller = |dir: &Path| {
            std::fs::read_to_string(dir.join("cgroup.controllers"))
                .is_ok_and(|c| c.split_whitespace().any(|c| c == "pids"))
        };
        if uid == 0 {
            let pids_controller = match setup {
                Some(tscontainer_core::cgroups::Setup::Unified) => v2_controller(root),
                Some(_) => root.join("pids").join("cgroup.procs").exists(),
                None => false,
            };
            return Caller { uid, gid, ranges: None, delegated_cgroup: None, network_helpers, pids_controller };
        }
        let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
        let unified = setup == Some(tscontainer_core::cgroups::Setup::Unified);
        let delegated_cgroup = unified.then(|| tscontainer_core::spec::delegated_cgroup(&own, root, uid)).flatten();
        let pids_controller =
            delegated_cgroup.as_ref().is_some_and(|d| v2_controller(&root.join(d.strip_prefix("/").unwrap_or(d))));
        Caller {
            uid,
            gid,
            ranges: tscontainer_core::userns::subordinate_ranges(uid, gid),
            delegated_cgroup,
            network_helpers,
            pids_controller,
        }
    }
}

/// The host's `/`, for a run without a rootfs.
fn host_root_dir() -> Result<Rootfs, SpecError> {
    let path = PathBuf::from("/");
    let fd = nix::fcntl::open(
        &path,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| SpecError::Rootfs { path: path.clone(), reason: e.desc().to_string() })?;
    Ok(Rootfs { path, fd })
}

/// Builds the complete config for a `tscontainer run`; run by an unprivileged user, the
/// container gets a user namespace (see `spec::rootless`).
pub fn build_run_spec(opts: &RunOptions) -> Result<Spec, OptionError> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    build_run_spec_in(opts, &cwd, online_cpus(), &Caller::this_process())
}

fn build_run_spec_in(opts: &RunOptions, cwd: &Path, online_cpus: u64, caller: &Caller) -> Result<Spec, OptionError> {
    use LinuxNamespaceType::*;
    tscontainer_core::state::validate_id(&opts.id).map_err(|e| OptionError::refused("name", &opts.id, e))?;
    if opts.command.is_empty() {
        return Err(OptionError::invalid("command", "", "a command to run is required"));
    }
    if opts.command[0].is_empty() {
        return Err(OptionError::invalid("command", "", "the command cannot be an empty string"));
    }
    let network = self::Network::of(opts)?;
    validate_env(&opts.env)?;

    let host_root = opts.rootfs.is_none();
    // Opened once: the user database is read through this descriptor, and the config names
    // the directory it found (the runtime then follows no symlink to it).
    let Rootfs { path: rootfs, fd: root } = match &opts.rootfs {
        Some(p) => open_rootfs_argument(&if p.is_absolute() { p.clone() } else { cwd.join(p) })?,
        None => host_root_dir()?,
    };

    let hostname = match &opts.hostname {
        Some(h) => {
            if h.is_empty() || h.len() > 64 || !h.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.') {
                return Err(OptionError::invalid("hostname", h, "expected up to 64 letters, digits, `-` or `.`"));
            }
            h.clone()
        }
        None => hostname_for(&opts.id),
    };

    let user = match &opts.resolved_user {
        Some(user) => user.clone(),
        None => resolve(opts.user.as_deref(), root.as_fd(), &rootfs)?,
    };
    let cwd_in_container = opts.workdir.clone().unwrap_or_else(|| "/".into());
    if !lexically_normal(Path::new(&cwd_in_container)) {
        return Err(OptionError::invalid("workdir", &cwd_in_container, "must be an absolute path without `.` or `..`"));
    }

    let volumes = opts.volumes.iter().map(|v| parse_volume(v, cwd, opts.privileged)).collect::<Result<Vec<_>, _>>()?;
    if host_root {
        // The host's root is mounted read-only and must not be written, not even to make a
        // mount point or a working directory: those must already exist on the host.
        for path in volumes.iter().map(|v| &v.destination).chain(std::iter::once(&PathBuf::from(&cwd_in_container))) {
            if !path.exists() {
                return Err(OptionError::invalid(
                    if path == Path::new(&cwd_in_container) { "workdir" } else { "volume" },
                    path.display().to_string(),
                    "does not exist on the host; without --rootfs the container runs over the host's read-only root, so the path must already exist",
                ));
            }
        }
    }

    let confined: Confinement = confinement(opts, cwd)?;
    let mut mounts = default_mounts();
    if confined.privileged {
        // As Docker: a privileged container may write /sys and its cgroups.
        for m in mounts.iter_mut().filter(|m| m.destination().starts_with("/sys")) {
            let options = m.options().clone().unwrap_or_default().into_iter().filter(|o| o != "ro").collect();
            m.set_options(Some(options));
        }
    }
    if host_root {
        mounts.extend(host_root_private_mounts());
    }
    mounts.extend(volumes.iter().map(bind_mount));

    let network_request = network_request(opts, network, caller)?;
    let mut ns_types = vec![Pid, Ipc, Uts, Mount, Cgroup];
    if network != self::Network::Host {
        ns_types.insert(1, Network);
    }

    // Docker gives root its capabilities and an unprivileged user none in effect: the
    // bounding set stays as a ceiling either way.
    let all: Capabilities = confined.capabilities.clone();
    let granted: Capabilities = if user.uid == 0 { all.clone() } else { Capabilities::new() };
    let capabilities = LinuxCapabilitiesBuilder::default()
        .bounding(all.clone())
        .effective(granted.clone())
        .permitted(granted)
        .inheritable(Capabilities::new())
        .ambient(Capabilities::new())
        .build()
        .map_err(SpecError::build("process.capabilities"))?;

    let invalid = SpecError::build;
    let mut user_spec = UserBuilder::default().uid(user.uid).gid(user.gid).build().map_err(invalid("process.user"))?;
    if !user.additional_gids.is_empty() {
        user_spec.set_additional_gids(Some(user.additional_gids.clone()));
    }
    let process = ProcessBuilder::default()
        .terminal(opts.tty)
        .user(user_spec)
        .args(opts.command.clone())
        .env(environment(opts, &hostname, &user.home))
        .cwd(cwd_in_container)
        .capabilities(capabilities)
        .rlimits(rlimits()?)
        .no_new_privileges(confined.no_new_privileges)
        .build()
        .map_err(invalid("process"))?;

    let hidden = |paths: &[&str]| -> Vec<String> {
        if confined.hide_system_paths {
            paths.iter().map(|p| p.to_string()).collect()
        } else {
            Vec::new()
        }
    };
    let mut linux = LinuxBuilder::default()
        .namespaces(namespaces(&ns_types))
        .cgroups_path(PathBuf::from(format!("/tscontainer-{}", opts.id)))
        .resources(resources(opts, online_cpus, confined.privileged, pids_limit(opts.pids_limit, caller)?)?)
        .masked_paths(hidden(&MASKED_PATHS))
        .readonly_paths(hidden(&READONLY_PATHS))
        .rootfs_propagation("rprivate")
        .build()
        .map_err(invalid("linux"))?;
    linux.set_seccomp(confined.seccomp.clone());
    if confined.privileged {
        linux.set_devices(Some(crate::security::host_devices(Path::new("/dev"))));
    }

    let spec = SpecBuilder::default()
        .version(OCI_VERSION)
        .root(
            RootBuilder::default()
                .path(rootfs)
                .readonly(host_root || opts.read_only)
                .build()
                .map_err(invalid("root"))?,
        )
        .process(process)
        .hostname(hostname)
        .mounts(mounts)
        .linux(linux)
        .annotations(network_request.iter().flat_map(NetworkRequest::annotations).collect::<HashMap<_, _>>())
        .build()
        .map_err(invalid("spec"))?;
    let mut spec = spec;
    if caller.uid != 0 {
        rootless(&mut spec, opts, caller, user.uid, user.gid)?;
    }
    tscontainer_core::spec::validate(&spec)?;
    Ok(spec)
}

/// The user-mode network a run asks for: `--net pasta|slirp4netns`, or published ports,
/// which get the first helper installed. The helper must be installed now, so a run that
/// cannot have its network fails before anything is made.
fn network_request(
    opts: &RunOptions,
    network: Network,
    caller: &Caller,
) -> Result<Option<NetworkRequest>, OptionError> {
    let ports = opts
        .publish
        .iter()
        .map(|p| {
            p.parse::<PortMapping>().map_err(|e| match e {
                NetworkError::Port { value, reason } => OptionError::invalid("published port", value, reason),
                other => OptionError::refused("published port", p, other),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let helper = match network {
        Network::Host if !ports.is_empty() => {
            return Err(OptionError::invalid(
                "published port",
                &opts.publish[0],
                "with --net host the container already uses the host's ports",
            ))
        }
        Network::Host => return Ok(None),
        Network::None if ports.is_empty() => return Ok(None),
        Network::None => *caller.network_helpers.iter().find(|h| caller.uid != 0 || **h != Helper::Pasta).ok_or_else(|| {
            OptionError::invalid(
                "published port",
                &opts.publish[0],
                "publishing ports needs pasta or slirp4netns, and neither is installed here: apt-get install passt (or slirp4netns)",
            )
        })?,
        // pasta (as Debian 12 ships it) drops to `nobody` before it opens the namespace.
        Network::User(Helper::Pasta) if caller.uid == 0 => {
            return Err(OptionError::invalid(
                "network",
                "pasta",
                "pasta cannot configure a container's network for root (it drops to nobody first): use --net slirp4netns",
            ))
        }
        Network::User(helper) => {
            if !caller.network_helpers.contains(&helper) {
                return Err(OptionError::refused("network", helper.name(), helper.not_installed("it")));
            }
            helper
        }
    };
    Ok(Some(NetworkRequest { helper, ports }))
}

/// What an unprivileged caller's container needs: the user namespace and its maps, a
/// user that exists in them, and a cgroup only under a delegated one.
fn rootless(spec: &mut Spec, opts: &RunOptions, caller: &Caller, uid: u32, gid: u32) -> Result<(), OptionError> {
    use tscontainer_core::spec::{id_maps, make_rootless, mapped};
    let maps = id_maps(caller.uid, caller.gid, caller.ranges)?;
    if !mapped(&maps.uids, uid) || !mapped(&maps.gids, gid) {
        let value = opts.user.clone().unwrap_or_default();
        let reason = if maps.ranges {
            "it is outside the ids /etc/subuid and /etc/subgid grant you".to_string()
        } else {
            "without subordinate ids (an entry in /etc/subuid and /etc/subgid, and newuidmap installed) only root exists in your containers".to_string()
        };
        return Err(OptionError::invalid("user", value, reason));
    }
    make_rootless(spec, &maps)?;
    let mut linux = spec.linux().clone().unwrap_or_default();
    linux.set_cgroups_path(caller.delegated_cgroup.as_ref().map(|d| d.join(format!("tscontainer-{}", opts.id))));
    spec.set_linux(Some(linux));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tscontainer_core::error::chain;

    fn opts(command: &[&str]) -> RunOptions {
        RunOptions { id: "c1".into(), command: command.iter().map(|s| s.to_string()).collect(), ..Default::default() }
    }

    fn build(o: &RunOptions) -> Result<Spec, OptionError> {
        build_run_spec_in(
            o,
            Path::new("/"),
            2,
            &Caller {
                uid: 0,
                gid: 0,
                ranges: None,
                delegated_cgroup: None,
                network_helpers: vec![Helper::Pasta, Helper::Slirp4netns],
                pids_controller: true,
            },
        )
    }

    #[test]
    fn host_root_default_is_read_only_with_its_own_tmp() {
        let spec = build(&opts(&["sh"])).unwrap();
        let root = spec.root().as_ref().unwrap();
        assert_eq!(root.path(), Path::new("/"));
        assert_eq!(root.readonly(), Some(true));
        let dests: Vec<_> = spec.mounts().as_ref().unwrap().iter().map(|m| m.destination().clone()).collect();
        for d in ["/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup", "/tmp", "/run"] {
            assert!(dests.contains(&PathBuf::from(d)), "missing {d}");
        }
        assert_eq!(spec.hostname().as_deref(), Some("c1"));
    }

    #[test]
    fn limits_land_in_resources() {
        let mut o = opts(&["sh"]);
        o.memory = Some("50M".into());
        o.pids_limit = Some(20);
        o.cpus = Some("0.5".into());
        let spec = build(&o).unwrap();
        let r = spec.linux().as_ref().unwrap().resources().as_ref().unwrap();
        assert_eq!(r.memory().unwrap().limit(), Some(52_428_800));
        assert_eq!(r.memory().unwrap().swap(), Some(52_428_800));
        assert_eq!(r.pids().unwrap().limit(), 20);
        assert_eq!(r.cpu().as_ref().unwrap().quota(), Some(50_000));
        assert_eq!(r.cpu().as_ref().unwrap().period(), Some(100_000));
    }

    #[test]
    fn bad_limits_name_the_flag() {
        let mut o = opts(&["sh"]);
        o.memory = Some("10Q".into());
        assert!(chain(&build(&o).unwrap_err()).starts_with("invalid memory limit `10Q`"));
        let mut o = opts(&["sh"]);
        o.pids_limit = Some(-2);
        assert!(chain(&build(&o).unwrap_err()).starts_with("invalid pids limit `-2`"));
    }

    #[test]
    fn the_pids_limit_defaults_to_podmans_where_it_can_apply() {
        let limit = |o: &RunOptions, caller: &Caller| {
            let spec = build_run_spec_in(o, Path::new("/"), 2, caller).unwrap();
            spec.linux().as_ref().unwrap().resources().as_ref().unwrap().pids().map(|p| p.limit())
        };
        let root = |pids_controller| Caller {
            uid: 0,
            gid: 0,
            ranges: None,
            delegated_cgroup: None,
            network_helpers: vec![],
            pids_controller,
        };
        let o = opts(&["sh"]);
        assert_eq!(limit(&o, &root(true)), Some(DEFAULT_PIDS_LIMIT));
        assert_eq!(limit(&o, &root(false)), None, "no pids controller: no default");
        for unlimited in [0, -1] {
            let mut o = opts(&["sh"]);
            o.pids_limit = Some(unlimited);
            assert_eq!(limit(&o, &root(true)), None, "{unlimited} means unlimited, as with Docker and podman");
        }
        let user = |delegated: bool| Caller {
            uid: 1000,
            gid: 1000,
            ranges: None,
            delegated_cgroup: delegated.then(|| "/d".into()),
            network_helpers: vec![],
            pids_controller: delegated,
        };
        assert_eq!(limit(&o, &user(false)), None, "a user without a cgroup runs as before");
        assert_eq!(limit(&o, &user(true)), Some(DEFAULT_PIDS_LIMIT));
    }

    #[test]
    fn network_none_adds_a_network_namespace() {
        let has_net = |s: &Spec| {
            s.linux()
                .as_ref()
                .unwrap()
                .namespaces()
                .as_ref()
                .unwrap()
                .iter()
                .any(|n| n.typ() == LinuxNamespaceType::Network)
        };
        assert!(has_net(&build(&opts(&["sh"])).unwrap()));
        let mut o = opts(&["sh"]);
        o.network = Some("host".into());
        assert!(!has_net(&build(&o).unwrap()));
    }

    #[test]
    fn published_ports_get_a_user_mode_network() {
        let annotations = |s: &Spec| s.annotations().clone().unwrap_or_default();
        let mut o = opts(&["sh"]);
        o.publish = vec!["8080:80".into(), "127.0.0.1:53:53/udp".into()];
        let spec = build(&o).unwrap();
        assert_eq!(
            annotations(&spec)[tscontainer_core::network::HELPER_ANNOTATION],
            "slirp4netns",
            "root: pasta cannot serve"
        );
        let user = Caller {
            uid: 1000,
            gid: 1000,
            ranges: None,
            delegated_cgroup: None,
            network_helpers: vec![Helper::Pasta, Helper::Slirp4netns],
            pids_controller: false,
        };
        let spec = build_run_spec_in(&o, Path::new("/"), 2, &user).unwrap();
        assert_eq!(spec.annotations().as_ref().unwrap()[tscontainer_core::network::HELPER_ANNOTATION], "pasta");
        let mut pasta = opts(&["sh"]);
        pasta.network = Some("pasta".into());
        assert!(chain(&build(&pasta).unwrap_err()).contains("use --net slirp4netns"));
        assert_eq!(
            annotations(&spec)[tscontainer_core::network::PUBLISH_ANNOTATION],
            "8080:80/tcp,127.0.0.1:53:53/udp"
        );
        o.network = Some("host".into());
        assert!(chain(&build(&o).unwrap_err()).contains("already uses the host's ports"));
        o.publish = vec!["80".into()];
        o.network = None;
        assert!(chain(&build(&o).unwrap_err()).starts_with("invalid published port `80`"));

        let bare = Caller {
            uid: 0,
            gid: 0,
            ranges: None,
            delegated_cgroup: None,
            network_helpers: vec![],
            pids_controller: true,
        };
        let mut o = opts(&["sh"]);
        o.network = Some("slirp4netns".into());
        let err = chain(&build_run_spec_in(&o, Path::new("/"), 2, &bare).unwrap_err());
        assert!(err.contains("apt-get install slirp4netns"), "{err}");
        o.network = None;
        o.publish = vec!["8080:80".into()];
        let err = chain(&build_run_spec_in(&o, Path::new("/"), 2, &bare).unwrap_err());
        assert!(err.contains("apt-get install passt (or slirp4netns)"), "{err}");
        assert!(build(&opts(&["sh"])).unwrap().annotations().as_ref().is_none_or(|a| a.is_empty()));
        assert!("vde".parse::<Network>().is_err());
    }

    #[test]
    fn volumes_are_parsed_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().display().to_string();
        let v = parse_volume(&format!("{src}:/data:ro"), Path::new("/"), false).unwrap();
        assert_eq!(
            v,
            Volume { source: dir.path().canonicalize().unwrap(), destination: "/data".into(), read_only: true }
        );
        assert!(!parse_volume(&format!("{src}:/data"), Path::new("/"), false).unwrap().read_only);
        for bad in [
            src.clone(),
            format!("{src}:data"),
            format!("{src}:/a/../b"),
            format!("{src}:/d:rx"),
            "/nonexistent-x:/d".into(),
        ] {
            assert!(parse_volume(&bad, Path::new("/"), false).is_err(), "{bad}");
        }
    }

    #[test]
    fn volumes_over_proc_and_sys_need_privileged() {
        for dest in ["/proc", "/proc/", "/proc/sys", "/sys", "/sys/kernel/security"] {
            let err = chain(&parse_volume(&format!("/tmp:{dest}"), Path::new("/"), false).unwrap_err());
            assert!(err.contains("only --privileged allows it"), "{dest}: {err}");
            assert!(parse_volume(&format!("/tmp:{dest}"), Path::new("/"), true).is_ok(), "{dest}");
        }
        assert!(parse_volume("/tmp:/procfs", Path::new("/"), false).is_ok());
        assert!(parse_volume("/tmp:/system", Path::new("/"), false).is_ok());
    }

    #[test]
    fn read_only_volumes_are_read_only_in_their_submounts() {
        let options = |read_only| {
            bind_mount(&Volume { source: "/s".into(), destination: "/d".into(), read_only }).options().clone().unwrap()
        };
        assert_eq!(options(true), ["rbind", "rprivate", "ro", "rro"]);
        assert_eq!(options(false), ["rbind", "rprivate", "rw"]);
    }

    #[test]
    fn host_root_refuses_paths_it_would_have_to_create() {
        let mut o = opts(&["sh"]);
        o.workdir = Some("/no/such/dir/anywhere".into());
        assert!(chain(&build(&o).unwrap_err()).contains("does not exist on the host"));
    }

    #[test]
    fn rootfs_must_be_a_directory() {
        let file = tempfile::NamedTempFile::new().unwrap();
        let mut o = opts(&["sh"]);
        o.rootfs = Some(file.path().to_path_buf());
        assert!(chain(&build(&o).unwrap_err()).ends_with("is not a directory"));
        o.rootfs = Some("/nonexistent/rootfs".into());
        assert_eq!(chain(&build(&o).unwrap_err()), "rootfs /nonexistent/rootfs: does not exist");
    }

    #[test]
    fn environment_has_defaults_and_overrides() {
        let mut o = opts(&["sh"]);
        o.env = vec!["FOO=bar".into(), "PATH=/bin".into()];
        o.tty = true;
        let env = environment(&o, "h", "/root");
        assert_eq!(env, vec!["PATH=/bin", "HOSTNAME=h", "HOME=/root", "TERM=xterm", "FOO=bar"]);
        assert!(validate_env(&["=x".into()]).is_err());
    }

    #[test]
    fn a_bare_env_name_copies_the_value_here_or_sets_nothing() {
        assert_eq!(env_entry("A=b=c"), Some(("A", "b=c".to_string())));
        assert_eq!(env_entry("A="), Some(("A", String::new())));
        let path = std::env::var("PATH").unwrap();
        assert_eq!(env_entry("PATH"), Some(("PATH", path)));
        assert_eq!(env_entry("TSCONTAINER_TEST_SURELY_UNSET"), None);
    }

    #[test]
    fn non_root_users_get_no_effective_capabilities() {
        let mut o = opts(&["sh"]);
        o.user = Some("1000:1000".into());
        let spec = build(&o).unwrap();
        let caps = spec.process().as_ref().unwrap().capabilities().as_ref().unwrap();
        assert!(caps.effective().as_ref().unwrap().is_empty());
        assert_eq!(caps.bounding().as_ref().unwrap().len(), 14);
    }

    #[test]
    fn unprivileged_callers_get_a_user_namespace() {
        let alone = Caller {
            uid: 1000,
            gid: 1000,
            ranges: None,
            delegated_cgroup: None,
            network_helpers: vec![],
            pids_controller: false,
        };
        let spec = build_run_spec_in(&opts(&["sh"]), Path::new("/"), 2, &alone).unwrap();
        let linux = spec.linux().as_ref().unwrap();
        assert!(linux.namespaces().as_ref().unwrap().iter().any(|n| n.typ() == LinuxNamespaceType::User));
        assert_eq!(linux.uid_mappings().as_ref().unwrap().len(), 1);
        assert!(linux.cgroups_path().is_none(), "no delegated cgroup, no cgroup path");
        let mut o = opts(&["sh"]);
        o.user = Some("1000".into());
        let err = chain(&build_run_spec_in(&o, Path::new("/"), 2, &alone).unwrap_err());
        assert!(err.contains("only root exists in your containers"), "{err}");
        let r = tscontainer_core::userns::SubordinateRange { start: 100_000, count: 65_536 };
        let delegated = Caller {
            uid: 1000,
            gid: 1000,
            ranges: Some((r, r)),
            delegated_cgroup: Some("/d".into()),
            network_helpers: vec![],
            pids_controller: true,
        };
        let spec = build_run_spec_in(&o, Path::new("/"), 2, &delegated).unwrap();
        let linux = spec.linux().as_ref().unwrap();
        assert_eq!(linux.uid_mappings().as_ref().unwrap().len(), 2);
        assert_eq!(linux.cgroups_path().as_deref(), Some(Path::new("/d/tscontainer-c1")));
    }

    #[test]
    fn security_flags_shape_the_confinement() {
        let spec = build(&opts(&["sh"])).unwrap();
        let linux = spec.linux().as_ref().unwrap();
        assert!(linux.seccomp().is_some());
        assert_eq!(linux.masked_paths().as_ref().unwrap().len(), MASKED_PATHS.len());
        assert_eq!(spec.process().as_ref().unwrap().no_new_privileges(), Some(true));

        let mut o = opts(&["sh"]);
        o.cap_add = vec!["NET_ADMIN".into()];
        o.cap_drop = vec!["CHOWN".into()];
        o.security_opt = vec!["seccomp=unconfined".into(), "no-new-privileges=false".into()];
        let spec = build(&o).unwrap();
        let process = spec.process().as_ref().unwrap();
        let caps = process.capabilities().as_ref().unwrap();
        for set in [caps.bounding(), caps.effective(), caps.permitted()] {
            let set = set.as_ref().unwrap();
            assert!(set.contains(&oci_spec::runtime::Capability::NetAdmin));
            assert!(!set.contains(&oci_spec::runtime::Capability::Chown));
        }
        assert_eq!(process.no_new_privileges(), Some(false));
        assert!(spec.linux().as_ref().unwrap().seccomp().is_none());

        let mut o = opts(&["sh"]);
        o.privileged = true;
        let spec = build(&o).unwrap();
        let linux = spec.linux().as_ref().unwrap();
        assert!(linux.seccomp().is_none());
        assert!(linux.masked_paths().as_ref().unwrap().is_empty());
        assert!(linux.readonly_paths().as_ref().unwrap().is_empty());
        let devices = linux.resources().as_ref().unwrap().devices().as_ref().unwrap();
        assert!(devices.len() == 1 && devices[0].allow() && devices[0].typ().is_none());
        let nodes = linux.devices().as_ref().unwrap();
        assert!(nodes.iter().any(|d| d.path() == Path::new("/dev/null")), "the host's devices");
        let sys = spec.mounts().as_ref().unwrap().iter().find(|m| m.destination() == Path::new("/sys")).unwrap();
        assert!(!sys.options().as_ref().unwrap().contains(&"ro".to_string()));
        let caps = spec.process().as_ref().unwrap().capabilities().as_ref().unwrap();
        assert!(caps.bounding().as_ref().unwrap().contains(&oci_spec::runtime::Capability::SysAdmin));

        let mut o = opts(&["sh"]);
        o.cap_add = vec!["FLY".into()];
        assert_eq!(chain(&build(&o).unwrap_err()), "invalid capability to add `FLY`: not a Linux capability");
    }

    #[test]
    fn hostnames_derive_from_ids() {
        assert_eq!(hostname_for("web_1"), "web-1");
        assert_eq!(hostname_for("_"), "tscontainer");
        assert_eq!(hostname_for(&"a".repeat(80)).len(), 63);
    }
}
