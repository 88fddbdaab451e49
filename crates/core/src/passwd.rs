//! The user and group databases as files (`<root>/etc/passwd`, `<root>/etc/group`),
//! read directly: the container's are what counts inside it, and the runtime, linked
//! statically, must not load glibc's NSS modules for the host's.

use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub gid: u32,
    pub members: Vec<String>,
}

fn lines(path: &Path) -> Vec<String> {
    // A root without these files is normal (busybox images, scratch): ids stay numeric.
    std::fs::read_to_string(path).map(|s| s.lines().map(str::to_string).collect()).unwrap_or_default()
}

/// The entries of `<root>/etc/passwd`.
pub fn users(root: &Path) -> Vec<User> {
    lines(&root.join("etc/passwd"))
        .iter()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() < 7 {
                return None;
            }
            Some(User { name: f[0].into(), uid: f[2].parse().ok()?, gid: f[3].parse().ok()?, home: f[5].into() })
        })
        .collect()
}

/// The entries of `<root>/etc/group`.
pub fn groups(root: &Path) -> Vec<Group> {
    lines(&root.join("etc/group"))
        .iter()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() < 4 {
                return None;
            }
            Some(Group {
                name: f[0].into(),
                gid: f[2].parse().ok()?,
                members: f[3].split(',').filter(|m| !m.is_empty()).map(str::to_string).collect(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_parse_and_comments_do_not() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("etc")).unwrap();
        std::fs::write(dir.path().join("etc/passwd"), "# c\nroot:x:0:0:root:/root:/bin/sh\nbad:x:y:0::/:/bin/sh\n")
            .unwrap();
        std::fs::write(dir.path().join("etc/group"), "staff:x:50:a,b\n").unwrap();
        assert_eq!(users(dir.path()), vec![User { name: "root".into(), uid: 0, gid: 0, home: "/root".into() }]);
        assert_eq!(groups(dir.path())[0].members, vec!["a", "b"]);
        assert!(users(Path::new("/nonexistent")).is_empty());
    }
}
