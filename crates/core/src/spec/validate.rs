//! Checks a parsed config once, before anything is created, so a bad config fails with a
//! sentence naming the field and leaves nothing behind.

use std::collections::HashSet;

use oci_spec::runtime::{LinuxNamespaceType, Spec};

use super::{SpecError, OCI_VERSION_MAX, OCI_VERSION_MIN};

fn check_version(version: &str) -> Result<(), SpecError> {
    let bad = || {
        SpecError::invalid(
            "ociVersion",
            format!(
                "`{version}` is not supported (this runtime accepts {}.{}.0 to {}.{}.x)",
                OCI_VERSION_MIN.0, OCI_VERSION_MIN.1, OCI_VERSION_MAX.0, OCI_VERSION_MAX.1
            ),
        )
    };
    // Pre-release and build suffixes (`1.0.2-dev`, `1.2.0+x`) are accepted for their core.
    let core = version.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<u64> = core.split('.').map(|p| p.parse().map_err(|_| bad())).collect::<Result<_, _>>()?;
    let (major, minor) = match parts.as_slice() {
        [major, minor, _patch] => (*major, *minor),
        _ => return Err(bad()),
    };
    if (major, minor) < OCI_VERSION_MIN || (major, minor) > OCI_VERSION_MAX {
        return Err(bad());
    }
    Ok(())
}

/// Validates what the runtime relies on. Fields the runtime does not use are left to the
/// JSON types; unknown fields are allowed, as the runtime-spec requires.
pub fn validate(spec: &Spec) -> Result<(), SpecError> {
    check_version(spec.version())?;
    let root = spec.root().as_ref().ok_or_else(|| SpecError::invalid("root", "is required"))?;
    if root.path().as_os_str().is_empty() {
        return Err(SpecError::invalid("root.path", "is required"));
    }

    if let Some(process) = spec.process() {
        let args = process.args().as_deref().unwrap_or_default();
        if args.is_empty() || args[0].is_empty() {
            return Err(SpecError::invalid("process.args", "must name the command to run"));
        }
        if !process.cwd().is_absolute() {
            return Err(SpecError::invalid(
                "process.cwd",
                format!("`{}` is not an absolute path", process.cwd().display()),
            ));
        }
        for entry in process.env().as_deref().unwrap_or_default() {
            if !entry.contains('=') || entry.starts_with('=') {
                return Err(SpecError::invalid("process.env", format!("`{entry}` is not KEY=VALUE")));
            }
        }
        let mut seen = Vec::new();
        for rlimit in process.rlimits().as_deref().unwrap_or_default() {
            if seen.contains(&rlimit.typ()) {
                return Err(SpecError::invalid("process.rlimits", format!("{:?} is given twice", rlimit.typ())));
            }
            seen.push(rlimit.typ());
            if rlimit.soft() > rlimit.hard() {
                return Err(SpecError::invalid(
                    "process.rlimits",
                    format!("{:?}: soft limit exceeds hard limit", rlimit.typ()),
                ));
            }
        }
    }

    for mount in spec.mounts().as_deref().unwrap_or_default() {
        if !mount.destination().is_absolute() {
            return Err(SpecError::invalid(
                "mounts",
                format!("destination `{}` is not an absolute path", mount.destination().display()),
            ));
        }
    }

    let linux = spec.linux().as_ref();
    let namespaces = linux.and_then(|l| l.namespaces().as_deref()).unwrap_or_default();
    let mount_namespace = namespaces.iter().any(|n| n.typ() == LinuxNamespaceType::Mount);
    crate::rootfs::overlay::validate(spec.mounts().as_deref().unwrap_or_default(), mount_namespace)?;
    let mut kinds = HashSet::new();
    for ns in namespaces {
        if !kinds.insert(ns.typ()) {
            return Err(SpecError::invalid("linux.namespaces", format!("{} is listed twice", ns_name(ns.typ()))));
        }
    }
    let has_new = |t: LinuxNamespaceType| namespaces.iter().any(|n| n.typ() == t);
    if spec.hostname().as_deref().is_some_and(|h| !h.is_empty()) && !has_new(LinuxNamespaceType::Uts) {
        return Err(SpecError::invalid("hostname", "setting a hostname needs a UTS namespace"));
    }
    if spec.domainname().as_deref().is_some_and(|h| !h.is_empty()) && !has_new(LinuxNamespaceType::Uts) {
        return Err(SpecError::invalid("domainname", "setting a domainname needs a UTS namespace"));
    }
    if let Some(linux) = linux {
        let maps = linux.uid_mappings().as_deref().unwrap_or_default().len()
            + linux.gid_mappings().as_deref().unwrap_or_default().len();
        if maps > 0 && !has_new(LinuxNamespaceType::User) {
            return Err(SpecError::invalid("linux.uidMappings", "id mappings need a user namespace"));
        }
        if let Some(resources) = linux.resources() {
            if let Some(memory) = resources.memory() {
                if let (Some(limit), Some(swap)) = (memory.limit(), memory.swap()) {
                    if limit > 0 && swap > 0 && swap < limit {
                        return Err(SpecError::invalid(
                            "linux.resources.memory",
                            "swap (memory plus swap) must not be smaller than the memory limit",
                        ));
                    }
                }
            }
            if let Some(pids) = resources.pids() {
                if pids.limit() == 0 || pids.limit() < -1 {
                    return Err(SpecError::invalid(
                        "linux.resources.pids.limit",
                        format!("{} is not a valid limit", pids.limit()),
                    ));
                }
            }
            if let Some(cpu) = resources.cpu() {
                if cpu.period().is_some_and(|p| p != 0 && !(1_000..=1_000_000).contains(&p)) {
                    return Err(SpecError::invalid(
                        "linux.resources.cpu.period",
                        "must be between 1000 and 1000000 microseconds",
                    ));
                }
                if cpu.quota().is_some_and(|q| q != -1 && q != 0 && q < 1_000) {
                    return Err(SpecError::invalid(
                        "linux.resources.cpu.quota",
                        "must be at least 1000 microseconds, or -1",
                    ));
                }
            }
        }
        if let Some(path) = linux.cgroups_path() {
            if path.components().any(|c| c == std::path::Component::ParentDir) {
                return Err(SpecError::invalid(
                    "linux.cgroupsPath",
                    format!("`{}` must not contain `..`", path.display()),
                ));
            }
        }
        super::sysctl::check(spec)?;
        // As runc without resctrl: a cache or bandwidth allocation the runtime cannot make is
        // refused, not silently dropped. This runtime has no Intel RDT support at all.
        if let Some(rdt) = linux.intel_rdt() {
            if rdt.clos_id().is_some() || rdt.l3_cache_schema().is_some() || rdt.mem_bw_schema().is_some() {
                return Err(SpecError::invalid(
                    "linux.intelRdt",
                    "Intel RDT (resctrl) cache and memory bandwidth allocation is not supported by this runtime",
                ));
            }
        }
        if let Some(propagation) = linux.rootfs_propagation() {
            crate::rootfs::Propagation::parse(propagation).ok_or_else(|| {
                SpecError::invalid("linux.rootfsPropagation", format!("`{propagation}` is not a propagation type"))
            })?;
        }
    }
    Ok(())
}

pub(crate) fn ns_name(t: LinuxNamespaceType) -> &'static str {
    match t {
        LinuxNamespaceType::Mount => "mount",
        LinuxNamespaceType::Cgroup => "cgroup",
        LinuxNamespaceType::Uts => "uts",
        LinuxNamespaceType::Ipc => "ipc",
        LinuxNamespaceType::User => "user",
        LinuxNamespaceType::Pid => "pid",
        LinuxNamespaceType::Network => "network",
        LinuxNamespaceType::Time => "time",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> Spec {
        serde_json::from_str(json).unwrap()
    }

    const MINIMAL: &str = r#"{"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"args":["sh"],"cwd":"/","user":{"uid":0,"gid":0}}}"#;

    #[test]
    fn accepts_versions_1_0_through_1_3() {
        for v in ["1.0.0", "1.0.2-dev", "1.1.0", "1.2.1", "1.3.0", "1.3.9+build"] {
            check_version(v).unwrap_or_else(|e| panic!("{v}: {e}"));
        }
        for v in ["0.9.0", "1.4.0", "2.0.0", "", "1.0", "one"] {
            assert!(check_version(v).is_err(), "{v}");
        }
    }

    #[test]
    fn minimal_config_is_valid() {
        validate(&spec(MINIMAL)).unwrap();
    }

    #[test]
    fn relative_cwd_is_refused() {
        let s = spec(&MINIMAL.replace(r#""cwd":"/""#, r#""cwd":"tmp""#));
        assert_eq!(validate(&s).unwrap_err().to_string(), "invalid config: process.cwd: `tmp` is not an absolute path");
    }

    #[test]
    fn hostname_needs_uts() {
        let s = spec(&MINIMAL.replace(r#""ociVersion""#, r#""hostname":"x","ociVersion""#));
        assert!(validate(&s).unwrap_err().to_string().contains("UTS namespace"));
    }

    #[test]
    fn duplicate_namespaces_are_refused() {
        let s = spec(
            &MINIMAL
                .replace(r#""ociVersion""#, r#""linux":{"namespaces":[{"type":"pid"},{"type":"pid"}]},"ociVersion""#),
        );
        assert!(validate(&s).unwrap_err().to_string().contains("pid is listed twice"));
    }

    #[test]
    fn unknown_capabilities_are_left_out_and_named_not_refused() {
        let text = MINIMAL.replace(r#""cwd":"/""#, r#""cwd":"/","capabilities":{"bounding":["CAP_FLY","CAP_KILL"]}"#);
        let loaded = super::super::parse_lenient(text.as_bytes()).unwrap();
        assert_eq!(loaded.unknown_capabilities, vec!["CAP_FLY"]);
        let caps = loaded.spec.process().as_ref().unwrap().capabilities().clone().unwrap();
        assert_eq!(caps.bounding().as_ref().unwrap().len(), 1);
        validate(&loaded.spec).unwrap();
    }

    #[test]
    fn intel_rdt_allocations_are_refused() {
        let s = spec(
            &MINIMAL.replace(r#""ociVersion""#, r#""linux":{"intelRdt":{"l3CacheSchema":"L3:0=f"}},"ociVersion""#),
        );
        assert!(validate(&s).unwrap_err().to_string().contains("Intel RDT"));
        validate(&spec(&MINIMAL.replace(r#""ociVersion""#, r#""linux":{"intelRdt":{}},"ociVersion""#))).unwrap();
    }
}
