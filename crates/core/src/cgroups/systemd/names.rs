//! Where a container's scope goes, from the spec's `cgroupsPath` in runc's systemd form
//! `slice:prefix:name` (`system.slice:docker:abc` → unit `docker-abc.scope` in
//! `system.slice`), and the cgroup directory systemd gives it.

use std::path::{Path, PathBuf};

use super::SystemdError;

/// The unit a container runs in: a transient scope `prefix-name.scope` in `slice`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitName {
    /// The parent slice as systemd names it (`system.slice`, `machine-pod1.slice`).
    pub slice: String,
    /// The unit's own name (`runc-abc.scope`).
    pub unit: String,
}

/// runc's default slices: the system manager's `system.slice`, a user manager's
/// `user.slice`.
pub fn default_slice(user: bool) -> &'static str {
    if user {
        "user.slice"
    } else {
        "system.slice"
    }
}

/// Reads `cgroupsPath` as runc does with `--systemd-cgroup`: empty means `runc-<id>.scope`
/// in the default slice; otherwise exactly three `:`-separated parts, of which an empty
/// slice means the default one.
pub fn parse(cgroups_path: Option<&str>, id: &str, user: bool) -> Result<UnitName, SystemdError> {
    let (slice, prefix, name) = match cgroups_path.filter(|p| !p.is_empty()) {
        None => ("", "runc", id),
        Some(path) => {
            let parts: Vec<&str> = path.split(':').collect();
            let [slice, prefix, name] = parts[..] else {
                return Err(SystemdError::CgroupsPath { path: path.to_string() });
            };
            (slice, prefix, name)
        }
    };
    if name.is_empty() || name.contains('/') {
        return Err(SystemdError::UnitName { name: name.to_string() });
    }
    // runc makes a slice of a name that is one; a container's process cannot live in a
    // slice (only scopes and services hold processes), so systemd would refuse it anyway.
    if name.ends_with(".slice") {
        return Err(SystemdError::SliceName { name: name.to_string() });
    }
    let slice = if slice.is_empty() { default_slice(user) } else { slice };
    expand_slice(slice)?;
    // runc's format even for an empty prefix (`-name.scope`), so both name the same unit.
    let unit = format!("{prefix}-{name}.scope");
    Ok(UnitName { slice: slice.to_string(), unit })
}

/// The cgroup path of a slice: systemd nests slices by their dashes, so `a-b-c.slice` is
/// `/a.slice/a-b.slice/a-b-c.slice`, and `-.slice` is the root.
pub fn expand_slice(slice: &str) -> Result<PathBuf, SystemdError> {
    let invalid = || SystemdError::SliceName { name: slice.to_string() };
    let base = slice.strip_suffix(".slice").filter(|b| !b.is_empty() && !slice.contains('/')).ok_or_else(invalid)?;
    if base == "-" {
        return Ok(PathBuf::from("/"));
    }
    let mut path = PathBuf::from("/");
    let mut prefix = String::new();
    for component in base.split('-') {
        if component.is_empty() {
            return Err(invalid());
        }
        prefix.push_str(component);
        path.push(format!("{prefix}.slice"));
        prefix.push('-');
    }
    Ok(path)
}

impl UnitName {
    /// The scope's cgroup, relative to the cgroup root: under the slice, itself under the
    /// manager's own cgroup for a user manager (`/user.slice/user-1000.slice/user@1000.service`).
    pub fn cgroup(&self, manager_cgroup: &Path) -> Result<PathBuf, SystemdError> {
        let slice = expand_slice(&self.slice)?;
        let slice = slice.strip_prefix("/").unwrap_or(&slice);
        Ok(manager_cgroup.join(slice).join(&self.unit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_expand_by_their_dashes() {
        assert_eq!(expand_slice("system.slice").unwrap(), PathBuf::from("/system.slice"));
        assert_eq!(expand_slice("test-a-b.slice").unwrap(), PathBuf::from("/test.slice/test-a.slice/test-a-b.slice"));
        assert_eq!(expand_slice("-.slice").unwrap(), PathBuf::from("/"));
        for bad in ["", ".slice", "system", "test--a.slice", "-test.slice", "a/b.slice", "test-.slice"] {
            assert!(expand_slice(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cgroups_path_names_slice_prefix_and_name() {
        let n = parse(Some("machine-pod1.slice:libpod:abc"), "id", false).unwrap();
        assert_eq!(n, UnitName { slice: "machine-pod1.slice".into(), unit: "libpod-abc.scope".into() });
        assert_eq!(
            n.cgroup(Path::new("/")).unwrap(),
            PathBuf::from("/machine.slice/machine-pod1.slice/libpod-abc.scope")
        );
        let empty_slice = parse(Some(":docker:abc"), "id", false).unwrap();
        assert_eq!(empty_slice.slice, "system.slice");
        assert_eq!(parse(Some("system.slice::abc"), "id", false).unwrap().unit, "-abc.scope");
    }

    #[test]
    fn defaults_follow_runc() {
        let root = parse(None, "c1", false).unwrap();
        assert_eq!(root, UnitName { slice: "system.slice".into(), unit: "runc-c1.scope".into() });
        let user = parse(Some(""), "c1", true).unwrap();
        assert_eq!(user.slice, "user.slice");
        assert_eq!(
            user.cgroup(Path::new("/user.slice/user-1000.slice/user@1000.service")).unwrap(),
            PathBuf::from("/user.slice/user-1000.slice/user@1000.service/user.slice/runc-c1.scope")
        );
    }

    #[test]
    fn malformed_paths_are_refused() {
        assert!(matches!(parse(Some("/a/b"), "id", false), Err(SystemdError::CgroupsPath { .. })));
        assert!(matches!(parse(Some("a:b"), "id", false), Err(SystemdError::CgroupsPath { .. })));
        assert!(matches!(parse(Some("bad:p:n"), "id", false), Err(SystemdError::SliceName { .. })));
        assert!(matches!(parse(Some("system.slice:p:"), "id", false), Err(SystemdError::UnitName { .. })));
        assert!(matches!(parse(Some("system.slice:p:x.slice"), "id", false), Err(SystemdError::SliceName { .. })));
    }
}
