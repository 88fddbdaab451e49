//! Starting the init (or an exec'd process) with clone(2)/clone3(2), which can create
//! namespaces, and place the child in its cgroup v2 directory, as it forks.

use std::os::fd::{AsRawFd, BorrowedFd};

use nix::errno::Errno;
use nix::sched::CloneFlags;
use nix::unistd::Pid;

use super::ContainerError;

/// Counts this process's threads. Cloning a container's init is only sound from a
/// single-threaded process (DESIGN.md, invariant 1).
pub(super) fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task").map(|d| d.count()).unwrap_or(1)
}

/// Which side of the clone this is.
pub(super) enum Cloned {
    /// The runtime, with the child's pid.
    Parent(Pid),
    /// The child; `placed` tells whether the clone put it in the requested cgroup.
    Child { placed: bool },
}

/// Clones with `flags`, into the cgroup v2 directory `cgroup` when one is given and the
/// kernel can (clone3, Linux 5.7+). Where it cannot — an older kernel, a seccomp profile
/// around the runtime that refuses clone3, a cgroup the kernel will not fork into — this
/// falls back to clone(2), and the child has to move itself (`placed: false`); a real
/// fault then shows up in that move, with the cgroup file named.
pub(super) fn clone_init(flags: CloneFlags, cgroup: Option<BorrowedFd<'_>>) -> Result<Cloned, ContainerError> {
    let threads = thread_count();
    if threads > 1 {
        return Err(ContainerError::Multithreaded(threads));
    }
    if let Some(dir) = cgroup {
        if let Ok(pid) = clone3_into(flags, dir) {
            return Ok(side(pid, true));
        }
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
    let pid = Errno::result(rc).map_err(ContainerError::Clone)?;
    Ok(side(pid, false))
}

fn side(pid: libc::c_long, placed: bool) -> Cloned {
    match pid {
        0 => Cloned::Child { placed },
        pid => Cloned::Parent(Pid::from_raw(pid as i32)),
    }
}

/// From `linux/sched.h`; libc's constant is an `int`, too narrow for this 64-bit flag.
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

fn clone3_into(flags: CloneFlags, cgroup: BorrowedFd<'_>) -> Result<libc::c_long, Errno> {
    let args = libc::clone_args {
        flags: flags.bits() as u64 | CLONE_INTO_CGROUP,
        pidfd: 0,
        child_tid: 0,
        parent_tid: 0,
        exit_signal: libc::SIGCHLD as u64,
        stack: 0,
        stack_size: 0,
        tls: 0,
        set_tid: 0,
        set_tid_size: 0,
        cgroup: cgroup.as_raw_fd() as u64,
    };
    // SAFETY: as for clone above (no new stack: fork-like, from a single-threaded process,
    // checked by the caller); the kernel reads `args`, which outlives the call, and the
    // size passed is its own.
    let rc = unsafe {
        libc::syscall(libc::SYS_clone3, &args as *const libc::clone_args, std::mem::size_of::<libc::clone_args>())
    };
    Errno::result(rc)
}
