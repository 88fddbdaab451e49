//! Capabilities: the bounding set is trimmed while the init is still fully privileged,
//! then the effective, permitted and inheritable sets are set in one call after the user
//! switch, then the ambient ones raised.

use std::str::FromStr;

use oci_spec::runtime::{Capabilities, Capability, LinuxCapabilities};

use super::ProcessError;
use crate::syscall::{CapabilitySets, Syscall};

/// The kernel's number for a capability.
pub fn capability_index(cap: Capability) -> Result<u8, ProcessError> {
    let name = format!("CAP_{cap}");
    caps::Capability::from_str(&name).map(|c| c.index()).map_err(|_| ProcessError::UnknownCapability(name))
}

fn mask(set: Option<&Capabilities>) -> Result<u64, ProcessError> {
    set.into_iter().flatten().try_fold(0u64, |acc, cap| Ok(acc | (1u64 << capability_index(*cap)?)))
}

/// The highest capability this kernel knows, probed with PR_CAPBSET_READ (no /proc needed).
fn last_capability() -> u8 {
    (0u8..64)
        // SAFETY: PR_CAPBSET_READ takes a capability number and returns 0/1 or EINVAL.
        .take_while(|cap| unsafe { libc::prctl(libc::PR_CAPBSET_READ, libc::c_ulong::from(*cap), 0, 0, 0) } >= 0)
        .last()
        .unwrap_or(40)
}

/// Drops every capability outside the spec's bounding set. A set the spec leaves out is
/// empty, as with runc: otherwise a root process would regain every capability in the
/// bounding set at execve.
pub fn drop_bounding_set(caps: Option<&LinuxCapabilities>, sys: &dyn Syscall) -> Result<(), ProcessError> {
    let keep = mask(caps.and_then(|c| c.bounding().as_ref()))?;
    for cap in 0..=last_capability() {
        if keep & (1 << cap) == 0 {
            sys.drop_bounding_capability(cap).map_err(ProcessError::Capabilities)?;
        }
    }
    Ok(())
}

/// The capabilities this runtime can hand out: those in its own bounding set. A host may
/// withhold some (CAP_SYS_RESOURCE on some CI machines); `--privileged` then means
/// "everything this host allows", as podman reads it, instead of a failed capset.
pub fn grantable() -> u64 {
    (0u8..64)
        // SAFETY: PR_CAPBSET_READ takes a capability number and returns 0/1 or EINVAL.
        .filter(|cap| unsafe { libc::prctl(libc::PR_CAPBSET_READ, libc::c_ulong::from(*cap), 0, 0, 0) } == 1)
        .fold(0, |acc, cap| acc | (1u64 << cap))
}

/// Capabilities the spec asks for that `grantable` lacks, by name, for a warning.
pub fn ungrantable(caps: Option<&LinuxCapabilities>, grantable: u64) -> Vec<String> {
    let Some(caps) = caps else { return Vec::new() };
    let mut names: Vec<String> =
        [caps.bounding(), caps.effective(), caps.permitted(), caps.inheritable(), caps.ambient()]
            .into_iter()
            .flatten()
            .flatten()
            .filter(|c| capability_index(**c).is_ok_and(|i| grantable & (1 << i) == 0))
            .map(|c| format!("CAP_{c}"))
            .collect();
    names.sort();
    names.dedup();
    names
}

/// Sets effective, permitted and inheritable, then raises the ambient capabilities; sets
/// the spec leaves out are empty, and capabilities outside `grantable` are left out.
pub fn apply_capabilities(
    caps: Option<&LinuxCapabilities>,
    grantable: u64,
    sys: &dyn Syscall,
) -> Result<(), ProcessError> {
    let sets = CapabilitySets {
        effective: mask(caps.and_then(|c| c.effective().as_ref()))? & grantable,
        permitted: mask(caps.and_then(|c| c.permitted().as_ref()))? & grantable,
        inheritable: mask(caps.and_then(|c| c.inheritable().as_ref()))? & grantable,
    };
    sys.set_capabilities(sets).map_err(ProcessError::Capabilities)?;
    for cap in caps.and_then(|c| c.ambient().as_ref()).into_iter().flatten() {
        let index = capability_index(*cap)?;
        if grantable & (1 << index) != 0 {
            sys.raise_ambient_capability(index).map_err(ProcessError::Capabilities)?;
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

    #[test]
    fn indices_are_the_kernels() {
        assert_eq!(capability_index(Capability::Chown).unwrap(), 0);
        assert_eq!(capability_index(Capability::SysAdmin).unwrap(), 21);
        assert_eq!(capability_index(Capability::NetBindService).unwrap(), 10);
    }

    #[test]
    fn bounding_drops_everything_not_kept() {
        let fake = FakeSyscall::new();
        drop_bounding_set(Some(&caps(r#"{"bounding":["CAP_CHOWN","CAP_KILL"]}"#)), &fake).unwrap();
        let dropped: Vec<Call> = fake.calls_of("drop_bounding_capability");
        assert!(!dropped.contains(&Call::DropBoundingCapability(0)));
        assert!(!dropped.contains(&Call::DropBoundingCapability(5)));
        assert!(dropped.contains(&Call::DropBoundingCapability(21)));
        assert_eq!(dropped.len(), usize::from(last_capability()) + 1 - 2);
    }

    #[test]
    fn capabilities_the_host_withholds_are_left_out_and_named() {
        let c = caps(r#"{"effective":["CAP_KILL","CAP_SYS_RESOURCE"],"permitted":["CAP_KILL","CAP_SYS_RESOURCE"]}"#);
        let without_resource = !(1u64 << 24);
        assert_eq!(ungrantable(Some(&c), without_resource), vec!["CAP_SYS_RESOURCE"]);
        let fake = FakeSyscall::new();
        apply_capabilities(Some(&c), without_resource, &fake).unwrap();
        assert_eq!(
            fake.calls(),
            vec![Call::SetCapabilities(CapabilitySets { effective: 1 << 5, permitted: 1 << 5, inheritable: 0 })]
        );
    }

    #[test]
    fn missing_sets_are_empty_not_inherited() {
        let all = usize::from(last_capability()) + 1;
        let fake = FakeSyscall::new();
        drop_bounding_set(Some(&caps("{}")), &fake).unwrap();
        assert_eq!(fake.calls_of("drop_bounding_capability").len(), all);
        let fake = FakeSyscall::new();
        drop_bounding_set(None, &fake).unwrap();
        assert_eq!(fake.calls_of("drop_bounding_capability").len(), all);
        let fake = FakeSyscall::new();
        apply_capabilities(None, u64::MAX, &fake).unwrap();
        assert_eq!(fake.calls(), vec![Call::SetCapabilities(CapabilitySets::default())]);
    }

    #[test]
    fn sets_are_applied_in_one_call_then_ambient() {
        let fake = FakeSyscall::new();
        let c = caps(
            r#"{"effective":["CAP_KILL"],"permitted":["CAP_KILL","CAP_CHOWN"],"inheritable":["CAP_KILL"],"ambient":["CAP_KILL"]}"#,
        );
        apply_capabilities(Some(&c), u64::MAX, &fake).unwrap();
        assert_eq!(
            fake.calls(),
            vec![
                Call::SetCapabilities(CapabilitySets { effective: 1 << 5, permitted: 1 << 5 | 1, inheritable: 1 << 5 }),
                Call::RaiseAmbientCapability(5),
            ]
        );
    }
}
