//! Containers for an unprivileged user: a user namespace in which the user is root (and,
//! with subordinate ids, uids 1..N are the ranges /etc/subuid grants), the mounts a user
//! namespace allows, and a cgroup only where one has been delegated to the user.

use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxIdMapping, LinuxIdMappingBuilder, LinuxNamespaceType, Mount, Spec};

use super::SpecError;
use crate::userns::SubordinateRange;

/// How the user's ids map into the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdMaps {
    pub uids: Vec<LinuxIdMapping>,
    pub gids: Vec<LinuxIdMapping>,
    /// Whether ids beyond the user's own (subordinate ranges) exist in the container.
    pub ranges: bool,
}

fn mapping(container: u32, host: u32, size: u32) -> Result<LinuxIdMapping, SpecError> {
    LinuxIdMappingBuilder::default()
        .container_id(container)
        .host_id(host)
        .size(size)
        .build()
        .map_err(|e| SpecError::invalid("linux.uidMappings", e.to_string()))
}

/// Container root is the user; with subordinate ranges, 1..=N are those ranges.
pub fn id_maps(uid: u32, gid: u32, ranges: Option<(SubordinateRange, SubordinateRange)>) -> Result<IdMaps, SpecError> {
    let mut uids = vec![mapping(0, uid, 1)?];
    let mut gids = vec![mapping(0, gid, 1)?];
    if let Some((u, g)) = ranges {
        uids.push(mapping(1, u.start, u.count)?);
        gids.push(mapping(1, g.start, g.count)?);
    }
    Ok(IdMaps { uids, gids, ranges: ranges.is_some() })
}

/// Whether `id` exists in the container under these maps.
pub fn mapped(maps: &[LinuxIdMapping], id: u32) -> bool {
    maps.iter().any(|m| id >= m.container_id() && id - m.container_id() < m.size())
}

/// The topmost cgroup (v2) above this process's own that the user owns: a subtree
/// delegated to the user, where the user's containers can get cgroups of their own.
pub fn delegated_cgroup(proc_self_cgroup: &str, cgroup_root: &Path, uid: u32) -> Option<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    let own = proc_self_cgroup.lines().find_map(|l| l.strip_prefix("0::"))?;
    let owned = |rel: &Path| {
        let dir = cgroup_root.join(rel.strip_prefix("/").unwrap_or(rel));
        std::fs::metadata(dir).is_ok_and(|m| m.uid() == uid)
    };
    Path::new(own.trim()).ancestors().take_while(|p| p != &Path::new("/") && owned(p)).last().map(Path::to_path_buf)
}

/// Turns a spec made for root into one an unprivileged user can run.
pub fn make_rootless(spec: &mut Spec, maps: &IdMaps) -> Result<(), SpecError> {
    let mut linux = spec.linux().clone().unwrap_or_default();
    let mut namespaces = linux.namespaces().clone().unwrap_or_default();
    if !namespaces.iter().any(|n| n.typ() == LinuxNamespaceType::User) {
        namespaces.insert(0, super::defaults::namespaces(&[LinuxNamespaceType::User]).remove(0));
    }
    linux.set_namespaces(Some(namespaces));
    linux.set_uid_mappings(Some(maps.uids.clone()));
    linux.set_gid_mappings(Some(maps.gids.clone()));
    spec.set_linux(Some(linux));
    let tty_group_mapped = mapped(&maps.gids, 5);
    let mounts: Vec<Mount> = spec
        .mounts()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|mut m| {
            if m.typ().as_deref() == Some("devpts") && !tty_group_mapped {
                let options =
                    m.options().clone().unwrap_or_default().into_iter().filter(|o| !o.starts_with("gid=")).collect();
                m.set_options(Some(options));
            }
            m
        })
        .collect();
    spec.set_mounts(Some(mounts));
    Ok(())
}

/// A config that asks for a new user namespace without uid (or gid) mappings gets the one
/// mapping every user may write: container root is the caller's own uid (gid). crun does
/// the same (`crun spec --rootless` writes no mappings); runc refuses such a config, and the
/// runtime-spec does not require a refusal. Returns whether anything was filled in.
pub fn fill_missing_id_maps(spec: &mut Spec, uid: u32, gid: u32) -> Result<bool, SpecError> {
    let Some(linux) = spec.linux_mut() else { return Ok(false) };
    let new_user_namespace = linux
        .namespaces()
        .as_ref()
        .is_some_and(|ns| ns.iter().any(|n| n.typ() == LinuxNamespaceType::User && n.path().is_none()));
    if !new_user_namespace {
        return Ok(false);
    }
    let mut filled = false;
    if linux.uid_mappings().as_ref().is_none_or(Vec::is_empty) {
        linux.set_uid_mappings(Some(vec![mapping(0, uid, 1)?]));
        filled = true;
    }
    if linux.gid_mappings().as_ref().is_none_or(Vec::is_empty) {
        linux.set_gid_mappings(Some(vec![mapping(0, gid, 1)?]));
        filled = true;
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_cover_the_user_and_its_ranges() {
        let r = SubordinateRange { start: 100_000, count: 65_536 };
        let m = id_maps(1000, 1000, Some((r, r))).unwrap();
        assert!(m.ranges && mapped(&m.uids, 0) && mapped(&m.uids, 1000) && mapped(&m.uids, 65_536));
        assert!(!mapped(&m.uids, 65_537));
        let alone = id_maps(1000, 1000, None).unwrap();
        assert!(!alone.ranges && mapped(&alone.uids, 0) && !mapped(&alone.uids, 1));
    }

    #[test]
    fn a_delegated_subtree_is_the_topmost_owned_ancestor() {
        use std::os::unix::fs::chown;
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("delegated/shell")).unwrap();
        let me = nix::unistd::geteuid().as_raw();
        // Everything under the temp dir is ours; the test marks the delegation boundary by
        // giving the root of the fixture to another owner when we can (as root).
        if me == 0 {
            chown(root.path(), Some(65534), None).unwrap();
        }
        let found = delegated_cgroup("0::/delegated/shell\n", root.path(), me);
        assert_eq!(found.as_deref(), Some(Path::new("/delegated")));
        assert_eq!(delegated_cgroup("4:memory:/x\n", root.path(), me), None, "no cgroup v2 line");
    }

    #[test]
    fn a_user_namespace_without_maps_maps_root_to_the_caller() {
        let mut spec: Spec = serde_json::from_value(serde_json::json!({
            "ociVersion": "1.0.0", "root": {"path": "rootfs"},
            "linux": {"namespaces": [{"type": "user"}, {"type": "mount"}],
                      "gidMappings": [{"containerID": 0, "hostID": 7, "size": 2}]}
        }))
        .unwrap();
        assert!(fill_missing_id_maps(&mut spec, 1000, 1001).unwrap());
        let linux = spec.linux().as_ref().unwrap();
        assert_eq!(linux.uid_mappings().as_ref().unwrap(), &vec![mapping(0, 1000, 1).unwrap()]);
        assert_eq!(linux.gid_mappings().as_ref().unwrap(), &vec![mapping(0, 7, 2).unwrap()], "given maps stay");
        assert!(!fill_missing_id_maps(&mut spec, 1000, 1001).unwrap());

        let mut joined: Spec = serde_json::from_value(serde_json::json!({
            "ociVersion": "1.0.0", "root": {"path": "rootfs"},
            "linux": {"namespaces": [{"type": "user", "path": "/proc/1/ns/user"}]}
        }))
        .unwrap();
        assert!(!fill_missing_id_maps(&mut joined, 1000, 1001).unwrap(), "a joined namespace has its maps");
        assert!(!fill_missing_id_maps(&mut super::super::default_spec().unwrap(), 0, 0).unwrap());
    }

    #[test]
    fn rootless_specs_get_a_user_namespace_and_lose_the_tty_gid() {
        let mut spec = super::super::default_spec().unwrap();
        make_rootless(&mut spec, &id_maps(1000, 1000, None).unwrap()).unwrap();
        let linux = spec.linux().as_ref().unwrap();
        assert_eq!(linux.namespaces().as_ref().unwrap()[0].typ(), LinuxNamespaceType::User);
        assert_eq!(linux.uid_mappings().as_ref().unwrap()[0].host_id(), 1000);
        let devpts = spec.mounts().as_ref().unwrap().iter().find(|m| m.typ().as_deref() == Some("devpts")).unwrap();
        assert!(!devpts.options().as_ref().unwrap().iter().any(|o| o.starts_with("gid=")));
    }
}
