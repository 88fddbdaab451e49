//! Bind mounts made whole before anyone can see them, and handles on mounts that name the
//! mount itself, never its path.
//!
//! A bind mount's flags (`ro`, `nosuid`, ...) cannot be given to the bind itself: mount(2)
//! needs a second call, a remount, which must find the new mount again. Finding it by its
//! path is a race: whoever can write the rootfs can swap the mount point for a symlink in
//! between, and the remount lands elsewhere while the volume stays writable (runc before 1.2,
//! and this runtime until issue 11). With the new mount API the bind is a detached copy of
//! the source (`open_tree(OPEN_TREE_CLONE)`) that gets its flags (`mount_setattr`, recursively
//! for `rro`) while it is attached nowhere, and is then attached onto the descriptor of the
//! mount point (`move_mount`): read-only from its first moment, on exactly the directory that
//! was resolved, with no path looked up twice. Kernels before 5.12 get the old two steps, the
//! second through a handle that is checked to be the new mount on the same mount point.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::sync::OnceLock;

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::mount::MsFlags;
use nix::sys::stat::Mode;

use super::options::{remount_attributes, MountOptions};
use super::secure::{fd_path, open_in_root, real_path};
use super::{resolve_err, RootfsError, RootfsPlan};
use crate::syscall::{MountAttributes, Syscall};

/// Whether open_tree, move_mount and mount_setattr work here (Linux 5.12+, and no seccomp
/// profile around the runtime that refuses them). Asked once per process: the init, a clone
/// of the runtime, inherits the answer.
pub fn mount_api_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        // Each call gets an invalid descriptor: it fails with EBADF or EINVAL where it exists,
        // ENOSYS (or a seccomp profile's EPERM) where it does not, and changes nothing.
        let exists = |rc: libc::c_long| rc == 0 || !matches!(Errno::last(), Errno::ENOSYS | Errno::EPERM);
        // SAFETY: an invalid descriptor and a NUL-terminated empty path: open_tree only
        // validates its arguments and returns an error.
        exists(unsafe { libc::syscall(libc::SYS_open_tree, -1, c"".as_ptr(), libc::AT_EMPTY_PATH) })
            // SAFETY: as above, for move_mount's two descriptor/path pairs.
            && exists(unsafe {
                libc::syscall(
                    libc::SYS_move_mount,
                    -1,
                    c"".as_ptr(),
                    -1,
                    c"".as_ptr(),
                    libc::MOVE_MOUNT_F_EMPTY_PATH | libc::MOVE_MOUNT_T_EMPTY_PATH,
                )
            })
            // SAFETY: as above; a null attribute pointer with size 0 is rejected before use.
            && exists(unsafe {
                libc::syscall(
                    libc::SYS_mount_setattr,
                    -1,
                    c"".as_ptr(),
                    libc::AT_EMPTY_PATH,
                    std::ptr::null::<libc::mount_attr>(),
                    0usize,
                )
            })
    })
}

/// Flags a user namespace locks on a mount it did not create: a remount must keep them or
/// the kernel refuses it.
fn locked_flags(source: &Path) -> MsFlags {
    use nix::sys::statvfs::{statvfs, FsFlags};
    let Ok(st) = statvfs(source) else {
        return MsFlags::empty();
    };
    let f = st.flags();
    let mut flags = MsFlags::empty();
    for (fs, ms) in [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_RDONLY, MsFlags::MS_RDONLY),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if f.contains(fs) {
            flags |= ms;
        }
    }
    flags
}

/// A bind mount to make: its source on the host and what its options ask for.
pub(super) struct Bind<'a> {
    pub source: &'a Path,
    pub options: &'a MountOptions,
    /// Where it goes inside the container, for messages and the fallback's check.
    pub destination: &'a Path,
    pub what: String,
}

/// The mount's id, as /proc/self/fdinfo reports it for a descriptor.
fn mount_id(fd: BorrowedFd<'_>) -> Option<u64> {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd())).ok()?;
    info.lines().find_map(|l| l.strip_prefix("mnt_id:")).and_then(|v| v.trim().parse().ok())
}

/// A handle on the mount just made on `target` (the mount point's descriptor, which names
/// what the mount now covers), for kernels without move_mount's handles: `destination` is
/// looked up again and must be the same place, with a mount on it other than `target`'s.
pub(super) fn reopen_mount(
    root: BorrowedFd<'_>,
    destination: &Path,
    target: BorrowedFd<'_>,
) -> Result<OwnedFd, RootfsError> {
    let top = open_in_root(root, destination, OFlag::O_PATH).map_err(resolve_err(destination))?;
    let same_place = real_path(top.as_fd()).ok().is_some_and(|p| real_path(target).ok() == Some(p));
    let on_top = matches!((mount_id(top.as_fd()), mount_id(target)), (Some(a), Some(b)) if a != b);
    if !(same_place && on_top) {
        return Err(RootfsError::MountPointMoved { path: destination.to_path_buf() });
    }
    Ok(top)
}

/// Binds `bind.source` onto `target` with every flag its options ask for, and returns a
/// handle on the new mount.
pub(super) fn bind(
    bind: &Bind<'_>,
    target: OwnedFd,
    root: BorrowedFd<'_>,
    plan: &RootfsPlan<'_>,
    sys: &dyn Syscall,
) -> Result<OwnedFd, RootfsError> {
    let options = bind.options;
    let mount_err = |source| RootfsError::Mount { what: bind.what.clone(), source };
    let flags = options.remount_flags();
    // In a user namespace, flags locked on the source are repeated, unless the config asks
    // to clear them (which the kernel then refuses, as it should).
    let keep = if plan.in_user_namespace { locked_flags(bind.source) - options.cleared } else { MsFlags::empty() };
    if !mount_api_available() {
        return bind_in_two_steps(bind, target, root, flags | keep, sys);
    }
    let source =
        open(bind.source, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty()).map_err(|e| RootfsError::Source {
            source_path: bind.source.to_path_buf(),
            destination: bind.destination.to_path_buf(),
            source: e.into(),
        })?;
    let mount = sys.clone_mount(source.as_fd(), options.recursive).map_err(mount_err)?;
    if !flags.is_empty() {
        sys.set_mount_attributes(mount.as_fd(), false, remount_attributes(flags, keep)).map_err(mount_err)?;
    }
    if !options.recursive_attributes.is_empty() {
        sys.set_mount_attributes(mount.as_fd(), true, options.recursive_attributes).map_err(mount_err)?;
    }
    sys.move_mount(mount.as_fd(), target.as_fd()).map_err(mount_err)?;
    // Propagation joins or leaves peer groups: done once the mount is where it belongs.
    for p in &options.propagation {
        sys.set_mount_attributes(
            mount.as_fd(),
            p.recursive(),
            MountAttributes { propagation: p.kind(), ..Default::default() },
        )
        .map_err(mount_err)?;
    }
    Ok(mount)
}

/// The bind on kernels before 5.12: mount(2), then the remount through a checked handle.
/// Recursive attributes (`rro`) cannot be had; the runtime warned about it at create.
fn bind_in_two_steps(
    bind: &Bind<'_>,
    target: OwnedFd,
    root: BorrowedFd<'_>,
    mut flags: MsFlags,
    sys: &dyn Syscall,
) -> Result<OwnedFd, RootfsError> {
    let options = bind.options;
    let mount_err = |source| RootfsError::Mount { what: bind.what.clone(), source };
    let rec = if options.recursive { MsFlags::MS_REC } else { MsFlags::empty() };
    sys.mount(Some(bind.source), &fd_path(target.as_fd()), None, MsFlags::MS_BIND | rec, None).map_err(mount_err)?;
    let top = reopen_mount(root, bind.destination, target.as_fd())?;
    if options.recursive_attributes.set & libc::MOUNT_ATTR_RDONLY != 0 {
        flags |= MsFlags::MS_RDONLY;
    }
    if !flags.is_empty() {
        sys.mount(None, &fd_path(top.as_fd()), None, MsFlags::MS_BIND | MsFlags::MS_REMOUNT | flags, None)
            .map_err(mount_err)?;
    }
    for p in &options.propagation {
        sys.mount(None, &fd_path(top.as_fd()), None, p.0, None).map_err(mount_err)?;
    }
    Ok(top)
}

/// Makes the mount a handle names read-only (with `flags` besides), recursively when asked.
pub(super) fn make_read_only(
    mount: BorrowedFd<'_>,
    recursive: bool,
    flags: MsFlags,
    sys: &dyn Syscall,
) -> Result<(), crate::syscall::SyscallError> {
    let flags = flags | MsFlags::MS_RDONLY;
    if mount_api_available() {
        let mut attributes = remount_attributes(flags, MsFlags::empty());
        // Only what is asked for: the other flags of the mount stay as they are (an access
        // time is set by clearing its field first).
        attributes.clear &= libc::MOUNT_ATTR__ATIME | libc::MOUNT_ATTR_NODIRATIME;
        return sys.set_mount_attributes(mount, recursive, attributes);
    }
    sys.mount(None, &fd_path(mount), None, MsFlags::MS_BIND | MsFlags::MS_REMOUNT | flags, None)
}
