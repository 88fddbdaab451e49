//! The user and group databases as files (`/etc/passwd`, `/etc/group` of a root directory),
//! read directly: the container's are what counts inside it, and the runtime, linked
//! statically, must not load glibc's NSS modules for the host's. A rootfs is untrusted: its
//! files are read through [`crate::rootfs::confined`], inside the rootfs and bounded.

use std::os::fd::BorrowedFd;
use std::path::Path;

use crate::rootfs::confined::{self, ConfinedError};

/// The largest /etc/passwd or /etc/group read: tens of thousands of entries, far beyond any
/// image's, and small enough that a hostile rootfs cannot exhaust the reader's memory.
pub const MAX_DATABASE_SIZE: u64 = 4 * 1024 * 1024;

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

/// The entries of a database's text, comments left out.
fn entries(text: &[u8], min_fields: usize) -> Vec<Vec<String>> {
    String::from_utf8_lossy(text)
        .lines()
        .filter(|line| !line.starts_with('#'))
        .map(|line| line.split(':').map(str::to_string).collect::<Vec<_>>())
        .filter(|fields| fields.len() >= min_fields)
        .collect()
}

/// A database file under `root`; empty when it does not exist (busybox images, scratch: ids
/// stay numeric).
fn read(root: BorrowedFd<'_>, path: &str) -> Result<Vec<u8>, ConfinedError> {
    Ok(confined::read_file(root, Path::new(path), MAX_DATABASE_SIZE)?.unwrap_or_default())
}

/// The entries of `/etc/passwd` under `root`.
pub fn users(root: BorrowedFd<'_>) -> Result<Vec<User>, ConfinedError> {
    Ok(parse_users(&read(root, "/etc/passwd")?))
}

/// The entries of `/etc/group` under `root`.
pub fn groups(root: BorrowedFd<'_>) -> Result<Vec<Group>, ConfinedError> {
    Ok(parse_groups(&read(root, "/etc/group")?))
}

/// The entries of an `/etc/passwd` read elsewhere (an image's, from its layers).
pub fn parse_users(text: &[u8]) -> Vec<User> {
    entries(text, 7)
        .into_iter()
        .filter_map(|f| {
            Some(User { name: f[0].clone(), uid: f[2].parse().ok()?, gid: f[3].parse().ok()?, home: f[5].clone() })
        })
        .collect()
}

/// The entries of an `/etc/group` read elsewhere.
pub fn parse_groups(text: &[u8]) -> Vec<Group> {
    entries(text, 4)
        .into_iter()
        .filter_map(|f| {
            Some(Group {
                name: f[0].clone(),
                gid: f[2].parse().ok()?,
                members: f[3].split(',').filter(|m| !m.is_empty()).map(str::to_string).collect(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::fcntl::{open, OFlag};
    use nix::sys::stat::Mode;
    use std::os::fd::AsFd;

    #[test]
    fn entries_parse_and_comments_do_not() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("etc")).unwrap();
        std::fs::write(dir.path().join("etc/passwd"), "# c\nroot:x:0:0:root:/root:/bin/sh\nbad:x:y:0::/:/bin/sh\n")
            .unwrap();
        std::fs::write(dir.path().join("etc/group"), "staff:x:50:a,b\n").unwrap();
        let root = open(dir.path(), OFlag::O_PATH | OFlag::O_DIRECTORY, Mode::empty()).unwrap();
        assert_eq!(
            users(root.as_fd()).unwrap(),
            vec![User { name: "root".into(), uid: 0, gid: 0, home: "/root".into() }]
        );
        assert_eq!(groups(root.as_fd()).unwrap()[0].members, vec!["a", "b"]);
        let empty = tempfile::tempdir().unwrap();
        let root = open(empty.path(), OFlag::O_PATH | OFlag::O_DIRECTORY, Mode::empty()).unwrap();
        assert!(users(root.as_fd()).unwrap().is_empty());
    }
}
