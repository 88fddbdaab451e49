//! `--user uid[:gid]` (or names) resolved against the container's /etc/passwd and
//! /etc/group, as Docker resolves it against the image.

use std::os::fd::BorrowedFd;
use std::path::Path;

use super::SpecError;
use crate::passwd::{Group, User};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedUser {
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub home: String,
}

/// Resolves `spec` (`uid`, `uid:gid`, `name`, `name:group`, or none for root) against the
/// databases of the rootfs `root` (at `rootfs` on the host, for messages).
pub fn resolve(spec: Option<&str>, root: BorrowedFd<'_>, rootfs: &Path) -> Result<ResolvedUser, SpecError> {
    let unreadable = |e: crate::rootfs::confined::ConfinedError| SpecError::Rootfs {
        path: rootfs.to_path_buf(),
        reason: crate::error::chain(&e),
    };
    let users = crate::passwd::users(root).map_err(unreadable)?;
    let groups = crate::passwd::groups(root).map_err(unreadable)?;
    resolve_in(spec, &users, &groups)
}

/// Resolves `spec` as [`resolve`] does, against databases read elsewhere (an image's, from
/// its layers, before any rootfs exists).
pub fn resolve_in(spec: Option<&str>, users: &[User], groups: &[Group]) -> Result<ResolvedUser, SpecError> {
    let bad = |reason: String| SpecError::option("user", spec.unwrap_or_default(), reason);
    let (user_part, group_part) = match spec {
        None | Some("") => ("0", None),
        Some(s) => match s.split_once(':') {
            Some((u, g)) => (u, Some(g)),
            None => (s, None),
        },
    };
    let entry = match user_part.parse::<u32>() {
        Ok(uid) => users.iter().find(|e| e.uid == uid),
        Err(_) => Some(
            users
                .iter()
                .find(|e| e.name == user_part)
                .ok_or_else(|| bad(format!("no user `{user_part}` in the container's /etc/passwd")))?,
        ),
    };
    let uid = match entry {
        Some(e) => e.uid,
        None => user_part.parse().map_err(|_| bad("expected uid[:gid]".into()))?,
    };
    let gid = match group_part {
        Some("") => return Err(bad("expected uid[:gid]".into())),
        Some(g) => match g.parse::<u32>() {
            Ok(gid) => gid,
            Err(_) => groups
                .iter()
                .find(|e| e.name == g)
                .map(|e| e.gid)
                .ok_or_else(|| bad(format!("no group `{g}` in the container's /etc/group")))?,
        },
        None => entry.map(|e| e.gid).unwrap_or(0),
    };
    // Supplementary groups come from /etc/group membership, unless a group was forced.
    let additional_gids = match (entry, group_part) {
        (Some(e), None) => {
            let mut gids: Vec<u32> = groups.iter().filter(|g| g.members.contains(&e.name)).map(|g| g.gid).collect();
            gids.retain(|g| *g != gid);
            gids.sort_unstable();
            gids.dedup();
            gids
        }
        _ => Vec::new(),
    };
    let home = entry.map(|e| e.home.clone()).filter(|h| !h.is_empty()).unwrap_or_else(|| "/".into());
    Ok(ResolvedUser { uid, gid, additional_gids, home })
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::fcntl::{open, OFlag};
    use nix::sys::stat::Mode;
    use std::os::fd::AsFd;

    fn resolve(spec: Option<&str>, rootfs: &Path) -> Result<ResolvedUser, SpecError> {
        let root = open(rootfs, OFlag::O_PATH | OFlag::O_DIRECTORY, Mode::empty()).unwrap();
        super::resolve(spec, root.as_fd(), rootfs)
    }

    fn rootfs() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("etc")).unwrap();
        std::fs::write(
            dir.path().join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nalice:x:1000:1000::/home/alice:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("etc/group"),
            "root:x:0:\nstaff:x:50:alice\nalice:x:1000:\naudio:x:29:alice,bob\n",
        )
        .unwrap();
        dir
    }

    #[test]
    fn default_is_root() {
        let r = resolve(None, rootfs().path()).unwrap();
        assert_eq!((r.uid, r.gid, r.home.as_str()), (0, 0, "/root"));
    }

    #[test]
    fn numeric_ids_need_no_passwd() {
        let empty = tempfile::tempdir().unwrap();
        let r = resolve(Some("1234:5678"), empty.path()).unwrap();
        assert_eq!((r.uid, r.gid, r.home.as_str()), (1234, 5678, "/"));
        let r = resolve(Some("1234"), empty.path()).unwrap();
        assert_eq!((r.uid, r.gid), (1234, 0));
    }

    #[test]
    fn names_resolve_with_supplementary_groups() {
        let r = resolve(Some("alice"), rootfs().path()).unwrap();
        assert_eq!(r, ResolvedUser { uid: 1000, gid: 1000, additional_gids: vec![29, 50], home: "/home/alice".into() });
        let r = resolve(Some("1000:staff"), rootfs().path()).unwrap();
        assert_eq!((r.uid, r.gid, r.additional_gids.len()), (1000, 50, 0));
    }

    #[test]
    fn unknown_names_are_errors() {
        let err = resolve(Some("mallory"), rootfs().path()).unwrap_err().to_string();
        assert_eq!(err, "invalid user `mallory`: no user `mallory` in the container's /etc/passwd");
        assert!(resolve(Some("1000:nogroup"), rootfs().path()).is_err());
        assert!(resolve(Some("1000:"), rootfs().path()).is_err());
    }

    #[test]
    fn databases_read_elsewhere_resolve_the_same() {
        let users =
            crate::passwd::parse_users(b"# c\nroot:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n");
        let groups = crate::passwd::parse_groups(b"staff:x:50:alice\nbad:x:y:alice\n");
        let r = resolve_in(Some("alice"), &users, &groups).unwrap();
        assert_eq!(r, ResolvedUser { uid: 1000, gid: 1000, additional_gids: vec![50], home: "/home/alice".into() });
        assert_eq!(resolve_in(None, &users, &groups).unwrap().home, "/root");
        assert_eq!(resolve_in(None, &[], &[]).unwrap().home, "/", "no /etc/passwd: root, home /");
    }
}
