//! `pause` and `resume`: the freezer stops every process in the container's cgroup and
//! lets them go again.

use super::{live_status, ContainerError};
use crate::cgroups::{self, CgroupManager, FreezerState, Roots};
use crate::state::StateStore;
use crate::Error;

fn freeze(store: &StateStore, id: &str, roots: &Roots, to: FreezerState) -> Result<(), Error> {
    store.update(id, |state| {
        let status = live_status(store, state, roots);
        let (allowed, action) = match to {
            FreezerState::Frozen => (status.can_pause(), "pause"),
            FreezerState::Thawed => (status.can_resume(), "resume"),
        };
        if !allowed {
            return Err(ContainerError::InvalidStatus { id: id.to_string(), status, action }.into());
        }
        cgroups::manager(&state.cgroup_path, roots)?.freeze(to)?;
        state.status = live_status(store, state, roots);
        Ok(())
    })
}

pub fn pause(store: &StateStore, id: &str, roots: &Roots) -> Result<(), Error> {
    freeze(store, id, roots, FreezerState::Frozen)
}

pub fn resume(store: &StateStore, id: &str, roots: &Roots) -> Result<(), Error> {
    freeze(store, id, roots, FreezerState::Thawed)
}
