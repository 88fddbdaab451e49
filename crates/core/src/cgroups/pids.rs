//! pids: `pids.max`, the same interface on cgroup v1 and v2.

use std::path::Path;

use oci_spec::runtime::LinuxPids;

use crate::cgroups::{write_value, CgroupError};

pub(crate) fn apply(p: &LinuxPids, dir: &Path) -> Result<(), CgroupError> {
    if p.limit() > 0 {
        write_value(dir, "pids.max", p.limit())
    } else {
        write_value(dir, "pids.max", "max")
    }
}
