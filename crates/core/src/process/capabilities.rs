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

/// Drops every capability outside the spec's bounding set. Without a bounding set in the
/// spec, the bounding set is left alone.
pub fn drop_bounding_set(caps: &LinuxCapabilities, sys: &dyn Syscall) -> Result<(), ProcessError> {
    let Some(bounding) = caps.bounding().as_ref() else {
        return Ok(());
    };
    let keep = mask(Some(bounding))?;
    for cap in 0..=last_capability() {
        if keep & (1 << cap) == 0 {
            sys.drop_bounding_capability(cap).map_err(ProcessError::Capabilities)?;
        }
    }
    Ok(())
}

/// Sets effective, permitted and inheritable, then raises the ambient capabilities.
pub fn apply_capabilities(caps: &LinuxCapabilities, sys: &dyn Syscall) -> Result<(), ProcessError> {
    let sets = CapabilitySets {
        effective: mask(caps.effective().as_ref())?,
        permitted: mask(caps.permitted().as_ref())?,
        inheritable: mask(caps.inheritable().as_ref())?,
    };
    sys.set_capabilities(sets).map_err(ProcessError::Capabilities)?;
    for cap in caps.ambient().iter().flatten() {
        sys.raise_ambient_capability(capability_index(*cap)?).map_err(ProcessError::Capabilities)?;
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
        drop_bounding_set(&caps(r#"{"bounding":["CAP_CHOWN","CAP_KILL"]}"#), &fake).unwrap();
        let dropped: Vec<Call> = fake.calls_of("drop_bounding_capability");
        assert!(!dropped.contains(&Call::DropBoundingCapability(0)));
        assert!(!dropped.contains(&Call::DropBoundingCapability(5)));
        assert!(dropped.contains(&Call::DropBoundingCapability(21)));
        assert_eq!(dropped.len(), usize::from(last_capability()) + 1 - 2);
    }

    #[test]
    fn sets_are_applied_in_one_call_then_ambient() {
        let fake = FakeSyscall::new();
        let c = caps(
            r#"{"effective":["CAP_KILL"],"permitted":["CAP_KILL","CAP_CHOWN"],"inheritable":["CAP_KILL"],"ambient":["CAP_KILL"]}"#,
        );
        apply_capabilities(&c, &fake).unwrap();
        assert_eq!(
            fake.calls(),
            vec![
                Call::SetCapabilities(CapabilitySets { effective: 1 << 5, permitted: 1 << 5 | 1, inheritable: 1 << 5 }),
                Call::RaiseAmbientCapability(5),
            ]
        );
    }
}
