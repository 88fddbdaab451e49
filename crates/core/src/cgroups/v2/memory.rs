//! memory (v2): `memory.max`, `memory.swap.max`, `memory.low`.

use std::path::Path;

use oci_spec::runtime::LinuxMemory;

use crate::cgroups::{write_value, CgroupError};

fn limit_text(v: i64) -> String {
    if v < 0 {
        "max".into()
    } else {
        v.to_string()
    }
}

/// The runtime-spec's `swap` is memory plus swap (v1's memsw); v2's `memory.swap.max` is
/// swap alone.
pub(crate) fn swap_only(limit: Option<i64>, swap: i64) -> Result<String, CgroupError> {
    match (limit, swap) {
        (_, s) if s < 0 => Ok("max".into()),
        (Some(l), s) if l >= 0 => {
            if s < l {
                return Err(CgroupError::Unsupported {
                    what: "a swap limit below the memory limit".into(),
                    version: "v2",
                });
            }
            Ok((s - l).to_string())
        }
        _ => Err(CgroupError::Unsupported { what: "a swap limit without a memory limit".into(), version: "v2" }),
    }
}

pub(super) fn apply(m: &LinuxMemory, dir: &Path) -> Result<(), CgroupError> {
    if let Some(limit) = m.limit() {
        write_value(dir, "memory.max", limit_text(limit))?;
    }
    if let Some(swap) = m.swap() {
        let value = swap_only(m.limit(), swap)?;
        // Without swap support the file is absent; "no swap" is then already true.
        if dir.join("memory.swap.max").exists() || value != "0" {
            write_value(dir, "memory.swap.max", value)?;
        }
    }
    if let Some(r) = m.reservation() {
        write_value(dir, "memory.low", limit_text(r))?;
    }
    if m.disable_oom_killer() == Some(true) {
        return Err(CgroupError::Unsupported { what: "disabling the OOM killer".into(), version: "v2" });
    }
    if let Some(s) = m.swappiness() {
        return Err(CgroupError::Unsupported { what: format!("memory swappiness ({s})"), version: "v2" });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swap_is_converted_from_memsw() {
        assert_eq!(swap_only(Some(100), 100).unwrap(), "0");
        assert_eq!(swap_only(Some(100), 300).unwrap(), "200");
        assert_eq!(swap_only(Some(100), -1).unwrap(), "max");
        assert!(swap_only(Some(100), 50).is_err());
        assert!(swap_only(None, 50).is_err());
    }
}
