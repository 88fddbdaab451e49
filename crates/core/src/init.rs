//! The container's init: the process `create` clones, from its first instruction to the
//! execve of the container's command. It runs the runtime's code inside the new
//! namespaces, reports every failure to the runtime over the channel (so the user reads
//! a reason, never "channel closed"), and exits; it never returns.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::{openat, OFlag};
use nix::sys::signal::Signal;
use nix::sys::stat::Mode;
use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::cgroups::{ContainerView, PendingJoin};
use crate::channel::{Channel, ChannelError, InitFailure, Message};
use crate::hooks::{self, HookKind, HookState};
use crate::namespaces::Namespaces;
use crate::process::{self, setup, ProcessError};
use crate::rootfs::{self, RootfsPlan};
use crate::state::EXEC_FIFO;
use crate::syscall::Syscall;
use crate::Error;

/// Everything the init needs, prepared by the runtime before the clone.
pub struct InitArgs<'a> {
    pub id: &'a str,
    pub spec: &'a Spec,
    pub bundle: &'a Path,
    pub rootfs: &'a Path,
    pub staging: &'a Path,
    pub namespaces: &'a Namespaces,
    pub cgroup_view: &'a ContainerView,
    pub channel: &'a Channel,
    /// The container's state directory, opened before any pivot or chroot: the exec
    /// fifo in it is opened relative to this descriptor, which needs no /proc.
    pub state_dir: &'a OwnedFd,
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
    /// The moves into the container's cgroup the clone did not make.
    pub cgroup_join: Option<PendingJoin>,
    pub sys: &'a dyn Syscall,
}

/// Runs the init and exits: with the command's own status once it has replaced us, else
/// with 127/126 for a command that cannot run, or 1.
pub fn run(mut args: InitArgs<'_>) -> ! {
    if let Some(sig) = args.parent_death_signal {
        // Until the command runs, a runtime that dies takes its half-made container along.
        let _ = nix::sys::prctl::set_pdeathsig(sig);
    }
    let cgroup_join = args.cgroup_join.take();
    match setup_and_exec(&args, cgroup_join) {
        Ok(()) => {
            // A container created without a process has nothing to run after `start`.
            // SAFETY: as in `report_and_exit`.
            unsafe { libc::_exit(0) }
        }
        Err(failure) => report_and_exit(args.channel, failure),
    }
}

/// Tells the runtime why this process gave up, then exits with 127/126 for a command
/// that cannot run, else 1.
pub(crate) fn report_and_exit(channel: &Channel, failure: Error) -> ! {
    let exec = failure.exec_failure();
    let message = failure.to_string();
    let report = Message::Failed(InitFailure { message: message.clone(), exec });
    if channel.send(&report).is_err() {
        // Nobody is listening any more (a detached container after `start`): the
        // container's own stderr is the only place left for the reason.
        let line = format!("tscontainer-runtime init: {message}\n");
        let _ = nix::unistd::write(std::io::stderr(), line.as_bytes());
    }
    // SAFETY: _exit ends the process without running the parent's atexit handlers or
    // flushing stdio buffers copied from the runtime, which is what a cloned child must do.
    unsafe { libc::_exit(exec.map_or(1, |k| k.exit_code())) }
}

fn expect(channel: &Channel, expected: &'static str, matches: impl Fn(&Message) -> bool) -> Result<Message, Error> {
    let (message, _) = channel.expect(expected)?;
    if matches(&message) {
        Ok(message)
    } else {
        Err(ChannelError::Unexpected { expected, got: format!("{message:?}") }.into())
    }
}

/// Sets the container up, waits for `start`, and execs its command: returns only on
/// failure, or with Ok when there is no process to run.
fn setup_and_exec(args: &InitArgs<'_>, cgroup_join: Option<PendingJoin>) -> Result<(), Error> {
    let (spec, sys, ns) = (args.spec, args.sys, args.namespaces);
    let Message::Proceed { pid } = expect(args.channel, "proceed", |m| matches!(m, Message::Proceed { .. }))? else {
        return Ok(());
    };
    // Joined once the runtime is listening for how setup goes: a memory limit too small
    // for the init kills it here, and the runtime reports that, as an OOM kill.
    cgroup_join.map(PendingJoin::join).transpose()?;
    let hook_state = |status: &str| HookState {
        oci_version: spec.version().clone(),
        id: args.id.to_string(),
        status: status.to_string(),
        pid: Some(pid),
        bundle: args.bundle.display().to_string(),
        annotations: spec.annotations().clone().unwrap_or_default(),
    };

    enter_namespaces(args)?;
    if args.new_keyring {
        join_session_keyring(args.id);
    }
    if let Some(adj) = spec.process().as_ref().and_then(|p| p.oom_score_adj()) {
        process::set_oom_score_adj(adj)?;
    }
    let seccomp = args.seccomp;

    // Modes below are exactly what the spec says, not what the caller's umask leaves.
    sys.umask(0);
    let plan = RootfsPlan {
        spec,
        bundle: args.bundle,
        rootfs: args.rootfs,
        staging: args.staging,
        cgroup_view: args.cgroup_view,
        mount_namespace: ns.is_private(LinuxNamespaceType::Mount),
        cgroup_namespace: ns.is_private(LinuxNamespaceType::Cgroup),
        no_pivot: args.no_pivot,
        // Also when the runtime itself runs in a user namespace (rootless podman's).
        in_user_namespace: ns.is_private(LinuxNamespaceType::User) || !crate::userns::in_initial_user_namespace(),
    };
    rootfs::mount_all(&plan, sys)?;
    if hooks::has(spec, HookKind::Prestart) || hooks::has(spec, HookKind::CreateRuntime) {
        // Those run in the runtime's namespaces, so the runtime runs them.
        args.channel.send(&Message::RunRuntimeHooks)?;
        expect(args.channel, "hooks done", |m| *m == Message::HooksDone)?;
    }
    hooks::run(spec, HookKind::CreateContainer, &hook_state("creating"))?;
    rootfs::switch_root(&plan, sys)?;
    for (key, value) in spec.linux().as_ref().and_then(|l| l.sysctl().as_ref()).into_iter().flatten() {
        process::write_sysctl(key, value)?;
    }
    if plan.mount_namespace {
        rootfs::protect_kernel_paths(spec, sys)?;
    }

    let prepared = spec.process().as_ref().map(|p| setup::prepare(p, seccomp, args.channel, sys)).transpose()?;
    setup::close_descriptors_on_exec(args.preserve_fds);
    args.channel.send(&Message::Ready)?;
    // Created: a signal that would end a process ends it, as runc's (PID 1 would ignore it).
    process::end_on_terminating_signals();
    wait_for_start(args.state_dir)?;
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

/// Blocks until `start` opens the exec fifo for reading, then tells it we are going.
fn wait_for_start(state_dir: &OwnedFd) -> Result<(), Error> {
    let fd = loop {
        match openat(
            state_dir.as_fd(),
            EXEC_FIFO,
            OFlag::O_WRONLY | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW,
            Mode::empty(),
        ) {
            Err(nix::errno::Errno::EINTR) => continue,
            other => break other,
        }
    }
    .map_err(|e| ProcessError::Proc { path: PathBuf::from(EXEC_FIFO), source: e.into() })?;
    let _ = nix::unistd::write(fd.as_fd(), &[0u8]);
    Ok(())
}
