//! `delete`: removes a stopped container's cgroup and state. With `force`, a container
//! that still runs is killed first, and an unknown id is not an error (containerd's shim
//! calls delete, then delete --force).

use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::{live_status, ContainerError};
use crate::cgroups::systemd::Systemd;
use crate::cgroups::{self, CgroupManager, FreezerState, Roots};
use crate::hooks::{self, HookKind};
use crate::state::{StateError, StateStore, Status};
use crate::Error;

const KILL_TIMEOUT: Duration = Duration::from_secs(10);

/// Deletes the container; returns warnings (a failed poststop hook is reported, not
/// fatal, as the runtime-spec says).
pub fn delete(store: &StateStore, id: &str, force: bool, roots: &Roots) -> Result<Vec<String>, Error> {
    let state = match store.load(id) {
        Ok(s) => s,
        Err(StateError::NotFound(_)) if store.exists(id) => {
            // Created but never recorded: the runtime died before writing any state, so
            // there is nothing but the directory.
            if !force && store.is_locked(id) {
                return Err(ContainerError::InvalidStatus {
                    id: id.into(),
                    status: Status::Creating,
                    action: "delete",
                }
                .into());
            }
            store.remove(id)?;
            return Ok(Vec::new());
        }
        Err(StateError::NotFound(_)) if force => return Ok(Vec::new()),
        Err(StateError::Corrupt { .. }) if force => {
            store.remove(id)?;
            return Ok(Vec::new());
        }
        Err(e) => return Err(e.into()),
    };
    let status = live_status(store, &state, roots);
    if !status.can_delete() && !force {
        return Err(ContainerError::InvalidStatus { id: id.to_string(), status, action: "delete" }.into());
    }
    let cgroup = cgroups::manager(&state.cgroup_path, roots)?;
    if let Some(pid) = state.pid.filter(|pid| crate::proc::is_alive(*pid, state.pid_start_time)) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        if status == Status::Paused {
            let _ = cgroup.freeze(FreezerState::Thawed);
        }
        let deadline = Instant::now() + KILL_TIMEOUT;
        while crate::proc::is_alive(pid, state.pid_start_time) {
            if Instant::now() > deadline {
                return Err(
                    ContainerError::StuckAfterKill { id: id.to_string(), seconds: KILL_TIMEOUT.as_secs() }.into()
                );
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    // The init is gone: a network helper's watcher stops the helper and quits.
    if let Ok(dir) = store.open(id) {
        crate::network::wait_until_stopped(dir.trusted());
    }
    cgroup.remove()?;
    if let Some(unit) = &state.systemd {
        // Nothing runs in the scope any more: systemd stops it at once and forgets it.
        Systemd::connect(unit, &roots.cgroup)?.stop()?;
    }
    cgroups::remove_created_parents(&state.cgroup_parents);
    store.remove(id)?;
    Ok(hooks::run_all(&state.config, HookKind::Poststop, &state.hook_state("stopped")))
}
