//! A config's sysctls (`linux.sysctl`): which a container may set, and where each one is.
//!
//! /proc/sys is only partly namespaced: a key that no namespace of the container's own covers
//! is the host's setting, shared by every process on the machine. Which keys a container may
//! set follows runc's validator (libcontainer/configs/validate: `sysctl`) exactly:
//!
//! - `kernel.msgmax`, `kernel.msgmnb`, `kernel.msgmni`, `kernel.sem`, `kernel.shmall`,
//!   `kernel.shmmax`, `kernel.shmmni`, `kernel.shm_rmid_forced` and `fs.mqueue.*`: with an
//!   IPC namespace;
//! - `net.*`: with a network namespace, which must not be the host's (one joined by path is
//!   compared with the runtime's own, see [`check_network_namespace`]);
//! - `kernel.domainname`: with a UTS namespace (`kernel.hostname` never: the config's
//!   `hostname` sets it);
//! - `user.*`: with a user namespace;
//! - everything else (`fs.file-max`, `kernel.core_pattern`, `vm.*`, ...): never.
//!
//! Keys are written as sysctl.d(5) spells them: dotted (`net.ipv4.ip_forward`, where a `/`
//! stands for a `.` in a name: `net.ipv4.conf.eth0/100.rp_filter`) or slashed
//! (`net/ipv4/ip_forward`). A key whose path has an empty, `.` or `..` component is no sysctl.

use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxNamespaceType, Spec};

use super::SpecError;

/// The IPC namespace's sysctls, besides `fs.mqueue.*`.
const IPC: [&str; 8] = [
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// Whether `key` separates its components with `/` (its first separator is one).
fn slashed(key: &str) -> bool {
    key.find(['.', '/']).is_some_and(|i| key.as_bytes()[i] == b'/')
}

/// The key in dotted form (runc's convertSysctlVariableToDotsSeparator).
fn dotted(key: &str) -> String {
    if slashed(key) {
        key.chars()
            .map(|c| {
                if c == '.' {
                    '/'
                } else if c == '/' {
                    '.'
                } else {
                    c
                }
            })
            .collect()
    } else {
        key.to_string()
    }
}

/// The file of `key` under /proc/sys, or None when the key is no sysctl name.
pub(crate) fn sysctl_path(key: &str) -> Option<PathBuf> {
    let (separator, literal_dot) = if slashed(key) { ('/', None) } else { ('.', Some('/')) };
    let mut path = PathBuf::new();
    for component in key.split(separator) {
        let component: String = component.chars().map(|c| if Some(c) == literal_dot { '.' } else { c }).collect();
        if component.is_empty() || component == "." || component == ".." || component.contains('\0') {
            return None;
        }
        path.push(component);
    }
    Some(path)
}

/// Refuses every sysctl of the config that is no sysctl name or that no namespace of the
/// container's own covers.
pub(crate) fn check(spec: &Spec) -> Result<(), SpecError> {
    let linux = spec.linux().as_ref();
    let namespaces = linux.and_then(|l| l.namespaces().as_deref()).unwrap_or_default();
    let has = |t: LinuxNamespaceType| namespaces.iter().any(|n| n.typ() == t);
    let refuse = |key: &str, reason: &str| Err(SpecError::invalid("linux.sysctl", format!("`{key}` {reason}")));
    for key in linux.and_then(|l| l.sysctl().as_ref()).into_iter().flat_map(|s| s.keys()) {
        if sysctl_path(key).is_none() {
            return refuse(key, "is not a sysctl name");
        }
        let name = dotted(key);
        if IPC.contains(&name.as_str()) || name.starts_with("fs.mqueue.") {
            if !has(LinuxNamespaceType::Ipc) {
                return refuse(key, "belongs to the IPC namespace, and the container has none of its own: setting it would change the host's");
            }
            continue;
        }
        if name.starts_with("net.") {
            if !has(LinuxNamespaceType::Network) {
                return refuse(
                    key,
                    "would change the host's network: the container has no network namespace of its own",
                );
            }
            continue;
        }
        if has(LinuxNamespaceType::Uts) {
            match name.as_str() {
                "kernel.domainname" => continue,
                "kernel.hostname" => return refuse(key, "is set by the config's `hostname` field, not as a sysctl"),
                _ => {}
            }
        }
        if name.starts_with("user.") {
            if !has(LinuxNamespaceType::User) {
                return refuse(key, "limits the host's users: the container has no user namespace of its own");
            }
            continue;
        }
        return refuse(key, "is not namespaced: setting it would change the host's value");
    }
    Ok(())
}

/// For a container that joins a network namespace by path and sets `net.*` sysctls: the
/// namespace must not be the one the runtime is in (runc calls that the host's: "current",
/// not "initial").
pub fn check_network_namespace(spec: &Spec) -> Result<(), SpecError> {
    let linux = spec.linux().as_ref();
    let Some(key) = linux
        .and_then(|l| l.sysctl().as_ref())
        .into_iter()
        .flat_map(|s| s.keys())
        .find(|k| dotted(k).starts_with("net."))
    else {
        return Ok(());
    };
    let joined = linux
        .and_then(|l| l.namespaces().as_deref())
        .unwrap_or_default()
        .iter()
        .find(|n| n.typ() == LinuxNamespaceType::Network)
        .and_then(|n| n.path().clone())
        .filter(|p| !p.as_os_str().is_empty());
    let Some(path) = joined else {
        return Ok(());
    };
    let same = |a: &Path, b: &Path| match (nix::sys::stat::stat(a), nix::sys::stat::stat(b)) {
        (Ok(a), Ok(b)) => a.st_dev == b.st_dev && a.st_ino == b.st_ino,
        _ => false,
    };
    if same(&path, Path::new("/proc/self/ns/net")) {
        return Err(SpecError::invalid(
            "linux.sysctl",
            format!("`{key}` would change the host's network: the network namespace {} is the host's", path.display()),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(namespaces: &[&str], key: &str) -> Spec {
        let ns: Vec<serde_json::Value> = namespaces.iter().map(|t| serde_json::json!({ "type": t })).collect();
        serde_json::from_value(serde_json::json!({
            "ociVersion": "1.2.0", "root": {"path": "rootfs"},
            "linux": { "namespaces": ns, "sysctl": { key: "1" } }
        }))
        .unwrap()
    }

    #[test]
    fn keys_become_paths_as_sysctl_d_spells_them() {
        assert_eq!(sysctl_path("net.ipv4.ip_forward").unwrap(), Path::new("net/ipv4/ip_forward"));
        assert_eq!(sysctl_path("net/ipv4/ip_forward").unwrap(), Path::new("net/ipv4/ip_forward"));
        assert_eq!(
            sysctl_path("net.ipv4.conf.eth0/100.rp_filter").unwrap(),
            Path::new("net/ipv4/conf/eth0.100/rp_filter")
        );
        assert_eq!(
            sysctl_path("net/ipv4/conf/eth0.100/rp_filter").unwrap(),
            Path::new("net/ipv4/conf/eth0.100/rp_filter")
        );
        for bad in
            ["../../..", "net.//.//.sysrq-trigger", "net/../../sysrq-trigger", "net..x", "net.", ".net", "", "/net"]
        {
            assert_eq!(sysctl_path(bad), None, "{bad}");
        }
        assert_eq!(dotted("net/ipv4/conf/eth0.100/rp_filter"), "net.ipv4.conf.eth0/100.rp_filter");
    }

    #[test]
    fn only_namespaced_sysctls_pass_as_runc_decides() {
        let all = ["ipc", "network", "uts", "user", "mount", "pid"];
        for (key, needs) in [
            ("kernel.shmmax", "ipc"),
            ("fs.mqueue.msg_max", "ipc"),
            ("net.ipv4.ip_forward", "network"),
            ("net/ipv4/ip_forward", "network"),
            ("kernel.domainname", "uts"),
            ("user.max_user_namespaces", "user"),
        ] {
            check(&spec(&all, key)).unwrap_or_else(|e| panic!("{key}: {e}"));
            let without: Vec<&str> = all.iter().copied().filter(|n| *n != needs).collect();
            assert!(check(&spec(&without, key)).is_err(), "{key} without {needs}");
        }
        for key in [
            "fs.file-max",
            "kernel.core_pattern",
            "kernel/core_pattern",
            "vm.swappiness",
            "kernel.hostname",
            "kernel.msgmax2",
        ] {
            let err = check(&spec(&all, key)).unwrap_err().to_string();
            assert!(err.starts_with(&format!("invalid config: linux.sysctl: `{key}` ")), "{err}");
        }
    }

    #[test]
    fn a_joined_network_namespace_must_not_be_the_runtimes() {
        let joined = |path: &str| -> Spec {
            serde_json::from_value(serde_json::json!({
                "ociVersion": "1.2.0", "root": {"path": "rootfs"},
                "linux": { "namespaces": [{"type": "network", "path": path}], "sysctl": { "net.ipv4.ip_forward": "1" } }
            }))
            .unwrap()
        };
        let err = check_network_namespace(&joined("/proc/self/ns/net")).unwrap_err().to_string();
        assert!(err.contains("is the host's"), "{err}");
        assert!(check_network_namespace(&spec(&["network"], "net.ipv4.ip_forward")).is_ok());
    }
}
