//! The security flags of `tscontainer run`, as Docker reads them: `--cap-add`,
//! `--cap-drop`, `--privileged` and `--security-opt` (`seccomp=FILE|unconfined`,
//! `no-new-privileges[=true|false]`, `systempaths=unconfined`). They decide the capability
//! set, the seccomp filter, no_new_privs and how much of the kernel stays hidden.

use std::path::Path;
use std::str::FromStr;

use oci_spec::runtime::{Capabilities, Capability, LinuxSeccomp};
use tscontainer_core::spec::defaults::capability_set;

use crate::{OptionError, RunOptions};

/// The confinement the flags decide, before the user is known.
#[derive(Debug, Clone)]
pub(crate) struct Confinement {
    /// root's capabilities (and everyone's bounding set).
    pub capabilities: Capabilities,
    /// `None`: unconfined.
    pub seccomp: Option<LinuxSeccomp>,
    pub no_new_privileges: bool,
    /// Whether /proc and /sys paths stay masked and read-only.
    pub hide_system_paths: bool,
    /// Every device allowed, /sys and the cgroup filesystem writable.
    pub privileged: bool,
}

/// Where the seccomp filter comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SeccompChoice {
    Default,
    Unconfined,
    File(String),
}

/// Parses a capability as Docker accepts it: `NET_ADMIN`, `CAP_NET_ADMIN`, any case.
fn parse_capability(flag: &'static str, name: &str) -> Result<Capability, OptionError> {
    let upper = name.trim().to_ascii_uppercase();
    let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
    Capability::from_str(bare).map_err(|_| OptionError::invalid(flag, name, "not a Linux capability"))
}

/// Capabilities named by `--cap-add` or `--cap-drop`, and whether `ALL` was among them.
fn parse_capabilities(flag: &'static str, names: &[String]) -> Result<(Vec<Capability>, bool), OptionError> {
    let mut all = false;
    let mut caps = Vec::new();
    for name in names {
        if name.trim().eq_ignore_ascii_case("ALL") {
            all = true;
        } else {
            caps.push(parse_capability(flag, name)?);
        }
    }
    Ok((caps, all))
}

/// Every capability this kernel has (what `--privileged` and `--cap-add ALL` grant).
fn kernel_capabilities() -> Capabilities {
    let supported = caps::runtime::procfs_all_supported(None).unwrap_or_else(|_| caps::all());
    supported
        .iter()
        .filter_map(|c| c.to_string().strip_prefix("CAP_").and_then(|n| Capability::from_str(n).ok()))
        .collect()
}

/// Docker's rule: `--privileged` takes everything; `--cap-add ALL` everything less the
/// drops; `--cap-drop ALL` only the adds; otherwise the default set less the drops plus the
/// adds (an add beats a drop of the same capability).
fn capabilities(flags: &RunOptions, all: impl Fn() -> Capabilities) -> Result<Capabilities, OptionError> {
    let (adds, add_all) = parse_capabilities("capability to add", &flags.cap_add)?;
    let (drops, drop_all) = parse_capabilities("capability to drop", &flags.cap_drop)?;
    if flags.privileged {
        return Ok(all());
    }
    let mut set = if add_all {
        all()
    } else if drop_all {
        Capabilities::new()
    } else {
        capability_set()
    };
    if add_all {
        set.retain(|c| !drops.contains(c));
    } else {
        if !drop_all {
            set.retain(|c| !drops.contains(c));
        }
        set.extend(adds);
    }
    Ok(set)
}

/// Directories of /dev that hold no device of the host's the container should get: they are
/// the container's own (pts, shm, mqueue) or views of the runtime's process (fd).
const SKIPPED_DEV_DIRS: [&str; 4] = ["pts", "shm", "mqueue", "fd"];

/// The host's device nodes under `dev` (as Docker gives a privileged container: every
/// character and block device; the console, ptmx and the container's own directories excepted).
pub(crate) fn host_devices(dev: &Path) -> Vec<oci_spec::runtime::LinuxDevice> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let mut found = Vec::new();
    let mut pending = vec![dev.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
            let kind = meta.file_type();
            if kind.is_dir() {
                if !(dir == dev && SKIPPED_DEV_DIRS.iter().any(|d| entry.file_name() == *d)) {
                    pending.push(path);
                }
                continue;
            }
            let typ = if kind.is_char_device() {
                oci_spec::runtime::LinuxDeviceType::C
            } else if kind.is_block_device() {
                oci_spec::runtime::LinuxDeviceType::B
            } else {
                continue;
            };
            let Ok(relative) = path.strip_prefix(dev) else { continue };
            // The console is the container's own (its terminal), and /dev/ptmx must stay the
            // link into the container's devpts instance.
            if relative == Path::new("console") || relative == Path::new("ptmx") {
                continue;
            }
            let rdev = meta.rdev();
            let mut device = oci_spec::runtime::LinuxDevice::default();
            device
                .set_path(Path::new("/dev").join(relative))
                .set_typ(typ)
                .set_major(i64::from(nix::sys::stat::major(rdev) as u32))
                .set_minor(i64::from(nix::sys::stat::minor(rdev) as u32))
                .set_file_mode(Some(meta.mode() & 0o7777))
                .set_uid(Some(meta.uid()))
                .set_gid(Some(meta.gid()));
            found.push(device);
        }
    }
    found.sort_by(|a, b| a.path().cmp(b.path()));
    found
}

/// `key=value` or Docker's older `key:value`.
fn split_option(option: &str) -> (&str, Option<&str>) {
    match option.find(['=', ':']) {
        Some(i) => (&option[..i], Some(&option[i + 1..])),
        None => (option, None),
    }
}

fn parse_bool(option: &str, value: Option<&str>) -> Result<bool, OptionError> {
    match value {
        None | Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(_) => Err(OptionError::invalid("security option", option, "expected true or false after the name")),
    }
}

/// Reads a seccomp profile file: the runtime-spec's `linux.seccomp` object. Docker's own
/// profile format adds conditional rules (`includes`/`excludes` by capability or kernel)
/// that this format cannot express: such a file is refused rather than read as if every
/// rule applied unconditionally. The profile is checked, not compiled: libseccomp is the
/// runtime's, which compiles it when it creates the container.
fn read_profile(file: &str, cwd: &Path) -> Result<LinuxSeccomp, OptionError> {
    const OPTION: &str = "seccomp profile";
    let path = cwd.join(file);
    let text = std::fs::read(&path).map_err(|e| OptionError::unusable(OPTION, file, "cannot be read", e))?;
    let value: serde_json::Value =
        serde_json::from_slice(&text).map_err(|e| OptionError::unusable(OPTION, file, "is not JSON", e))?;
    let conditional = value
        .get("syscalls")
        .and_then(|s| s.as_array())
        .is_some_and(|rules| rules.iter().any(|r| r.get("includes").is_some() || r.get("excludes").is_some()));
    if conditional {
        return Err(OptionError::invalid(
            OPTION,
            file,
            "has conditional rules (`includes`/`excludes`), which the runtime-spec format cannot express",
        ));
    }
    let profile: LinuxSeccomp = serde_json::from_value(value)
        .map_err(|e| OptionError::unusable(OPTION, file, "is not a runtime-spec seccomp profile", e))?;
    tscontainer_core::seccomp::check(&profile).map_err(|e| OptionError::refused(OPTION, file, e))?;
    Ok(profile)
}

/// Turns the flags into the container's confinement.
pub(crate) fn confinement(flags: &RunOptions, cwd: &Path) -> Result<Confinement, OptionError> {
    let capabilities = capabilities(flags, kernel_capabilities)?;
    let mut seccomp = SeccompChoice::Default;
    let mut no_new_privileges = true;
    let mut hide_system_paths = true;
    for option in &flags.security_opt {
        let (key, value) = split_option(option);
        match key {
            "seccomp" => {
                seccomp = match value {
                    Some("unconfined") => SeccompChoice::Unconfined,
                    Some(file) if !file.is_empty() => SeccompChoice::File(file.to_string()),
                    _ => {
                        return Err(OptionError::invalid(
                            "security option",
                            option,
                            "expected seccomp=FILE or seccomp=unconfined",
                        ))
                    }
                }
            }
            "no-new-privileges" => no_new_privileges = parse_bool(option, value)?,
            "systempaths" if value == Some("unconfined") => hide_system_paths = false,
            _ => {
                return Err(OptionError::invalid(
                    "security option",
                    option,
                    "expected seccomp=FILE|unconfined, no-new-privileges[=true|false] or systempaths=unconfined",
                ))
            }
        }
    }
    // As Docker: a privileged container is never filtered.
    let seccomp = match seccomp {
        _ if flags.privileged => None,
        SeccompChoice::Unconfined => None,
        SeccompChoice::Default => Some(tscontainer_core::spec::default_seccomp_profile(&capabilities)?),
        SeccompChoice::File(file) => Some(read_profile(&file, cwd)?),
    };
    Ok(Confinement {
        capabilities,
        seccomp,
        no_new_privileges,
        hide_system_paths: hide_system_paths && !flags.privileged,
        privileged: flags.privileged,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tscontainer_core::error::chain;

    fn flags(add: &[&str], drop: &[&str]) -> RunOptions {
        RunOptions {
            cap_add: add.iter().map(|s| s.to_string()).collect(),
            cap_drop: drop.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    fn everything() -> Capabilities {
        [Capability::Chown, Capability::SysAdmin, Capability::NetAdmin, Capability::Kill].into_iter().collect()
    }

    fn caps(f: &RunOptions) -> Capabilities {
        capabilities(f, everything).unwrap()
    }

    #[test]
    fn adds_and_drops_follow_docker() {
        let c = caps(&flags(&["net_admin", "CAP_SYS_TIME"], &["CHOWN", "cap_kill"]));
        assert!(c.contains(&Capability::NetAdmin) && c.contains(&Capability::SysTime));
        assert!(!c.contains(&Capability::Chown) && !c.contains(&Capability::Kill));
        assert!(c.contains(&Capability::Mknod), "the rest of the default set stays");
        // An add beats a drop of the same capability.
        assert!(caps(&flags(&["NET_ADMIN"], &["NET_ADMIN"])).contains(&Capability::NetAdmin));
    }

    #[test]
    fn all_adds_everything_and_drops_nothing_but_the_drops() {
        assert_eq!(caps(&flags(&["ALL"], &["SYS_ADMIN"])).len(), 3);
        assert_eq!(caps(&flags(&[], &["all"])), Capabilities::new());
        assert_eq!(caps(&flags(&["KILL"], &["ALL"])), [Capability::Kill].into_iter().collect());
        let privileged = RunOptions { privileged: true, cap_drop: vec!["ALL".into()], ..Default::default() };
        assert_eq!(caps(&privileged), everything());
    }

    #[test]
    fn unknown_capabilities_are_named() {
        let err = chain(&capabilities(&flags(&["CAP_FLY"], &[]), everything).unwrap_err());
        assert_eq!(err, "invalid capability to add `CAP_FLY`: not a Linux capability");
    }

    #[test]
    fn security_options_are_parsed() {
        let cwd = Path::new("/");
        let with = |opts: &[&str], privileged: bool| {
            let f = RunOptions {
                security_opt: opts.iter().map(|s| s.to_string()).collect(),
                privileged,
                ..Default::default()
            };
            confinement(&f, cwd)
        };
        let default = with(&[], false).unwrap();
        assert!(default.seccomp.is_some() && default.no_new_privileges && default.hide_system_paths);
        assert!(with(&["seccomp=unconfined"], false).unwrap().seccomp.is_none());
        assert!(with(&["seccomp:unconfined"], false).unwrap().seccomp.is_none());
        assert!(!with(&["no-new-privileges=false"], false).unwrap().no_new_privileges);
        assert!(with(&["no-new-privileges:true"], false).unwrap().no_new_privileges);
        assert!(!with(&["systempaths=unconfined"], false).unwrap().hide_system_paths);
        let privileged = with(&[], true).unwrap();
        assert!(privileged.seccomp.is_none() && !privileged.hide_system_paths && privileged.privileged);
        for bad in ["apparmor=x", "seccomp", "seccomp=", "no-new-privileges=maybe", "label=disable"] {
            assert!(chain(&with(&[bad], false).unwrap_err()).starts_with("invalid security option"), "{bad}");
        }
    }

    #[test]
    fn host_devices_are_the_character_and_block_nodes_of_dev() {
        let devices = host_devices(Path::new("/dev"));
        let null = devices.iter().find(|d| d.path() == Path::new("/dev/null")).expect("/dev/null");
        assert_eq!((null.typ(), null.major(), null.minor()), (oci_spec::runtime::LinuxDeviceType::C, 1, 3));
        assert!(devices.iter().all(|d| !d.path().starts_with("/dev/pts")
            && d.path() != Path::new("/dev/console")
            && d.path() != Path::new("/dev/ptmx")));
        assert!(host_devices(Path::new("/nonexistent")).is_empty());
    }

    #[test]
    fn profile_files_are_read_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let good = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}"#;
        std::fs::write(dir.path().join("good.json"), good).unwrap();
        let profile = read_profile("good.json", dir.path()).unwrap();
        assert_eq!(profile.syscalls().as_ref().unwrap().len(), 1);
        let docker = r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["mount"],"action":"SCMP_ACT_ALLOW","includes":{"caps":["CAP_SYS_ADMIN"]}}]}"#;
        std::fs::write(dir.path().join("docker.json"), docker).unwrap();
        assert!(chain(&read_profile("docker.json", dir.path()).unwrap_err()).contains("conditional rules"));
        std::fs::write(dir.path().join("bad.json"), "{").unwrap();
        assert!(chain(&read_profile("bad.json", dir.path()).unwrap_err()).contains("is not JSON"));
        let notify =
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}"#;
        std::fs::write(dir.path().join("notify.json"), notify).unwrap();
        assert!(chain(&read_profile("notify.json", dir.path()).unwrap_err()).contains("SCMP_ACT_NOTIFY"));
        assert!(chain(&read_profile("missing.json", dir.path()).unwrap_err()).contains("cannot be read"));
    }
}
