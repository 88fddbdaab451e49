//! `kill`: a signal to the init, or with `all` to every process in the container's cgroup.
//!
//! As runc: `all` works in every state, a stopped container included — its init may be gone
//! while processes it left (in a shared pid namespace, say) are still in the cgroup, which is
//! why containerd's shim sends `kill --all` after the init exits; a cgroup that is gone has
//! nothing to signal. Without `all` only a live init is signalled: a stopped container's pid
//! may belong to another process by now.

use nix::sys::signal::Signal;

use super::{live_status, ContainerError};
use crate::cgroups::{self, CgroupManager, FreezerState, Roots};
use crate::state::{StateStore, Status};
use crate::Error;

pub fn kill(store: &StateStore, id: &str, signal: i32, all: bool, roots: &Roots) -> Result<(), Error> {
    let state = store.load(id)?;
    let status = live_status(store, &state, roots);
    if !all && !status.can_kill() {
        return Err(ContainerError::InvalidStatus { id: id.to_string(), status, action: "kill" }.into());
    }
    let sig = Signal::try_from(signal).ok();
    let cgroup = cgroups::manager(&state.cgroup_path, roots)?;
    if all {
        if status == Status::Stopped && !cgroup.exists() {
            return Ok(());
        }
        signal_all(&cgroup, id, signal, status)?;
    } else {
        let pid = state.pid.unwrap_or(0);
        // Real-time signals have no nix `Signal`; send them by number.
        // SAFETY: kill(2) takes plain integers.
        let rc = unsafe { libc::kill(pid, signal) };
        nix::errno::Errno::result(rc).map_err(|source| ContainerError::Signal { id: id.to_string(), source })?;
    }
    // A frozen process cannot act on SIGKILL until it is thawed (cgroup v1).
    if status == Status::Paused && sig == Some(Signal::SIGKILL) {
        cgroup.freeze(FreezerState::Thawed)?;
    }
    Ok(())
}

/// Signals every process in the cgroup. A running container is frozen meanwhile, so none
/// can fork a child that escapes the signal, and thawed after (a paused one stays paused);
/// where the freezer cannot be used (a user without a cgroup of their own) the processes
/// are signalled as they are.
fn signal_all(cgroup: &dyn CgroupManager, id: &str, signal: i32, status: Status) -> Result<(), Error> {
    let freeze = status == Status::Running && cgroup.freeze(FreezerState::Frozen).is_ok();
    let result = cgroup.pids().map_err(Error::from).and_then(|pids| {
        // A cgroup that holds this runtime (`/`, `.`, the caller's own) is not the container's.
        if cgroups::holds_caller(&pids) {
            return Err(ContainerError::SharedCgroup { id: id.to_string() }.into());
        }
        for pid in pids {
            // SAFETY: kill(2) takes plain integers.
            let rc = unsafe { libc::kill(pid, signal) };
            match nix::errno::Errno::result(rc) {
                Ok(_) | Err(nix::errno::Errno::ESRCH) => {}
                Err(source) => return Err(ContainerError::Signal { id: id.to_string(), source }.into()),
            }
        }
        Ok(())
    });
    if freeze {
        cgroup.freeze(FreezerState::Thawed)?;
    }
    result
}
