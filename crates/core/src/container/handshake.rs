//! The conversation between the runtime and a process it cloned to run container code — the
//! init for `create`, the new process for `exec` — over their channel ([`crate::channel`]),
//! written once for both:
//!
//! 1. runtime → child `Proceed { pid }`, once the runtime has done what must come first (for
//!    the init: its pid recorded, systemd's scope, the id maps); the child then joins its
//!    cgroup and lets go of what it inherited ([`await_proceed`]);
//! 2. child → runtime `Console`, the terminal's master, when the process has one: passed to
//!    the console socket, or back to the caller; `RunRuntimeHooks` (the init only, when its
//!    mounts are made), answered with `HooksDone` once the runtime ran them
//!    ([`request_runtime_hooks`]); when the init's root overlay goes through FUSE,
//!    `OpenFuseDevice`, answered with `FuseDevice` and the descriptor ([`request_fuse_device`]),
//!    then `FuseMounted` with it, answered with `FuseServed` once fuse-overlayfs serves it
//!    ([`request_fuse_server`]);
//! 3. child → runtime `Ready` once set up ([`prepare_and_report_ready`]) — or `Failed` with
//!    the reason ([`run_child`] reports every failure), or nothing at all when it was killed.
//!
//! On the runtime's side [`Handshake::proceed_until_ready`] drives it; whatever goes wrong
//! there leaves the child to the caller's [`Undo`] guard, which kills and reaps it. The
//! seccomp filter both children load is compiled here too, by the runtime before the clone
//! ([`seccomp_filter`]).

use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::path::Path;

use nix::sys::signal::Signal;
use nix::sys::wait::WaitStatus;
use nix::unistd::Pid;
use oci_spec::runtime::{Process, Spec};

use super::undo::Undo;
use super::ContainerError;
use crate::cgroups::PendingJoin;
use crate::channel::{Channel, ChannelError, InitFailure, Message};
use crate::process::setup::{self, Prepared};
use crate::seccomp::{self, Filter};
use crate::syscall::Syscall;
use crate::Error;

/// The filter every process of a container loads, its init and each one `exec` adds: the
/// config's `linux.seccomp`, compiled (or found in the runtime's cache) before the clone, so
/// the child loads it without parsing anything. None when the config has no profile.
pub(super) fn seccomp_filter(spec: &Spec) -> Result<Option<Filter>, Error> {
    let profile = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref());
    Ok(profile.map(|p| seccomp::compile_cached(p, seccomp::cache_dir().as_deref())).transpose()?)
}

/// The runtime's side of one child's bring-up.
pub(super) struct Handshake<'a> {
    pub pid: Pid,
    /// The runtime's end of the child's channel.
    pub channel: &'a Channel,
    /// Where a terminal's master goes (runc's `--console-socket`); without one it is
    /// returned to the caller.
    pub console_socket: Option<&'a Path>,
    /// Runs the prestart and createRuntime hooks when the init asks (`create` only).
    pub runtime_hooks: Option<&'a dyn Fn() -> Result<(), Error>>,
    /// Opens /dev/fuse for the init and serves its mount with fuse-overlayfs (`create` only,
    /// when the container may use it).
    pub fuse: Option<&'a crate::rootfs::fuse::Daemon>,
}

impl Handshake<'_> {
    /// Tells the child to go on and answers it until it is ready; returns the terminal's
    /// master if it sent one and no console socket took it. A child that ends without a
    /// word is reaped (and so no longer the guard's to kill), and `ended` says why, from
    /// its wait status.
    pub fn proceed_until_ready(
        &self,
        undo: &mut Undo<'_>,
        ended: impl FnOnce(nix::Result<WaitStatus>) -> Error,
    ) -> Result<Option<OwnedFd>, Error> {
        // The child may have ended already (a memory limit too small for it is reached as
        // soon as it is in its cgroup): the loop below reads how.
        self.channel.send_unless_ended(&Message::Proceed { pid: self.pid.as_raw() })?;
        let mut console = None;
        loop {
            match self.channel.recv()? {
                Some((Message::RunRuntimeHooks, _)) => {
                    let run = self.runtime_hooks.ok_or_else(|| unexpected("ready", Message::RunRuntimeHooks))?;
                    run()?;
                    self.channel.send(&Message::HooksDone)?;
                }
                Some((Message::OpenFuseDevice, _)) => {
                    let daemon = self.fuse.ok_or_else(|| unexpected("ready", Message::OpenFuseDevice))?;
                    let device = daemon.open_device()?;
                    self.channel.send_with_fd(&Message::FuseDevice, Some(device.as_raw_fd()))?;
                }
                Some((Message::FuseMounted, Some(device))) => {
                    let daemon = self.fuse.ok_or_else(|| unexpected("ready", Message::FuseMounted))?;
                    daemon.serve(device)?;
                    self.channel.send(&Message::FuseServed)?;
                }
                Some((Message::Console, Some(master))) => match self.console_socket {
                    Some(socket) => send_console(socket, master)?,
                    None => console = Some(master),
                },
                Some((Message::Ready, _)) => return Ok(console),
                Some((Message::Failed(failure), _)) => return Err(ContainerError::Init(failure).into()),
                Some((other, _)) => return Err(unexpected("ready", other)),
                None => return Err(ended(undo.reap_child())),
            }
        }
    }
}

/// Hands the pty master to whoever listens on the console socket, as runc does: one
/// message whose payload is the pty's name, with the descriptor attached.
fn send_console(socket: &Path, master: OwnedFd) -> Result<(), ContainerError> {
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

/// The whole life of a cloned child: `body` sets it up and execs, returning only on
/// failure (or with Ok when there is nothing to run: exit 0). A failure goes to the
/// runtime, so the user reads a reason, never "channel closed". Never returns.
pub(crate) fn run_child(
    channel: &Channel,
    parent_death_signal: Option<Signal>,
    body: impl FnOnce() -> Result<(), Error>,
) -> ! {
    if let Some(sig) = parent_death_signal {
        // Until the command runs, a runtime that dies takes its half-made process along.
        let _ = nix::sys::prctl::set_pdeathsig(sig);
    }
    match body() {
        // SAFETY: as in `report_and_exit`.
        Ok(()) => unsafe { libc::_exit(0) },
        Err(failure) => report_and_exit(channel, failure),
    }
}

/// Tells the runtime why this process gave up, then exits with 127/126 for a command
/// that cannot run, else 1.
fn report_and_exit(channel: &Channel, failure: Error) -> ! {
    let exec = failure.exec_failure();
    let message = crate::error::chain(&failure);
    let report = Message::Failed(InitFailure { message: message.clone(), code: failure.code() });
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

/// The child's first steps: waits for `Proceed`, makes the moves into the container's
/// cgroup the clone did not, and closes everything the runtime had open but the stdio, the
/// `preserve_fds` after it, the channel and `keep`. Returns the child's pid as the runtime
/// sees it.
pub(crate) fn await_proceed(
    channel: &Channel,
    cgroup_join: Option<PendingJoin>,
    preserve_fds: i32,
    keep: &[RawFd],
) -> Result<i32, Error> {
    let (message, _) = channel.recv_required("proceed")?;
    let Message::Proceed { pid } = message else {
        return Err(unexpected("proceed", message));
    };
    // Joined once the runtime is listening for how setup goes: a memory limit too small
    // for the process kills it here, and the runtime reports that, as an OOM kill.
    cgroup_join.map(PendingJoin::join).transpose()?;
    // Nothing the runtime had open goes any further: its log, its caller's stray
    // descriptors.
    let mut kept = vec![channel.as_fd().as_raw_fd()];
    kept.extend_from_slice(keep);
    close_inherited(preserve_fds, &kept);
    Ok(pid)
}

/// Asks the runtime to run the hooks that run in its namespaces (prestart, createRuntime),
/// and waits until it has.
pub(crate) fn request_runtime_hooks(channel: &Channel) -> Result<(), Error> {
    channel.send(&Message::RunRuntimeHooks)?;
    match channel.recv_required("hooks done")? {
        (Message::HooksDone, _) => Ok(()),
        (other, _) => Err(unexpected("hooks done", other)),
    }
}

/// Asks the runtime for /dev/fuse, opened in the container's user namespace.
pub(crate) fn request_fuse_device(channel: &Channel) -> Result<OwnedFd, ChannelError> {
    channel.send(&Message::OpenFuseDevice)?;
    match channel.recv_required("fuse device")? {
        (Message::FuseDevice, Some(device)) => Ok(device),
        (other, _) => Err(ChannelError::Unexpected { expected: "fuse device", got: format!("{other:?}") }),
    }
}

/// Sends the runtime the /dev/fuse descriptor of the root overlay's FUSE mount, and waits
/// until fuse-overlayfs serves it. The init keeps no copy of the device.
pub(crate) fn request_fuse_server(channel: &Channel, device: OwnedFd) -> Result<(), ChannelError> {
    channel.send_with_fd(&Message::FuseMounted, Some(device.as_raw_fd()))?;
    drop(device);
    match channel.recv_required("fuse served")? {
        (Message::FuseServed, _) => Ok(()),
        (other, _) => Err(ChannelError::Unexpected { expected: "fuse served", got: format!("{other:?}") }),
    }
}

/// The child's last step of setup: `process` applied to it (a terminal's master goes to the
/// runtime), every descriptor past the preserved ones marked close-on-exec, and `Ready`
/// said. What is left is the execve.
pub(crate) fn prepare_and_report_ready(
    process: Option<&Process>,
    seccomp: Option<&Filter>,
    channel: &Channel,
    preserve_fds: i32,
    sys: &dyn Syscall,
) -> Result<Option<Prepared>, Error> {
    let prepared = process.map(|p| setup::prepare(p, seccomp, channel, sys)).transpose()?;
    setup::close_descriptors_on_exec(preserve_fds);
    channel.send(&Message::Ready)?;
    Ok(prepared)
}

/// A message that is not the one this end of the conversation waits for (`expected`).
fn unexpected(expected: &'static str, got: Message) -> Error {
    ChannelError::Unexpected { expected, got: format!("{got:?}") }.into()
}

/// Closes every descriptor but 0-2, the `preserve_fds` after them, and `keep`.
fn close_inherited(preserve_fds: i32, keep: &[RawFd]) {
    let first = 3 + preserve_fds.max(0) as u32;
    let mut kept: Vec<u32> = keep.iter().filter_map(|fd| u32::try_from(*fd).ok()).filter(|fd| *fd >= first).collect();
    kept.sort_unstable();
    kept.dedup();
    let mut from = first;
    for fd in kept.into_iter().chain([u32::MAX]) {
        if fd > from {
            close_range(from, fd - 1);
        }
        from = fd.saturating_add(1);
    }
}

/// Closes the descriptors `from..=to`.
fn close_range(from: u32, to: u32) {
    // SAFETY: close_range takes plain integers. Every descriptor in the range was
    // inherited from the runtime and is not used by the child again: Rust objects of the
    // runtime that still own some are never dropped in this process (it ends in execve
    // or _exit), so nothing closes or reuses them later.
    let rc = unsafe { libc::syscall(libc::SYS_close_range, from, to, 0) };
    if rc == 0 {
        return;
    }
    // Kernels before 5.9: one by one, from what /proc lists.
    let open: Vec<RawFd> = std::fs::read_dir("/proc/self/fd")
        .map(|d| d.flatten().filter_map(|e| e.file_name().to_str()?.parse().ok()).collect())
        .unwrap_or_default();
    for fd in open.into_iter().filter(|fd| (from as i64..=to as i64).contains(&i64::from(*fd))) {
        // SAFETY: as above; the directory read's own descriptor is closed by now.
        unsafe { libc::close(fd) };
    }
}
