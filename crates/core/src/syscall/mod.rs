//! The seam between container setup and the kernel.
//!
//! Every call that changes kernel state while a container is set up goes through
//! [`Syscall`]: [`LinuxSyscall`] makes the real calls, [`FakeSyscall`] records them (and can
//! be told to fail) so unit tests can check which calls a step makes and in what order.
//! Behaviour that only the kernel can prove (pivot_root, propagation, limits) is covered by
//! the integration tests that run real containers.

mod fake;
mod linux;

pub use fake::{Call, FakeSyscall};
pub use linux::LinuxSyscall;

use std::os::fd::{BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::mount::{MntFlags, MsFlags};
use nix::sched::CloneFlags;
use nix::sys::stat::{Mode, SFlag};

/// A failed system call, naming what was attempted on which object.
#[derive(Debug, thiserror::Error)]
#[error("{op} {target}: {errno}")]
pub struct SyscallError {
    pub op: &'static str,
    pub target: String,
    #[source]
    pub errno: nix::Error,
}

impl SyscallError {
    pub fn new(op: &'static str, target: impl std::fmt::Display, errno: nix::Error) -> Self {
        SyscallError { op, target: target.to_string(), errno }
    }
}

pub type SysResult<T = ()> = Result<T, SyscallError>;

/// A process's three main capability sets, as bitmasks indexed by capability number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CapabilitySets {
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
}

/// Attributes for `mount_setattr(2)` and `fsmount(2)` (`MOUNT_ATTR_*`).
pub const MOUNT_ATTR_RDONLY: u64 = 0x0000_0001;

/// One `fsconfig(2)` parameter of a filesystem made with [`Syscall::mount_fs`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FsParam {
    /// A key alone (`FSCONFIG_SET_FLAG`): `userxattr`.
    Flag(String),
    /// A key and its value (`FSCONFIG_SET_STRING`): `lowerdir+` and a path.
    String(String, String),
}

impl std::fmt::Display for FsParam {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FsParam::Flag(key) => f.write_str(key),
            FsParam::String(key, value) => write!(f, "{key}={value}"),
        }
    }
}

pub trait Syscall {
    fn mount(
        &self,
        source: Option<&Path>,
        target: &Path,
        fstype: Option<&str>,
        flags: MsFlags,
        data: Option<&str>,
    ) -> SysResult;
    fn umount2(&self, target: &Path, flags: MntFlags) -> SysResult;
    fn pivot_root(&self, new_root: &Path, put_old: &Path) -> SysResult;
    /// Sets and clears mount attributes, recursively when asked (Linux 5.12+).
    fn mount_setattr(&self, target: &Path, recursive: bool, set: u64, clear: u64) -> SysResult;
    /// Makes a filesystem with the mount API (Linux 5.2+: `fsopen`, one `fsconfig` per
    /// parameter, `FSCONFIG_CMD_CREATE`, `fsmount` with the `MOUNT_ATTR_*` bits in `attrs`),
    /// attaches it on top of the directory `target` (`move_mount`) and returns a descriptor
    /// of the new mount's root. A failure names the step and what the kernel logged.
    fn mount_fs(&self, fstype: &str, params: &[FsParam], attrs: u64, target: BorrowedFd<'_>) -> SysResult<OwnedFd>;
    fn unshare(&self, flags: CloneFlags) -> SysResult;
    fn setns(&self, fd: BorrowedFd<'_>, nstype: CloneFlags) -> SysResult;
    fn sethostname(&self, name: &str) -> SysResult;
    fn setdomainname(&self, name: &str) -> SysResult;
    fn mknod(&self, path: &Path, kind: SFlag, perm: Mode, dev: u64) -> SysResult;
    fn chown(&self, path: &Path, uid: Option<u32>, gid: Option<u32>) -> SysResult;
    fn symlink(&self, original: &Path, link: &Path) -> SysResult;
    fn chdir(&self, path: &Path) -> SysResult;
    fn chroot(&self, path: &Path) -> SysResult;
    /// Brings the loopback interface of the current network namespace up.
    fn set_loopback_up(&self) -> SysResult;
    /// Sets the real, effective and saved ids (group first, then user).
    fn set_ids(&self, uid: u32, gid: u32) -> SysResult;
    fn setgroups(&self, gids: &[u32]) -> SysResult;
    fn set_keep_capabilities(&self, keep: bool) -> SysResult;
    /// Removes a capability from the bounding set (`PR_CAPBSET_DROP`).
    fn drop_bounding_capability(&self, cap: u8) -> SysResult;
    /// Sets effective, permitted and inheritable in one `capset(2)`.
    fn set_capabilities(&self, sets: CapabilitySets) -> SysResult;
    fn raise_ambient_capability(&self, cap: u8) -> SysResult;
    fn setrlimit(&self, resource: libc::c_int, soft: u64, hard: u64) -> SysResult;
    fn set_no_new_privs(&self) -> SysResult;
    /// Installs a compiled seccomp filter on this process.
    fn load_seccomp(&self, filter: &crate::seccomp::Filter) -> SysResult;
    fn umask(&self, mask: u32);
}

/// Renders a path for an error message; `/proc/self/fd/N` targets are resolved back to the
/// path they stand for so messages name the real file.
pub fn display_path(path: &Path) -> PathBuf {
    if path.starts_with("/proc/self/fd") {
        if let Ok(real) = std::fs::read_link(path) {
            return real;
        }
    }
    path.to_path_buf()
}
