//! blkio (v1): weights (CFQ's `blkio.weight` or BFQ's `blkio.bfq.weight`) and throttling.

use std::path::Path;

use oci_spec::runtime::{LinuxBlockIo, LinuxThrottleDevice};

use crate::cgroups::{write_value, CgroupError};

/// The weight file this kernel's I/O scheduler offers, if any.
fn weight_file(dir: &Path, leaf: bool) -> Result<&'static str, CgroupError> {
    let candidates: &[&'static str] =
        if leaf { &["blkio.leaf_weight", "blkio.bfq.leaf_weight"] } else { &["blkio.weight", "blkio.bfq.weight"] };
    candidates
        .iter()
        .copied()
        .find(|f| dir.join(f).exists())
        .ok_or(CgroupError::ControllerMissing { controller: "blkio weight (CFQ or BFQ)", what: "block I/O weight" })
}

fn throttle(dir: &Path, file: &str, devices: &[LinuxThrottleDevice]) -> Result<(), CgroupError> {
    for d in devices {
        write_value(dir, file, format!("{}:{} {}", d.major(), d.minor(), d.rate()))?;
    }
    Ok(())
}

/// A weight of 0 means "not set" (Docker sends it that way), as runc reads it.
fn set(weight: Option<u16>) -> Option<u16> {
    weight.filter(|w| *w != 0)
}

pub(super) fn apply(b: &LinuxBlockIo, dir: &Path) -> Result<(), CgroupError> {
    if let Some(w) = set(b.weight()) {
        write_value(dir, weight_file(dir, false)?, w)?;
    }
    if let Some(w) = set(b.leaf_weight()) {
        write_value(dir, weight_file(dir, true)?, w)?;
    }
    for d in b.weight_device().as_deref().unwrap_or_default() {
        if let Some(w) = set(d.weight()) {
            let file = format!("{}_device", weight_file(dir, false)?);
            write_value(dir, &file, format!("{}:{} {w}", d.major(), d.minor()))?;
        }
        if let Some(w) = set(d.leaf_weight()) {
            let leaf = format!("{}_device", weight_file(dir, true)?);
            write_value(dir, &leaf, format!("{}:{} {w}", d.major(), d.minor()))?;
        }
    }
    throttle(dir, "blkio.throttle.read_bps_device", b.throttle_read_bps_device().as_deref().unwrap_or_default())?;
    throttle(dir, "blkio.throttle.write_bps_device", b.throttle_write_bps_device().as_deref().unwrap_or_default())?;
    throttle(dir, "blkio.throttle.read_iops_device", b.throttle_read_iops_device().as_deref().unwrap_or_default())?;
    throttle(dir, "blkio.throttle.write_iops_device", b.throttle_write_iops_device().as_deref().unwrap_or_default())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttles_are_written_and_a_missing_weight_interface_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let b: LinuxBlockIo =
            serde_json::from_str(r#"{"throttleReadBpsDevice":[{"major":8,"minor":0,"rate":1048576}]}"#).unwrap();
        apply(&b, dir.path()).unwrap();
        assert_eq!(std::fs::read_to_string(dir.path().join("blkio.throttle.read_bps_device")).unwrap(), "8:0 1048576");
        let unset: LinuxBlockIo = serde_json::from_str(r#"{"weight":0,"leafWeight":0}"#).unwrap();
        apply(&unset, dir.path()).expect("a zero weight is no weight");
        let w: LinuxBlockIo = serde_json::from_str(r#"{"weight":500}"#).unwrap();
        assert!(apply(&w, dir.path()).unwrap_err().to_string().contains("blkio weight (CFQ or BFQ)"));
        std::fs::write(dir.path().join("blkio.bfq.weight"), "").unwrap();
        apply(&w, dir.path()).unwrap();
        assert_eq!(std::fs::read_to_string(dir.path().join("blkio.bfq.weight")).unwrap(), "500");
    }
}
