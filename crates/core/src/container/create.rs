//! `create`: everything up to the container's command, which waits for `start`.
//!
//! Each step registers its undo before the next begins (state directory, cgroup, init
//! process); on failure the undos run in reverse and the first error is reported, so a
//! failed create leaves nothing behind.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use nix::fcntl::{open, OFlag};
use nix::sys::signal::{kill, Signal};
use nix::sys::stat::Mode;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;
use oci_spec::runtime::LinuxNamespaceType;

use super::{fork, ContainerError};
use crate::cgroups::systemd::Systemd;
use crate::cgroups::{self, CgroupJoin, CgroupManager, CgroupPath, Roots};
use crate::channel::{self, Channel, Message};
use crate::hooks::{self, HookKind};
use crate::init::{self, InitArgs};
use crate::namespaces::Namespaces;
use crate::network::NetworkRequest;
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

/// What to undo if a later step fails, in reverse order of creation.
#[derive(Default)]
struct Undo<'a> {
    store: Option<(&'a StateStore, &'a str)>,
    cgroup: Option<(CgroupPath, &'a Roots, Vec<std::path::PathBuf>)>,
    /// The connection to systemd (`--systemd-cgroup`); its unit is stopped on failure
    /// once systemd took the request to start it.
    systemd: Option<Systemd>,
    init: Option<Pid>,
}

impl Undo<'_> {
    fn run(self, error: Error) -> Error {
        let mut failures = Vec::new();
        if let Some(pid) = self.init {
            let _ = kill(pid, Signal::SIGKILL);
            let _ = waitpid(pid, None);
        }
        if let Some((path, roots, parents)) = self.cgroup {
            if let Err(e) = cgroups::manager(&path, roots).and_then(|cg| cg.remove()) {
                failures.push(e.to_string());
            }
            cgroups::remove_created_parents(&parents);
        }
        if let Some(mut systemd) = self.systemd.filter(Systemd::started) {
            if let Err(e) = systemd.stop() {
                failures.push(e.to_string());
            }
        }
        if let Some((store, id)) = self.store {
            // With the init dead, a network helper's watcher stops it and quits.
            if let Ok(dir) = store.open(id) {
                crate::network::wait_until_stopped(dir.trusted());
            }
            if let Err(e) = store.remove(id) {
                failures.push(e.to_string());
            }
        }
        if failures.is_empty() {
            error
        } else {
            ContainerError::Cleanup { error: Box::new(error), cleanup: failures.join("; ") }.into()
        }
    }
}

pub fn create(opts: &CreateOptions<'_>) -> Result<Created, Error> {
    crate::state::validate_id(opts.id)?;
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
    if let Some(overlay) = crate::rootfs::overlay::from_spec(&spec)? {
        overlay.check_directories()?;
    }
    let namespaces = Namespaces::from_spec(&spec);
    let network = NetworkRequest::from_spec(&spec)?;
    if network.is_some() && !namespaces.is_new(LinuxNamespaceType::Network) {
        return Err(ContainerError::NetworkWithoutNamespace.into());
    }
    if namespaces.is_new(LinuxNamespaceType::User) && !nix::unistd::geteuid().is_root() {
        if let Some(reason) = crate::userns::restriction(Path::new("/proc/sys")) {
            return Err(ContainerError::UserNamespacesForbidden(reason).into());
        }
    }

    let spec_path = spec.linux().as_ref().and_then(|l| l.cgroups_path().as_deref());
    // Before anything is made: a systemd that cannot be reached, or a cgroupsPath it
    // cannot take, changes nothing.
    let (systemd, cgroup_path) = if opts.systemd_cgroup {
        let path = spec_path.map(|p| p.to_string_lossy().into_owned());
        let (systemd, path) = Systemd::prepare(path.as_deref(), opts.id, &opts.cgroup_roots.cgroup)?;
        (Some(systemd), path)
    } else {
        (None, CgroupPath::from_spec(spec_path, opts.id))
    };

    let dir = opts.store.create_dir(opts.id)?;
    let mut undo = Undo { store: Some((opts.store, opts.id)), systemd, ..Undo::default() };
    match create_in(opts, &spec, &bundle, &rootfs, &namespaces, network.as_ref(), &dir, cgroup_path, &mut undo) {
        Ok(mut created) => {
            let caps = spec.process().as_ref().and_then(|p| p.capabilities().as_ref());
            let host = crate::process::HostCapabilities::current();
            created.warnings.extend(crate::process::capability_warnings(caps, &unknown_capabilities, host));
            if let Some(p) = spec.process() {
                created.warnings.extend(crate::process::lsm_warnings(p, crate::process::apparmor_enabled()));
            }
            Ok(created)
        }
        Err(e) => Err(std::mem::take(&mut undo).run(e)),
    }
}

#[allow(clippy::too_many_arguments)]
fn create_in<'a>(
    opts: &CreateOptions<'a>,
    spec: &oci_spec::runtime::Spec,
    bundle: &Path,
    rootfs: &spec::Rootfs,
    namespaces: &Namespaces,
    network: Option<&NetworkRequest>,
    dir: &ContainerDir,
    cgroup_path: CgroupPath,
    undo: &mut Undo<'a>,
) -> Result<Created, Error> {
    let lock = dir.lock()?;
    dir.trusted().create_dir(ROOTFS_DIR, 0o700, "rootfs mount point").map_err(StateError::from)?;
    let staging = dir.path().join(ROOTFS_DIR);
    dir.make_exec_fifo()?;

    let linux = spec.linux().as_ref();
    let mut state = ContainerState {
        oci_version: spec.version().clone(),
        id: opts.id.to_string(),
        status: Status::Creating,
        pid: None,
        pid_start_time: None,
        bundle: bundle.to_path_buf(),
        rootfs: rootfs.path.clone(),
        created: rfc3339(std::time::SystemTime::now()),
        annotations: spec.annotations().clone().unwrap_or_default(),
        cgroup_path: cgroup_path.clone(),
        cgroup_parents: Vec::new(),
        systemd: undo.systemd.as_ref().map(|s| s.unit().clone()),
        config: spec.clone(),
        exit: None,
    };
    dir.save(&state)?;

    let cgroup = cgroups::manager(&cgroup_path, opts.cgroup_roots)?;
    // A cgroup that already holds processes (in any hierarchy) is not the container's:
    // its limits, freezing and `delete` would reach those processes. Refused before
    // anything of it is registered for removal.
    if let Some((dir, count)) = cgroup.occupied() {
        return Err(cgroups::CgroupError::Occupied { path: cgroup_path.0.clone(), dir, count }.into());
    }
    let resources = linux.and_then(|l| l.resources().as_ref()).map(|resources| {
        let mut resources = resources.clone();
        if let Some(rules) = resources.devices().as_ref().filter(|r| !r.is_empty()) {
            let devices = linux.and_then(|l| l.devices().as_deref()).unwrap_or_default();
            resources.set_devices(Some(cgroups::effective_device_rules(rules, devices)));
        }
        resources
    });
    // With systemd, the cgroup is the scope systemd makes once the init exists (below).
    let systemd = undo.systemd.is_some();
    if !systemd {
        // Registered before creating, so a half-made cgroup is removed too.
        undo.cgroup = Some((cgroup_path.clone(), opts.cgroup_roots, Vec::new()));
    }
    let in_cgroup = systemd
        || match cgroup.create() {
            Ok(parents) => {
                undo.cgroup = Some((cgroup_path.clone(), opts.cgroup_roots, parents.clone()));
                state.cgroup_parents = parents;
                true
            }
            // A user who may not create cgroups still gets a container, as long as it asks
            // for no limit; a limit nobody would enforce is an error, never dropped.
            Err(e) if !crate::userns::privileged() && denied(&e) => {
                match resources.as_ref().and_then(requested_limit) {
                    None => {
                        undo.cgroup = None;
                        false
                    }
                    Some(what) => return Err(ContainerError::CgroupDenied { what, error: e }.into()),
                }
            }
            Err(e) => return Err(e.into()),
        };
    if let Some(resources) = resources.as_ref().filter(|_| in_cgroup && !systemd) {
        cgroup.apply(resources)?;
    }
    let view = cgroup.container_view();

    let seccomp = linux
        .and_then(|l| l.seccomp().as_ref())
        .map(|profile| crate::seccomp::compile_cached(profile, crate::seccomp::cache_dir().as_deref()))
        .transpose()?;
    namespaces.join_for_children(opts.sys)?;
    // The init's end of the exec fifo, the only thing of the state directory it holds: a
    // FIFO leads nowhere else. Read and write, so it never sees end-of-file while it waits
    // for `start` to write (see init::wait_for_start).
    let exec_fifo = dir.open_exec_fifo(OFlag::O_RDWR)?;
    let (ours, theirs) = channel::pair()?;
    // The cgroupfs driver has the init born in its cgroup; systemd moves it into the scope.
    let join = if in_cgroup && !systemd { Some(cgroup.joiner()?) } else { None };

    let pid = match clone_in_rootfs(rootfs, namespaces, join.as_ref().and_then(CgroupJoin::clone_target))? {
        fork::Cloned::Parent(pid) => pid,
        // The init: it must not keep the runtime's end of the channel (or it would never
        // see end-of-file) nor the creation lock (held until `create` returns).
        fork::Cloned::Child { placed } => {
            drop(ours);
            drop(lock);
            drop(undo.systemd.take());
            init::run(InitArgs {
                id: opts.id,
                spec,
                bundle,
                staging: &staging,
                namespaces,
                cgroup_view: &view,
                channel: &theirs,
                exec_fifo: &exec_fifo,
                no_pivot: opts.no_pivot,
                new_keyring: !opts.no_new_keyring,
                preserve_fds: opts.listen_fds.max(0) + opts.preserve_fds,
                parent_death_signal: opts.foreground.then_some(Signal::SIGKILL),
                seccomp: seccomp.as_ref(),
                cgroup_join: join.map(|j| j.pending(placed)),
                sys: opts.sys,
            })
        }
    };
    undo.init = Some(pid);
    drop(join);
    drop(theirs);
    drop(exec_fifo);

    state.pid = Some(pid.as_raw());
    state.pid_start_time = crate::proc::stat(pid.as_raw()).map(|s| s.start_time);
    dir.save(&state)?;
    if let Some(systemd) = undo.systemd.as_mut() {
        // The init waits for `Proceed`; systemd moves it into the scope it makes.
        let started = systemd.start(pid.as_raw(), resources.as_ref());
        if systemd.started() {
            undo.cgroup = Some((cgroup_path.clone(), opts.cgroup_roots, Vec::new()));
        }
        let written = started?;
        // What systemd does not do: the cgroup v1 hierarchies it does not manage (cpuset,
        // freezer, ...), controllers it does not know, and every limit in the files.
        let parents = cgroup.create()?;
        undo.cgroup = Some((cgroup_path.clone(), opts.cgroup_roots, parents.clone()));
        state.cgroup_parents = parents;
        cgroup.add_process(pid.as_raw())?;
        if resources.is_some() {
            cgroup.apply(&written)?;
        }
        dir.save(&state)?;
    }
    if namespaces.is_new(LinuxNamespaceType::User) {
        crate::userns::write_id_maps(pid.as_raw(), spec).map_err(crate::namespaces::NamespaceError::from)?;
    }
    // Opened while the init may still be opened by us: it stops being dumpable once told
    // to proceed.
    let mut network_target = network
        .map(|_| crate::network::Target::open(pid.as_raw(), namespaces.is_new(LinuxNamespaceType::User)))
        .transpose()?;
    // The init may have ended already (a memory limit too small for it is reached as soon
    // as it is in its cgroup): the loop below reads how.
    ours.send_unless_ended(&Message::Proceed { pid: pid.as_raw() })?;

    let mut console = None;
    loop {
        match ours.recv()? {
            Some((Message::RunRuntimeHooks, _)) => {
                // prestart is the deprecated hook that used to run just before start:
                // its hooks still read the container as created.
                hooks::run(spec, HookKind::Prestart, &state.hook_state("created"))?;
                hooks::run(spec, HookKind::CreateRuntime, &state.hook_state("creating"))?;
                ours.send(&Message::HooksDone)?;
            }
            Some((Message::Console, Some(master))) => match opts.console_socket {
                Some(socket) => send_console(socket, master)?,
                None => console = Some(master),
            },
            Some((Message::Ready, _)) => {
                // The network namespace exists and the process waits for `start`: the
                // helper configures the namespace now, before anything in it runs.
                if let (Some(request), Some(target)) = (network, network_target.take()) {
                    crate::network::start(request, pid.as_raw(), target, dir.trusted())?;
                }
                break;
            }
            Some((Message::Failed(failure), _)) => return Err(ContainerError::Init(failure).into()),
            Some((other, _)) => {
                return Err(channel::ChannelError::Unexpected { expected: "ready", got: format!("{other:?}") }.into())
            }
            None => {
                let status = waitpid(pid, None);
                undo.init = None;
                if cgroup.oom_kill_count().is_ok_and(|n| n > 0) {
                    let limit =
                        linux.and_then(|l| l.resources().as_ref()).and_then(|r| r.memory().and_then(|m| m.limit()));
                    return Err(ContainerError::InitOomKilled { limit }.into());
                }
                let how = match status {
                    Ok(WaitStatus::Exited(_, code)) => format!("exit status {code}"),
                    Ok(WaitStatus::Signaled(_, sig, _)) => format!("killed by {sig}"),
                    Ok(other) => format!("{other:?}"),
                    Err(e) => e.to_string(),
                };
                return Err(ContainerError::InitDied(how).into());
            }
        }
    }

    state.status = Status::Created;
    dir.save(&state)?;
    if let Some(path) = opts.pid_file {
        write_pid_file(path, pid.as_raw())?;
    }
    // Success: nothing to undo.
    *undo = Undo::default();
    drop(lock);
    let mut warnings = warnings(spec, namespaces);
    if opts.systemd_cgroup && spec.annotations().iter().flatten().any(|(k, _)| k.starts_with(SYSTEMD_PROPERTY)) {
        warnings
            .push(format!("{SYSTEMD_PROPERTY}* annotations are not applied: the scope gets only the config's limits"));
    }
    if !in_cgroup {
        warnings.push(
            "this user may not create cgroups here, so the container runs in the runtime's own cgroup, without limits"
                .into(),
        );
    }
    Ok(Created { state, console, channel: ours, warnings })
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
fn warnings(spec: &oci_spec::runtime::Spec, namespaces: &Namespaces) -> Vec<String> {
    let mut out = Vec::new();
    if !namespaces.is_private(LinuxNamespaceType::Mount) {
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

/// Hands the pty master to whoever listens on the console socket, as runc does: one
/// message whose payload is the pty's name, with the descriptor attached.
pub(super) fn send_console(socket: &Path, master: OwnedFd) -> Result<(), ContainerError> {
    use nix::sys::socket::{
        connect, sendmsg, socket as make_socket, AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType, UnixAddr,
    };
    let fail = |source| ContainerError::ConsoleSocket { path: socket.to_path_buf(), source };
    let sock = make_socket(AddressFamily::Unix, SockType::Stream, SockFlag::SOCK_CLOEXEC, None).map_err(fail)?;
    let addr = UnixAddr::new(socket).map_err(fail)?;
    connect(sock.as_raw_fd(), &addr).map_err(fail)?;
    let fds = [master.as_raw_fd()];
    let name = b"/dev/ptmx";
    sendmsg::<()>(
        sock.as_raw_fd(),
        &[std::io::IoSlice::new(name)],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .map_err(fail)?;
    Ok(())
}
