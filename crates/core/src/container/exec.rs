//! `exec`: another process in a running container. The runtime joins the container's
//! pid namespace and clones (into the container's cgroup v2 directory where it can); the
//! child moves itself into the rest of the container's cgroup, joins the other namespaces
//! (user first, mount last), then goes through the same process setup as the
//! container's init — capabilities, user, no_new_privs and the container's seccomp
//! profile included — so exec cannot be a way out.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

use nix::sys::signal::{kill as send, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use oci_spec::runtime::Process;

use super::{fork, live_status, ContainerError};
use crate::cgroups::systemd::Systemd;
use crate::cgroups::{self, CgroupJoin, CgroupManager, CgroupPath, PendingJoin, Roots};
use crate::channel::{self, Channel, ChannelError, Message};
use crate::namespaces::Namespaces;
use crate::process::setup;
use crate::state::{StateStore, Status};
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
    let cgroup_path = match opts.sub_cgroup {
        Some(sub) => CgroupPath(state.cgroup_path.0.join(sub)),
        None => state.cgroup_path.clone(),
    };
    let cgroup = cgroups::manager(&cgroup_path, opts.cgroup_roots)?;
    let seccomp = spec
        .linux()
        .as_ref()
        .and_then(|l| l.seccomp().as_ref())
        .map(|profile| crate::seccomp::compile_cached(profile, crate::seccomp::cache_dir().as_deref()))
        .transpose()?;

    // A user's container in a systemd scope: the user may not move a process there (the
    // common ancestor is root's), so systemd moves it, as runc's exec asks it to.
    let mut systemd = match &state.systemd {
        Some(unit) if !crate::userns::privileged() => Some(Systemd::connect(unit, &opts.cgroup_roots.cgroup)?),
        _ => None,
    };
    let join = match cgroup.joiner() {
        Ok(_) if systemd.is_some() => None,
        Ok(join) => Some(join),
        // An unprivileged user's container made where it could not have a cgroup (see
        // create): the exec'd process, like the init, stays in the runtime's.
        Err(cgroups::CgroupError::Write { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound && !crate::userns::privileged() =>
        {
            None
        }
        Err(e) => return Err(e.into()),
    };

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
    drop(join);
    drop(theirs);
    let kill_child = |e: Error| {
        let _ = send(pid, Signal::SIGKILL);
        let _ = waitpid(pid, None);
        e
    };
    if let Some(systemd) = systemd.as_mut() {
        systemd.attach(pid.as_raw()).map_err(|e| kill_child(e.into()))?;
    }
    // A child that has ended already (killed in its cgroup) is read by the loop below.
    ours.send_unless_ended(&Message::Proceed { pid: pid.as_raw() }).map_err(|e| kill_child(e.into()))?;
    let mut console = None;
    loop {
        match ours.recv().map_err(|e| kill_child(e.into()))? {
            Some((Message::Console, Some(master))) => match opts.console_socket {
                Some(socket) => super::create::send_console(socket, master).map_err(|e| kill_child(e.into()))?,
                None => console = Some(master),
            },
            Some((Message::Ready, _)) => break,
            Some((Message::Failed(failure), _)) => {
                let _ = waitpid(pid, None);
                return Err(ContainerError::Init(failure).into());
            }
            Some((other, _)) => {
                return Err(kill_child(
                    ChannelError::Unexpected { expected: "ready", got: format!("{other:?}") }.into(),
                ))
            }
            None => {
                let _ = waitpid(pid, None);
                return Err(ContainerError::InitDied("the exec process exited during setup".into()).into());
            }
        }
    }
    if let Some(path) = opts.pid_file {
        super::create::write_pid_file(path, pid.as_raw())?;
    }
    Ok(Execed { pid, console, channel: ours })
}

/// The exec'd process: join, set up, exec; reports any failure and exits.
fn run_child(
    opts: &ExecOptions<'_>,
    namespaces: &Namespaces,
    seccomp: Option<&crate::seccomp::Filter>,
    cgroup_join: Option<PendingJoin>,
    channel: &Channel,
) -> ! {
    if opts.foreground {
        let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
    }
    let result = (|| -> Result<Error, Error> {
        let (message, _) = channel.recv_required("proceed")?;
        if !matches!(message, Message::Proceed { .. }) {
            return Err(ChannelError::Unexpected { expected: "proceed", got: format!("{message:?}") }.into());
        }
        cgroup_join.map(PendingJoin::join).transpose()?;
        // Nothing of the runtime's (its log, its caller's strays) goes any further.
        crate::init::close_inherited(opts.preserve_fds, &[channel.as_fd().as_raw_fd()]);
        namespaces.join(opts.sys)?;
        let _ = nix::unistd::setsid();
        let prepared = setup::prepare(opts.process, seccomp, channel, opts.sys)?;
        setup::close_descriptors_on_exec(opts.preserve_fds);
        channel.send(&Message::Ready)?;
        let death = opts.foreground.then_some(Signal::SIGKILL);
        Ok(prepared.exec(seccomp, death, opts.sys))
    })();
    let failure = match result {
        Ok(e) | Err(e) => e,
    };
    crate::init::report_and_exit(channel, failure)
}
