//! The one failure path of `create` and `exec` (crun's `fail:` label): each step registers
//! what undoes it on the guard before it is taken, and a failure anywhere runs the undos in
//! reverse order of creation and reports the first error, with any cleanup error attached.

use std::path::PathBuf;

use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;

use super::ContainerError;
use crate::cgroups::systemd::Systemd;
use crate::cgroups::{self, CgroupManager, CgroupPath, Roots};
use crate::state::StateStore;
use crate::Error;

/// What to undo if a later step fails.
#[derive(Default)]
pub(super) struct Undo<'a> {
    /// The container's state directory (`create`).
    pub store: Option<(&'a StateStore, &'a str)>,
    /// The container's cgroup and the parents made for it (`create`).
    pub cgroup: Option<(CgroupPath, &'a Roots, Vec<PathBuf>)>,
    /// The connection to systemd (`--systemd-cgroup`); its unit is stopped on failure
    /// once systemd took the request to start it.
    pub systemd: Option<Systemd>,
    /// The process the runtime cloned (`create`'s init, `exec`'s process): killed and
    /// reaped.
    pub child: Option<Pid>,
}

/// Runs `steps` under `undo`: on failure, everything they (or the caller, before) registered
/// is undone.
pub(super) fn guarded<'a, T>(
    mut undo: Undo<'a>,
    steps: impl FnOnce(&mut Undo<'a>) -> Result<T, Error>,
) -> Result<T, Error> {
    steps(&mut undo).map_err(|error| undo.run(error))
}

impl Undo<'_> {
    /// Waits for the child, which has ended on its own, and forgets it: once reaped, its
    /// pid may be another process's, which must not be killed.
    pub fn reap_child(&mut self) -> nix::Result<WaitStatus> {
        match self.child.take() {
            Some(pid) => waitpid(pid, None),
            None => Err(Errno::ECHILD),
        }
    }

    fn run(self, error: Error) -> Error {
        let mut failures = Vec::new();
        if let Some(pid) = self.child {
            let _ = kill(pid, Signal::SIGKILL);
            let _ = waitpid(pid, None);
        }
        if let Some((path, roots, parents)) = self.cgroup {
            if let Err(e) = cgroups::manager(&path, roots).and_then(|cg| cg.remove()) {
                failures.push(crate::error::chain(&e));
            }
            cgroups::remove_created_parents(&parents);
        }
        if let Some(mut systemd) = self.systemd.filter(Systemd::started) {
            if let Err(e) = systemd.stop() {
                failures.push(crate::error::chain(&e));
            }
        }
        if let Some((store, id)) = self.store {
            // With the init dead, a network helper's watcher stops it and quits.
            if let Ok(dir) = store.open(id) {
                crate::network::wait_until_stopped(dir.trusted());
            }
            if let Err(e) = store.remove(id) {
                failures.push(crate::error::chain(&e));
            }
        }
        if failures.is_empty() {
            error
        } else {
            ContainerError::Cleanup { error: Box::new(error), cleanup: failures.join("; ") }.into()
        }
    }
}
