//! `exec`: another process in a running container. The runtime joins the container's
//! pid namespace and clones (into the container's cgroup v2 directory where it can); the
//! child moves itself into the rest of the container's cgroup, joins the other namespaces
//! (user first, mount last), then goes through the same process setup as the
//! container's init — capabilities, user, no_new_privs and the container's seccomp
//! profile included — so exec cannot be a way out.

use std::os::fd::OwnedFd;
use std::path::Path;

use nix::sys::signal::Signal;
use nix::unistd::Pid;
use oci_spec::runtime::Process;

use super::handshake::{self, Handshake};
use super::undo::{self, Undo};
use super::{fork, live_status, ContainerError};
use crate::cgroups::systemd::Systemd;
use crate::cgroups::{self, CgroupJoin, CgroupManager, CgroupPath, PendingJoin, Roots};
use crate::channel::{self, Channel};
use crate::namespaces::Namespaces;
use crate::state::{ContainerState, StateStore, Status};
use crate::syscall::Syscall;
use crate::Error;

pub struct ExecOptions<'a> {
    pub id: &'a str,
    pub store: &'a StateStore,
    pub process: &'a Process,
    pub console_socket: Option<&'a Path>,
    pub pid_file: Option<&'a Path>,
    pub preserve_fds: i32,
    /// The caller waits for the process in the foreground: it dies with the caller.
    pub foreground: bool,
    /// Exec in a paused container too (runc's `--ignore-paused`): the process is frozen
    /// with the rest until the container is resumed.
    pub ignore_paused: bool,
    /// An existing cgroup below the container's, in every hierarchy, for the process
    /// (runc's `--cgroup PATH`); relative, without `..`.
    pub sub_cgroup: Option<&'a Path>,
    pub cgroup_roots: &'a Roots,
    pub sys: &'a dyn Syscall,
}

/// A started exec process.
pub struct Execed {
    pub pid: Pid,
    pub console: Option<OwnedFd>,
    /// End-of-file once execve has succeeded; a `Failed` message otherwise.
    pub channel: Channel,
}

pub fn exec(opts: &ExecOptions<'_>) -> Result<Execed, Error> {
    let state = opts.store.load(opts.id)?;
    let status = live_status(opts.store, &state, opts.cgroup_roots);
    if !(status.can_exec() || opts.ignore_paused && status == Status::Paused) {
        return Err(ContainerError::InvalidStatus { id: opts.id.to_string(), status, action: "exec in" }.into());
    }
    // The process cloned below lives in the container's pid namespace before it has joined
    // the rest (its root and cwd are still the host's until the mount namespace is joined)
    // and runs the runtime's code until its execve: non-dumpable, and so this process too
    // (the flag is inherited), nothing in the container may ptrace it or open its
    // /proc/<pid>/{fd,cwd,root,mem}. The execve makes the command dumpable again.
    nix::sys::prctl::set_dumpable(false).map_err(crate::process::ProcessError::Dumpable)?;
    undo::guarded(Undo::default(), |undo| exec_in(opts, &state, status, undo))
}

/// Everything after the checks, under the guard that kills the process on failure.
fn exec_in(
    opts: &ExecOptions<'_>,
    state: &ContainerState,
    status: Status,
    undo: &mut Undo<'_>,
) -> Result<Execed, Error> {
    let init = state.pid.unwrap_or(0);
    let spec = &state.config;
    // An unprivileged user may not open the namespaces of an init that is not dumpable,
    // which it is until `start`: say so rather than "permission denied".
    let before_start = |e: crate::namespaces::NamespaceError| -> Error {
        let denied = matches!(&e, crate::namespaces::NamespaceError::Open { source, .. }
            if matches!(source, nix::errno::Errno::EACCES | nix::errno::Errno::EPERM));
        if denied && status == crate::state::Status::Created {
            ContainerError::ExecBeforeStart { id: opts.id.to_string() }.into()
        } else {
            e.into()
        }
    };
    let mut namespaces = Namespaces::of_container(spec, init);
    if !crate::userns::privileged() {
        namespaces = namespaces.enter_user_namespace_first(opts.sys).map_err(before_start)?;
    }
    let seccomp = handshake::seccomp_filter(spec)?;
    // A user's container in a systemd scope: the user may not move a process there (the
    // common ancestor is root's), so systemd moves it, as runc's exec asks it to.
    let mut systemd = match &state.systemd {
        Some(unit) if !crate::userns::privileged() => Some(Systemd::connect(unit, &opts.cgroup_roots.cgroup)?),
        _ => None,
    };
    let join = cgroup_join(opts, state)?.filter(|_| systemd.is_none());

    namespaces.join_for_children(opts.sys).map_err(before_start)?;
    let (ours, theirs) = channel::pair()?;
    let target = join.as_ref().and_then(CgroupJoin::clone_target);
    let pid = match fork::clone_init(nix::sched::CloneFlags::empty(), target)? {
        fork::Cloned::Parent(pid) => pid,
        fork::Cloned::Child { placed } => {
            drop(ours);
            drop(systemd);
            run_child(opts, &namespaces, seccomp.as_ref(), join.map(|j| j.pending(placed)), &theirs)
        }
    };
    undo.child = Some(pid);
    drop(join);
    drop(theirs);
    if let Some(systemd) = systemd.as_mut() {
        systemd.attach(pid.as_raw())?;
    }
    let handshake =
        Handshake { pid, channel: &ours, console_socket: opts.console_socket, runtime_hooks: None, fuse: None };
    let console = handshake.proceed_until_ready(undo, |_| {
        ContainerError::InitDied("the exec process exited during setup".into()).into()
    })?;
    if let Some(path) = opts.pid_file {
        super::create::write_pid_file(path, pid.as_raw())?;
    }
    Ok(Execed { pid, console, channel: ours })
}

/// How the process joins the container's cgroup (or the `--cgroup` below it) as it is
/// cloned; None when the container has none.
fn cgroup_join(opts: &ExecOptions<'_>, state: &ContainerState) -> Result<Option<CgroupJoin>, Error> {
    let path = match opts.sub_cgroup {
        Some(sub) => CgroupPath(state.cgroup_path.0.join(sub)),
        None => state.cgroup_path.clone(),
    };
    match cgroups::manager(&path, opts.cgroup_roots)?.joiner() {
        Ok(join) => Ok(Some(join)),
        // An unprivileged user's container made where it could not have a cgroup (see
        // create): the exec'd process, like the init, stays in the runtime's.
        Err(cgroups::CgroupError::Write { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound && !crate::userns::privileged() =>
        {
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// The exec'd process: join, set up, exec; reports any failure and exits.
fn run_child(
    opts: &ExecOptions<'_>,
    namespaces: &Namespaces,
    seccomp: Option<&crate::seccomp::Filter>,
    cgroup_join: Option<PendingJoin>,
    channel: &Channel,
) -> ! {
    let death = opts.foreground.then_some(Signal::SIGKILL);
    handshake::run_child(channel, death, || {
        handshake::await_proceed(channel, cgroup_join, opts.preserve_fds, &[])?;
        namespaces.join(opts.sys)?;
        let _ = nix::unistd::setsid();
        let prepared =
            handshake::prepare_and_report_ready(Some(opts.process), seccomp, channel, opts.preserve_fds, opts.sys)?;
        match prepared {
            Some(p) => Err(p.exec(seccomp, death, opts.sys)),
            None => Ok(()),
        }
    })
}
