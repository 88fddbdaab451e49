//! What may be mounted on and under the container's /proc: runc's rule (checkProcMount in
//! libcontainer/rootfs_linux.go), applied to every mount of a config. A host directory bound
//! over /proc, or the host's /proc/sys bound under it, would give the container the host's
//! processes or kernel settings, and would defeat the masked and read-only paths (and the
//! sysctls) the runtime writes through /proc afterwards.
//!
//! - On /proc itself: a proc filesystem, or a bind mount whose source is on a procfs (runc
//!   allows any procfs path there, with a warning when it is not a procfs's root).
//! - Under /proc: only bind or other mounts onto the files lxcfs emulates.
//! - Anything else in the container is not this rule's business.
//!
//! The destination is checked both as the config spells it and as it resolved inside the
//! rootfs, so a symlink of the rootfs (`/myproc -> /proc`) counts as /proc.

use std::os::fd::BorrowedFd;
use std::path::Path;

use super::secure::{lexically_clean, real_path};
use super::RootfsError;

/// The files lxcfs emulates, which runc lets a config mount over.
const LXCFS_FILES: [&str; 10] = [
    "/proc/cpuinfo",
    "/proc/diskstats",
    "/proc/meminfo",
    "/proc/stat",
    "/proc/swaps",
    "/proc/uptime",
    "/proc/loadavg",
    "/proc/slabinfo",
    "/proc/sys/kernel/ns_last_pid",
    "/proc/sys/crypto/fips_enabled",
];

/// Why a mount at `path` (a clean absolute path inside the container) is refused, if it is.
fn refusal(path: &Path, typ: &str, bind_source: Option<&Path>) -> Option<String> {
    let proc = Path::new("/proc");
    if !path.starts_with(proc) {
        return None;
    }
    if path == proc {
        let allowed = match bind_source {
            Some(source) => nix::sys::statfs::statfs(source)
                .is_ok_and(|st| st.filesystem_type() == nix::sys::statfs::PROC_SUPER_MAGIC),
            None => typ == "proc",
        };
        return (!allowed).then(|| "it is /proc, where only a proc filesystem (or a bind mount of one) may go".into());
    }
    if LXCFS_FILES.iter().any(|f| path == Path::new(f)) {
        return None;
    }
    Some(format!("{} is inside /proc, where only the files lxcfs emulates may be mounted", path.display()))
}

/// Refuses the mount of `what` (`bind on /x`) onto `target`, resolved from `destination` inside
/// the rootfs `root`, when runc's rule forbids it there.
pub(super) fn check(
    what: impl FnOnce() -> String,
    root: BorrowedFd<'_>,
    target: BorrowedFd<'_>,
    destination: &Path,
    typ: &str,
    bind_source: Option<&Path>,
) -> Result<(), RootfsError> {
    let resolved = match (real_path(root), real_path(target)) {
        (Ok(root), Ok(target)) => target.strip_prefix(&root).ok().map(|p| Path::new("/").join(p)),
        _ => None,
    };
    // A target that cannot be placed inside the rootfs is checked as spelled only; the
    // resolution inside the root makes that impossible short of the kernel lying.
    let mut paths = vec![lexically_clean(destination)];
    paths.extend(resolved);
    match paths.iter().find_map(|p| refusal(p, typ, bind_source)) {
        None => Ok(()),
        Some(reason) => Err(RootfsError::ProcMount { what: what(), reason }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runcs_rule_for_proc() {
        let proc = Path::new("/proc");
        assert_eq!(refusal(proc, "proc", None), None);
        assert!(refusal(proc, "tmpfs", None).is_some());
        assert!(refusal(proc, "sysfs", None).is_some());
        assert_eq!(refusal(proc, "bind", Some(Path::new("/proc"))), None, "a procfs may be bound over /proc");
        assert_eq!(refusal(proc, "bind", Some(Path::new("/proc/self"))), None, "any procfs path, as runc");
        let tmp = tempfile::tempdir().unwrap();
        assert!(refusal(proc, "bind", Some(tmp.path())).is_some());
        assert_eq!(refusal(Path::new("/proc/cpuinfo"), "bind", Some(tmp.path())), None);
        assert_eq!(refusal(Path::new("/proc/sys/kernel/ns_last_pid"), "bind", Some(tmp.path())), None);
        for path in ["/proc/sys", "/proc/1", "/proc/sysrq-trigger", "/proc/cpuinfo/x", "/proc/sys/kernel"] {
            assert!(refusal(Path::new(path), "bind", Some(Path::new("/proc"))).is_some(), "{path}");
        }
        assert_eq!(refusal(Path::new("/procfoo"), "tmpfs", None), None);
        assert_eq!(refusal(Path::new("/sys"), "bind", Some(tmp.path())), None, "runc leaves /sys to the config");
    }
}
