//! One spec mount: resolve its destination inside the rootfs once, check it, mount onto
//! that descriptor, then apply what a plain mount cannot (bind flags, propagation, the
//! copy-up) to the new mount itself, never to a path looked up again.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{openat, OFlag};
use nix::sys::stat::{fstat, Mode};
use oci_spec::runtime::Mount;

use super::bind::{self, Bind};
use super::secure::{create_file_in_root, fd_path, mkdir_all_in_root};
use super::{cgroupfs, copyup, procfs, resolve_err, MountOptions, RootfsError, RootfsPlan};
use crate::syscall::Syscall;

/// The bind mount that stands in for a sysfs mount that cannot be made.
fn host_sys_bind(m: &Mount) -> Mount {
    let mut bind = m.clone();
    let mut options = vec!["rbind".to_string(), "ro".to_string()];
    options
        .extend(m.options().iter().flatten().filter(|o| ["nosuid", "nodev", "noexec"].contains(&o.as_str())).cloned());
    bind.set_typ(Some("bind".into())).set_source(Some(PathBuf::from("/sys"))).set_options(Some(options));
    bind
}

fn describe(m: &Mount) -> String {
    format!("{} on {}", m.typ().as_deref().unwrap_or("bind"), m.destination().display())
}

/// Mounts `m` inside the rootfs and returns a handle on the new mount (not on its path).
pub(super) fn mount_entry(
    m: &Mount,
    root: BorrowedFd<'_>,
    plan: &RootfsPlan<'_>,
    sys: &dyn Syscall,
) -> Result<OwnedFd, RootfsError> {
    let options = MountOptions::parse(m.options().as_deref().unwrap_or_default());
    let typ = m.typ().as_deref().unwrap_or_default();
    if typ == "cgroup" || typ == "cgroup2" {
        return cgroupfs::mount(m.destination(), &options, root, plan, sys);
    }
    if options.bind || typ == "bind" {
        mount_bind(m, &options, root, plan, sys)
    } else {
        mount_filesystem(m, &options, root, plan, sys)
    }
}

/// A bind mount: its source (relative to the bundle) must exist; the mount point is made
/// as a directory or a file to match it.
fn mount_bind(
    m: &Mount,
    options: &MountOptions,
    root: BorrowedFd<'_>,
    plan: &RootfsPlan<'_>,
    sys: &dyn Syscall,
) -> Result<OwnedFd, RootfsError> {
    let typ = m.typ().as_deref().unwrap_or_default();
    let dest = m.destination();
    let source = m.source().clone().unwrap_or_default();
    let source = if source.is_absolute() { source } else { plan.bundle.join(source) };
    let meta = std::fs::metadata(&source).map_err(|e| RootfsError::Source {
        source_path: source.clone(),
        destination: dest.clone(),
        source: e,
    })?;
    let target = if meta.is_dir() {
        mkdir_all_in_root(root, dest, Mode::from_bits_truncate(0o755))
    } else {
        create_file_in_root(root, dest)
    }
    .map_err(resolve_err(dest))?;
    check_target(root, target.as_fd(), dest)?;
    procfs::check(|| describe(m), root, target.as_fd(), dest, typ, Some(&source))?;
    let request = Bind { source: &source, options, destination: dest, what: describe(m) };
    bind::bind(&request, target, root, plan, sys)
}

/// A new filesystem (proc, tmpfs, sysfs, devpts, mqueue, ...) on a directory, with what the
/// kernel may refuse here made as runc and crun make it; then the copy-up (`tmpcopyup`) and
/// the propagation, applied to the new mount itself.
fn mount_filesystem(
    m: &Mount,
    options: &MountOptions,
    root: BorrowedFd<'_>,
    plan: &RootfsPlan<'_>,
    sys: &dyn Syscall,
) -> Result<OwnedFd, RootfsError> {
    let typ = m.typ().as_deref().unwrap_or_default();
    let dest = m.destination();
    let mount_err = |source| RootfsError::Mount { what: describe(m), source };
    let target = mkdir_all_in_root(root, dest, Mode::from_bits_truncate(0o755)).map_err(resolve_err(dest))?;
    check_target(root, target.as_fd(), dest)?;
    procfs::check(|| describe(m), root, target.as_fd(), dest, typ, None)?;
    // What the mount will hide, still readable through this descriptor afterwards.
    let hidden = if options.copy_up {
        Some(
            openat(target.as_fd(), ".", OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
                .map_err(resolve_err(dest))?,
        )
    } else {
        None
    };
    let source = m.source().clone().unwrap_or_else(|| PathBuf::from(typ));
    let data = (!options.data.is_empty()).then_some(options.data.as_str());
    let fstype = (!typ.is_empty()).then_some(typ);
    match sys.mount(Some(&source), &fd_path(target.as_fd()), fstype, options.flags, data) {
        // A sysfs instance belongs to a network namespace: sharing the host's (or
        // lacking the privilege to mount one), the container gets the host's /sys
        // bound read-only instead, as runc does.
        Err(e) if typ == "sysfs" && matches!(e.errno, Errno::EPERM | Errno::EBUSY) => {
            let bind = host_sys_bind(m);
            let options = MountOptions::parse(bind.options().as_deref().unwrap_or_default());
            let request =
                Bind { source: Path::new("/sys"), options: &options, destination: dest, what: describe(&bind) };
            return bind::bind(&request, target, root, plan, sys);
        }
        // In a user namespace without the tty group mapped, devpts refuses `gid=5`:
        // the ptys then belong to the container's root group, as with crun.
        Err(e)
            if typ == "devpts"
                && plan.in_user_namespace
                && e.errno == Errno::EINVAL
                && data.is_some_and(|d| d.contains("gid=")) =>
        {
            let without_gid: Vec<&str> = options.data.split(',').filter(|o| !o.starts_with("gid=")).collect();
            let data = without_gid.join(",");
            sys.mount(Some(&source), &fd_path(target.as_fd()), fstype, options.flags, Some(data.as_str()))
                .map_err(mount_err)?;
        }
        other => other.map_err(mount_err)?,
    }
    // The new filesystem, found again through a check that it is the mount just made on
    // this very mount point (mount(2) returns no handle).
    let top = bind::reopen_mount(root, dest, target.as_fd())?;
    if let Some(hidden) = hidden {
        let dir = openat(top.as_fd(), ".", OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
            .map_err(resolve_err(dest))?;
        copyup::copy_root_attributes(&hidden, dir.as_fd())
            .and_then(|()| copyup::copy_tree(hidden.as_fd(), dir.as_fd(), 0))
            .map_err(|source| RootfsError::Resolve { path: dest.clone(), source })?;
    }
    for p in &options.propagation {
        sys.mount(None, &fd_path(top.as_fd()), None, p.0, None).map_err(mount_err)?;
    }
    Ok(top)
}

/// A mount point resolved inside the rootfs must not be the rootfs's own root: the mount
/// would hide all of it (runc refuses it too). A symlink of the rootfs leading to `/` is how
/// one gets there.
fn check_target(root: BorrowedFd<'_>, target: BorrowedFd<'_>, dest: &Path) -> Result<(), RootfsError> {
    let same = |a: BorrowedFd<'_>, b: BorrowedFd<'_>| match (fstat(a), fstat(b)) {
        (Ok(a), Ok(b)) => a.st_dev == b.st_dev && a.st_ino == b.st_ino,
        _ => false,
    };
    if same(root, target) {
        return Err(RootfsError::OnRoot { path: dest.to_path_buf() });
    }
    Ok(())
}
