//! A recording [`Syscall`] for unit tests: it performs nothing, remembers every call with
//! its arguments, and can be told to fail the n-th call of a kind with an errno.

use std::cell::RefCell;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags};
use nix::sched::CloneFlags;
use nix::sys::stat::{Mode, SFlag};

use super::{display_path, fd_display, CapabilitySets, FsParam, MountAttributes, SysResult, Syscall, SyscallError};

/// One recorded call. Paths given as `/proc/self/fd/N` are recorded as the path they
/// resolve to, so tests can assert on real locations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    Mount {
        source: Option<PathBuf>,
        target: PathBuf,
        fstype: Option<String>,
        flags: MsFlags,
        data: Option<String>,
    },
    Umount2 {
        target: PathBuf,
        flags: MntFlags,
    },
    PivotRoot {
        new_root: PathBuf,
        put_old: PathBuf,
    },
    /// `source` is the path the descriptor stands for.
    CloneMount {
        source: PathBuf,
        recursive: bool,
    },
    /// `mount` is the path the descriptor stands for: a clone is recorded as its source.
    SetMountAttributes {
        mount: PathBuf,
        recursive: bool,
        attributes: MountAttributes,
    },
    MoveMount {
        mount: PathBuf,
        target: PathBuf,
    },
    NewMount {
        fstype: String,
        attributes: u64,
    },
    MountFs {
        fstype: String,
        params: Vec<FsParam>,
        attrs: u64,
        target: PathBuf,
    },
    Unshare(CloneFlags),
    Setns(CloneFlags),
    Sethostname(String),
    Setdomainname(String),
    Mknod {
        path: PathBuf,
        kind: SFlag,
        perm: Mode,
        dev: u64,
    },
    Chown {
        path: PathBuf,
        uid: Option<u32>,
        gid: Option<u32>,
    },
    Symlink {
        original: PathBuf,
        link: PathBuf,
    },
    Chdir(PathBuf),
    Fchdir(PathBuf),
    Chroot(PathBuf),
    LoopbackUp,
    SetIds {
        uid: u32,
        gid: u32,
    },
    Setgroups(Vec<u32>),
    SetKeepCapabilities(bool),
    DropBoundingCapability(u8),
    SetCapabilities(CapabilitySets),
    ClearAmbientCapabilities,
    RaiseAmbientCapability(u8),
    Setrlimit {
        resource: libc::c_int,
        soft: u64,
        hard: u64,
    },
    SetNoNewPrivs,
    LoadSeccomp,
    Umask(u32),
}

impl Call {
    /// The call's name, used to pick which calls an injected failure applies to.
    pub fn kind(&self) -> &'static str {
        match self {
            Call::Mount { .. } => "mount",
            Call::Umount2 { .. } => "umount2",
            Call::PivotRoot { .. } => "pivot_root",
            Call::CloneMount { .. } => "clone_mount",
            Call::SetMountAttributes { .. } => "set_mount_attributes",
            Call::MoveMount { .. } => "move_mount",
            Call::NewMount { .. } => "new_mount",
            Call::MountFs { .. } => "mount_fs",
            Call::Unshare(_) => "unshare",
            Call::Setns(_) => "setns",
            Call::Sethostname(_) => "sethostname",
            Call::Setdomainname(_) => "setdomainname",
            Call::Mknod { .. } => "mknod",
            Call::Chown { .. } => "chown",
            Call::Symlink { .. } => "symlink",
            Call::Chdir(_) => "chdir",
            Call::Fchdir(_) => "fchdir",
            Call::Chroot(_) => "chroot",
            Call::LoopbackUp => "loopback_up",
            Call::SetIds { .. } => "set_ids",
            Call::Setgroups(_) => "setgroups",
            Call::SetKeepCapabilities(_) => "set_keep_capabilities",
            Call::DropBoundingCapability(_) => "drop_bounding_capability",
            Call::SetCapabilities(_) => "set_capabilities",
            Call::ClearAmbientCapabilities => "clear_ambient_capabilities",
            Call::RaiseAmbientCapability(_) => "raise_ambient_capability",
            Call::Setrlimit { .. } => "setrlimit",
            Call::SetNoNewPrivs => "set_no_new_privs",
            Call::LoadSeccomp => "load_seccomp",
            Call::Umask(_) => "umask",
        }
    }
}

#[derive(Debug, Default)]
pub struct FakeSyscall {
    calls: RefCell<Vec<Call>>,
    /// (kind, how many more calls of that kind succeed before one fails, errno)
    failure: RefCell<Option<(&'static str, usize, Errno)>>,
}

impl FakeSyscall {
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes the call of `kind` after `succeed_first` successful ones fail with `errno`.
    pub fn fail_nth(&self, kind: &'static str, succeed_first: usize, errno: Errno) {
        *self.failure.borrow_mut() = Some((kind, succeed_first, errno));
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.borrow().clone()
    }

    /// The recorded calls of one kind, in order.
    pub fn calls_of(&self, kind: &str) -> Vec<Call> {
        self.calls.borrow().iter().filter(|c| c.kind() == kind).cloned().collect()
    }

    fn record(&self, call: Call) -> SysResult {
        let kind = call.kind();
        let target = format!("{call:?}");
        self.calls.borrow_mut().push(call);
        let mut failure = self.failure.borrow_mut();
        if let Some((fail_kind, remaining, errno)) = failure.as_mut() {
            if *fail_kind == kind {
                if *remaining == 0 {
                    let errno = *errno;
                    *failure = None;
                    return Err(SyscallError::new(kind, target, errno));
                }
                *remaining -= 1;
            }
        }
        Ok(())
    }
}

impl Syscall for FakeSyscall {
    fn mount(
        &self,
        source: Option<&Path>,
        target: &Path,
        fstype: Option<&str>,
        flags: MsFlags,
        data: Option<&str>,
    ) -> SysResult {
        self.record(Call::Mount {
            source: source.map(display_path),
            target: display_path(target),
            fstype: fstype.map(str::to_string),
            flags,
            data: data.map(str::to_string),
        })
    }
    fn umount2(&self, target: &Path, flags: MntFlags) -> SysResult {
        self.record(Call::Umount2 { target: display_path(target), flags })
    }
    fn pivot_root(&self, new_root: &Path, put_old: &Path) -> SysResult {
        self.record(Call::PivotRoot { new_root: display_path(new_root), put_old: put_old.to_path_buf() })
    }
    /// A duplicate of `source` stands for the detached copy, so what follows acts on a real
    /// descriptor that names the source.
    fn clone_mount(&self, source: BorrowedFd<'_>, recursive: bool) -> SysResult<OwnedFd> {
        self.record(Call::CloneMount { source: fd_display(source), recursive })?;
        source.try_clone_to_owned().map_err(|e| {
            SyscallError::new("clone_mount", "dup", Errno::from_raw(e.raw_os_error().unwrap_or(libc::EBADF)))
        })
    }
    fn set_mount_attributes(&self, mount: BorrowedFd<'_>, recursive: bool, attributes: MountAttributes) -> SysResult {
        self.record(Call::SetMountAttributes { mount: fd_display(mount), recursive, attributes })
    }
    fn move_mount(&self, mount: BorrowedFd<'_>, target: BorrowedFd<'_>) -> SysResult {
        self.record(Call::MoveMount { mount: fd_display(mount), target: fd_display(target) })
    }
    /// A descriptor of `/` stands for the new filesystem.
    fn new_mount(&self, fstype: &str, attributes: u64) -> SysResult<OwnedFd> {
        self.record(Call::NewMount { fstype: fstype.to_string(), attributes })?;
        nix::fcntl::open("/", nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC, Mode::empty())
            .map_err(|e| SyscallError::new("new_mount", fstype, e))
    }
    /// Returns a duplicate of `target`, standing for the new mount's root.
    fn mount_fs(&self, fstype: &str, params: &[FsParam], attrs: u64, target: BorrowedFd<'_>) -> SysResult<OwnedFd> {
        let path = display_path(&crate::rootfs::secure::fd_path(target));
        self.record(Call::MountFs {
            fstype: fstype.to_string(),
            params: params.to_vec(),
            attrs,
            target: path.clone(),
        })?;
        target.try_clone_to_owned().map_err(|e| {
            SyscallError::new("dup", path.display(), Errno::from_raw(e.raw_os_error().unwrap_or(libc::EBADF)))
        })
    }
    fn unshare(&self, flags: CloneFlags) -> SysResult {
        self.record(Call::Unshare(flags))
    }
    fn setns(&self, _fd: BorrowedFd<'_>, nstype: CloneFlags) -> SysResult {
        self.record(Call::Setns(nstype))
    }
    fn sethostname(&self, name: &str) -> SysResult {
        self.record(Call::Sethostname(name.to_string()))
    }
    fn setdomainname(&self, name: &str) -> SysResult {
        self.record(Call::Setdomainname(name.to_string()))
    }
    fn mknod(&self, path: &Path, kind: SFlag, perm: Mode, dev: u64) -> SysResult {
        self.record(Call::Mknod { path: display_path(path), kind, perm, dev })
    }
    fn chown(&self, path: &Path, uid: Option<u32>, gid: Option<u32>) -> SysResult {
        self.record(Call::Chown { path: display_path(path), uid, gid })
    }
    fn symlink(&self, original: &Path, link: &Path) -> SysResult {
        self.record(Call::Symlink { original: original.to_path_buf(), link: display_path(link) })
    }
    fn chdir(&self, path: &Path) -> SysResult {
        self.record(Call::Chdir(display_path(path)))
    }
    fn fchdir(&self, dir: BorrowedFd<'_>) -> SysResult {
        self.record(Call::Fchdir(display_path(Path::new(&format!("/proc/self/fd/{}", dir.as_raw_fd())))))
    }
    fn chroot(&self, path: &Path) -> SysResult {
        self.record(Call::Chroot(display_path(path)))
    }
    fn set_loopback_up(&self) -> SysResult {
        self.record(Call::LoopbackUp)
    }
    fn set_ids(&self, uid: u32, gid: u32) -> SysResult {
        self.record(Call::SetIds { uid, gid })
    }
    fn setgroups(&self, gids: &[u32]) -> SysResult {
        self.record(Call::Setgroups(gids.to_vec()))
    }
    fn set_keep_capabilities(&self, keep: bool) -> SysResult {
        self.record(Call::SetKeepCapabilities(keep))
    }
    fn drop_bounding_capability(&self, cap: u8) -> SysResult {
        self.record(Call::DropBoundingCapability(cap))
    }
    fn set_capabilities(&self, sets: CapabilitySets) -> SysResult {
        self.record(Call::SetCapabilities(sets))
    }
    fn clear_ambient_capabilities(&self) -> SysResult {
        self.record(Call::ClearAmbientCapabilities)
    }
    fn raise_ambient_capability(&self, cap: u8) -> SysResult {
        self.record(Call::RaiseAmbientCapability(cap))
    }
    fn setrlimit(&self, resource: libc::c_int, soft: u64, hard: u64) -> SysResult {
        self.record(Call::Setrlimit { resource, soft, hard })
    }
    fn set_no_new_privs(&self) -> SysResult {
        self.record(Call::SetNoNewPrivs)
    }
    fn load_seccomp(&self, _filter: &crate::seccomp::Filter) -> SysResult {
        self.record(Call::LoadSeccomp)
    }
    fn umask(&self, mask: u32) {
        let _ = self.record(Call::Umask(mask));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_calls_and_fails_the_requested_one() {
        let fake = FakeSyscall::new();
        fake.fail_nth("sethostname", 1, Errno::EPERM);
        assert!(fake.sethostname("a").is_ok());
        let err = fake.sethostname("b").unwrap_err();
        assert_eq!(err.errno, Errno::EPERM);
        assert!(fake.sethostname("c").is_ok(), "a failure is injected once");
        assert_eq!(
            fake.calls(),
            vec![Call::Sethostname("a".into()), Call::Sethostname("b".into()), Call::Sethostname("c".into())]
        );
    }
}
