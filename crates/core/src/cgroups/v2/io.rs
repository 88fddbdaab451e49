//! io (v2): weights and per-device limits in `io.max`.

use std::collections::BTreeMap;
use std::path::Path;

use oci_spec::runtime::LinuxBlockIo;

use crate::cgroups::{write_value, CgroupError};

/// blkio's weight (10..1000) as io.weight's (1..10000), the mapping runc uses.
pub fn convert_blkio_weight(weight: u16) -> u64 {
    if weight == 0 {
        return 0;
    }
    1 + (u64::from(weight.clamp(10, 1000)) - 10) * 9999 / 990
}

pub(super) fn apply(b: &LinuxBlockIo, dir: &Path) -> Result<(), CgroupError> {
    let weight_file = if dir.join("io.bfq.weight").exists() { "io.bfq.weight" } else { "io.weight" };
    // A weight of 0 means "not set" (Docker sends it that way).
    if let Some(w) = b.weight().filter(|w| *w != 0) {
        let value = if weight_file == "io.bfq.weight" { u64::from(w) } else { convert_blkio_weight(w) };
        write_value(dir, weight_file, format!("default {value}"))?;
    }
    for d in b.weight_device().as_deref().unwrap_or_default() {
        if let Some(w) = d.weight().filter(|w| *w != 0) {
            let value = if weight_file == "io.bfq.weight" { u64::from(w) } else { convert_blkio_weight(w) };
            write_value(dir, weight_file, format!("{}:{} {value}", d.major(), d.minor()))?;
        }
    }
    // One io.max line per device, with every limit the spec gives for it.
    let mut max: BTreeMap<(i64, i64), Vec<String>> = BTreeMap::new();
    for (key, list) in [
        ("rbps", b.throttle_read_bps_device()),
        ("wbps", b.throttle_write_bps_device()),
        ("riops", b.throttle_read_iops_device()),
        ("wiops", b.throttle_write_iops_device()),
    ] {
        for d in list.as_deref().unwrap_or_default() {
            max.entry((d.major(), d.minor())).or_default().push(format!("{key}={}", d.rate()));
        }
    }
    for ((major, minor), limits) in max {
        write_value(dir, "io.max", format!("{major}:{minor} {}", limits.join(" ")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_convert_and_limits_group_per_device() {
        assert_eq!(convert_blkio_weight(10), 1);
        assert_eq!(convert_blkio_weight(1000), 10000);
        let dir = tempfile::tempdir().unwrap();
        let b: LinuxBlockIo = serde_json::from_str(
            r#"{"throttleReadBpsDevice":[{"major":8,"minor":0,"rate":100}],"throttleWriteIOPSDevice":[{"major":8,"minor":0,"rate":5}]}"#,
        )
        .unwrap();
        apply(&b, dir.path()).unwrap();
        assert_eq!(std::fs::read_to_string(dir.path().join("io.max")).unwrap(), "8:0 rbps=100 wiops=5");
    }
}
