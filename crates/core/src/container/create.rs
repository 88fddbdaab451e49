//! `create`: everything up to the container's command, which waits for `start`.
//!
//! The steps, in order: the bundle checked ([`check_bundle`]); the cgroup driver chosen;
//! the state directory with its exec fifo ([`record_creating`]); the cgroup
//! ([`prepare_cgroup`]); the init cloned ([`clone_init`]), its pid recorded, systemd's scope
//! joined, its id maps written; the handshake with the init (see `handshake`), then its
//! network; the state `created` ([`record_created`]). Each step registers its undo before
//! the next begins (state directory, cgroup, init process); on failure the undos run in
//! reverse and the first error is reported (see `undo`), so a failed create leaves
//! nothing behind.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use nix::fcntl::{open, OFlag};
use nix::sys::signal::Signal;
use nix::sys::stat::Mode;
use nix::sys::wait::WaitStatus;
use nix::unistd::Pid;
use oci_spec::runtime::{LinuxNamespaceType, LinuxResources, Spec};

use super::handshake::{self, Handshake};
use super::undo::{self, Undo};
use super::{fork, ContainerError};
use crate::cgroups::systemd::Systemd;
use crate::cgroups::{self, AnyManager, CgroupJoin, CgroupManager, CgroupPath, Roots};
use crate::channel::{self, Channel};
use crate::hooks::{self, HookKind};
use crate::init::{self, InitArgs};
use crate::namespaces::Namespaces;
use crate::network::NetworkRequest;
use crate::rootfs::fuse::{self, MountProgram};
use crate::rootfs::overlay::RootOverlay;
use crate::state::{rfc3339, ContainerDir, ContainerState, StateError, StateStore, Status, ROOTFS_DIR};
use crate::syscall::Syscall;
use crate::{spec, Error};

pub struct CreateOptions<'a> {
    pub id: &'a str,
    pub bundle: &'a Path,
    pub store: &'a StateStore,
    /// Where to send the pty master when the process has a terminal (runc's
    /// `--console-socket`); without it the caller receives the master in [`Created`].
    pub console_socket: Option<&'a Path>,
    pub pid_file: Option<&'a Path>,
    pub no_pivot: bool,
    /// Keep the caller's session keyring instead of giving the container a new one.
    pub no_new_keyring: bool,
    pub preserve_fds: i32,
    /// Sockets systemd handed the caller (socket activation: `LISTEN_FDS` descriptors from
    /// 3): passed on to the container's process before the preserved ones, with
    /// `LISTEN_FDS=N` and `LISTEN_PID=1` in its environment, as runc does.
    pub listen_fds: i32,
    /// The caller supervises the container in the foreground (`run`): the container is
    /// killed if the caller dies.
    pub foreground: bool,
    pub cgroup_roots: &'a Roots,
    /// Put the container in a systemd scope (runc's `--systemd-cgroup`); `cgroupsPath` is
    /// then `slice:prefix:name`.
    pub systemd_cgroup: bool,
    pub sys: &'a dyn Syscall,
}

/// A created container, its init waiting for `start`.
pub struct Created {
    pub state: ContainerState,
    pub console: Option<OwnedFd>,
    /// The runtime's end of the init channel: after `start`, end-of-file means execve
    /// worked, a `Failed` message says why it did not.
    pub channel: Channel,
    /// Things the config asked for that this container does not get, for the log.
    pub warnings: Vec<String>,
}

pub fn create(opts: &CreateOptions<'_>) -> Result<Created, Error> {
    crate::state::validate_id(opts.id)?;
    let config = check_bundle(opts)?;
    let (systemd, cgroup_path) = choose_cgroup_driver(opts, &config.spec)?;
    let dir = opts.store.create_dir(opts.id)?;
    let undo = Undo { store: Some((opts.store, opts.id)), systemd, ..Undo::default() };
    undo::guarded(undo, |undo| create_in(opts, &config, &dir, cgroup_path, undo))
}

/// A bundle read and checked: what `create` refuses is refused here, before anything is
/// made.
struct Checked {
    bundle: PathBuf,
    spec: Spec,
    /// Capability names the runtime does not know, left out of `spec`, for a warning.
    unknown_capabilities: Vec<String>,
    rootfs: spec::Rootfs,
    namespaces: Namespaces,
    network: Option<NetworkRequest>,
    /// The root overlay, when mounts[0] is one, and fuse-overlayfs when the container may use
    /// it for that overlay (see `rootfs::fuse`).
    overlay: Option<RootOverlay>,
    mount_program: Option<MountProgram>,
}

fn check_bundle(opts: &CreateOptions<'_>) -> Result<Checked, Error> {
    // Opened and checked once; its config read through that descriptor.
    let crate::bundle::Bundle { path: bundle, mut spec, unknown_capabilities, .. } =
        crate::bundle::Bundle::open(opts.bundle)?;
    spec::fill_missing_id_maps(&mut spec, nix::unistd::geteuid().as_raw(), nix::unistd::getegid().as_raw())?;
    if opts.listen_fds > 0 {
        if let Some(process) = spec.process_mut() {
            let mut env = process.env().clone().unwrap_or_default();
            env.extend([format!("LISTEN_FDS={}", opts.listen_fds), "LISTEN_PID=1".to_string()]);
            process.set_env(Some(env));
        }
    }
    spec::validate(&spec)?;
    spec::check_sysctl_network_namespace(&spec)?;
    hooks::validate(&spec)?;
    let rootfs = spec::open_rootfs(&spec, &bundle)?;
    let overlay = crate::rootfs::overlay::from_spec(&spec)?;
    if let Some(overlay) = &overlay {
        overlay.check_directories()?;
    }
    let namespaces = Namespaces::from_spec(&spec);
    // Resolved before the clone: the init only mounts FUSE; the runtime starts the program.
    let (user_namespace, host_root) = match &overlay {
        Some(_) => {
            let initial = crate::userns::in_initial_user_namespace();
            (namespaces.is_private(LinuxNamespaceType::User) || !initial, nix::unistd::geteuid().is_root() && initial)
        }
        None => (false, false),
    };
    let mount_program = MountProgram::for_spec(&spec, overlay.is_some(), user_namespace, host_root)?;
    let network = NetworkRequest::from_spec(&spec)?;
    if network.is_some() && !namespaces.is_new(LinuxNamespaceType::Network) {
        return Err(ContainerError::NetworkWithoutNamespace.into());
    }
    if namespaces.is_new(LinuxNamespaceType::User) && !nix::unistd::geteuid().is_root() {
        if let Some(reason) = crate::userns::restriction(Path::new("/proc/sys")) {
            return Err(ContainerError::UserNamespacesForbidden(reason).into());
        }
    }
    Ok(Checked { bundle, spec, unknown_capabilities, rootfs, namespaces, network, overlay, mount_program })
}

/// The container's cgroup path, and with `--systemd-cgroup` the connection to systemd,
/// made before anything else: a systemd that cannot be reached, or a cgroupsPath it cannot
/// take, changes nothing.
fn choose_cgroup_driver(opts: &CreateOptions<'_>, spec: &Spec) -> Result<(Option<Systemd>, CgroupPath), Error> {
    let spec_path = spec.linux().as_ref().and_then(|l| l.cgroups_path().as_deref());
    if opts.systemd_cgroup {
        let path = spec_path.map(|p| p.to_string_lossy().into_owned());
        let (systemd, path) = Systemd::prepare(path.as_deref(), opts.id, &opts.cgroup_roots.cgroup)?;
        Ok((Some(systemd), path))
    } else {
        Ok((None, CgroupPath::from_spec(spec_path, opts.id)))
    }
}

/// Everything after the state directory exists, each step registering its undo first.
fn create_in<'a>(
    opts: &CreateOptions<'a>,
    config: &Checked,
    dir: &ContainerDir,
    cgroup_path: CgroupPath,
    undo: &mut Undo<'a>,
) -> Result<Created, Error> {
    let spec = &config.spec;
    // Held until `create` returns: `state` and `delete` see a container being created.
    let mut lock = Some(dir.lock()?);
    let mut state = record_creating(opts, config, dir, cgroup_path, undo.systemd.as_ref())?;
    let cgroup = prepare_cgroup(opts, spec, &mut state, undo)?;
    let (pid, channel) = clone_init(opts, config, dir, &cgroup, &mut lock, undo)?;
    record_pid(dir, &mut state, pid)?;
    join_systemd_scope(opts, &cgroup, pid, dir, &mut state, undo)?;
    write_id_maps(config, pid)?;
    // Opened while the init may still be opened by us: it stops being dumpable once told
    // to proceed.
    let network = match &config.network {
        Some(request) => Some((
            request,
            crate::network::Target::open(pid.as_raw(), config.namespaces.is_new(LinuxNamespaceType::User))?,
        )),
        None => None,
    };
    // fuse-overlayfs joins the container's user namespace: opened while the init is still
    // dumpable too.
    let fuse = match (&config.mount_program, &config.overlay) {
        (Some(program), Some(overlay)) => Some(fuse::Daemon::prepare(program, overlay, spec, pid.as_raw())?),
        _ => None,
    };
    let runtime_hooks = || -> Result<(), Error> {
        // prestart is the deprecated hook that used to run just before start: its hooks
        // still read the container as created.
        hooks::run(spec, HookKind::Prestart, &state.hook_state("created"))?;
        hooks::run(spec, HookKind::CreateRuntime, &state.hook_state("creating"))?;
        Ok(())
    };
    let handshake = Handshake {
        pid,
        channel: &channel,
        console_socket: opts.console_socket,
        runtime_hooks: Some(&runtime_hooks),
        fuse: fuse.as_ref(),
    };
    let console = handshake.proceed_until_ready(undo, |status| init_ended(status, &cgroup.manager, spec))?;
    // The network namespace exists and the process waits for `start`: the helper
    // configures the namespace now, before anything in it runs.
    if let Some((request, target)) = network {
        crate::network::start(request, pid.as_raw(), target, dir.trusted())?;
    }
    record_created(dir, &mut state, pid, opts.pid_file)?;
    drop(lock);
    let warnings = warnings(opts, config, cgroup.in_cgroup);
    Ok(Created { state, console, channel, warnings })
}

/// The state directory before the init exists: the rootfs's mount point, the exec fifo,
/// and the state, `creating`.
fn record_creating(
    opts: &CreateOptions<'_>,
    config: &Checked,
    dir: &ContainerDir,
    cgroup_path: CgroupPath,
    systemd: Option<&Systemd>,
) -> Result<ContainerState, Error> {
    dir.trusted().create_dir(ROOTFS_DIR, 0o700, "rootfs mount point").map_err(StateError::from)?;
    dir.make_exec_fifo()?;
    let spec = &config.spec;
    let state = ContainerState {
        oci_version: spec.version().clone(),
        id: opts.id.to_string(),
        status: Status::Creating,
        pid: None,
        pid_start_time: None,
        bundle: config.bundle.clone(),
        rootfs: config.rootfs.path.clone(),
        created: rfc3339(std::time::SystemTime::now()),
        annotations: spec.annotations().clone().unwrap_or_default(),
        cgroup_path,
        cgroup_parents: Vec::new(),
        systemd: systemd.map(|s| s.unit().clone()),
        config: spec.clone(),
        exit: None,
    };
    dir.save(&state)?;
    Ok(state)
}

/// The container's cgroup, ready for the init.
struct PreparedCgroup {
    manager: AnyManager,
    /// The config's limits, its device rules as they apply to its devices.
    resources: Option<LinuxResources>,
    /// False when a user who may not create cgroups runs the container in the runtime's own
    /// (it asks for no limit).
    in_cgroup: bool,
}

/// Refuses a cgroup that is not the container's own and, with the cgroupfs driver, makes it
/// and writes its limits. With systemd, the cgroup is the scope systemd makes once the init
/// exists ([`join_systemd_scope`]).
fn prepare_cgroup<'a>(
    opts: &CreateOptions<'a>,
    spec: &Spec,
    state: &mut ContainerState,
    undo: &mut Undo<'a>,
) -> Result<PreparedCgroup, Error> {
    let path = &state.cgroup_path;
    let manager = cgroups::manager(path, opts.cgroup_roots)?;
    // A cgroup that already holds processes (in any hierarchy) is not the container's:
    // its limits, freezing and `delete` would reach those processes. Refused before
    // anything of it is registered for removal.
    if let Some((dir, count)) = manager.occupied() {
        return Err(cgroups::CgroupError::Occupied { path: path.0.clone(), dir, count }.into());
    }
    let linux = spec.linux().as_ref();
    let resources = linux.and_then(|l| l.resources().as_ref()).map(|resources| {
        let mut resources = resources.clone();
        if let Some(rules) = resources.devices().as_ref().filter(|r| !r.is_empty()) {
            let devices = linux.and_then(|l| l.devices().as_deref()).unwrap_or_default();
            resources.set_devices(Some(cgroups::effective_device_rules(rules, devices)));
        }
        resources
    });
    let in_cgroup = undo.systemd.is_some() || create_cgroupfs(opts, &manager, resources.as_ref(), state, undo)?;
    Ok(PreparedCgroup { manager, resources, in_cgroup })
}

/// The cgroupfs driver: the cgroup made, with its limits, before the init is cloned into it.
/// Returns false when this user may not create it and no limit needs it.
fn create_cgroupfs<'a>(
    opts: &CreateOptions<'a>,
    manager: &AnyManager,
    resources: Option<&LinuxResources>,
    state: &mut ContainerState,
    undo: &mut Undo<'a>,
) -> Result<bool, Error> {
    // Registered before creating, so a half-made cgroup is removed too.
    undo.cgroup = Some((state.cgroup_path.clone(), opts.cgroup_roots, Vec::new()));
    match manager.create() {
        Ok(parents) => {
            undo.cgroup = Some((state.cgroup_path.clone(), opts.cgroup_roots, parents.clone()));
            state.cgroup_parents = parents;
        }
        // A user who may not create cgroups still gets a container, as long as it asks
        // for no limit; a limit nobody would enforce is an error, never dropped.
        Err(e) if !crate::userns::privileged() && denied(&e) => match resources.and_then(requested_limit) {
            None => {
                undo.cgroup = None;
                return Ok(false);
            }
            Some(what) => return Err(ContainerError::CgroupDenied { what, error: e }.into()),
        },
        Err(e) => return Err(e.into()),
    }
    if let Some(resources) = resources {
        manager.apply(resources)?;
    }
    Ok(true)
}

/// Clones the container's init, which sets the container up once told to proceed (see
/// [`init::run`]); returns its pid and the runtime's end of its channel. The init lets go
/// of the creation `lock`, which the runtime holds until `create` returns.
fn clone_init<'a>(
    opts: &CreateOptions<'a>,
    config: &Checked,
    dir: &ContainerDir,
    cgroup: &PreparedCgroup,
    lock: &mut Option<OwnedFd>,
    undo: &mut Undo<'a>,
) -> Result<(Pid, Channel), Error> {
    let seccomp = handshake::seccomp_filter(&config.spec)?;
    config.namespaces.join_for_children(opts.sys)?;
    // The init's end of the exec fifo, the only thing of the state directory it holds: a
    // FIFO leads nowhere else. Read and write, so it never sees end-of-file while it waits
    // for `start` to write (see init::wait_for_start).
    let exec_fifo = dir.open_exec_fifo(OFlag::O_RDWR)?;
    let (ours, theirs) = channel::pair()?;
    // The cgroupfs driver has the init born in its cgroup; systemd moves it into the scope.
    let join = if cgroup.in_cgroup && undo.systemd.is_none() { Some(cgroup.manager.joiner()?) } else { None };
    let view = cgroup.manager.container_view();
    let staging = dir.path().join(ROOTFS_DIR);

    let target = join.as_ref().and_then(CgroupJoin::clone_target);
    let pid = match clone_in_rootfs(&config.rootfs, &config.namespaces, target)? {
        fork::Cloned::Parent(pid) => pid,
        // The init: it must not keep the runtime's end of the channel (or it would never
        // see end-of-file) nor the creation lock.
        fork::Cloned::Child { placed } => {
            drop(ours);
            drop(lock.take());
            drop(undo.systemd.take());
            init::run(InitArgs {
                id: opts.id,
                spec: &config.spec,
                bundle: &config.bundle,
                staging: &staging,
                namespaces: &config.namespaces,
                cgroup_view: &view,
                channel: &theirs,
                exec_fifo: &exec_fifo,
                no_pivot: opts.no_pivot,
                new_keyring: !opts.no_new_keyring,
                preserve_fds: opts.listen_fds.max(0) + opts.preserve_fds,
                parent_death_signal: opts.foreground.then_some(Signal::SIGKILL),
                seccomp: seccomp.as_ref(),
                mount_program: config.mount_program.as_ref(),
                cgroup_join: join.map(|j| j.pending(placed)),
                sys: opts.sys,
            })
        }
    };
    undo.child = Some(pid);
    Ok((pid, ours))
}

/// The init's pid in the state, with its start time, which tells it from a later process
/// that reuses the pid.
fn record_pid(dir: &ContainerDir, state: &mut ContainerState, pid: Pid) -> Result<(), Error> {
    state.pid = Some(pid.as_raw());
    state.pid_start_time = crate::proc::stat(pid.as_raw()).map(|s| s.start_time);
    Ok(dir.save(state)?)
}

/// The systemd driver: systemd makes the scope with the init in it (the init waits for
/// `Proceed` meanwhile); then what systemd does not do is done on the scope's cgroup, as the
/// cgroupfs driver does it: the cgroup v1 hierarchies systemd does not manage (cpuset,
/// freezer, ...), controllers it does not know, and every limit in the files.
fn join_systemd_scope<'a>(
    opts: &CreateOptions<'a>,
    cgroup: &PreparedCgroup,
    pid: Pid,
    dir: &ContainerDir,
    state: &mut ContainerState,
    undo: &mut Undo<'a>,
) -> Result<(), Error> {
    let Some(systemd) = undo.systemd.as_mut() else {
        return Ok(());
    };
    let path = &state.cgroup_path;
    let started = systemd.start(pid.as_raw(), cgroup.resources.as_ref());
    if systemd.started() {
        undo.cgroup = Some((path.clone(), opts.cgroup_roots, Vec::new()));
    }
    let written = started?;
    let parents = cgroup.manager.create()?;
    undo.cgroup = Some((path.clone(), opts.cgroup_roots, parents.clone()));
    state.cgroup_parents = parents;
    cgroup.manager.add_process(pid.as_raw())?;
    if cgroup.resources.is_some() {
        cgroup.manager.apply(&written)?;
    }
    Ok(dir.save(state)?)
}

/// In a user namespace of its own, the init's uid and gid maps, which it waits for.
fn write_id_maps(config: &Checked, pid: Pid) -> Result<(), Error> {
    if config.namespaces.is_new(LinuxNamespaceType::User) {
        crate::userns::write_id_maps(pid.as_raw(), &config.spec).map_err(crate::namespaces::NamespaceError::from)?;
    }
    Ok(())
}

/// Why the init ended before it was ready, from its wait status: a memory limit too small
/// for it (reached as soon as it is in its cgroup) is said as such.
fn init_ended(status: nix::Result<WaitStatus>, cgroup: &AnyManager, spec: &Spec) -> Error {
    if cgroup.oom_kill_count().is_ok_and(|n| n > 0) {
        let limit =
            spec.linux().as_ref().and_then(|l| l.resources().as_ref()).and_then(|r| r.memory().and_then(|m| m.limit()));
        return ContainerError::InitOomKilled { limit }.into();
    }
    let how = match status {
        Ok(WaitStatus::Exited(_, code)) => format!("exit status {code}"),
        Ok(WaitStatus::Signaled(_, sig, _)) => format!("killed by {sig}"),
        Ok(other) => format!("{other:?}"),
        Err(e) => e.to_string(),
    };
    ContainerError::InitDied(how).into()
}

/// The last step: the state says `created`, and the pid file, when asked for, names the
/// init.
fn record_created(
    dir: &ContainerDir,
    state: &mut ContainerState,
    pid: Pid,
    pid_file: Option<&Path>,
) -> Result<(), Error> {
    state.status = Status::Created;
    dir.save(state)?;
    if let Some(path) = pid_file {
        write_pid_file(path, pid.as_raw())?;
    }
    Ok(())
}

/// runc sets annotations with this prefix as extra properties of the container's unit.
const SYSTEMD_PROPERTY: &str = "org.systemd.property.";

/// Clones the init with the rootfs as its working directory. A clone that creates a mount
/// namespace carries the working directory into it (the kernel moves it onto the copy of its
/// mount), so the init starts in the very directory `open_rootfs` checked, in its own
/// namespace, whatever happens to the rootfs path meanwhile: it never looks the path up. The
/// runtime goes back to its own working directory.
fn clone_in_rootfs(
    rootfs: &spec::Rootfs,
    namespaces: &Namespaces,
    cgroup: Option<std::os::fd::BorrowedFd<'_>>,
) -> Result<fork::Cloned, ContainerError> {
    let fail = |action| move |source| ContainerError::WorkingDirectory { action, source };
    let back = open(".", OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(fail("open the runtime's working directory"))?;
    nix::unistd::fchdir(&rootfs.fd).map_err(fail("enter the rootfs"))?;
    let cloned = fork::clone_init(namespaces.clone_flags(), cgroup);
    if !matches!(cloned, Ok(fork::Cloned::Child { .. })) {
        nix::unistd::fchdir(&back).map_err(fail("return to the runtime's working directory"))?;
    }
    cloned
}

/// The cgroup filesystem refused us: not ours to write.
fn denied(e: &cgroups::CgroupError) -> bool {
    matches!(e, cgroups::CgroupError::Create { source, .. }
        if matches!(source.kind(), std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem))
}

/// The first limit among `resources`, by name. Device rules do not count: without a
/// cgroup, a container in a user namespace still cannot create or reach other devices.
fn requested_limit(r: &oci_spec::runtime::LinuxResources) -> Option<&'static str> {
    if r.memory().is_some() {
        Some("memory limit")
    } else if r.pids().is_some() {
        Some("pids limit")
    } else if r.cpu().is_some() {
        Some("CPU limit")
    } else if r.block_io().is_some() {
        Some("block I/O limit")
    } else if r.hugepage_limits().as_ref().is_some_and(|h| !h.is_empty()) {
        Some("huge page limit")
    } else if r.unified().as_ref().is_some_and(|u| !u.is_empty()) {
        Some("unified cgroup setting")
    } else {
        None
    }
}

/// What a config asks for that the container cannot get, said once at create.
fn warnings(opts: &CreateOptions<'_>, config: &Checked, in_cgroup: bool) -> Vec<String> {
    let spec = &config.spec;
    let mut out = Vec::new();
    if !config.namespaces.is_private(LinuxNamespaceType::Mount) {
        let linux = spec.linux().as_ref();
        let mounts = spec.mounts().as_ref().map_or(0, Vec::len);
        let protected = linux.and_then(|l| l.masked_paths().as_ref()).map_or(0, Vec::len)
            + linux.and_then(|l| l.readonly_paths().as_ref()).map_or(0, Vec::len);
        if mounts + protected > 0 {
            out.push(format!(
                "the container shares the host's mount namespace, so its {mounts} mounts and {protected} masked or read-only paths are not applied (they would change the host); it is only chrooted into its rootfs"
            ));
        }
    }
    if !crate::rootfs::mount_api_available() {
        for m in spec.mounts().iter().flatten() {
            let options = crate::rootfs::MountOptions::parse(m.options().as_deref().unwrap_or_default());
            if !options.recursive_attributes.is_empty() {
                out.push(format!(
                    "this kernel lacks mount_setattr (Linux 5.12), so the mount on {} gets its recursive options (rro, rnosuid, ...) on its top only: its submounts keep the host's flags",
                    m.destination().display()
                ));
            }
        }
    }
    if spec.process().is_none() {
        out.push("the config has no process: the container will have nothing to run when started".into());
    }
    if opts.systemd_cgroup && spec.annotations().iter().flatten().any(|(k, _)| k.starts_with(SYSTEMD_PROPERTY)) {
        out.push(format!("{SYSTEMD_PROPERTY}* annotations are not applied: the scope gets only the config's limits"));
    }
    if !in_cgroup {
        out.push(
            "this user may not create cgroups here, so the container runs in the runtime's own cgroup, without limits"
                .into(),
        );
    }
    let caps = spec.process().as_ref().and_then(|p| p.capabilities().as_ref());
    let host = crate::process::HostCapabilities::current();
    out.extend(crate::process::capability_warnings(caps, &config.unknown_capabilities, host));
    if let Some(p) = spec.process() {
        out.extend(crate::process::lsm_warnings(p, crate::process::apparmor_enabled()));
    }
    out
}

/// Writes the pid to a temporary file renamed into place, so a reader never sees a partial
/// number. The temporary gets a random name and is created with `O_EXCL|O_NOFOLLOW`, both
/// in the directory opened once: a file or symlink planted beside the pid file is never
/// written through (runc creates its `.NAME` with `O_EXCL` too), and the rename replaces a
/// symlink at the pid file's own name instead of following it.
pub(super) fn write_pid_file(path: &Path, pid: i32) -> Result<(), ContainerError> {
    let absolute =
        if path.is_absolute() { path.to_path_buf() } else { std::env::current_dir().unwrap_or_default().join(path) };
    let fail = |source| ContainerError::Write { what: "pid file", path: absolute.clone(), source };
    let (Some(parent), Some(name)) = (absolute.parent(), absolute.file_name()) else {
        return Err(fail(std::io::Error::from(std::io::ErrorKind::InvalidInput)));
    };
    let dir = nix::fcntl::open(parent, OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|e| fail(e.into()))?;
    let tmp = format!(".{}.{:016x}.tmp", name.to_string_lossy(), random_u64());
    let flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let file =
        nix::fcntl::openat(&dir, tmp.as_str(), flags, Mode::from_bits_truncate(0o644)).map_err(|e| fail(e.into()))?;
    let written = std::io::Write::write_all(&mut std::fs::File::from(file), pid.to_string().as_bytes())
        .and_then(|()| nix::fcntl::renameat(&dir, tmp.as_str(), &dir, name).map_err(Into::into));
    if written.is_err() {
        let _ = nix::unistd::unlinkat(&dir, tmp.as_str(), nix::unistd::UnlinkatFlags::NoRemoveDir);
    }
    written.map_err(fail)
}

/// Eight random bytes from the kernel (getrandom(2)); the time if even that fails.
pub(crate) fn random_u64() -> u64 {
    let mut bytes = [0u8; 8];
    // SAFETY: getrandom writes at most `bytes.len()` bytes into the buffer, which outlives
    // the call.
    let n = unsafe { libc::getrandom(bytes.as_mut_ptr().cast(), bytes.len(), 0) };
    if n == bytes.len() as isize {
        u64::from_ne_bytes(bytes)
    } else {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
    }
}
