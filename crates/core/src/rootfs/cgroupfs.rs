//! The container's `/sys/fs/cgroup`. With a cgroup namespace, cgroup filesystems are
//! mounted fresh and show the container's own cgroup as their root (so `memory.max` at
//! the top is the container's limit); without one, the container's cgroup directories
//! are bind-mounted from the host.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::mount::MsFlags;
use nix::sys::stat::Mode;

use super::bind::{bind, make_read_only, reopen_mount, Bind};
use super::secure::{fd_path, mkdir_all_in_root};
use super::{resolve_err, MountOptions, RootfsError, RootfsPlan};
use crate::cgroups::ContainerView;
use crate::syscall::Syscall;

fn mount_err(what: String) -> impl FnOnce(crate::syscall::SyscallError) -> RootfsError {
    move |source| RootfsError::Mount { what, source }
}

/// One cgroup filesystem (a v1 hierarchy or cgroup2) to mount.
struct CgroupFs<'a> {
    dest: &'a Path,
    fstype: &'a str,
    /// Mount options selecting a v1 hierarchy (`memory`, `none,name=systemd`).
    data: Option<&'a str>,
    /// The container's cgroup on the host, bound when there is no cgroup namespace.
    host_dir: &'a Path,
    flags: MsFlags,
}

fn mount_one(
    fs: CgroupFs<'_>,
    root: BorrowedFd<'_>,
    plan: &RootfsPlan<'_>,
    sys: &dyn Syscall,
) -> Result<OwnedFd, RootfsError> {
    let CgroupFs { dest, fstype, data, host_dir, flags } = fs;
    let target = mkdir_all_in_root(root, dest, Mode::from_bits_truncate(0o755)).map_err(resolve_err(dest))?;
    let what = format!("{fstype} on {}", dest.display());
    if plan.cgroup_namespace {
        sys.mount(Some(Path::new(fstype)), &fd_path(target.as_fd()), Some(fstype), flags, data)
            .map_err(mount_err(what))?;
        return reopen_mount(root, dest, target.as_fd());
    }
    let options = host_bind_options(flags);
    bind(&Bind { source: host_dir, options: &options, destination: dest, what }, target, root, plan, sys)
}

/// A recursive bind of a host cgroup directory with `flags` (read-only, as a rule).
fn host_bind_options(flags: MsFlags) -> MountOptions {
    MountOptions {
        flags: flags | MsFlags::MS_BIND | MsFlags::MS_REC,
        bind: true,
        recursive: true,
        ..MountOptions::default()
    }
}

pub(super) fn mount(
    dest: &Path,
    options: &MountOptions,
    root: BorrowedFd<'_>,
    plan: &RootfsPlan<'_>,
    sys: &dyn Syscall,
) -> Result<OwnedFd, RootfsError> {
    let flags = options.flags - (MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_REMOUNT);
    if plan.in_user_namespace && matches!(plan.cgroup_view, ContainerView::Legacy { .. }) {
        // cgroup v1 hierarchies can only be mounted from the initial user namespace: a
        // container in its own sees the host's tree, read-only.
        let host = Path::new(crate::cgroups::DEFAULT_CGROUP_ROOT);
        let target = mkdir_all_in_root(root, dest, Mode::from_bits_truncate(0o755)).map_err(resolve_err(dest))?;
        let what = format!("the host's cgroups on {}", dest.display());
        let options = host_bind_options(flags | MsFlags::MS_RDONLY);
        return bind(&Bind { source: host, options: &options, destination: dest, what }, target, root, plan, sys);
    }
    match plan.cgroup_view {
        ContainerView::Unified { host_dir } => {
            mount_one(CgroupFs { dest, fstype: "cgroup2", data: None, host_dir, flags }, root, plan, sys)
        }
        ContainerView::Legacy { hierarchies, unified } => {
            // A writable tmpfs to hold the hierarchies' mount points, made read-only last.
            let target = mkdir_all_in_root(root, dest, Mode::from_bits_truncate(0o755)).map_err(resolve_err(dest))?;
            let tmpfs_flags = flags - MsFlags::MS_RDONLY;
            sys.mount(Some(Path::new("tmpfs")), &fd_path(target.as_fd()), Some("tmpfs"), tmpfs_flags, Some("mode=755"))
                .map_err(mount_err(format!("tmpfs on {}", dest.display())))?;
            let tmpfs = reopen_mount(root, dest, target.as_fd())?;
            for h in hierarchies {
                let sub = dest.join(&h.name);
                let fs =
                    CgroupFs { dest: &sub, fstype: "cgroup", data: Some(&h.options), host_dir: &h.host_dir, flags };
                mount_one(fs, root, plan, sys)?;
                for link in &h.links {
                    sys.symlink(Path::new(&h.name), &fd_path(tmpfs.as_fd()).join(link)).map_err(mount_err(format!(
                        "a link for {} in {}",
                        h.name,
                        dest.display()
                    )))?;
                }
            }
            if let Some(host_dir) = unified {
                let sub = dest.join("unified");
                mount_one(CgroupFs { dest: &sub, fstype: "cgroup2", data: None, host_dir, flags }, root, plan, sys)?;
            }
            if flags.contains(MsFlags::MS_RDONLY) {
                make_read_only(tmpfs.as_fd(), false, flags, sys)
                    .map_err(mount_err(format!("tmpfs on {} read-only", dest.display())))?;
            }
            Ok(tmpfs)
        }
    }
}
