//! The container's init: the process `create` clones, from its first instruction to the
//! execve of the container's command. It runs the runtime's code inside the new
//! namespaces, reports every failure to the runtime over the channel (so the user reads
//! a reason, never "channel closed"), and exits; it never returns.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::{open, OFlag};
use nix::sys::signal::Signal;
use nix::sys::stat::Mode;
use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::cgroups::{ContainerView, PendingJoin};
use crate::channel::Channel;
use crate::container::handshake;
use crate::hooks::{self, HookKind, HookState};
use crate::namespaces::Namespaces;
use crate::process::{self, ProcessError};
use crate::rootfs::{self, RootfsPlan};
use crate::syscall::Syscall;
use crate::Error;

/// Everything the init needs, prepared by the runtime before the clone.
pub struct InitArgs<'a> {
    pub id: &'a str,
    pub spec: &'a Spec,
    pub bundle: &'a Path,
    pub staging: &'a Path,
    pub namespaces: &'a Namespaces,
    pub cgroup_view: &'a ContainerView,
    pub channel: &'a Channel,
    /// The exec fifo, open for reading and writing: `start` writes one byte to it. The
    /// only descriptor of the host's state directory the init holds, and a FIFO leads
    /// nowhere else (runc's init holds the same, opened `O_PATH`).
    pub exec_fifo: &'a OwnedFd,
    pub no_pivot: bool,
    /// Join a new session keyring (runc's default), so the container cannot reach the
    /// keys of the session that started it.
    pub new_keyring: bool,
    /// Descriptors 3 to 3+N-1 stay open for the command (runc's `--preserve-fds`).
    pub preserve_fds: i32,
    /// In `run`, the container dies with the runtime that supervises it.
    pub parent_death_signal: Option<Signal>,
    /// The spec's seccomp profile, compiled by the runtime before the clone.
    pub seccomp: Option<&'a crate::seccomp::Filter>,
    /// fuse-overlayfs for the root overlay, when the runtime found it or the config asks for it.
    pub mount_program: Option<&'a rootfs::fuse::MountProgram>,
    /// The moves into the container's cgroup the clone did not make.
    pub cgroup_join: Option<PendingJoin>,
    pub sys: &'a dyn Syscall,
}

/// Runs the init and exits: with the command's own status once it has replaced us, else
/// with 127/126 for a command that cannot run, or 1.
pub fn run(mut args: InitArgs<'_>) -> ! {
    let cgroup_join = args.cgroup_join.take();
    handshake::run_child(args.channel, args.parent_death_signal, || setup_and_exec(&args, cgroup_join))
}

/// Sets the container up, waits for `start`, and execs its command: returns only on
/// failure, or with Ok when there is no process to run.
fn setup_and_exec(args: &InitArgs<'_>, cgroup_join: Option<PendingJoin>) -> Result<(), Error> {
    let (spec, sys, ns) = (args.spec, args.sys, args.namespaces);
    // What is left while the init waits for `start` is its stdio, the descriptors passed
    // on purpose, the channel and the exec fifo.
    let pid = handshake::await_proceed(args.channel, cgroup_join, args.preserve_fds, &[args.exec_fifo.as_raw_fd()])?;
    let hook_state = |status: &str| HookState {
        oci_version: spec.version().clone(),
        id: args.id.to_string(),
        status: status.to_string(),
        pid: Some(pid),
        bundle: args.bundle.display().to_string(),
        annotations: spec.annotations().clone().unwrap_or_default(),
    };

    // The runtime cloned this process in the rootfs it checked (see `create`): in a mount
    // namespace of its own, this is that directory.
    let rootfs = open(Path::new("."), OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|e| rootfs::RootfsError::Resolve { path: PathBuf::from("the rootfs"), source: e })?;
    enter_namespaces(args)?;
    // A mount namespace joined by path has a root of its own, where the config's rootfs path
    // means something else: resolved (once) and checked there.
    let rootfs = if ns.is_private(LinuxNamespaceType::Mount) && !ns.is_new(LinuxNamespaceType::Mount) {
        crate::spec::open_rootfs(spec, args.bundle)?.fd
    } else {
        rootfs
    };
    if args.new_keyring {
        join_session_keyring(args.id);
    }
    if let Some(adj) = spec.process().as_ref().and_then(|p| p.oom_score_adj()) {
        process::set_oom_score_adj(adj)?;
    }
    // From here to its execve the init runs the runtime's code with privileges the
    // container's processes lack, and soon in their pid namespace: non-dumpable, none of
    // them may ptrace it or open its /proc/<pid>/{fd,cwd,root,mem} (without CAP_SYS_PTRACE
    // over the runtime's user namespace). After the oom score, which a non-dumpable
    // process in a user namespace can no longer write; the execve makes the command
    // dumpable again, as any program. (crun does the same; runc's init stays dumpable
    // unless it joins namespaces, but holds nothing that leads out.)
    nix::sys::prctl::set_dumpable(false).map_err(ProcessError::Dumpable)?;
    let seccomp = args.seccomp;

    // Modes below are exactly what the spec says, not what the caller's umask leaves.
    sys.umask(0);
    let fuse_device = || handshake::request_fuse_device(args.channel);
    let serve_fuse = |device| handshake::request_fuse_server(args.channel, device);
    let plan = RootfsPlan {
        spec,
        bundle: args.bundle,
        rootfs: rootfs.as_fd(),
        staging: args.staging,
        cgroup_view: args.cgroup_view,
        mount_namespace: ns.is_private(LinuxNamespaceType::Mount),
        cgroup_namespace: ns.is_private(LinuxNamespaceType::Cgroup),
        no_pivot: args.no_pivot,
        // Also when the runtime itself runs in a user namespace (rootless podman's).
        in_user_namespace: ns.is_private(LinuxNamespaceType::User) || !crate::userns::in_initial_user_namespace(),
        fuse: args.mount_program.map(|program| rootfs::fuse::FuseServer {
            requested: program.requested,
            device: &fuse_device,
            serve: &serve_fuse,
        }),
    };
    let mounted = rootfs::mount_all(&plan, sys)?;
    if hooks::has(spec, HookKind::Prestart) || hooks::has(spec, HookKind::CreateRuntime) {
        // Those run in the runtime's namespaces, so the runtime runs them.
        handshake::request_runtime_hooks(args.channel)?;
    }
    hooks::run(spec, HookKind::CreateContainer, &hook_state("creating"))?;
    rootfs::switch_root(&plan, &mounted, sys)?;
    let mount_namespace = plan.mount_namespace;
    // The rootfs's descriptor leads out of the container (its `..` is the host's): held no
    // longer than needed, as nothing else that does (CVE-2024-21626).
    drop(rootfs);
    if let Some(sysctls) = spec.linux().as_ref().and_then(|l| l.sysctl().as_ref()).filter(|s| !s.is_empty()) {
        process::write_sysctls(sysctls, rootfs::proc_sys(&mounted)?.as_fd())?;
    }
    if mount_namespace {
        rootfs::protect_kernel_paths(spec, &mounted, sys)?;
    }
    drop(mounted);

    let prepared =
        handshake::prepare_and_report_ready(spec.process().as_ref(), seccomp, args.channel, args.preserve_fds, sys)?;
    // Created: a signal that would end a process ends it, as runc's (PID 1 would ignore it).
    process::end_on_terminating_signals();
    wait_for_start(args.exec_fifo)?;
    hooks::run(spec, HookKind::StartContainer, &hook_state("created"))?;
    match prepared {
        Some(p) => Err(p.exec(seccomp, args.parent_death_signal, sys)),
        None => Ok(()),
    }
}

/// The init's first steps: become the user namespace's root, join the namespaces given by
/// path, create the cgroup namespace, and set up what belongs to the new namespaces.
fn enter_namespaces(args: &InitArgs<'_>) -> Result<(), Error> {
    let (spec, sys, ns) = (args.spec, args.sys, args.namespaces);
    if ns.is_new(LinuxNamespaceType::User) {
        // With the id maps written, become the namespace's root.
        sys.set_ids(0, 0).map_err(|source| ProcessError::User { uid: 0, gid: 0, source })?;
    }
    ns.join(sys)?;
    ns.unshare_cgroup(sys)?;
    // A session of its own: no controlling terminal of the caller's, no job-control
    // signals from the caller's terminal.
    let _ = nix::unistd::setsid();
    if ns.is_new(LinuxNamespaceType::Network) {
        sys.set_loopback_up().map_err(ProcessError::Loopback)?;
    }
    if ns.is_private(LinuxNamespaceType::Uts) {
        if let Some(h) = spec.hostname().as_deref().filter(|h| !h.is_empty()) {
            sys.sethostname(h).map_err(ProcessError::Hostname)?;
        }
        if let Some(d) = spec.domainname().as_deref().filter(|d| !d.is_empty()) {
            sys.setdomainname(d).map_err(ProcessError::Hostname)?;
        }
    }
    Ok(())
}

/// A session keyring of the container's own; where keyrings are unavailable (disabled,
/// or refused by a seccomp profile around us) the container simply goes without, as
/// with runc.
fn join_session_keyring(id: &str) {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    let Ok(name) = std::ffi::CString::new(format!("_ses.{id}")) else { return };
    // SAFETY: keyctl(JOIN_SESSION_KEYRING) reads one NUL-terminated name that outlives
    // the call; it only changes this process's keyring.
    unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.as_ptr()) };
}

/// Blocks until `start` writes its byte to the exec fifo. The init holds the fifo open for
/// writing too, so the read waits for data and never sees end-of-file, whoever opens and
/// closes the fifo meanwhile.
fn wait_for_start(fifo: &OwnedFd) -> Result<(), Error> {
    let mut byte = [0u8; 1];
    loop {
        match nix::unistd::read(fifo, &mut byte) {
            Ok(1) => return Ok(()),
            Err(nix::errno::Errno::EINTR) => continue,
            Ok(_) => return Err(ProcessError::ExecFifo(nix::errno::Errno::EPIPE).into()),
            Err(e) => return Err(ProcessError::ExecFifo(e).into()),
        }
    }
}
