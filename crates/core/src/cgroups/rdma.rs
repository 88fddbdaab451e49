//! rdma: per-device limits on RDMA handles and objects (`rdma.max`, v1 and v2 alike).

use std::collections::HashMap;
use std::path::Path;

use oci_spec::runtime::LinuxRdma;

use super::{write_value, CgroupError};

pub(crate) fn apply(limits: &HashMap<String, LinuxRdma>, dir: &Path) -> Result<(), CgroupError> {
    for (device, l) in limits {
        let mut parts = vec![device.clone()];
        if let Some(h) = l.hca_handles() {
            parts.push(format!("hca_handle={h}"));
        }
        if let Some(o) = l.hca_objects() {
            parts.push(format!("hca_object={o}"));
        }
        if parts.len() > 1 {
            write_value(dir, "rdma.max", parts.join(" "))?;
        }
    }
    Ok(())
}
