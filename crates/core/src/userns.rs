//! User namespace id maps: written directly by root, or by an unprivileged user for its
//! own ids alone, or through the setuid `newuidmap`/`newgidmap` helpers for the ranges
//! /etc/subuid and /etc/subgid grant a user.

use std::path::{Path, PathBuf};
use std::process::Command;

use oci_spec::runtime::{LinuxIdMapping, Spec};

#[derive(Debug, thiserror::Error)]
pub enum IdMapError {
    #[error("cannot write the user namespace map {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot run {helper} to map the subordinate ids (install it: apt-get install uidmap)")]
    Helper {
        helper: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("{helper} refused the id map {map:?}: {stderr}")]
    Refused { helper: &'static str, map: String, stderr: String },
}

impl IdMapError {
    pub fn code(&self) -> crate::error::Code {
        use crate::error::Code;
        match self {
            IdMapError::Write { .. } => Code::Internal,
            IdMapError::Helper { .. } => Code::Unsupported,
            IdMapError::Refused { .. } => Code::PermissionDenied,
        }
    }
}

/// The host setting that keeps unprivileged users from creating user namespaces, if any
/// is set (read from `proc_sys`, normally /proc/sys): one sentence naming it and how to
/// change it.
pub fn restriction(proc_sys: &Path) -> Option<String> {
    let read = |p: &str| std::fs::read_to_string(proc_sys.join(p)).ok().map(|s| s.trim().to_string());
    if read("kernel/apparmor_restrict_unprivileged_userns").as_deref() == Some("1") {
        return Some("AppArmor forbids unprivileged user namespaces on this host (kernel.apparmor_restrict_unprivileged_userns=1): allow them with `sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`, or give tscontainer-runtime an AppArmor profile with `userns`".into());
    }
    if read("kernel/unprivileged_userns_clone").as_deref() == Some("0") {
        return Some("unprivileged user namespaces are disabled on this host (kernel.unprivileged_userns_clone=0): enable them with `sysctl -w kernel.unprivileged_userns_clone=1`".into());
    }
    if read("user/max_user_namespaces").as_deref() == Some("0") {
        return Some("user namespaces are disabled on this host (user.max_user_namespaces=0): raise it with `sysctl -w user.max_user_namespaces=15000`".into());
    }
    None
}

/// Whether this process is root on the host: uid 0 in the initial user namespace. Root
/// inside a user namespace (a rootless podman runs its runtime there) is an unprivileged
/// user's stand-in and gets the rootless state root and cgroup handling.
pub fn privileged() -> bool {
    nix::unistd::geteuid().is_root() && in_initial_user_namespace()
}

/// Whether this process is in the host's user namespace (not, say, in rootless podman's).
pub fn in_initial_user_namespace() -> bool {
    std::fs::read_to_string("/proc/self/uid_map").is_ok_and(|m| is_initial_map(&m))
}

/// The initial user namespace maps every id to itself.
fn is_initial_map(uid_map: &str) -> bool {
    let fields: Vec<Vec<&str>> = uid_map.lines().map(|l| l.split_whitespace().collect()).collect();
    fields == [vec!["0", "0", "4294967295"]]
}

/// A range of subordinate ids granted to a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubordinateRange {
    pub start: u32,
    pub count: u32,
}

/// The first range `/etc/subuid`-style `text` grants to the user `name` or `id`.
pub fn subordinate_range(text: &str, name: &str, id: u32) -> Option<SubordinateRange> {
    text.lines().find_map(|line| {
        let mut f = line.trim().split(':');
        let owner = f.next()?;
        if owner != name && owner.parse::<u32>().ok() != Some(id) {
            return None;
        }
        let start = f.next()?.parse().ok()?;
        let count = f.next()?.parse().ok()?;
        (count > 0).then_some(SubordinateRange { start, count })
    })
}

/// The user's subordinate uid and gid ranges, when the system grants both and the
/// helpers that can map them are installed.
pub fn subordinate_ranges(uid: u32, gid: u32) -> Option<(SubordinateRange, SubordinateRange)> {
    // The host's own databases.
    let root = nix::fcntl::open(
        Path::new("/"),
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .ok()?;
    let root = std::os::fd::AsFd::as_fd(&root);
    let name = crate::passwd::users(root).ok()?.into_iter().find(|u| u.uid == uid)?.name;
    let group = crate::passwd::groups(root).ok()?.into_iter().find(|g| g.gid == gid).map(|g| g.name);
    let helpers = ["newuidmap", "newgidmap"].iter().all(|h| find_helper(h).is_some());
    if !helpers {
        return None;
    }
    let uids = subordinate_range(&std::fs::read_to_string("/etc/subuid").ok()?, &name, uid)?;
    let gid_text = std::fs::read_to_string("/etc/subgid").ok()?;
    // /etc/subgid is keyed by user name (or uid), like /etc/subuid.
    let gids = subordinate_range(&gid_text, &name, uid)
        .or_else(|| group.and_then(|g| subordinate_range(&gid_text, &g, gid)))?;
    Some((uids, gids))
}

fn find_helper(name: &str) -> Option<PathBuf> {
    ["/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists())
}

fn render(maps: &[LinuxIdMapping]) -> String {
    maps.iter().map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size())).collect()
}

/// Whether an unprivileged process may write `maps` itself: one entry, its own id.
fn own_id_only(maps: &[LinuxIdMapping], own: u32) -> bool {
    matches!(maps, [m] if m.host_id() == own && m.size() == 1)
}

fn write(pid: i32, file: &str, text: &str) -> Result<(), IdMapError> {
    let path = PathBuf::from(format!("/proc/{pid}/{file}"));
    std::fs::write(&path, text).map_err(|source| IdMapError::Write { path, source })
}

fn helper(helper: &'static str, pid: i32, maps: &[LinuxIdMapping]) -> Result<(), IdMapError> {
    let path = find_helper(helper).ok_or_else(|| IdMapError::Helper {
        helper,
        source: std::io::Error::new(std::io::ErrorKind::NotFound, "not installed"),
    })?;
    let mut args = vec![pid.to_string()];
    for m in maps {
        args.extend([m.container_id().to_string(), m.host_id().to_string(), m.size().to_string()]);
    }
    let out = Command::new(path).args(&args).output().map_err(|source| IdMapError::Helper { helper, source })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(IdMapError::Refused {
            helper,
            map: render(maps).trim().replace('\n', ", "),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// Writes the maps of `pid`'s new user namespace from the spec.
pub fn write_id_maps(pid: i32, spec: &Spec) -> Result<(), IdMapError> {
    let linux = spec.linux().as_ref();
    let uid_maps = linux.and_then(|l| l.uid_mappings().clone()).unwrap_or_default();
    let gid_maps = linux.and_then(|l| l.gid_mappings().clone()).unwrap_or_default();
    write_maps(pid, &uid_maps, &gid_maps)
}

/// Writes the maps of `pid`'s new user namespace: directly as root, or for the caller's own
/// ids alone, else through newuidmap and newgidmap (the subordinate ranges).
pub fn write_maps(pid: i32, uid_maps: &[LinuxIdMapping], gid_maps: &[LinuxIdMapping]) -> Result<(), IdMapError> {
    let (euid, egid) = (nix::unistd::geteuid().as_raw(), nix::unistd::getegid().as_raw());
    if euid == 0 {
        for (file, maps) in [("uid_map", uid_maps), ("gid_map", gid_maps)] {
            if !maps.is_empty() {
                write(pid, file, &render(maps))?;
            }
        }
        return Ok(());
    }
    if own_id_only(uid_maps, euid) && (gid_maps.is_empty() || own_id_only(gid_maps, egid)) {
        // Unprivileged: the kernel takes a gid map only once setgroups is denied.
        write(pid, "setgroups", "deny")?;
        write(pid, "uid_map", &render(uid_maps))?;
        if !gid_maps.is_empty() {
            write(pid, "gid_map", &render(gid_maps))?;
        }
        return Ok(());
    }
    helper("newuidmap", pid, uid_maps)?;
    if !gid_maps.is_empty() {
        helper("newgidmap", pid, gid_maps)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subordinate_ranges_are_found_by_name_or_id() {
        let text = "alice:100000:65536\n1001:300000:1000\nbob:0:0\n";
        assert_eq!(subordinate_range(text, "alice", 1000), Some(SubordinateRange { start: 100000, count: 65536 }));
        assert_eq!(subordinate_range(text, "carol", 1001), Some(SubordinateRange { start: 300000, count: 1000 }));
        assert_eq!(subordinate_range(text, "bob", 1002), None, "an empty range grants nothing");
        assert_eq!(subordinate_range(text, "dave", 1003), None);
    }

    #[test]
    fn only_the_identity_map_is_the_initial_namespace() {
        assert!(is_initial_map("         0          0 4294967295\n"));
        assert!(!is_initial_map("0 1000 1\n1 100000 65536\n"));
        assert!(!is_initial_map("0 0 1000\n"));
    }

    #[test]
    fn each_restricting_setting_is_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("kernel")).unwrap();
        std::fs::create_dir_all(dir.path().join("user")).unwrap();
        assert_eq!(restriction(dir.path()), None);
        std::fs::write(dir.path().join("user/max_user_namespaces"), "0\n").unwrap();
        assert!(restriction(dir.path()).unwrap().contains("user.max_user_namespaces=0"));
        std::fs::write(dir.path().join("kernel/unprivileged_userns_clone"), "0\n").unwrap();
        assert!(restriction(dir.path()).unwrap().contains("kernel.unprivileged_userns_clone=0"));
        std::fs::write(dir.path().join("kernel/apparmor_restrict_unprivileged_userns"), "1\n").unwrap();
        assert!(restriction(dir.path()).unwrap().contains("kernel.apparmor_restrict_unprivileged_userns=1"));
    }

    #[test]
    fn only_a_single_own_id_can_be_mapped_without_help() {
        let maps: Vec<LinuxIdMapping> = serde_json::from_str(r#"[{"containerID":0,"hostID":1000,"size":1}]"#).unwrap();
        assert!(own_id_only(&maps, 1000));
        assert!(!own_id_only(&maps, 1001));
        let range: Vec<LinuxIdMapping> = serde_json::from_str(
            r#"[{"containerID":0,"hostID":1000,"size":1},{"containerID":1,"hostID":100000,"size":65536}]"#,
        )
        .unwrap();
        assert!(!own_id_only(&range, 1000));
        assert_eq!(render(&range), "0 1000 1\n1 100000 65536\n");
    }
}
