//! The seam between container setup and the kernel.
//!
//! Every call that changes kernel state while a container is set up goes through
//! [`Syscall`]: [`LinuxSyscall`] makes the real calls, [`FakeSyscall`] records them (and can
//! be told to fail) so unit tests can check which calls a step makes and in what order.
//! Behaviour that only the kernel can prove (pivot_root, propagation, limits) is covered by
//! the integration tests that run real containers.

mod fake;
pub mod fs_context;
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
#[error("{op} {target}")]
pub struct SyscallError {
    pub op: &'static str,
    pub target: String,
    #[source]
    pub errno: nix::Error,
}

impl SyscallError {
    pub fn code(&self) -> crate::error::Code {
        crate::error::Code::Internal
    }
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

/// What `mount_setattr(2)` changes on a mount: `MOUNT_ATTR_*` bits to set and to clear,
/// and a propagation type (`MS_PRIVATE`, `MS_SLAVE`, `MS_SHARED`, `MS_UNBINDABLE`) or 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MountAttributes {
    pub set: u64,
    pub clear: u64,
    pub propagation: u64,
}

impl MountAttributes {
    pub fn is_empty(&self) -> bool {
        self.set == 0 && self.clear == 0 && self.propagation == 0
    }
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
    /// A detached copy of the mount at `source` (`open_tree(2)` with `OPEN_TREE_CLONE`, its
    /// submounts too when `recursive`; Linux 5.2+), to be given its attributes before it is
    /// attached anywhere.
    fn clone_mount(&self, source: BorrowedFd<'_>, recursive: bool) -> SysResult<OwnedFd>;
    /// `mount_setattr(2)` on the mount a descriptor names, and on the mounts below it when
    /// `recursive` (Linux 5.12+).
    fn set_mount_attributes(&self, mount: BorrowedFd<'_>, recursive: bool, attributes: MountAttributes) -> SysResult;
    /// Attaches `mount` (a detached copy, or a mount) onto `target` (`move_mount(2)` between
    /// descriptors; Linux 5.2+).
    fn move_mount(&self, mount: BorrowedFd<'_>, target: BorrowedFd<'_>) -> SysResult;
    /// A new filesystem of `fstype`, with no options, as a detached mount with the
    /// `MOUNT_ATTR_*` `attributes` (`fsopen`, `fsconfig`, `fsmount`; Linux 5.2+).
    fn new_mount(&self, fstype: &str, attributes: u64) -> SysResult<OwnedFd>;
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
    fn fchdir(&self, dir: BorrowedFd<'_>) -> SysResult;
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
    /// PR_CAP_AMBIENT_CLEAR_ALL.
    fn clear_ambient_capabilities(&self) -> SysResult;
    fn raise_ambient_capability(&self, cap: u8) -> SysResult;
    fn setrlimit(&self, resource: libc::c_int, soft: u64, hard: u64) -> SysResult;
    fn set_no_new_privs(&self) -> SysResult;
    /// Installs a compiled seccomp filter on this process.
    fn load_seccomp(&self, filter: &crate::seccomp::Filter) -> SysResult;
    fn umask(&self, mask: u32);
}

/// The path a descriptor stands for, for messages and recorded calls.
pub fn fd_display(fd: BorrowedFd<'_>) -> PathBuf {
    use std::os::fd::AsRawFd;
    display_path(&PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd())))
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
