//! `start`: lets a created container's init exec its command, by opening the exec fifo
//! the init is blocked on.

use std::os::fd::AsFd;
use std::time::Duration;

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::stat::Mode;

use super::{live_status, ContainerError};
use crate::cgroups::Roots;
use crate::hooks::{self, HookKind};
use crate::state::{StateStore, Status, EXEC_FIFO};
use crate::Error;

/// Starts the container; returns warnings (a failed poststart hook does not undo the
/// start, as the runtime-spec says, but is reported).
pub fn start(store: &StateStore, id: &str, roots: &Roots) -> Result<Vec<String>, Error> {
    let state = store.load(id)?;
    let status = live_status(store, &state, roots);
    if !status.can_start() {
        return Err(ContainerError::InvalidStatus { id: id.to_string(), status, action: "start" }.into());
    }
    let fifo = store.dir(id).join(EXEC_FIFO);
    // Non-blocking, so a dead init cannot leave us waiting forever for a writer.
    let fd = open(&fifo, OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|e| ContainerError::Write { what: "exec fifo", path: fifo.clone(), source: e.into() })?;
    let pid = state.pid.unwrap_or(0);
    loop {
        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(100u16)) {
            Ok(0) | Err(Errno::EINTR) => {}
            Ok(_) => {
                let mut byte = [0u8; 1];
                match nix::unistd::read(fd.as_fd(), &mut byte) {
                    Ok(1) => break,
                    Ok(_) => {
                        return Err(ContainerError::InitDied("it closed the exec fifo without starting".into()).into())
                    }
                    Err(Errno::EAGAIN) | Err(Errno::EINTR) => {}
                    Err(e) => return Err(ContainerError::Wait { action: "read the exec fifo", source: e }.into()),
                }
            }
            Err(e) => return Err(ContainerError::Wait { action: "wait on the exec fifo", source: e }.into()),
        }
        if !crate::proc::is_alive(pid, state.pid_start_time) {
            return Err(ContainerError::InitDied("it exited before start".into()).into());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let _ = std::fs::remove_file(&fifo);
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
