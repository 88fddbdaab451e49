//! Capabilities: the bounding set is trimmed while the init is still fully privileged,
//! then the effective, permitted and inheritable sets are set in one call after the user
//! switch, then the ambient ones raised.
//!
//! A capability that cannot be granted is left out with a warning, never a failure (the
//! runtime-spec's `process.capabilities`; runc does the same for unknown names and ambient
//! capabilities): one the kernel does not know, one outside the runtime's own bounding set
//! (a host may withhold CAP_SYS_RESOURCE), an effective one that is not permitted, an
//! inheritable one outside the new bounding set, an ambient one that is not both permitted
//! and inheritable. What is granted is decided once, by `plan`, from the spec and the host;
//! the parent warns from the same decision the process applies.

use std::str::FromStr;

use oci_spec::runtime::{Capabilities, Capability, LinuxCapabilities};

use super::ProcessError;
use crate::syscall::{CapabilitySets, Syscall};

/// The kernel's number for a capability, when the `caps` crate knows it.
pub fn capability_index(cap: Capability) -> Result<u8, ProcessError> {
    let name = format!("CAP_{cap}");
    caps::Capability::from_str(&name).map(|c| c.index()).map_err(|_| ProcessError::UnknownCapability(name))
}

/// What this kernel and this runtime's own bounding set allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostCapabilities {
    /// The capabilities this kernel knows (up to `cap_last_cap`).
    pub known: u64,
    /// Those in the runtime's bounding set: all it can hand out.
    pub bounding: u64,
}

impl HostCapabilities {
    /// Probed with PR_CAPBSET_READ (no /proc needed): EINVAL past the kernel's last one.
    pub fn current() -> Self {
        let mut host = HostCapabilities { known: 0, bounding: 0 };
        for cap in 0u8..64 {
            // SAFETY: PR_CAPBSET_READ takes a capability number and returns 0/1 or EINVAL.
            match unsafe { libc::prctl(libc::PR_CAPBSET_READ, libc::c_ulong::from(cap), 0, 0, 0) } {
                1 => {
                    host.known |= 1 << cap;
                    host.bounding |= 1 << cap;
                }
                0 => host.known |= 1 << cap,
                _ => break,
            }
        }
        host
    }
}

/// The capability sets a process gets, as bitmasks indexed by capability number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CapabilityPlan {
    pub bounding: u64,
    pub sets: CapabilitySets,
    pub ambient: u64,
}

/// A plan and, by name, what the spec asked for that it leaves out.
#[derive(Debug, Default)]
struct Resolution {
    plan: CapabilityPlan,
    unavailable: Vec<String>,
    withheld: Vec<String>,
    effective_not_permitted: Vec<String>,
    inheritable_unbounded: Vec<String>,
    ambient_unraisable: Vec<String>,
}

fn names(mask: u64) -> Vec<String> {
    (0u8..64).filter(|i| mask & (1 << i) != 0).map(name_of).collect()
}

fn name_of(index: u8) -> String {
    caps::all()
        .into_iter()
        .find(|c| c.index() == index)
        .map_or_else(|| format!("capability {index}"), |c| c.to_string())
}

fn resolve(caps: Option<&LinuxCapabilities>, host: HostCapabilities) -> Resolution {
    let mut out = Resolution::default();
    let mut unavailable = Vec::new();
    let mut withheld = 0u64;
    let mut mask = |set: Option<&Capabilities>| -> u64 {
        let mut bits = 0u64;
        for cap in set.into_iter().flatten() {
            match capability_index(*cap).ok().filter(|i| host.known & (1 << i) != 0) {
                None => unavailable.push(format!("CAP_{cap}")),
                Some(i) if host.bounding & (1 << i) == 0 => withheld |= 1 << i,
                Some(i) => bits |= 1 << i,
            }
        }
        bits
    };
    let bounding = mask(caps.and_then(|c| c.bounding().as_ref()));
    let permitted = mask(caps.and_then(|c| c.permitted().as_ref()));
    let effective = mask(caps.and_then(|c| c.effective().as_ref()));
    let inheritable = mask(caps.and_then(|c| c.inheritable().as_ref()));
    let ambient = mask(caps.and_then(|c| c.ambient().as_ref()));
    // The kernel refuses a capset whose effective set is not within the permitted one, or
    // whose inheritable set reaches past the (just trimmed) bounding set; and an ambient
    // capability can only be raised when it is both permitted and inheritable.
    let inheritable_granted = inheritable & bounding;
    out.plan = CapabilityPlan {
        bounding,
        sets: CapabilitySets { effective: effective & permitted, permitted, inheritable: inheritable_granted },
        ambient: ambient & permitted & inheritable_granted,
    };
    unavailable.sort();
    unavailable.dedup();
    out.unavailable = unavailable;
    out.withheld = names(withheld);
    out.effective_not_permitted = names(effective & !permitted);
    out.inheritable_unbounded = names(inheritable & !bounding);
    out.ambient_unraisable = names(ambient & !out.plan.ambient);
    out
}

/// The sets a process with `caps` gets on `host`.
pub fn plan(caps: Option<&LinuxCapabilities>, host: HostCapabilities) -> CapabilityPlan {
    resolve(caps, host).plan
}

/// One warning per kind of capability `plan` leaves out. `unknown` are the names the
/// config's parse left out (`spec::parse_lenient`); they are reported with the ones this
/// kernel lacks, in runc's words.
pub fn capability_warnings(
    caps: Option<&LinuxCapabilities>,
    unknown: &[String],
    host: HostCapabilities,
) -> Vec<String> {
    let r = resolve(caps, host);
    let mut ignored: Vec<&str> = unknown.iter().chain(&r.unavailable).map(String::as_str).collect();
    ignored.sort_unstable();
    ignored.dedup();
    let mut out = Vec::new();
    if !ignored.is_empty() {
        out.push(format!("ignoring unknown or unavailable capabilities: [{}]", ignored.join(" ")));
    }
    let them = |list: &[String]| if list.len() == 1 { "it" } else { "them" };
    if !r.withheld.is_empty() {
        out.push(format!(
            "this host withholds {} from the runtime (not in its bounding set), so the process runs without {}",
            r.withheld.join(", "),
            them(&r.withheld)
        ));
    }
    if !r.effective_not_permitted.is_empty() {
        out.push(format!(
            "effective capabilities {} are not permitted, so the process runs without {} (an effective capability must also be permitted)",
            r.effective_not_permitted.join(", "),
            them(&r.effective_not_permitted)
        ));
    }
    if !r.inheritable_unbounded.is_empty() {
        out.push(format!(
            "inheritable capabilities {} are outside the bounding set, so the process runs without {}",
            r.inheritable_unbounded.join(", "),
            them(&r.inheritable_unbounded)
        ));
    }
    if !r.ambient_unraisable.is_empty() {
        out.push(format!(
            "cannot raise ambient capabilities {}: an ambient capability must also be permitted and inheritable",
            r.ambient_unraisable.join(", ")
        ));
    }
    out
}

/// Drops every capability outside the plan's bounding set. A set the spec leaves out is
/// empty, as with runc: otherwise a root process would regain every capability in the
/// bounding set at execve.
pub fn drop_bounding_set(plan: &CapabilityPlan, host: HostCapabilities, sys: &dyn Syscall) -> Result<(), ProcessError> {
    for cap in 0u8..64 {
        if host.known & (1 << cap) != 0 && plan.bounding & (1 << cap) == 0 {
            sys.drop_bounding_capability(cap).map_err(ProcessError::Capabilities)?;
        }
    }
    Ok(())
}

/// Sets effective, permitted and inheritable, then makes the ambient set exactly the
/// plan's (any ambient capability the runtime itself was started with is cleared first).
pub fn apply_capabilities(plan: &CapabilityPlan, sys: &dyn Syscall) -> Result<(), ProcessError> {
    sys.set_capabilities(plan.sets).map_err(ProcessError::Capabilities)?;
    match sys.clear_ambient_capabilities() {
        // A kernel without ambient capabilities (before 4.3) has none to clear or raise.
        Err(e) if e.errno == nix::errno::Errno::EINVAL => return Ok(()),
        other => other.map_err(ProcessError::Capabilities)?,
    }
    for cap in 0u8..64 {
        if plan.ambient & (1 << cap) != 0 {
            sys.raise_ambient_capability(cap).map_err(ProcessError::Capabilities)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscall::{Call, FakeSyscall};

    fn caps(json: &str) -> LinuxCapabilities {
        serde_json::from_str(json).unwrap()
    }

    /// A kernel that knows capabilities 0-40, with all of them in the bounding set.
    const KERNEL: u64 = (1 << 41) - 1;
    const ALL: HostCapabilities = HostCapabilities { known: KERNEL, bounding: KERNEL };
    const KILL: u64 = 1 << 5;
    const NET_BIND_SERVICE: u64 = 1 << 10;
    const AUDIT_WRITE: u64 = 1 << 29;
    const SYS_RESOURCE: u64 = 1 << 24;

    #[test]
    fn indices_are_the_kernels() {
        assert_eq!(capability_index(Capability::Chown).unwrap(), 0);
        assert_eq!(capability_index(Capability::SysAdmin).unwrap(), 21);
        assert_eq!(capability_index(Capability::NetBindService).unwrap(), 10);
    }

    #[test]
    fn the_host_probe_matches_the_kernel() {
        let host = HostCapabilities::current();
        let last: u8 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap").unwrap().trim().parse().unwrap();
        assert_eq!(host.known, (1u64 << (last + 1)) - 1);
        assert_eq!(host.bounding & !host.known, 0);
    }

    /// `runc spec`'s own config: ambient without inheritable. runc runs it, raising no
    /// ambient capability; so do we, with a warning.
    #[test]
    fn runc_specs_ambient_without_inheritable_is_a_warning() {
        let three = r#"["CAP_AUDIT_WRITE","CAP_KILL","CAP_NET_BIND_SERVICE"]"#;
        let c = caps(&format!(r#"{{"bounding":{three},"effective":{three},"permitted":{three},"ambient":{three}}}"#));
        let want = AUDIT_WRITE | KILL | NET_BIND_SERVICE;
        assert_eq!(
            plan(Some(&c), ALL),
            CapabilityPlan {
                bounding: want,
                sets: CapabilitySets { effective: want, permitted: want, inheritable: 0 },
                ambient: 0
            }
        );
        assert_eq!(
            capability_warnings(Some(&c), &[], ALL),
            vec!["cannot raise ambient capabilities CAP_KILL, CAP_NET_BIND_SERVICE, CAP_AUDIT_WRITE: an ambient capability must also be permitted and inheritable"]
        );
    }

    #[test]
    fn capabilities_the_host_withholds_are_left_out_and_named() {
        let c = caps(r#"{"effective":["CAP_KILL","CAP_SYS_RESOURCE"],"permitted":["CAP_KILL","CAP_SYS_RESOURCE"]}"#);
        let host = HostCapabilities { known: KERNEL, bounding: KERNEL & !SYS_RESOURCE };
        assert_eq!(plan(Some(&c), host).sets, CapabilitySets { effective: KILL, permitted: KILL, inheritable: 0 });
        assert_eq!(
            capability_warnings(Some(&c), &[], host),
            vec!["this host withholds CAP_SYS_RESOURCE from the runtime (not in its bounding set), so the process runs without it"]
        );
    }

    #[test]
    fn unknown_and_unavailable_names_share_runcs_warning() {
        // CAP_CHECKPOINT_RESTORE (40) on a kernel whose last capability is 39.
        let c = caps(r#"{"bounding":["CAP_KILL","CAP_CHECKPOINT_RESTORE"],"permitted":["CAP_CHECKPOINT_RESTORE"]}"#);
        let old = HostCapabilities { known: KERNEL >> 1, bounding: KERNEL >> 1 };
        assert_eq!(plan(Some(&c), old).bounding, KILL);
        assert_eq!(
            capability_warnings(Some(&c), &["CAP_FOO".into()], old),
            vec!["ignoring unknown or unavailable capabilities: [CAP_CHECKPOINT_RESTORE CAP_FOO]"]
        );
    }

    #[test]
    fn contradictory_sets_are_trimmed_to_what_the_kernel_accepts() {
        let c = caps(
            r#"{"bounding":["CAP_KILL"],"effective":["CAP_KILL","CAP_CHOWN"],"permitted":["CAP_KILL"],"inheritable":["CAP_KILL","CAP_CHOWN"],"ambient":["CAP_KILL"]}"#,
        );
        assert_eq!(
            plan(Some(&c), ALL),
            CapabilityPlan {
                bounding: KILL,
                sets: CapabilitySets { effective: KILL, permitted: KILL, inheritable: KILL },
                ambient: KILL
            }
        );
        assert_eq!(capability_warnings(Some(&c), &[], ALL).len(), 2);
    }

    #[test]
    fn bounding_drops_every_known_capability_not_kept() {
        let fake = FakeSyscall::new();
        let c = caps(r#"{"bounding":["CAP_CHOWN","CAP_KILL"]}"#);
        drop_bounding_set(&plan(Some(&c), ALL), ALL, &fake).unwrap();
        let dropped: Vec<Call> = fake.calls_of("drop_bounding_capability");
        assert!(!dropped.contains(&Call::DropBoundingCapability(0)));
        assert!(!dropped.contains(&Call::DropBoundingCapability(5)));
        assert!(dropped.contains(&Call::DropBoundingCapability(21)));
        assert!(!dropped.contains(&Call::DropBoundingCapability(41)));
        assert_eq!(dropped.len(), 41 - 2);
    }

    #[test]
    fn missing_sets_are_empty_not_inherited() {
        for c in [None, Some(caps("{}"))] {
            let p = plan(c.as_ref(), ALL);
            assert_eq!(p, CapabilityPlan::default());
            let fake = FakeSyscall::new();
            drop_bounding_set(&p, ALL, &fake).unwrap();
            assert_eq!(fake.calls_of("drop_bounding_capability").len(), 41);
            let fake = FakeSyscall::new();
            apply_capabilities(&p, &fake).unwrap();
            assert_eq!(
                fake.calls(),
                vec![Call::SetCapabilities(CapabilitySets::default()), Call::ClearAmbientCapabilities]
            );
        }
    }

    #[test]
    fn sets_are_applied_in_one_call_then_ambient() {
        let fake = FakeSyscall::new();
        let c = caps(
            r#"{"bounding":["CAP_KILL"],"effective":["CAP_KILL"],"permitted":["CAP_KILL","CAP_CHOWN"],"inheritable":["CAP_KILL"],"ambient":["CAP_KILL"]}"#,
        );
        apply_capabilities(&plan(Some(&c), ALL), &fake).unwrap();
        assert_eq!(
            fake.calls(),
            vec![
                Call::SetCapabilities(CapabilitySets { effective: KILL, permitted: KILL | 1, inheritable: KILL }),
                Call::ClearAmbientCapabilities,
                Call::RaiseAmbientCapability(5),
            ]
        );
    }

    #[test]
    fn a_kernel_without_ambient_capabilities_is_not_an_error() {
        let fake = FakeSyscall::new();
        fake.fail_nth("clear_ambient_capabilities", 0, nix::errno::Errno::EINVAL);
        let c = caps(
            r#"{"bounding":["CAP_KILL"],"permitted":["CAP_KILL"],"inheritable":["CAP_KILL"],"ambient":["CAP_KILL"]}"#,
        );
        apply_capabilities(&plan(Some(&c), ALL), &fake).unwrap();
        assert!(fake.calls_of("raise_ambient_capability").is_empty());
    }
}
