//! Parsing `/proc/self/mountinfo` (which mounts exist, where the cgroup hierarchies are)
//! and `/proc/self/cgroup` (where this process sits in them).

use std::path::PathBuf;

/// One line of mountinfo, the fields we use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountInfo {
    pub mount_id: u32,
    pub parent_id: u32,
    /// The path of the mount's root within its filesystem.
    pub root: String,
    pub mount_point: PathBuf,
    pub mount_options: String,
    pub fs_type: String,
    pub source: String,
    pub super_options: String,
}

/// Undoes the octal escapes (`\040` for a space) the kernel writes in paths.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 4 <= bytes.len() && bytes[i + 1..i + 4].iter().all(|b| (b'0'..=b'7').contains(b)) {
            let v = (bytes[i + 1] - b'0') * 64 + (bytes[i + 2] - b'0') * 8 + (bytes[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The mount that contains `path` (the one with the longest mount point above it).
pub fn containing_mount<'a>(mounts: &'a [MountInfo], path: &std::path::Path) -> Option<&'a MountInfo> {
    mounts.iter().filter(|m| path.starts_with(&m.mount_point)).max_by_key(|m| m.mount_point.as_os_str().len())
}

pub fn parse_mountinfo(text: &str) -> Vec<MountInfo> {
    text.lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let l: Vec<&str> = left.split(' ').collect();
            let r: Vec<&str> = right.split(' ').collect();
            if l.len() < 6 || r.len() < 3 {
                return None;
            }
            Some(MountInfo {
                mount_id: l[0].parse().ok()?,
                parent_id: l[1].parse().ok()?,
                root: unescape(l[3]),
                mount_point: PathBuf::from(unescape(l[4])),
                mount_options: l[5].to_string(),
                fs_type: r[0].to_string(),
                source: unescape(r[1]),
                super_options: r[2].to_string(),
            })
        })
        .collect()
}

/// One line of `/proc/<pid>/cgroup`: `id:controllers:path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnCgroup {
    pub hierarchy_id: u32,
    /// Comma-separated controllers (or `name=...`); empty for the cgroup2 line.
    pub controllers: String,
    pub path: String,
}

pub fn parse_proc_cgroup(text: &str) -> Vec<OwnCgroup> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ':');
            Some(OwnCgroup {
                hierarchy_id: parts.next()?.parse().ok()?,
                controllers: parts.next()?.to_string(),
                path: parts.next()?.to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
50 27 0:40 / /mnt/with\\040space rw - tmpfs tmpfs rw
";

    #[test]
    fn mountinfo_lines_parse() {
        let m = parse_mountinfo(HYBRID);
        assert_eq!(m.len(), 6);
        assert_eq!(m[1].mount_point, PathBuf::from("/sys/fs/cgroup/cpu"));
        assert_eq!(m[1].fs_type, "cgroup");
        assert_eq!(m[1].super_options, "rw,cpu");
        assert_eq!(m[4].fs_type, "cgroup2");
        assert_eq!(m[5].mount_point, PathBuf::from("/mnt/with space"));
    }

    #[test]
    fn the_containing_mount_is_the_deepest() {
        let m = parse_mountinfo(HYBRID);
        let found = containing_mount(&m, std::path::Path::new("/sys/fs/cgroup/memory/x")).unwrap();
        assert_eq!(found.mount_point, PathBuf::from("/sys/fs/cgroup/memory"));
        assert!(containing_mount(&m, std::path::Path::new("/elsewhere")).is_none());
    }

    #[test]
    fn proc_cgroup_lines_parse() {
        let c = parse_proc_cgroup("9:name=systemd:/\n4:memory:/process_api/x\n0::/\n");
        assert_eq!(c[1], OwnCgroup { hierarchy_id: 4, controllers: "memory".into(), path: "/process_api/x".into() });
        assert_eq!(c[2].controllers, "");
    }
}
