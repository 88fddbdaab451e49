//! hugetlb: limits per huge page size. cgroup v1 names the file
//! `hugetlb.<size>.limit_in_bytes`, cgroup v2 `hugetlb.<size>.max` (on hybrid hosts the
//! controller often lives on the cgroup2 side).

use std::path::Path;

use oci_spec::runtime::LinuxHugepageLimit;

use super::{write_value, CgroupError};

#[derive(Clone, Copy)]
pub(crate) enum Flavor {
    V1,
    V2,
}

pub(crate) fn apply(limits: &[LinuxHugepageLimit], dir: &Path, flavor: Flavor) -> Result<(), CgroupError> {
    for l in limits {
        let size = l.page_size();
        if size.is_empty() || !size.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(CgroupError::Unavailable { what: format!("huge page size `{size}`") });
        }
        let file = match flavor {
            Flavor::V1 => format!("hugetlb.{size}.limit_in_bytes"),
            Flavor::V2 => format!("hugetlb.{size}.max"),
        };
        if !dir.join(&file).exists() {
            return Err(CgroupError::Unavailable {
                what: format!("a limit on {size} huge pages (there is no {file})"),
            });
        }
        write_value(dir, &file, l.limit())?;
    }
    Ok(())
}
