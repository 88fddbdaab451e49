//! Reading and writing cgroup interface files with the path in every error.

use std::path::Path;

use super::CgroupError;

pub fn write_value(dir: &Path, file: &str, value: impl std::fmt::Display) -> Result<(), CgroupError> {
    let path = dir.join(file);
    let value = value.to_string();
    std::fs::write(&path, &value).map_err(|source| CgroupError::Write { path, value, source })
}

pub fn read_value(dir: &Path, file: &str) -> Result<String, CgroupError> {
    let path = dir.join(file);
    std::fs::read_to_string(&path).map_err(|source| CgroupError::Read { path, source })
}
