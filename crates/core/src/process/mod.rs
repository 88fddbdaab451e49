//! What happens to the container's process between clone and execve: its terminal,
//! rlimits, privileges (capabilities, user, no_new_privs), working directory, and the
//! lookup and execution of its command.

mod capabilities;
mod exec;
mod lsm;
mod rlimits;
pub mod setup;
mod signals;
mod tty;
mod user;

pub use capabilities::{
    apply_capabilities, capability_index, capability_warnings, drop_bounding_set, plan as capability_plan,
    CapabilityPlan, HostCapabilities,
};
pub use exec::{exec, find_executable};
pub use lsm::{apparmor_enabled, lsm_warnings, set_apparmor_exec_profile};
pub use rlimits::apply_rlimits;
pub use signals::{end_on_terminating_signals, restore_sigpipe};
pub use tty::{open_console, set_winsize, winsize_of};
pub use user::switch_user;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::syscall::SyscallError;

/// Why a command could not be run, in the two classes shells and Docker report:
/// 127 for "not found", 126 for "found but not executable".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExecErrorKind {
    NotFound,
    NotExecutable,
}

impl ExecErrorKind {
    pub fn exit_code(self) -> i32 {
        match self {
            ExecErrorKind::NotFound => 127,
            ExecErrorKind::NotExecutable => 126,
        }
    }
}

/// runc's wording (`exec: "x": executable file not found in $PATH`), which Docker and
/// other managers match on.
#[derive(Debug, Clone, thiserror::Error)]
#[error("exec: \"{command}\": {reason}")]
pub struct ExecError {
    pub command: String,
    pub reason: String,
    pub kind: ExecErrorKind,
}

#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error(transparent)]
    Exec(#[from] ExecError),
    #[error("unknown capability `{0}`")]
    UnknownCapability(String),
    #[error("cannot set capabilities: {0}")]
    Capabilities(#[source] SyscallError),
    #[error("cannot set rlimit {name}: {source}")]
    Rlimit {
        name: String,
        #[source]
        source: SyscallError,
    },
    #[error("cannot switch to user {uid}:{gid}: {source}")]
    User {
        uid: u32,
        gid: u32,
        #[source]
        source: SyscallError,
    },
    #[error("cannot set no_new_privs: {0}")]
    NoNewPrivileges(#[source] SyscallError),
    #[error("cannot load the seccomp filter: {0}")]
    Seccomp(#[source] SyscallError),
    #[error("cannot change to the working directory {}: {source}", path.display())]
    Cwd {
        path: PathBuf,
        #[source]
        source: SyscallError,
    },
    /// CVE-2024-21626: a cwd such as `/proc/self/fd/N` can name a directory of the host
    /// through a descriptor the runtime still holds.
    #[error("the working directory {} is outside the container's root filesystem", path.display())]
    CwdOutsideRoot { path: PathBuf },
    #[error("cannot set up the container's terminal: {0}")]
    Terminal(#[source] nix::Error),
    #[error("cannot write {}: {source}", path.display())]
    Proc {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot set the hostname: {0}")]
    Hostname(#[source] SyscallError),
    #[error("sysctl `{key}` {reason}")]
    Sysctl { key: String, reason: String },
    #[error("cannot bring up the loopback interface: {0}")]
    Loopback(#[source] SyscallError),
    #[error("cannot make the process non-dumpable: {0}")]
    Dumpable(#[source] nix::Error),
    #[error("cannot wait for `start` on the exec fifo: {0}")]
    ExecFifo(#[source] nix::Error),
}

/// Writes the config's sysctls (validated already, see `spec::sysctl`) beneath `proc_sys`, a
/// descriptor of the container's /proc/sys (see `rootfs::proc_sys`): each key is opened
/// beneath it, following no symlink and crossing no mount, so no key leads anywhere else.
pub fn write_sysctls(
    sysctls: &std::collections::HashMap<String, String>,
    proc_sys: std::os::fd::BorrowedFd<'_>,
) -> Result<(), ProcessError> {
    use nix::fcntl::OFlag;
    for (key, value) in sysctls {
        let sysctl = |reason: String| ProcessError::Sysctl { key: key.clone(), reason };
        let path = crate::spec::sysctl_path(key).ok_or_else(|| sysctl("is not a sysctl name".into()))?;
        let file = crate::rootfs::secure::open_beneath(proc_sys, &path, OFlag::O_WRONLY | OFlag::O_TRUNC, true)
            .map_err(|e| sysctl(format!("cannot be opened: {}", e.desc())))?;
        nix::unistd::write(&file, value.as_bytes())
            .map_err(|e| sysctl(format!("cannot be set to `{value}`: {}", e.desc())))?;
    }
    Ok(())
}

/// `/proc/self/oom_score_adj`.
pub fn set_oom_score_adj(value: i32) -> Result<(), ProcessError> {
    let path = PathBuf::from("/proc/self/oom_score_adj");
    std::fs::write(&path, value.to_string()).map_err(|source| ProcessError::Proc { path, source })
}
