//! After pivot_root: the read-only root, and the kernel paths a container must not read
//! (masked) or change (read-only), made on the mounts that hold them (see [`Mounted`]).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::mount::MsFlags;
use nix::sys::stat::Mode;

use super::secure::{open_beneath, open_in_root};
use super::{bind, resolve_err, Mounted, RootfsError};
use crate::syscall::{MountAttributes, Syscall, SyscallError};

/// Makes everything under `/` read-only, recursively (a rootfs can carry submounts, and the
/// host-root default carries all of the host's), then gives the spec's writable mounts
/// their write access back, through handles on the mounts themselves. Kernels without
/// mount_setattr (before 5.12) get runc's behaviour: only the root mount itself turns
/// read-only.
pub(super) fn make_root_read_only<'a>(
    writable: impl Iterator<Item = (BorrowedFd<'a>, bool)>,
    sys: &dyn Syscall,
) -> Result<(), RootfsError> {
    let read_only = |e: nix::Error| RootfsError::ReadOnly(SyscallError::new("open", "`/`", e));
    let root = open(Path::new("/"), OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(read_only)?;
    let rdonly = MountAttributes { set: libc::MOUNT_ATTR_RDONLY, ..Default::default() };
    match sys.set_mount_attributes(root.as_fd(), true, rdonly) {
        Ok(()) => {}
        Err(e) if matches!(e.errno, Errno::ENOSYS | Errno::EPERM) => {
            return sys
                .mount(None, Path::new("/"), None, MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY, None)
                .map_err(RootfsError::ReadOnly);
        }
        Err(e) => return Err(RootfsError::ReadOnly(e)),
    }
    let writable_again = MountAttributes { clear: libc::MOUNT_ATTR_RDONLY, ..Default::default() };
    for (mount, recursive) in writable {
        sys.set_mount_attributes(mount, recursive, writable_again).map_err(RootfsError::ReadOnly)?;
    }
    Ok(())
}

/// Where a masked or read-only path is: below the spec's mount that holds it (wherever that
/// mount has been moved), or inside the container's root; `None` when it does not exist.
fn find(path: &Path, mounted: &Mounted, root: BorrowedFd<'_>) -> Result<Option<OwnedFd>, RootfsError> {
    let found = match mounted.holding(path) {
        Some((mount, rest)) => open_beneath(mount, &rest, OFlag::O_PATH, false),
        None => open_in_root(root, path, OFlag::O_PATH),
    };
    match found {
        Ok(fd) => Ok(Some(fd)),
        Err(Errno::ENOENT | Errno::ENOTDIR) => Ok(None),
        Err(e) => Err(resolve_err(path)(e)),
    }
}

/// The container's /dev/null, provided it is the null device (major 1, minor 3).
fn null_device(mounted: &Mounted, root: BorrowedFd<'_>) -> Result<OwnedFd, RootfsError> {
    let null = find(Path::new("/dev/null"), mounted, root)?.ok_or(RootfsError::NoNullDevice)?;
    match nix::sys::stat::fstat(null.as_fd()) {
        Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFCHR && st.st_rdev == nix::sys::stat::makedev(1, 3) => Ok(null),
        _ => Err(RootfsError::NoNullDevice),
    }
}

/// Hides the masked paths (/dev/null over files, an empty read-only tmpfs over directories)
/// and makes the read-only ones read-only, each on the descriptor `find` returns, with copies
/// made whole before they are attached. Kernels without the new mount API (before 5.12) get
/// the same by path.
pub(super) fn protect(
    masked: &[String],
    read_only: &[String],
    mounted: &Mounted,
    sys: &dyn Syscall,
) -> Result<(), RootfsError> {
    if !bind::mount_api_available() {
        mask(masked, sys)?;
        return make_read_only(read_only, sys);
    }
    let root = open(Path::new("/"), OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(resolve_err(Path::new("/")))?;
    // Files are masked with the container's /dev/null, checked to be the null device.
    let mut dev_null: Option<OwnedFd> = None;
    let hidden = libc::MOUNT_ATTR_RDONLY | libc::MOUNT_ATTR_NOSUID | libc::MOUNT_ATTR_NODEV | libc::MOUNT_ATTR_NOEXEC;
    for path in masked.iter().map(Path::new) {
        let Some(target) = find(path, mounted, root.as_fd())? else {
            continue;
        };
        let fail = |source| RootfsError::Protect { action: "mask", path: path.to_path_buf(), source };
        let is_dir = nix::sys::stat::fstat(target.as_fd()).is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFDIR);
        let cover = if is_dir {
            // An empty read-only tmpfs of its own (a detached mount cannot be copied on
            // every kernel).
            sys.new_mount("tmpfs", hidden).map_err(fail)?
        } else {
            if dev_null.is_none() {
                dev_null = Some(null_device(mounted, root.as_fd())?);
            }
            let null = dev_null.as_ref().map(|fd| fd.as_fd()).ok_or(RootfsError::NoNullDevice)?;
            sys.clone_mount(null, false).map_err(fail)?
        };
        sys.move_mount(cover.as_fd(), target.as_fd()).map_err(fail)?;
    }
    let attributes = MountAttributes {
        set: libc::MOUNT_ATTR_RDONLY | libc::MOUNT_ATTR_NOSUID | libc::MOUNT_ATTR_NODEV | libc::MOUNT_ATTR_NOEXEC,
        ..Default::default()
    };
    for path in read_only.iter().map(Path::new) {
        let Some(target) = find(path, mounted, root.as_fd())? else {
            continue;
        };
        let fail = |source| RootfsError::Protect { action: "make read-only", path: path.to_path_buf(), source };
        let copy = sys.clone_mount(target.as_fd(), true).map_err(fail)?;
        sys.set_mount_attributes(copy.as_fd(), true, attributes).map_err(fail)?;
        sys.move_mount(copy.as_fd(), target.as_fd()).map_err(fail)?;
    }
    Ok(())
}

/// Hides each path: /dev/null over files, an empty read-only tmpfs over directories.
fn mask(paths: &[String], sys: &dyn Syscall) -> Result<(), RootfsError> {
    for path in paths.iter().map(Path::new) {
        let Ok(meta) = std::fs::metadata(path) else {
            continue;
        };
        let fail = |source| RootfsError::Protect { action: "mask", path: path.to_path_buf(), source };
        if meta.is_dir() {
            sys.mount(Some(Path::new("tmpfs")), path, Some("tmpfs"), MsFlags::MS_RDONLY, Some("size=0"))
                .map_err(fail)?;
        } else {
            sys.mount(Some(Path::new("/dev/null")), path, None, MsFlags::MS_BIND, None).map_err(fail)?;
        }
    }
    Ok(())
}

/// Binds each path onto itself and remounts the bind read-only.
fn make_read_only(paths: &[String], sys: &dyn Syscall) -> Result<(), RootfsError> {
    for path in paths.iter().map(Path::new) {
        if std::fs::symlink_metadata(path).is_err() {
            continue;
        }
        let fail = |source| RootfsError::Protect { action: "make read-only", path: path.to_path_buf(), source };
        sys.mount(Some(path), path, None, MsFlags::MS_BIND | MsFlags::MS_REC, None).map_err(fail)?;
        let flags = MsFlags::MS_BIND
            | MsFlags::MS_REMOUNT
            | MsFlags::MS_RDONLY
            | MsFlags::MS_NOSUID
            | MsFlags::MS_NODEV
            | MsFlags::MS_NOEXEC;
        sys.mount(None, path, None, flags, None).map_err(fail)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscall::{Call, FakeSyscall};

    #[test]
    fn read_only_root_keeps_writable_mounts_writable() {
        let dir = tempfile::tempdir().unwrap();
        let handle = |name: &str| {
            std::fs::create_dir(dir.path().join(name)).unwrap();
            open(&dir.path().join(name), OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty()).unwrap()
        };
        let writable = [(handle("proc"), false), (handle("data"), true)];
        let fake = FakeSyscall::new();
        make_root_read_only(writable.iter().map(|(fd, r)| (fd.as_fd(), *r)), &fake).unwrap();
        let set = MountAttributes { set: libc::MOUNT_ATTR_RDONLY, ..Default::default() };
        let clear = MountAttributes { clear: libc::MOUNT_ATTR_RDONLY, ..Default::default() };
        let real = dir.path().canonicalize().unwrap();
        assert_eq!(
            fake.calls(),
            vec![
                Call::SetMountAttributes { mount: "/".into(), recursive: true, attributes: set },
                Call::SetMountAttributes { mount: real.join("proc"), recursive: false, attributes: clear },
                Call::SetMountAttributes { mount: real.join("data"), recursive: true, attributes: clear },
            ]
        );
    }

    #[test]
    fn old_kernels_fall_back_to_a_root_remount() {
        let fake = FakeSyscall::new();
        fake.fail_nth("set_mount_attributes", 0, Errno::ENOSYS);
        make_root_read_only(std::iter::empty(), &fake).unwrap();
        assert_eq!(fake.calls_of("mount").len(), 1);
    }

    #[test]
    fn protections_land_on_the_mounts_that_hold_them_not_on_their_paths() {
        // A directory stands for the container's procfs mount, wherever it has been moved to.
        let dir = tempfile::tempdir().unwrap();
        let procfs = dir.path().canonicalize().unwrap().join("moved-away");
        std::fs::create_dir_all(procfs.join("sys")).unwrap();
        std::fs::create_dir_all(procfs.join("acpi")).unwrap();
        std::fs::write(procfs.join("kcore"), "").unwrap();
        let handle = open(&procfs, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty()).unwrap();
        let dev = open(Path::new("/dev"), OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty()).unwrap();
        let made = |destination: &str, mount| super::super::Made {
            destination: destination.into(),
            mount,
            recursive: false,
            writable: true,
        };
        let mounted = Mounted { mounts: vec![made("/proc", handle), made("/dev", dev)] };
        let masked = ["/proc/kcore".to_string(), "/proc/acpi".into(), "/proc/no-such".into()];
        let fake = FakeSyscall::new();
        protect(&masked, &["/proc/sys".to_string()], &mounted, &fake).unwrap();
        let attributes = MountAttributes {
            set: libc::MOUNT_ATTR_RDONLY | libc::MOUNT_ATTR_NOSUID | libc::MOUNT_ATTR_NODEV | libc::MOUNT_ATTR_NOEXEC,
            ..Default::default()
        };
        assert_eq!(
            fake.calls(),
            vec![
                Call::CloneMount { source: "/dev/null".into(), recursive: false },
                Call::MoveMount { mount: "/dev/null".into(), target: procfs.join("kcore") },
                Call::NewMount { fstype: "tmpfs".into(), attributes: attributes.set },
                // The fake's new filesystem is `/`.
                Call::MoveMount { mount: "/".into(), target: procfs.join("acpi") },
                Call::CloneMount { source: procfs.join("sys"), recursive: true },
                Call::SetMountAttributes { mount: procfs.join("sys"), recursive: true, attributes },
                Call::MoveMount { mount: procfs.join("sys"), target: procfs.join("sys") },
            ]
        );
    }

    #[test]
    fn masking_skips_missing_paths_and_picks_by_type() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, "").unwrap();
        let paths = vec![dir.path().display().to_string(), file.display().to_string(), "/nonexistent/x".into()];
        let fake = FakeSyscall::new();
        mask(&paths, &fake).unwrap();
        let calls = fake.calls();
        assert_eq!(calls.len(), 2);
        assert!(matches!(&calls[0], Call::Mount { fstype: Some(t), .. } if t == "tmpfs"));
        assert!(
            matches!(&calls[1], Call::Mount { source: Some(s), flags, .. } if s == Path::new("/dev/null") && *flags == MsFlags::MS_BIND)
        );
    }
}
