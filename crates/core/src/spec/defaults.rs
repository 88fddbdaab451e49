//! The defaults production runtimes apply: Docker's capability set, the standard mounts,
//! masked and read-only /proc paths, the device allowlist.

use std::collections::HashSet;
use std::path::PathBuf;

use oci_spec::runtime::{
    Capabilities, Capability, LinuxBuilder, LinuxCapabilitiesBuilder, LinuxDeviceCgroup, LinuxDeviceType,
    LinuxNamespace, LinuxNamespaceType, LinuxResourcesBuilder, Mount, PosixRlimit, PosixRlimitBuilder, PosixRlimitType,
    ProcessBuilder, RootBuilder, Spec, SpecBuilder, UserBuilder,
};

use super::{SpecError, OCI_VERSION};

pub const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Docker's default capability set: what a container's root may do without `--cap-add`.
pub const DEFAULT_CAPABILITIES: [Capability; 14] = [
    Capability::Chown,
    Capability::DacOverride,
    Capability::Fsetid,
    Capability::Fowner,
    Capability::Mknod,
    Capability::NetRaw,
    Capability::Setgid,
    Capability::Setuid,
    Capability::Setfcap,
    Capability::Setpcap,
    Capability::NetBindService,
    Capability::SysChroot,
    Capability::Kill,
    Capability::AuditWrite,
];

/// Kernel interfaces that leak host information or allow host changes; hidden from the
/// container (Docker's list).
pub const MASKED_PATHS: [&str; 11] = [
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

pub const READONLY_PATHS: [&str; 5] = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

fn mount(destination: &str, typ: &str, source: &str, options: &[&str]) -> Mount {
    let mut m = Mount::default();
    m.set_destination(PathBuf::from(destination))
        .set_typ(Some(typ.to_string()))
        .set_source(Some(PathBuf::from(source)))
        .set_options(Some(options.iter().map(|o| o.to_string()).collect()));
    m
}

/// The mounts every container gets: its own /proc, a minimal /dev, /sys and its cgroup.
pub fn default_mounts() -> Vec<Mount> {
    vec![
        mount("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"]),
        mount("/dev", "tmpfs", "tmpfs", &["nosuid", "strictatime", "mode=755", "size=65536k"]),
        mount(
            "/dev/pts",
            "devpts",
            "devpts",
            &["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
        ),
        mount("/dev/shm", "tmpfs", "shm", &["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]),
        mount("/dev/mqueue", "mqueue", "mqueue", &["nosuid", "noexec", "nodev"]),
        mount("/sys", "sysfs", "sysfs", &["nosuid", "noexec", "nodev", "ro"]),
        mount("/sys/fs/cgroup", "cgroup", "cgroup", &["nosuid", "noexec", "nodev", "relatime", "ro"]),
    ]
}

/// The host-root default's own /tmp and /run. Read-only files cannot be written, but a
/// unix socket on a read-only mount can still be connected to: the host's /run (the
/// container manager sockets, other containers' exec fifos) must not show through.
pub fn host_root_private_mounts() -> Vec<Mount> {
    vec![
        mount("/tmp", "tmpfs", "tmpfs", &["nosuid", "nodev", "mode=1777"]),
        mount("/run", "tmpfs", "tmpfs", &["nosuid", "nodev", "mode=755"]),
    ]
}

pub fn namespaces(types: &[LinuxNamespaceType]) -> Vec<LinuxNamespace> {
    types
        .iter()
        .map(|t| {
            let mut ns = LinuxNamespace::default();
            ns.set_typ(*t);
            ns
        })
        .collect()
}

fn device_rule(
    allow: bool,
    typ: LinuxDeviceType,
    major: Option<i64>,
    minor: Option<i64>,
    access: &str,
) -> LinuxDeviceCgroup {
    let mut rule = LinuxDeviceCgroup::default();
    rule.set_allow(allow).set_typ(Some(typ)).set_major(major).set_minor(minor).set_access(Some(access.to_string()));
    rule
}

/// Deny every device, then allow the standard character devices (Docker's allowlist).
pub fn device_allowlist() -> Vec<LinuxDeviceCgroup> {
    use LinuxDeviceType::{A, B, C};
    vec![
        device_rule(false, A, None, None, "rwm"),
        device_rule(true, C, None, None, "m"),
        device_rule(true, B, None, None, "m"),
        device_rule(true, C, Some(1), Some(3), "rwm"),    // /dev/null
        device_rule(true, C, Some(1), Some(5), "rwm"),    // /dev/zero
        device_rule(true, C, Some(1), Some(7), "rwm"),    // /dev/full
        device_rule(true, C, Some(5), Some(0), "rwm"),    // /dev/tty
        device_rule(true, C, Some(1), Some(8), "rwm"),    // /dev/random
        device_rule(true, C, Some(1), Some(9), "rwm"),    // /dev/urandom
        device_rule(true, C, Some(136), None, "rwm"),     // /dev/pts/*
        device_rule(true, C, Some(5), Some(2), "rwm"),    // /dev/ptmx
        device_rule(true, C, Some(10), Some(200), "rwm"), // /dev/net/tun
    ]
}

pub fn capability_set() -> HashSet<Capability> {
    DEFAULT_CAPABILITIES.iter().copied().collect()
}

/// RLIMIT_NOFILE as containerd and podman give it, clamped to what this process may grant:
/// raising a hard limit needs CAP_SYS_RESOURCE, which not every host hands out.
pub fn rlimits() -> Result<Vec<PosixRlimit>, SpecError> {
    let (_, current_hard) =
        nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).unwrap_or((1024, 1024));
    let hard = current_hard.min(1_048_576);
    let nofile = PosixRlimitBuilder::default()
        .typ(PosixRlimitType::RlimitNofile)
        .soft(hard.min(1024))
        .hard(hard)
        .build()
        .map_err(SpecError::build("process.rlimits"))?;
    Ok(vec![nofile])
}

/// runc's `spec --rootless`: the default spec for the calling user, with its ids mapped
/// into a user namespace, and no resources (without a delegated cgroup nothing could
/// enforce them).
pub fn default_rootless_spec() -> Result<Spec, SpecError> {
    let mut spec = default_spec()?;
    let (uid, gid) = (nix::unistd::geteuid().as_raw(), nix::unistd::getegid().as_raw());
    super::make_rootless(&mut spec, &super::id_maps(uid, gid, crate::userns::subordinate_ranges(uid, gid))?)?;
    if let Some(mut linux) = spec.linux().clone() {
        linux.set_resources(None);
        spec.set_linux(Some(linux));
    }
    Ok(spec)
}

/// The config `tscontainer-runtime spec` writes: runc's template with our defaults
/// (a `sh` in `rootfs/`, a read-only root, every namespace but user and network-less).
pub fn default_spec() -> Result<Spec, SpecError> {
    use LinuxNamespaceType::*;
    let caps = capability_set();
    let invalid = SpecError::build("default spec");
    let process = ProcessBuilder::default()
        .terminal(true)
        .user(UserBuilder::default().uid(0u32).gid(0u32).build().map_err(invalid)?)
        .args(vec!["sh".to_string()])
        .env(vec![DEFAULT_PATH.to_string(), "TERM=xterm".to_string()])
        .cwd("/")
        .capabilities(
            // Inheritable and ambient stay empty (CVE-2022-29162): what root holds must not
            // pass to an unprivileged program it runs.
            LinuxCapabilitiesBuilder::default()
                .inheritable(Capabilities::new())
                .ambient(Capabilities::new())
                .bounding(caps.clone())
                .effective(caps.clone())
                .permitted(caps)
                .build()
                .map_err(invalid)?,
        )
        .rlimits(rlimits()?)
        .no_new_privileges(true)
        .build()
        .map_err(invalid)?;
    let seccomp = super::default_seccomp_profile(&capability_set())?;
    let linux = LinuxBuilder::default()
        .namespaces(namespaces(&[Pid, Network, Ipc, Uts, Mount, Cgroup]))
        .seccomp(seccomp)
        .masked_paths(MASKED_PATHS.iter().map(|p| p.to_string()).collect::<Vec<_>>())
        .readonly_paths(READONLY_PATHS.iter().map(|p| p.to_string()).collect::<Vec<_>>())
        .resources(LinuxResourcesBuilder::default().devices(device_allowlist()).build().map_err(invalid)?)
        .build()
        .map_err(invalid)?;
    SpecBuilder::default()
        .version(OCI_VERSION)
        .root(RootBuilder::default().path("rootfs").readonly(true).build().map_err(invalid)?)
        .process(process)
        .hostname("tscontainer")
        .mounts(default_mounts())
        .linux(linux)
        .build()
        .map_err(invalid)
}
