//! cpu (v1): CFS quota and period, shares, realtime budget.

use std::path::Path;

use oci_spec::runtime::LinuxCpu;

use crate::cgroups::{write_value, CgroupError};

pub(super) fn needed(c: &LinuxCpu) -> bool {
    c.shares().is_some()
        || c.quota().is_some()
        || c.period().is_some()
        || c.realtime_runtime().is_some()
        || c.realtime_period().is_some()
        || c.idle().is_some()
        || c.burst().is_some()
}

pub(super) fn apply(c: &LinuxCpu, dir: &Path) -> Result<(), CgroupError> {
    if let Some(shares) = c.shares().filter(|s| *s != 0) {
        write_value(dir, "cpu.shares", shares)?;
    }
    // The period first: a quota is checked against the period in place.
    if let Some(period) = c.period().filter(|p| *p != 0) {
        write_value(dir, "cpu.cfs_period_us", period)?;
    }
    if let Some(quota) = c.quota().filter(|q| *q != 0) {
        write_value(dir, "cpu.cfs_quota_us", quota)?;
    }
    if let Some(burst) = c.burst() {
        write_value(dir, "cpu.cfs_burst_us", burst)?;
    }
    if let Some(period) = c.realtime_period().filter(|p| *p != 0) {
        write_value(dir, "cpu.rt_period_us", period)?;
    }
    if let Some(runtime) = c.realtime_runtime().filter(|r| *r != 0) {
        write_value(dir, "cpu.rt_runtime_us", runtime)?;
    }
    if let Some(idle) = c.idle() {
        write_value(dir, "cpu.idle", idle)?;
    }
    Ok(())
}
