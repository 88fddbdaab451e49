//! Switching the container into its root: `pivot_root` without a put-old directory, the
//! way runc and crun do it, or `MS_MOVE` plus `chroot` where pivot_root cannot work.

use std::os::fd::AsFd;
use std::path::Path;

use nix::mount::{MntFlags, MsFlags};

use super::RootfsError;
use crate::syscall::Syscall;

/// Pivots `.` onto itself: the old root ends up stacked on the new one, is made a slave
/// (so detaching it cannot propagate to the host) and lazily unmounted. `.` must name the
/// old root then, as in runc and crun: the working directory is still the new root after
/// the pivot, and making that a slave would make every mount of the container one too (an
/// rshared volume would no longer propagate its mounts to the host).
pub(super) fn pivot_root(new_root: &Path, sys: &dyn Syscall) -> Result<(), RootfsError> {
    let dot = Path::new(".");
    let old_root = super::open_dir(Path::new("/"))?;
    sys.chdir(new_root).map_err(RootfsError::Pivot)?;
    sys.pivot_root(dot, dot).map_err(RootfsError::Pivot)?;
    sys.fchdir(old_root.as_fd()).map_err(RootfsError::Pivot)?;
    sys.mount(None, dot, None, MsFlags::MS_SLAVE | MsFlags::MS_REC, None).map_err(RootfsError::Pivot)?;
    sys.umount2(dot, MntFlags::MNT_DETACH).map_err(RootfsError::Pivot)?;
    sys.chdir(Path::new("/")).map_err(RootfsError::Pivot)
}

/// Moves the rootfs mount over `/` and chroots into it (runc's `--no-pivot`).
pub(super) fn move_root(new_root: &Path, sys: &dyn Syscall) -> Result<(), RootfsError> {
    sys.chdir(new_root).map_err(RootfsError::Pivot)?;
    sys.mount(Some(new_root), Path::new("/"), None, MsFlags::MS_MOVE, None).map_err(RootfsError::Pivot)?;
    sys.chroot(Path::new(".")).map_err(RootfsError::Pivot)?;
    sys.chdir(Path::new("/")).map_err(RootfsError::Pivot)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscall::{Call, FakeSyscall};
    use std::path::PathBuf;

    #[test]
    fn pivot_detaches_the_old_root_after_making_it_a_slave() {
        let fake = FakeSyscall::new();
        pivot_root(Path::new("/run/x/rootfs"), &fake).unwrap();
        let kinds: Vec<&str> = fake.calls().iter().map(Call::kind).collect();
        assert_eq!(kinds, ["chdir", "pivot_root", "fchdir", "mount", "umount2", "chdir"]);
        assert_eq!(fake.calls()[0], Call::Chdir(PathBuf::from("/run/x/rootfs")));
        // Back in the old root (here the test's own `/`), which alone becomes a slave.
        assert_eq!(fake.calls()[2], Call::Fchdir(PathBuf::from("/")));
        assert_eq!(fake.calls()[4], Call::Umount2 { target: ".".into(), flags: MntFlags::MNT_DETACH });
    }

    #[test]
    fn a_failed_pivot_stops_there() {
        let fake = FakeSyscall::new();
        fake.fail_nth("pivot_root", 0, nix::errno::Errno::EINVAL);
        assert!(pivot_root(Path::new("/r"), &fake).is_err());
        assert_eq!(fake.calls().len(), 2, "nothing is unmounted after a failed pivot");
    }
}
