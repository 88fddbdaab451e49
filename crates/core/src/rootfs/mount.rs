//! One spec mount: resolve its destination inside the rootfs, mount, then apply what a
//! plain mount cannot (bind remount flags, propagation).

use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::MsFlags;
use nix::sys::stat::Mode;
use oci_spec::runtime::Mount;

use super::secure::{create_file_in_root, fd_path, mkdir_all_in_root, open_in_root};
use super::{cgroupfs, copyup, resolve_err, MountOptions, RootfsError, RootfsPlan};
use crate::syscall::Syscall;

/// Flags a user namespace locks on a mount it did not create: a bind remount must repeat
/// them or the kernel refuses it.
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

pub(super) fn mount_entry(
    m: &Mount,
    root: BorrowedFd<'_>,
    plan: &RootfsPlan<'_>,
    sys: &dyn Syscall,
) -> Result<(), RootfsError> {
    let options = MountOptions::parse(m.options().as_deref().unwrap_or_default());
    let typ = m.typ().as_deref().unwrap_or_default();
    let dest = m.destination();
    let mount_err = |source| RootfsError::Mount { what: describe(m), source };

    if typ == "cgroup" || typ == "cgroup2" {
        return cgroupfs::mount(dest, &options, root, plan, sys);
    }

    if options.bind || typ == "bind" {
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
        let rec = if options.recursive { MsFlags::MS_REC } else { MsFlags::empty() };
        sys.mount(Some(&source), &fd_path(target.as_fd()), None, MsFlags::MS_BIND | rec, None).map_err(mount_err)?;
        let mut flags = options.remount_flags();
        if !flags.is_empty() {
            if plan.in_user_namespace {
                flags |= locked_flags(&source) - options.cleared;
            }
            // The descriptor above names what was under the mount; the new mount is on top.
            let top = open_in_root(root, dest, OFlag::O_PATH).map_err(resolve_err(dest))?;
            sys.mount(None, &fd_path(top.as_fd()), None, MsFlags::MS_BIND | MsFlags::MS_REMOUNT | flags, None)
                .map_err(mount_err)?;
        }
    } else {
        let target = mkdir_all_in_root(root, dest, Mode::from_bits_truncate(0o755)).map_err(resolve_err(dest))?;
        // What the mount will hide, still readable through this descriptor afterwards.
        let hidden = if options.copy_up {
            Some(open_in_root(root, dest, OFlag::O_RDONLY | OFlag::O_DIRECTORY).map_err(resolve_err(dest))?)
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
                return mount_entry(&host_sys_bind(m), root, plan, sys);
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
        if let Some(hidden) = hidden {
            let top = open_in_root(root, dest, OFlag::O_RDONLY | OFlag::O_DIRECTORY).map_err(resolve_err(dest))?;
            copyup::copy_root_attributes(&hidden, top.as_fd())
                .and_then(|()| copyup::copy_tree(hidden.as_fd(), top.as_fd(), 0))
                .map_err(|source| RootfsError::Resolve { path: dest.clone(), source })?;
        }
    }

    for p in &options.propagation {
        let top = open_in_root(root, dest, OFlag::O_PATH).map_err(resolve_err(dest))?;
        sys.mount(None, &fd_path(top.as_fd()), None, p.0, None).map_err(mount_err)?;
    }
    Ok(())
}
