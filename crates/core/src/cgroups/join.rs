//! Putting a new process (a container's init, an exec'd process) into the container's
//! cgroup as it is born, without the kernel's global migration lock.
//!
//! Writing another process's pid to `cgroup.procs` takes `cgroup_threadgroup_rwsem` for
//! writing, which waits for an RCU grace period: 10 to 20 ms per container on this
//! project's machines, more than the rest of `create`. Two ways in skip that lock:
//! - cgroup v2: `clone3` with `CLONE_INTO_CGROUP` forks the process straight into the
//!   cgroup (the runtime asks for it; [`CgroupJoin::clone_target`]).
//! - cgroup v1: a process that moves only itself, by writing `0` to a hierarchy's `tasks`
//!   file, needs no thread-group lock; the new process is single-threaded, so moving its
//!   one thread moves all of it.
//!
//! The files are opened by the runtime before the clone. The kernel checks a migration
//! against the credentials the file was opened with, so the child's write is the
//! runtime's, even once the child is in a user namespace of its own.

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;

use super::CgroupError;

/// A cgroup file the new process writes `0` to.
#[derive(Debug)]
struct SelfMove {
    path: PathBuf,
    file: File,
}

impl SelfMove {
    fn open(dir: &Path, name: &str) -> Result<Self, CgroupError> {
        let path = dir.join(name);
        let file = std::fs::OpenOptions::new().write(true).open(&path).map_err(|source| CgroupError::Write {
            path: path.clone(),
            value: "0".into(),
            source,
        })?;
        Ok(SelfMove { path, file })
    }

    fn write(mut self) -> Result<(), CgroupError> {
        self.file.write_all(b"0").map_err(|source| CgroupError::Write { path: self.path, value: "0".into(), source })
    }
}

/// How a process about to be cloned joins a container's cgroup: made by the runtime
/// before the clone, finished by the new process ([`PendingJoin`]).
#[derive(Debug, Default)]
pub struct CgroupJoin {
    /// The cgroup v2 directory, for `CLONE_INTO_CGROUP`.
    v2_dir: Option<OwnedFd>,
    /// That directory's `cgroup.procs`, for when the clone could not place the process.
    v2_procs: Option<SelfMove>,
    /// The `tasks` file of each cgroup v1 hierarchy.
    v1_tasks: Vec<SelfMove>,
}

impl CgroupJoin {
    /// Opens what joining the cgroup v2 directory `dir` takes.
    pub(crate) fn add_v2(&mut self, dir: &Path) -> Result<(), CgroupError> {
        let fd = open(dir, OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
            .map_err(|e| CgroupError::Write { path: dir.to_path_buf(), value: "0".into(), source: e.into() })?;
        self.v2_procs = Some(SelfMove::open(dir, "cgroup.procs")?);
        self.v2_dir = Some(fd);
        Ok(())
    }

    /// Opens what joining the cgroup v1 directory `dir` takes.
    pub(crate) fn add_v1(&mut self, dir: &Path) -> Result<(), CgroupError> {
        self.v1_tasks.push(SelfMove::open(dir, "tasks")?);
        Ok(())
    }

    /// The directory to clone the process into, when the host has cgroup v2.
    pub fn clone_target(&self) -> Option<BorrowedFd<'_>> {
        self.v2_dir.as_ref().map(AsFd::as_fd)
    }

    /// What is left for the new process once it is cloned; `placed` tells whether the
    /// clone put it in [`CgroupJoin::clone_target`] already.
    pub fn pending(self, placed: bool) -> PendingJoin {
        let v2 = if placed { None } else { self.v2_procs };
        PendingJoin { moves: v2.into_iter().chain(self.v1_tasks).collect() }
    }
}

/// The joins a new process makes itself: as soon as the runtime tells it to go on (so the
/// runtime is listening when a memory limit too small for the process kills it there),
/// before any of its setup.
#[derive(Debug)]
pub struct PendingJoin {
    moves: Vec<SelfMove>,
}

impl PendingJoin {
    /// Moves the calling process; it must be single-threaded (v1 moves one thread).
    pub fn join(self) -> Result<(), CgroupError> {
        self.moves.into_iter().try_for_each(SelfMove::write)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clone_into_the_cgroup_leaves_only_the_v1_hierarchies() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        for name in ["cgroup.procs", "tasks"] {
            std::fs::write(dir.join(name), "").unwrap();
        }
        let mut join = CgroupJoin::default();
        join.add_v2(dir).unwrap();
        join.add_v1(dir).unwrap();
        assert!(join.clone_target().is_some());
        let pending = join.pending(true);
        assert_eq!(pending.moves.iter().map(|m| m.path.clone()).collect::<Vec<_>>(), vec![dir.join("tasks")]);
        pending.join().unwrap();
        assert_eq!(std::fs::read_to_string(dir.join("tasks")).unwrap(), "0");
        assert_eq!(std::fs::read_to_string(dir.join("cgroup.procs")).unwrap(), "");
    }

    #[test]
    fn without_the_clone_the_process_writes_cgroup_procs_too() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::write(dir.join("cgroup.procs"), "").unwrap();
        let mut join = CgroupJoin::default();
        join.add_v2(dir).unwrap();
        join.pending(false).join().unwrap();
        assert_eq!(std::fs::read_to_string(dir.join("cgroup.procs")).unwrap(), "0");
    }

    #[test]
    fn a_missing_file_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let mut join = CgroupJoin::default();
        let error = join.add_v1(dir).unwrap_err().to_string();
        assert!(error.contains(&dir.join("tasks").display().to_string()), "{error}");
    }
}
