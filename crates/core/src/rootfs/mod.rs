//! The container's filesystem view, built inside its new mount namespace: the rootfs (the
//! directory the runtime resolved and checked, through its descriptor) bound onto a staging
//! mount point, the spec's mounts on top (resolved safely inside the rootfs, made whole
//! before they are attached), a minimal /dev, then `pivot_root`, the read-only root, and the
//! masked and read-only kernel paths.

mod bind;
mod cgroupfs;
pub mod confined;
mod copyup;
mod devices;
pub mod fuse;
mod mount;
mod options;
pub mod overlay;
mod paths;
mod pivot;
mod procfs;
pub mod secure;

pub use bind::mount_api_available;
pub use options::{MountOptions, Propagation, KNOWN_OPTIONS};

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::{open, OFlag};
use nix::mount::MsFlags;
use nix::sys::stat::Mode;
use oci_spec::runtime::Spec;

use crate::cgroups::ContainerView;
use crate::syscall::{Syscall, SyscallError};

#[derive(Debug, thiserror::Error)]
pub enum RootfsError {
    #[error("cannot mount {what}")]
    Mount {
        what: String,
        #[source]
        source: SyscallError,
    },
    #[error("cannot resolve {} inside the container's rootfs", path.display())]
    Resolve {
        path: PathBuf,
        #[source]
        source: nix::Error,
    },
    #[error("mount source {} for {}", source_path.display(), destination.display())]
    Source {
        source_path: PathBuf,
        destination: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot create device {}", path.display())]
    Device {
        path: PathBuf,
        #[source]
        source: SyscallError,
    },
    #[error("cannot switch to the container's root filesystem")]
    Pivot(#[source] SyscallError),
    #[error("cannot {action} {}", path.display())]
    Protect {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: SyscallError,
    },
    #[error("cannot make the root filesystem read-only")]
    ReadOnly(#[source] SyscallError),
    #[error("the mount point {} was moved while it was being mounted", path.display())]
    MountPointMoved { path: PathBuf },
    #[error("cannot mount on {}: it resolves to the container's root directory", path.display())]
    OnRoot { path: PathBuf },
    #[error("cannot mount {what}: {reason}")]
    ProcMount { what: String, reason: String },
    #[error("{} is not a proc filesystem", path.display())]
    NotProcfs { path: PathBuf },
    #[error("cannot mask files: the container's /dev/null is not the null device")]
    NoNullDevice,
    #[error(transparent)]
    Overlay(#[from] crate::spec::SpecError),
    #[error(
        "cannot mount the root overlay: its {layers} layers take {bytes} bytes of mount options even named by descriptors, more than the {limit} mount(2) takes; Linux 6.8 or later takes them one by one"
    )]
    OverlayTooLong { layers: usize, bytes: usize, limit: usize },
    #[error(
        "cannot mount the root overlay in a user namespace: the kernel's overlayfs allows that from Linux 5.11 (and not over every filesystem), and fuse-overlayfs is not installed (apt-get install fuse-overlayfs)"
    )]
    OverlayNeedsFuse(#[source] SyscallError),
    #[error("cannot open {} for the root overlay", path.display())]
    FuseDevice {
        path: PathBuf,
        #[source]
        source: nix::Error,
    },
    #[error("cannot have the root overlay served by the runtime")]
    FuseServer(#[source] crate::channel::ChannelError),
    #[error("cannot open the container's user namespace {} for fuse-overlayfs", path.display())]
    FuseUserNamespace {
        path: PathBuf,
        #[source]
        source: nix::Error,
    },
    #[error("cannot run {} for the root overlay", program.display())]
    FuseDaemonStart {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// fuse-overlayfs gave up; `said` is its own last line.
    #[error("{} cannot serve the root overlay: {said}", program.display())]
    FuseDaemon { program: PathBuf, said: String },
}

impl RootfsError {
    pub fn code(&self) -> crate::error::Code {
        use crate::error::Code;
        match self {
            RootfsError::Source { .. } | RootfsError::OnRoot { .. } | RootfsError::OverlayTooLong { .. } => {
                Code::InvalidConfig
            }
            RootfsError::Overlay(e) => e.code(),
            RootfsError::MountPointMoved { .. } | RootfsError::NotProcfs { .. } | RootfsError::NoNullDevice => {
                Code::UnsafeState
            }
            RootfsError::OverlayNeedsFuse(_) => Code::Unsupported,
            RootfsError::Mount { .. }
            | RootfsError::FuseDevice { .. }
            | RootfsError::FuseServer(_)
            | RootfsError::FuseUserNamespace { .. }
            | RootfsError::FuseDaemonStart { .. }
            | RootfsError::FuseDaemon { .. }
            | RootfsError::Resolve { .. }
            | RootfsError::Device { .. }
            | RootfsError::Pivot(_)
            | RootfsError::Protect { .. }
            | RootfsError::ReadOnly(_)
            | RootfsError::ProcMount { .. } => Code::Internal,
        }
    }
}

/// Everything the rootfs step needs to know.
pub struct RootfsPlan<'a> {
    pub spec: &'a Spec,
    /// Bind-mount sources given as relative paths are relative to the bundle.
    pub bundle: &'a Path,
    /// The rootfs directory, as the runtime resolved and checked it (see
    /// `spec::open_rootfs`): the only handle on it used.
    pub rootfs: BorrowedFd<'a>,
    /// An empty directory the rootfs is bound onto; it becomes `/`.
    pub staging: &'a Path,
    pub cgroup_view: &'a ContainerView,
    /// The container has a mount namespace of its own.
    pub mount_namespace: bool,
    /// The container has its own cgroup namespace: cgroup filesystems are mounted fresh
    /// and show the container's cgroup as their root.
    pub cgroup_namespace: bool,
    /// Use `MS_MOVE` and `chroot` instead of `pivot_root` (runc's `--no-pivot`, for
    /// rootfs on ramfs).
    pub no_pivot: bool,
    /// In a user namespace device nodes cannot be created and are bind-mounted instead.
    pub in_user_namespace: bool,
    /// fuse-overlayfs for the root overlay, when the runtime found it or the config asks for
    /// it (see `fuse`).
    pub fuse: Option<fuse::FuseServer<'a>>,
}

impl RootfsPlan<'_> {
    fn propagation(&self) -> Propagation {
        self.spec
            .linux()
            .as_ref()
            .and_then(|l| l.rootfs_propagation().as_deref())
            .and_then(Propagation::parse)
            // runc's default: host mount events still reach the container, none leave it.
            .unwrap_or(Propagation(MsFlags::MS_SLAVE | MsFlags::MS_REC))
    }

    fn read_only(&self) -> bool {
        self.spec.root().as_ref().and_then(|r| r.readonly()).unwrap_or(false)
    }
}

pub(crate) fn resolve_err(path: &Path) -> impl FnOnce(nix::Error) -> RootfsError + '_ {
    move |source| RootfsError::Resolve { path: path.to_path_buf(), source }
}

pub(crate) fn open_dir(path: &Path) -> Result<OwnedFd, RootfsError> {
    open(path, OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty()).map_err(resolve_err(path))
}

/// Builds the container's filesystem on the staging mount point: the rootfs, then the
/// spec's mounts, /dev and the working directory. Runs in the init, in the container's
/// mount namespace; [`switch_root`] then makes it `/`, and [`protect_kernel_paths`]
/// finishes the job once sysctls are written.
///
/// Without a mount namespace of its own the container shares the host's mount table:
/// mounting would change the host and outlive the container, so nothing is mounted and
/// the container is only chrooted into its rootfs (the caller warns about it).
pub fn mount_all(plan: &RootfsPlan<'_>, sys: &dyn Syscall) -> Result<Mounted, RootfsError> {
    if !plan.mount_namespace {
        return Ok(Mounted::default());
    }
    // An unbindable tree cannot be bound onto the staging directory: it becomes
    // unbindable once it is the container's root (see `switch_root`).
    let propagation = plan.propagation().0;
    let initial =
        if propagation.contains(MsFlags::MS_UNBINDABLE) { MsFlags::MS_SLAVE | MsFlags::MS_REC } else { propagation };
    sys.mount(None, Path::new("/"), None, initial, None).map_err(mount_err("/ with the requested propagation"))?;
    sys.mount(Some(&secure::fd_path(plan.rootfs)), plan.staging, None, MsFlags::MS_BIND | MsFlags::MS_REC, None)
        .map_err(mount_err("the rootfs"))?;
    // pivot_root refuses a new root, a parent mount of it or a current root that is
    // shared; the old root is discarded right after, so making them private costs nothing.
    sys.mount(None, plan.staging, None, MsFlags::MS_PRIVATE, None).map_err(mount_err("the rootfs as private"))?;
    let parent = std::fs::read_to_string("/proc/self/mountinfo")
        .ok()
        .and_then(|text| {
            let mounts = crate::mountinfo::parse_mountinfo(&text);
            let parent_dir = plan.staging.parent().unwrap_or(Path::new("/"));
            crate::mountinfo::containing_mount(&mounts, parent_dir).map(|m| m.mount_point.clone())
        })
        .unwrap_or_else(|| PathBuf::from("/"));
    for mount_point in [parent.as_path(), Path::new("/")] {
        sys.mount(None, mount_point, None, MsFlags::MS_PRIVATE, None)
            .map_err(mount_err(&format!("{} as private", mount_point.display())))?;
    }
    let mut root = open_dir(plan.staging)?;
    let (root_overlay, mounts) = overlay::split(plan.spec.mounts().as_deref().unwrap_or_default());
    if let Some(m) = root_overlay {
        // Everything after it is resolved in, and mounted on, the overlay; the overlay is the
        // root itself, so it is not among the mounts made (it turns read-only with the root).
        root = overlay::mount(m, root.as_fd(), plan, sys)?;
    }
    let mut mounted = Mounted::default();
    for m in mounts {
        let mount = mount::mount_entry(m, root.as_fd(), plan, sys)?;
        let options = MountOptions::parse(m.options().as_deref().unwrap_or_default());
        mounted.mounts.push(Made {
            destination: secure::lexically_clean(m.destination()),
            mount,
            recursive: options.recursive,
            writable: !options.read_only(),
        });
    }
    devices::populate(plan, root.as_fd(), sys)?;
    if let Some(process) = plan.spec.process() {
        secure::mkdir_all_in_root(root.as_fd(), process.cwd(), Mode::from_bits_truncate(0o755))
            .map_err(resolve_err(process.cwd()))?;
    }
    Ok(mounted)
}

/// Handles on the mounts made for the spec. What happens to them after pivot_root (the
/// read-only root giving writable mounts their write access back, the masked and read-only
/// paths, the sysctls) acts through these, never through paths: whoever can write the
/// rootfs can rename a mount point (its mount moves along) and put a directory of theirs
/// where /proc was.
#[derive(Default)]
pub struct Mounted {
    mounts: Vec<Made>,
}

struct Made {
    /// As the config names it, lexically clean.
    destination: PathBuf,
    mount: OwnedFd,
    recursive: bool,
    writable: bool,
}

impl Mounted {
    /// The spec's mount that holds `path` (the last one made on the longest destination that
    /// contains it), and the rest of `path` below it.
    fn holding(&self, path: &Path) -> Option<(BorrowedFd<'_>, PathBuf)> {
        let path = secure::lexically_clean(path);
        // max_by_key keeps the last of equals: the mount made last, on top.
        let made = self
            .mounts
            .iter()
            .filter(|m| path.starts_with(&m.destination))
            .max_by_key(|m| m.destination.components().count())?;
        let rest = path.strip_prefix(&made.destination).unwrap_or(Path::new("")).to_path_buf();
        Some((made.mount.as_fd(), rest))
    }

    fn writable(&self) -> impl Iterator<Item = (BorrowedFd<'_>, bool)> {
        self.mounts.iter().filter(|m| m.writable).map(|m| (m.mount.as_fd(), m.recursive))
    }
}

/// The container's /proc/sys, for its sysctls: below the spec's proc mount when there is one,
/// else as the path finds it. Either way checked to be a proc filesystem.
pub fn proc_sys(mounted: &Mounted) -> Result<OwnedFd, RootfsError> {
    let path = Path::new("/proc/sys");
    let flags = OFlag::O_PATH | OFlag::O_DIRECTORY;
    let dir = match mounted.holding(path) {
        Some((mount, rest)) => secure::open_beneath(mount, &rest, flags, true),
        None => open(path, flags | OFlag::O_CLOEXEC, Mode::empty()),
    }
    .map_err(resolve_err(path))?;
    let procfs = nix::sys::statfs::fstatfs(dir.as_fd())
        .is_ok_and(|st| st.filesystem_type() == nix::sys::statfs::PROC_SUPER_MAGIC);
    if !procfs {
        return Err(RootfsError::NotProcfs { path: path.to_path_buf() });
    }
    Ok(dir)
}

/// Makes the prepared rootfs the container's `/`: pivot_root (or MS_MOVE and chroot
/// with `no_pivot`), the requested propagation on the new root, the read-only root.
pub fn switch_root(plan: &RootfsPlan<'_>, mounted: &Mounted, sys: &dyn Syscall) -> Result<(), RootfsError> {
    if !plan.mount_namespace {
        sys.chdir(&secure::fd_path(plan.rootfs)).map_err(RootfsError::Pivot)?;
        sys.chroot(Path::new(".")).map_err(RootfsError::Pivot)?;
        return sys.chdir(Path::new("/")).map_err(RootfsError::Pivot);
    }
    if plan.no_pivot {
        pivot::move_root(plan.staging, sys)?;
    } else {
        pivot::pivot_root(plan.staging, sys)?;
    }
    let propagation = plan.propagation();
    if propagation.0.intersects(MsFlags::MS_SHARED | MsFlags::MS_UNBINDABLE) {
        sys.mount(None, Path::new("/"), None, propagation.0, None)
            .map_err(mount_err("/ with the requested propagation"))?;
    }
    if plan.read_only() {
        paths::make_root_read_only(mounted.writable(), sys)?;
    }
    Ok(())
}

fn mount_err(what: &str) -> impl FnOnce(SyscallError) -> RootfsError {
    let what = what.to_string();
    move |source| RootfsError::Mount { what, source }
}

/// After sysctls are written: hides the masked paths and makes the read-only ones so, on the
/// mounts that hold them.
pub fn protect_kernel_paths(spec: &Spec, mounted: &Mounted, sys: &dyn Syscall) -> Result<(), RootfsError> {
    if let Some(linux) = spec.linux() {
        let masked = linux.masked_paths().as_deref().unwrap_or_default();
        let read_only = linux.readonly_paths().as_deref().unwrap_or_default();
        paths::protect(masked, read_only, mounted, sys)?;
    }
    Ok(())
}
