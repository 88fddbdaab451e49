//! The container's init: the process `create` clones, from its first instruction to the
//! execve of the container's command. It runs the runtime's code inside the new
//! namespaces, reports every failure to the runtime over the channel (so the user reads
//! a reason, never "channel closed"), and exits; it never returns.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::{open, OFlag};
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::stat::Mode;
use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::cgroups::ContainerView;
use crate::channel::{Channel, InitFailure, Message};
use crate::namespaces::Namespaces;
use crate::process::{self, ExecError, ProcessError};
use crate::rootfs::{self, RootfsPlan};
use crate::syscall::Syscall;
use crate::Error;

/// Everything the init needs, prepared by the runtime before the clone.
pub struct InitArgs<'a> {
    pub spec: &'a Spec,
    pub bundle: &'a Path,
    pub rootfs: &'a Path,
    pub staging: &'a Path,
    pub namespaces: &'a Namespaces,
    pub cgroup_view: &'a ContainerView,
    pub channel: &'a Channel,
    /// An `O_PATH` descriptor of the exec fifo: opening it for writing blocks until
    /// `start` opens it for reading.
    pub exec_fifo: &'a OwnedFd,
    pub no_pivot: bool,
    /// Descriptors 3 to 3+N-1 stay open for the command (runc's `--preserve-fds`).
    pub preserve_fds: i32,
    /// In `run`, the container dies with the runtime that supervises it.
    pub parent_death_signal: Option<Signal>,
    pub sys: &'a dyn Syscall,
}

/// Runs the init and exits: with the command's own status once it has replaced us, else
/// with 127/126 for a command that cannot run, or 1.
pub fn run(args: InitArgs<'_>) -> ! {
    let failure = match setup_and_exec(&args) {
        Err(e) => e,
        Ok(never) => match never {},
    };
    let exec = failure.exec_failure();
    let message = failure.to_string();
    let report = Message::Failed(InitFailure { message: message.clone(), exec });
    if args.channel.send(&report).is_err() {
        // Nobody is listening any more (a detached container after `start`): the
        // container's own stderr is the only place left for the reason.
        let line = format!("tscontainer-runtime init: {message}\n");
        let _ = nix::unistd::write(std::io::stderr(), line.as_bytes());
    }
    // SAFETY: _exit ends the process without running the parent's atexit handlers or
    // flushing stdio buffers copied from the runtime, which is what a cloned child must do.
    unsafe { libc::_exit(exec.map_or(1, |k| k.exit_code())) }
}

enum Never {}

fn setup_and_exec(args: &InitArgs<'_>) -> Result<Never, Error> {
    let spec = args.spec;
    let sys = args.sys;
    let process = spec.process().as_ref().ok_or_else(|| crate::spec::SpecError::invalid("process", "is required"))?;
    let ns = args.namespaces;

    match args.channel.expect("whether to proceed")?.0 {
        Message::Proceed => {}
        other => {
            return Err(
                crate::channel::ChannelError::Unexpected { expected: "proceed", got: format!("{other:?}") }.into()
            )
        }
    }
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
    if let Some(adj) = process.oom_score_adj() {
        process::set_oom_score_adj(adj)?;
    }

    let seccomp = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()).map(crate::seccomp::compile).transpose()?;
    let no_new_privileges = process.no_new_privileges() == Some(true);

    // Modes below are exactly what the spec says, not what the caller's umask leaves.
    sys.umask(0);
    let plan = RootfsPlan {
        spec,
        bundle: args.bundle,
        rootfs: args.rootfs,
        staging: args.staging,
        cgroup_view: args.cgroup_view,
        cgroup_namespace: ns.is_private(LinuxNamespaceType::Cgroup),
        no_pivot: args.no_pivot,
        in_user_namespace: ns.is_private(LinuxNamespaceType::User),
    };
    rootfs::prepare(&plan, sys)?;
    for (key, value) in spec.linux().as_ref().and_then(|l| l.sysctl().as_ref()).into_iter().flatten() {
        process::write_sysctl(key, value)?;
    }
    rootfs::protect_kernel_paths(spec, sys)?;

    if process.terminal() == Some(true) {
        let size = process.console_size().map(|b| (b.height() as u16, b.width() as u16));
        let master = process::open_console(process.user().uid(), size)?;
        args.channel.send_with_fd(&Message::Console, Some(master.as_raw_fd()))?;
    }
    process::apply_rlimits(process.rlimits().as_deref().unwrap_or_default(), sys)?;
    if no_new_privileges {
        sys.set_no_new_privs().map_err(ProcessError::NoNewPrivileges)?;
    } else if let Some(filter) = &seccomp {
        // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN, so it goes in now,
        // before the capabilities are dropped.
        sys.load_seccomp(filter).map_err(ProcessError::Seccomp)?;
    }
    if let Some(caps) = process.capabilities() {
        process::drop_bounding_set(caps, sys)?;
    }
    process::switch_user(process.user(), setgroups_allowed(), sys)?;
    if let Some(caps) = process.capabilities() {
        process::apply_capabilities(caps, sys)?;
    }
    sys.umask(process.user().umask().unwrap_or(0o022));
    sys.chdir(process.cwd()).map_err(|source| ProcessError::Cwd { path: process.cwd().clone(), source })?;

    let argv = process.args().clone().unwrap_or_default();
    let env = process.env().clone().unwrap_or_default();
    let command = argv.first().cloned().unwrap_or_default();
    let path = process::find_executable(&command, &env).map_err(ProcessError::from)?;
    close_descriptors_on_exec(args.preserve_fds);

    args.channel.send(&Message::Ready)?;
    wait_for_start(args.exec_fifo)?;
    if let Some(sig) = args.parent_death_signal {
        // After the user switch: changing credentials clears the parent-death signal.
        let _ = nix::sys::prctl::set_pdeathsig(sig);
    }
    let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
    if let Some(filter) = seccomp.as_ref().filter(|_| no_new_privileges) {
        // As close to execve as possible: only execve itself runs under the filter.
        sys.load_seccomp(filter).map_err(ProcessError::Seccomp)?;
    }
    Err(Error::from(ProcessError::Exec(exec(&command, &path, &argv, &env))))
}

fn exec(command: &str, path: &Path, argv: &[String], env: &[String]) -> ExecError {
    process::exec(command, path, argv, env)
}

/// In a user namespace whose `setgroups` is denied (rootless without newgidmap),
/// setgroups(2) fails; the supplementary groups are then left as they are.
fn setgroups_allowed() -> bool {
    std::fs::read_to_string("/proc/self/setgroups").map_or(true, |s| s.trim() != "deny")
}

/// Only 0-2 and the preserved descriptors survive execve (CVE-2024-21626: no runtime
/// descriptor, such as a host directory, may leak into the container).
fn close_descriptors_on_exec(preserve_fds: i32) {
    let first = 3 + preserve_fds.max(0) as u32;
    // SAFETY: close_range only changes descriptor flags; CLOSE_RANGE_CLOEXEC marks them
    // instead of closing, so descriptors still in use here stay valid until execve.
    let rc = unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, libc::CLOSE_RANGE_CLOEXEC) };
    if rc != 0 {
        // Kernels before 5.11: mark them one by one.
        if let Ok(entries) = std::fs::read_dir("/proc/self/fd") {
            for fd in entries.flatten().filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok()) {
                if fd >= first as i32 {
                    // SAFETY: F_SETFD only changes the flag of a descriptor number; an
                    // already-closed one fails with EBADF, which is fine.
                    unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
                }
            }
        }
    }
}

/// Blocks until `start` opens the exec fifo, then tells it we are going.
fn wait_for_start(fifo: &OwnedFd) -> Result<(), Error> {
    let path = PathBuf::from(format!("/proc/self/fd/{}", fifo.as_raw_fd()));
    let fd = loop {
        match open(&path, OFlag::O_WRONLY | OFlag::O_CLOEXEC, Mode::empty()) {
            Err(nix::errno::Errno::EINTR) => continue,
            other => break other,
        }
    }
    .map_err(|e| ProcessError::Proc { path: path.clone(), source: e.into() })?;
    let _ = nix::unistd::write(fd.as_fd(), &[0u8]);
    Ok(())
}
