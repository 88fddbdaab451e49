//! cpu and cpuset (v2): `cpu.max`, `cpu.weight`, `cpuset.cpus`/`cpuset.mems`.

use std::path::Path;

use oci_spec::runtime::LinuxCpu;

use crate::cgroups::{convert_shares_to_weight, write_value, CgroupError};

pub(super) fn apply(
    c: &LinuxCpu,
    dir: &Path,
    require: impl Fn(&'static str, &'static str) -> Result<(), CgroupError>,
) -> Result<(), CgroupError> {
    let quota = c.quota().filter(|q| *q != 0);
    let period = c.period().filter(|p| *p != 0);
    if quota.is_some()
        || period.is_some()
        || c.shares().is_some_and(|s| s != 0)
        || c.idle().is_some()
        || c.burst().is_some()
    {
        require("cpu", "CPU limit")?;
    }
    if quota.is_some() || period.is_some() {
        let quota_text = match quota {
            Some(q) if q > 0 => q.to_string(),
            _ => "max".into(),
        };
        let period = period.unwrap_or(100_000);
        write_value(dir, "cpu.max", format!("{quota_text} {period}"))?;
    }
    if let Some(shares) = c.shares().filter(|s| *s != 0) {
        write_value(dir, "cpu.weight", convert_shares_to_weight(shares))?;
    }
    if let Some(burst) = c.burst() {
        write_value(dir, "cpu.max.burst", burst)?;
    }
    if let Some(idle) = c.idle() {
        write_value(dir, "cpu.idle", idle)?;
    }
    if c.realtime_runtime().is_some_and(|r| r != 0) || c.realtime_period().is_some_and(|p| p != 0) {
        return Err(CgroupError::Unsupported { what: "realtime CPU scheduling limits".into(), version: "v2" });
    }
    let cpus = c.cpus().as_deref().filter(|s| !s.is_empty());
    let mems = c.mems().as_deref().filter(|s| !s.is_empty());
    if cpus.is_some() || mems.is_some() {
        require("cpuset", "CPU set")?;
    }
    if let Some(cpus) = cpus {
        write_value(dir, "cpuset.cpus", cpus)?;
    }
    if let Some(mems) = mems {
        write_value(dir, "cpuset.mems", mems)?;
    }
    Ok(())
}
