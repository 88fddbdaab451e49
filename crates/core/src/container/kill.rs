//! `kill`: a signal to the init, or with `all` to every process in the container's cgroup.

use nix::sys::signal::{kill as send, Signal};
use nix::unistd::Pid;

use super::{live_status, ContainerError};
use crate::cgroups::{self, CgroupManager, FreezerState, Roots};
use crate::state::{StateStore, Status};
use crate::Error;

pub fn kill(store: &StateStore, id: &str, signal: i32, all: bool, roots: &Roots) -> Result<(), Error> {
    let state = store.load(id)?;
    let status = live_status(store, &state, roots);
    if !status.can_kill() {
        return Err(ContainerError::InvalidStatus { id: id.to_string(), status, action: "kill" }.into());
    }
    let sig = Signal::try_from(signal).ok();
    let fail = |source| ContainerError::Signal { id: id.to_string(), source };
    let cgroup = cgroups::manager(&state.cgroup_path, roots)?;
    if all {
        let pids = cgroup.pids()?;
        if cgroups::holds_caller(&pids) {
            return Err(ContainerError::SharedCgroup { id: id.to_string() }.into());
        }
        for pid in pids {
            match send(Pid::from_raw(pid), sig) {
                Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
                Err(e) => return Err(fail(e).into()),
            }
        }
    } else {
        let pid = state.pid.unwrap_or(0);
        // Real-time signals have no nix `Signal`; send them by number.
        // SAFETY: kill(2) takes plain integers.
        let rc = unsafe { libc::kill(pid, signal) };
        nix::errno::Errno::result(rc).map_err(fail)?;
    }
    // A frozen process cannot act on SIGKILL until it is thawed (cgroup v1).
    if status == Status::Paused && sig == Some(Signal::SIGKILL) {
        cgroup.freeze(FreezerState::Thawed)?;
    }
    Ok(())
}
