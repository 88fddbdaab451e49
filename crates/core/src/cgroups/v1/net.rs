//! net_cls and net_prio (v1 only): a class id for traffic control, priorities per interface.

use std::path::Path;

use oci_spec::runtime::LinuxNetwork;

use crate::cgroups::{write_value, CgroupError};

pub(super) fn apply_class(n: &LinuxNetwork, dir: &Path) -> Result<(), CgroupError> {
    match n.class_id() {
        Some(id) => write_value(dir, "net_cls.classid", id),
        None => Ok(()),
    }
}

pub(super) fn apply_priorities(n: &LinuxNetwork, dir: &Path) -> Result<(), CgroupError> {
    for p in n.priorities().as_deref().unwrap_or_default() {
        write_value(dir, "net_prio.ifpriomap", format!("{} {}", p.name(), p.priority()))?;
    }
    Ok(())
}
