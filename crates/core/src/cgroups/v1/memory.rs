//! memory (v1): `memory.limit_in_bytes`, `memory.memsw.limit_in_bytes` and friends.

use std::path::Path;

use oci_spec::runtime::LinuxMemory;

use crate::cgroups::{write_value, CgroupError};

const LIMIT: &str = "memory.limit_in_bytes";
const MEMSW: &str = "memory.memsw.limit_in_bytes";

fn write_limit_and_swap(dir: &Path, limit: Option<i64>, swap: Option<i64>) -> Result<(), CgroupError> {
    let memsw_available = dir.join(MEMSW).exists();
    let swap = match swap {
        // Without swap accounting the kernel cannot cap swap; asking for no swap beyond
        // the memory limit (swap == limit) is then all a limit can say, so it is not lost.
        Some(s) if !memsw_available => {
            if Some(s) == limit || s == 0 {
                None
            } else {
                return Err(CgroupError::ControllerMissing {
                    controller: "memory.memsw (swap accounting)",
                    what: "swap limit",
                });
            }
        }
        other => other,
    };
    match (limit, swap) {
        (Some(l), Some(s)) => {
            // memsw must stay >= limit at every step, so the order depends on direction.
            if write_value(dir, LIMIT, l).is_err() {
                write_value(dir, MEMSW, s)?;
                write_value(dir, LIMIT, l)
            } else {
                write_value(dir, MEMSW, s)
            }
        }
        (Some(l), None) => write_value(dir, LIMIT, l),
        (None, Some(s)) => write_value(dir, MEMSW, s),
        (None, None) => Ok(()),
    }
}

pub(super) fn apply(m: &LinuxMemory, dir: &Path) -> Result<(), CgroupError> {
    write_limit_and_swap(dir, m.limit(), m.swap())?;
    if let Some(r) = m.reservation() {
        write_value(dir, "memory.soft_limit_in_bytes", r)?;
    }
    if let Some(t) = m.kernel_tcp() {
        write_value(dir, "memory.kmem.tcp.limit_in_bytes", t)?;
    }
    if let Some(s) = m.swappiness() {
        if s > 100 {
            return Err(CgroupError::Unsupported { what: format!("memory swappiness {s} (0 to 100)"), version: "v1" });
        }
        write_value(dir, "memory.swappiness", s)?;
    }
    if m.disable_oom_killer() == Some(true) {
        write_value(dir, "memory.oom_control", 1)?;
    }
    // `kernel` (kmem) is deprecated by the runtime-spec and ignored, as runc does.
    Ok(())
}
