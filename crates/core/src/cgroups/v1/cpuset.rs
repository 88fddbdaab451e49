//! cpuset (v1): a new cpuset cgroup starts with no CPUs and no memory nodes, so it must
//! inherit its parent's before a process can join it.

use std::path::Path;

use oci_spec::runtime::LinuxCpu;

use crate::cgroups::{read_value, write_value, CgroupError};

pub(super) fn needed(c: &LinuxCpu) -> bool {
    c.cpus().as_deref().is_some_and(|s| !s.is_empty()) || c.mems().as_deref().is_some_and(|s| !s.is_empty())
}

pub(super) fn apply(c: &LinuxCpu, dir: &Path) -> Result<(), CgroupError> {
    if let Some(mems) = c.mems().as_deref().filter(|s| !s.is_empty()) {
        write_value(dir, "cpuset.mems", mems)?;
    }
    if let Some(cpus) = c.cpus().as_deref().filter(|s| !s.is_empty()) {
        write_value(dir, "cpuset.cpus", cpus)?;
    }
    Ok(())
}

/// Fills empty `cpuset.cpus` and `cpuset.mems` from the parent, top down from the
/// hierarchy's mount point to `dir`.
pub(super) fn inherit_from_parents(mount_point: &Path, dir: &Path) -> Result<(), CgroupError> {
    let Ok(relative) = dir.strip_prefix(mount_point) else {
        return Ok(());
    };
    let mut parent = mount_point.to_path_buf();
    for component in relative.components() {
        let child = parent.join(component);
        for file in ["cpuset.cpus", "cpuset.mems"] {
            let current = read_value(&child, file).unwrap_or_default();
            if current.trim().is_empty() {
                let inherited = read_value(&parent, file)?;
                write_value(&child, file, inherited.trim())?;
            }
        }
        parent = child;
    }
    Ok(())
}
