//! A minimal /dev: the six devices every container gets, the spec's own devices, and the
//! standard links. Outside a user namespace the nodes are made with mknod; inside one the
//! kernel forbids that, so the host's nodes are bind-mounted instead.

use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::mount::MsFlags;
use nix::sys::stat::{makedev, Mode, SFlag};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType};

use super::secure::{create_file_in_root, fd_path, mkdir_all_in_root};
use super::{resolve_err, RootfsError, RootfsPlan};
use crate::syscall::Syscall;

struct Device {
    path: PathBuf,
    kind: SFlag,
    major: u64,
    minor: u64,
    mode: u32,
    uid: Option<u32>,
    gid: Option<u32>,
}

/// What the runtime-spec requires every Linux container to have.
const DEFAULT_DEVICES: [(&str, u64, u64); 6] = [
    ("/dev/null", 1, 3),
    ("/dev/zero", 1, 5),
    ("/dev/full", 1, 7),
    ("/dev/random", 1, 8),
    ("/dev/urandom", 1, 9),
    ("/dev/tty", 5, 0),
];

const LINKS: [(&str, &str); 5] = [
    ("/proc/self/fd", "/dev/fd"),
    ("/proc/self/fd/0", "/dev/stdin"),
    ("/proc/self/fd/1", "/dev/stdout"),
    ("/proc/self/fd/2", "/dev/stderr"),
    ("pts/ptmx", "/dev/ptmx"),
];

fn from_spec(d: &LinuxDevice) -> Device {
    let kind = match d.typ() {
        LinuxDeviceType::B => SFlag::S_IFBLK,
        LinuxDeviceType::P => SFlag::S_IFIFO,
        _ => SFlag::S_IFCHR,
    };
    Device {
        path: d.path().clone(),
        kind,
        major: d.major() as u64,
        minor: d.minor() as u64,
        mode: d.file_mode().unwrap_or(0o666) & 0o7777,
        uid: d.uid(),
        gid: d.gid(),
    }
}

/// Whether the spec gives the container a /dev of its own (a tmpfs), which the runtime
/// then fills; a bind-mounted /dev already has its devices.
fn owns_dev(plan: &RootfsPlan<'_>) -> bool {
    plan.spec.mounts().as_deref().unwrap_or_default().iter().any(|m| {
        m.destination() == Path::new("/dev")
            && m.typ().as_deref() != Some("bind")
            && !m.options().as_deref().unwrap_or_default().iter().any(|o| o == "bind" || o == "rbind")
    })
}

fn create(dev: &Device, root: BorrowedFd<'_>, bind: bool, sys: &dyn Syscall) -> Result<(), RootfsError> {
    let fail = |source| RootfsError::Device { path: dev.path.clone(), source };
    if bind {
        let target = create_file_in_root(root, &dev.path).map_err(resolve_err(&dev.path))?;
        return sys.mount(Some(&dev.path), &fd_path(target.as_fd()), None, MsFlags::MS_BIND, None).map_err(fail);
    }
    let parent_path = dev.path.parent().unwrap_or(Path::new("/dev"));
    let parent =
        mkdir_all_in_root(root, parent_path, Mode::from_bits_truncate(0o755)).map_err(resolve_err(parent_path))?;
    let name = dev.path.file_name().ok_or(RootfsError::Resolve { path: dev.path.clone(), source: Errno::EINVAL })?;
    let path = fd_path(parent.as_fd()).join(name);
    let mode = Mode::from_bits_truncate(dev.mode);
    let rdev = makedev(dev.major, dev.minor);
    match sys.mknod(&path, dev.kind, mode, rdev) {
        Err(e) if e.errno == Errno::EEXIST => {
            // A stale node from the rootfs image is replaced, as runc does.
            let _ = std::fs::remove_file(&path);
            sys.mknod(&path, dev.kind, mode, rdev).map_err(fail)?;
        }
        other => other.map_err(fail)?,
    }
    if dev.uid.is_some() || dev.gid.is_some() {
        sys.chown(&path, dev.uid, dev.gid).map_err(fail)?;
    }
    Ok(())
}

pub(super) fn populate(plan: &RootfsPlan<'_>, root: BorrowedFd<'_>, sys: &dyn Syscall) -> Result<(), RootfsError> {
    let spec_devices: Vec<Device> =
        plan.spec.linux().as_ref().and_then(|l| l.devices().as_ref()).into_iter().flatten().map(from_spec).collect();
    let bind = plan.in_user_namespace;
    if owns_dev(plan) {
        for (path, major, minor) in DEFAULT_DEVICES {
            if spec_devices.iter().any(|d| d.path == Path::new(path)) {
                continue;
            }
            let dev =
                Device { path: path.into(), kind: SFlag::S_IFCHR, major, minor, mode: 0o666, uid: None, gid: None };
            create(&dev, root, bind, sys)?;
        }
        let dev_dir = mkdir_all_in_root(root, Path::new("/dev"), Mode::from_bits_truncate(0o755))
            .map_err(resolve_err(Path::new("/dev")))?;
        for (original, link) in LINKS {
            let name = Path::new(link).file_name().unwrap_or_default();
            match sys.symlink(Path::new(original), &fd_path(dev_dir.as_fd()).join(name)) {
                Err(e) if e.errno == Errno::EEXIST => {}
                other => other.map_err(|source| RootfsError::Device { path: link.into(), source })?,
            }
        }
    }
    for dev in &spec_devices {
        create(dev, root, bind, sys)?;
    }
    Ok(())
}
