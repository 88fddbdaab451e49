//! After pivot_root: the read-only root, and the kernel paths a container must not read
//! (masked) or change (read-only).

use std::path::Path;

use nix::errno::Errno;
use nix::mount::MsFlags;
use oci_spec::runtime::Mount;

use super::{MountOptions, RootfsError};
use crate::syscall::{Syscall, MOUNT_ATTR_RDONLY};

/// Makes everything under `/` read-only, recursively (a rootfs can carry submounts, and the
/// host-root default carries all of the host's), then gives the spec's writable mounts
/// their write access back. Kernels without mount_setattr (before 5.12) get runc's
/// behaviour: only the root mount itself turns read-only.
pub(super) fn make_root_read_only(mounts: &[Mount], sys: &dyn Syscall) -> Result<(), RootfsError> {
    let root = Path::new("/");
    match sys.mount_setattr(root, true, MOUNT_ATTR_RDONLY, 0) {
        Ok(()) => {}
        Err(e) if e.errno == Errno::ENOSYS => {
            return sys
                .mount(None, root, None, MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY, None)
                .map_err(RootfsError::ReadOnly);
        }
        Err(e) => return Err(RootfsError::ReadOnly(e)),
    }
    for m in mounts {
        let options = MountOptions::parse(m.options().as_deref().unwrap_or_default());
        if options.read_only() {
            continue;
        }
        sys.mount_setattr(m.destination(), options.recursive, 0, MOUNT_ATTR_RDONLY).map_err(RootfsError::ReadOnly)?;
    }
    Ok(())
}

/// Hides each path: /dev/null over files, an empty read-only tmpfs over directories.
pub(super) fn mask(paths: &[String], sys: &dyn Syscall) -> Result<(), RootfsError> {
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
pub(super) fn make_read_only(paths: &[String], sys: &dyn Syscall) -> Result<(), RootfsError> {
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
        let mounts: Vec<Mount> = serde_json::from_str(
            r#"[{"destination":"/proc","type":"proc"},{"destination":"/sys","type":"sysfs","options":["ro"]},
                {"destination":"/data","type":"bind","source":"/x","options":["rbind","rw"]}]"#,
        )
        .unwrap();
        let fake = FakeSyscall::new();
        make_root_read_only(&mounts, &fake).unwrap();
        assert_eq!(
            fake.calls(),
            vec![
                Call::MountSetattr { target: "/".into(), recursive: true, set: MOUNT_ATTR_RDONLY, clear: 0 },
                Call::MountSetattr { target: "/proc".into(), recursive: false, set: 0, clear: MOUNT_ATTR_RDONLY },
                Call::MountSetattr { target: "/data".into(), recursive: true, set: 0, clear: MOUNT_ATTR_RDONLY },
            ]
        );
    }

    #[test]
    fn old_kernels_fall_back_to_a_root_remount() {
        let fake = FakeSyscall::new();
        fake.fail_nth("mount_setattr", 0, Errno::ENOSYS);
        make_root_read_only(&[], &fake).unwrap();
        assert_eq!(fake.calls_of("mount").len(), 1);
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
