//! Seccomp: the spec's `linux.seccomp` compiled into a BPF filter with libseccomp (the
//! library runc, crun and youki use, so a profile means the same thing here as there),
//! and loaded as the very last step before execve. Compiling a large profile costs more
//! than the rest of starting a container, so compiled programs are cached (see [`cache`]).
//!
//! Only the runtime compiles: libseccomp is linked with the `seccomp` feature, which the
//! runtime turns on and the Node addon does not (the addon builds configs; what it checks of
//! a profile, [`check`], needs no libseccomp). Without the feature, [`compile`] says so.

mod cache;
#[cfg(feature = "seccomp")]
mod compile;

pub use cache::{cache_dir, compile_cached};
#[cfg(feature = "seccomp")]
pub use compile::compile;

use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction};

#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    #[error("seccomp: {what} is not supported")]
    Unsupported { what: String },
    #[cfg(feature = "seccomp")]
    #[error("seccomp: cannot {action}")]
    Library {
        action: String,
        #[source]
        source: libseccomp::error::SeccompError,
    },
    #[error("seccomp: this build cannot compile filters (libseccomp is linked into tscontainer-runtime only)")]
    NotBuilt,
}

impl SeccompError {
    pub fn code(&self) -> crate::error::Code {
        use crate::error::Code;
        match self {
            SeccompError::Unsupported { .. } | SeccompError::NotBuilt => Code::Unsupported,
            #[cfg(feature = "seccomp")]
            SeccompError::Library { .. } => Code::InvalidConfig,
        }
    }
}

/// What can be said of a profile without compiling it: the spec's types (actions,
/// architectures, operators) are checked as it is parsed; this refuses what this runtime
/// does not do (a notification listener). The runtime compiles it at create, which
/// refuses anything else libseccomp cannot express.
pub fn check(profile: &LinuxSeccomp) -> Result<(), SeccompError> {
    let notify = |a: LinuxSeccompAction| a == LinuxSeccompAction::ScmpActNotify;
    let rules = profile.syscalls().as_deref().unwrap_or_default();
    if notify(profile.default_action()) || rules.iter().any(|r| notify(r.action())) {
        return Err(SeccompError::Unsupported { what: "SCMP_ACT_NOTIFY (a seccomp listener)".into() });
    }
    Ok(())
}

/// Without libseccomp in this build, no profile compiles.
#[cfg(not(feature = "seccomp"))]
pub fn compile(profile: &LinuxSeccomp) -> Result<Filter, SeccompError> {
    check(profile)?;
    Err(SeccompError::NotBuilt)
}

/// libseccomp's version, which a compiled program depends on (none without the feature).
pub fn libseccomp_version() -> Option<(u32, u32, u32)> {
    #[cfg(feature = "seccomp")]
    return libseccomp::ScmpVersion::current().ok().map(|v| (v.major, v.minor, v.micro));
    #[cfg(not(feature = "seccomp"))]
    None
}

/// A compiled filter: the BPF program and the seccomp(2) flags to load it with.
#[derive(Clone, PartialEq, Eq)]
pub struct Filter {
    /// `struct sock_filter` instructions, 8 bytes each, in the kernel's layout.
    program: Vec<u8>,
    flags: u32,
}

impl std::fmt::Debug for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "seccomp::Filter({} instructions)", self.program.len() / 8)
    }
}

impl Filter {
    /// Installs the filter on this process; from here on, it applies to every syscall.
    /// The caller has no_new_privs set or holds CAP_SYS_ADMIN.
    pub fn load(&self) -> Result<(), nix::Error> {
        let prog = libc::sock_fprog {
            len: (self.program.len() / std::mem::size_of::<libc::sock_filter>()) as u16,
            filter: self.program.as_ptr() as *mut libc::sock_filter,
        };
        // SAFETY: `prog` points at `program`, whose length in instructions it carries;
        // both outlive the call, and the kernel copies the program before returning.
        let rc = unsafe { libc::syscall(libc::SYS_seccomp, libc::SECCOMP_SET_MODE_FILTER, self.flags, &prog) };
        nix::errno::Errno::result(rc).map(drop)
    }

    /// The program as instructions, for tests and debugging.
    pub fn instructions(&self) -> usize {
        self.program.len() / 8
    }

    fn to_bytes(&self) -> Vec<u8> {
        [self.flags.to_le_bytes().as_slice(), &self.program].concat()
    }

    fn from_bytes(bytes: &[u8]) -> Option<Filter> {
        let (flags, program) = bytes.split_first_chunk::<4>()?;
        (!program.is_empty() && program.len() % 8 == 0 && program.len() / 8 <= usize::from(u16::MAX))
            .then(|| Filter { program: program.to_vec(), flags: u32::from_le_bytes(*flags) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_is_refused_with_a_reason_without_compiling() {
        let refused = |json: &str| check(&serde_json::from_str(json).unwrap()).unwrap_err().to_string();
        let reason = "seccomp: SCMP_ACT_NOTIFY (a seccomp listener) is not supported";
        assert_eq!(refused(r#"{"defaultAction":"SCMP_ACT_NOTIFY"}"#), reason);
        let rule = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}"#;
        assert_eq!(refused(rule), reason);
        assert!(check(&serde_json::from_str(r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#).unwrap()).is_ok());
    }
}
