//! Making this process root of a new user namespace mapped like a rootless container's: 0 is
//! the user, 1..N the subordinate ranges /etc/subuid and /etc/subgid grant (written by the
//! setuid newuidmap and newgidmap). This process unshares it itself, so that the operation,
//! its signals and its exit status stay this process's; the maps are written from outside
//! by a child forked before the unshare (newuidmap run from inside the new namespace would
//! not be privileged), which waits for the word and exits.
//!
//! Called while the process is single-threaded (the kernel refuses `unshare(CLONE_NEWUSER)`
//! to a threaded process), before anything starts a thread.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;

use nix::sched::CloneFlags;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, getpid, pipe2, ForkResult};
use tscontainer_core::userns::SubordinateRange;

#[derive(Debug, thiserror::Error)]
pub enum UsernsError {
    #[error("cannot create a user namespace: {reason}")]
    Unshare { reason: String },
    #[error("cannot {op} to map the user namespace")]
    Setup {
        op: &'static str,
        #[source]
        source: nix::Error,
    },
    #[error("cannot map the user namespace: {0}")]
    Map(String),
    #[error("the user namespace is mapped, but this process is uid {0} in it, not 0")]
    NotRoot(u32),
}

fn setup(op: &'static str) -> impl FnOnce(nix::Error) -> UsernsError {
    move |source| UsernsError::Setup { op, source }
}

/// Enters the namespace. On error nothing is left: the child has exited and been reaped.
pub fn enter(uid: u32, gid: u32, uids: SubordinateRange, gids: SubordinateRange) -> Result<(), UsernsError> {
    let maps = tscontainer_core::spec::id_maps(uid, gid, Some((uids, gids)))
        .map_err(|e| UsernsError::Map(tscontainer_core::error::chain(&e)))?;
    let (go_read, go_write) = pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(setup("create a pipe"))?;
    let (result_read, result_write) = pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(setup("create a pipe"))?;
    let parent = getpid();
    // SAFETY: this process is single-threaded (the caller's contract), so the child may run
    // ordinary Rust code (it allocates and spawns the helpers) until it exits.
    match unsafe { fork() }.map_err(setup("fork"))? {
        ForkResult::Child => {
            drop(go_write);
            drop(result_read);
            let code = mapper(parent.as_raw(), go_read, result_write, &maps);
            // SAFETY: _exit skips the parent's atexit handlers and stdio buffers, which
            // this copy of the process must not run or flush.
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => {
            drop(go_read);
            drop(result_write);
            let unshared = nix::sched::unshare(CloneFlags::CLONE_NEWUSER);
            if let Err(errno) = unshared {
                drop(go_write); // the child reads EOF and exits
                let _ = waitpid(child, None);
                let reason = tscontainer_core::userns::restriction(std::path::Path::new("/proc/sys"))
                    .unwrap_or_else(|| errno.desc().to_string());
                return Err(UsernsError::Unshare { reason });
            }
            let mut go = std::fs::File::from(go_write);
            let signaled = go.write_all(b"1");
            drop(go);
            let mut message = String::new();
            let _ = std::fs::File::from(result_read).read_to_string(&mut message);
            let status = waitpid(child, None).map_err(setup("wait for the mapping child"))?;
            if signaled.is_err() || !message.is_empty() || !matches!(status, WaitStatus::Exited(_, 0)) {
                if message.is_empty() {
                    message = format!("the mapping child ended with {status:?}");
                }
                return Err(UsernsError::Map(message));
            }
            let inside = nix::unistd::getuid().as_raw();
            if inside != 0 {
                return Err(UsernsError::NotRoot(inside));
            }
            Ok(())
        }
    }
}

/// The forked child: waits for the parent's new namespace, maps it, reports a failure as
/// text on `result`. Returns the exit status.
fn mapper(parent: i32, go: OwnedFd, result: OwnedFd, maps: &tscontainer_core::spec::IdMaps) -> i32 {
    // Dies with the parent: a parent killed before the word must not leave this waiting.
    // SAFETY: prctl with an integer argument.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    if nix::unistd::getppid().as_raw() != parent {
        return 1;
    }
    let mut word = [0u8; 1];
    if !matches!(std::fs::File::from(go).read(&mut word), Ok(1)) {
        return 1; // the parent gave up before unsharing
    }
    match tscontainer_core::userns::write_maps(parent, &maps.uids, &maps.gids) {
        Ok(()) => 0,
        Err(e) => {
            let _ = std::fs::File::from(result).write_all(tscontainer_core::error::chain(&e).as_bytes());
            1
        }
    }
}
