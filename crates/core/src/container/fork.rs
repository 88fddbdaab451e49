//! Starting the init with clone(2), which can create namespaces as it forks.

use nix::errno::Errno;
use nix::sched::CloneFlags;
use nix::unistd::Pid;

use super::ContainerError;

/// Counts this process's threads. Cloning a container's init is only sound from a
/// single-threaded process (DESIGN.md, invariant 1).
pub(super) fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task").map(|d| d.count()).unwrap_or(1)
}

/// Clones the init with `flags`: `Some(pid)` in the runtime, `None` in the init.
pub(super) fn clone_init(flags: CloneFlags) -> Result<Option<Pid>, ContainerError> {
    let threads = thread_count();
    if threads > 1 {
        return Err(ContainerError::Multithreaded(threads));
    }
    // SAFETY: with no new stack, clone behaves like fork: the child continues on a copy of
    // this stack. That is sound here because this process has exactly one thread (checked
    // above), so no other thread can hold a lock or be mid-allocation at the copy.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_clone,
            flags.bits() as libc::c_ulong | libc::SIGCHLD as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    match Errno::result(rc).map_err(ContainerError::Clone)? {
        0 => Ok(None),
        pid => Ok(Some(Pid::from_raw(pid as i32))),
    }
}
