//! `start`: lets a created container's init exec its command, by writing one byte to the
//! exec fifo the init is blocked on.

use nix::errno::Errno;
use nix::fcntl::OFlag;

use super::{live_status, ContainerError};
use crate::cgroups::Roots;
use crate::hooks::{self, HookKind};
use crate::state::{StateError, StateStore, Status};
use crate::trusted::TrustError;
use crate::Error;

/// Starts the container; returns warnings (a failed poststart hook does not undo the
/// start, as the runtime-spec says, but is reported).
pub fn start(store: &StateStore, id: &str, roots: &Roots) -> Result<Vec<String>, Error> {
    let dir = store.open(id)?;
    let state = dir.load()?;
    let status = live_status(store, &state, roots);
    if !status.can_start() {
        return Err(ContainerError::InvalidStatus { id: id.to_string(), status, action: "start" }.into());
    }
    // Under the update lock, so of two starts only one finds the fifo.
    dir.locked(|| -> Result<(), Error> {
        // Non-blocking: with no reader (the init is gone) the open fails instead of waiting.
        let fifo = match dir.open_exec_fifo(OFlag::O_WRONLY | OFlag::O_NONBLOCK) {
            Ok(fifo) => fifo,
            Err(StateError::Untrusted(TrustError::Io { source, .. })) if source.raw_os_error() == Some(libc::ENXIO) => {
                return Err(ContainerError::InitDied("it exited before start".into()).into())
            }
            Err(e) if is_not_found(&e) => {
                let status = live_status(store, &dir.load()?, roots);
                return Err(ContainerError::InvalidStatus { id: id.to_string(), status, action: "start" }.into());
            }
            Err(e) => return Err(e.into()),
        };
        loop {
            match nix::unistd::write(&fifo, &[0u8]) {
                Ok(_) => break,
                Err(Errno::EINTR) => continue,
                Err(Errno::EPIPE) => return Err(ContainerError::InitDied("it exited before start".into()).into()),
                Err(e) => return Err(ContainerError::Wait { action: "write the exec fifo", source: e }.into()),
            }
        }
        dir.remove_exec_fifo()?;
        Ok(())
    })??;
    // The process may already have ended and its supervisor recorded that: change only
    // the status, on the state as it is now.
    store.update(id, |s| -> Result<(), Error> {
        if s.exit.is_none() {
            s.status = Status::Running;
        }
        Ok(())
    })?;
    Ok(hooks::run_all(&state.config, HookKind::Poststart, &state.hook_state("running")))
}

fn is_not_found(e: &StateError) -> bool {
    matches!(e, StateError::Untrusted(t) if t.is_not_found())
}
