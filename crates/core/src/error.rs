//! The error every public function of this crate returns: one enum per module, rolled up.
//!
//! The convention, for every error of the workspace: a message never embeds its cause; the
//! cause is the error's `source`, and whoever prints an error prints [`chain`], so each cause
//! appears exactly once. Every error also has a [`Code`], the kind of failure it is, which the
//! runtime's JSON log and the addon carry beside the message: front ends decide by the code,
//! never by the text.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of failure an error is: stable names a front end can map to its own errors (the
/// runtime's JSON log has them as `code`, the addon as the JS error's `code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Code {
    /// No container has that id.
    NotFound,
    /// A container (or its bundle) with that id exists already.
    AlreadyExists,
    /// The container's status does not allow the operation (starting a running container).
    InvalidStatus,
    /// The config (`config.json`) cannot be read or asks for something impossible.
    InvalidConfig,
    /// The root filesystem is missing, not a directory, or refused.
    InvalidRootfs,
    /// An option, flag or value given to the runtime or to a front end cannot be used.
    InvalidOption,
    /// The container's process could not be started (its init gave up before the command ran).
    ExecFailed,
    /// The command exists but cannot be executed (exit status 126 for Docker).
    NotExecutable,
    /// The command does not exist (exit status 127 for Docker).
    CommandNotFound,
    /// The kernel's OOM killer ended the container's init while it was being set up.
    OomKilled,
    /// A cgroup (or systemd's scope for it) could not be made, changed, read or removed.
    Cgroup,
    /// This user may not do it here (create cgroups, user namespaces, map those ids).
    PermissionDenied,
    /// A file, directory or descriptor is not what it must be to be trusted, and was refused.
    UnsafeState,
    /// This host or build does not have what is asked for.
    Unsupported,
    /// The container's network (a user-mode helper) could not be set up.
    Network,
    /// A hook of the config failed.
    Hook,
    /// Anything else: a system call or an I/O operation failed.
    Internal,
}

impl Code {
    pub const ALL: [Code; 17] = [
        Code::NotFound,
        Code::AlreadyExists,
        Code::InvalidStatus,
        Code::InvalidConfig,
        Code::InvalidRootfs,
        Code::InvalidOption,
        Code::ExecFailed,
        Code::NotExecutable,
        Code::CommandNotFound,
        Code::OomKilled,
        Code::Cgroup,
        Code::PermissionDenied,
        Code::UnsafeState,
        Code::Unsupported,
        Code::Network,
        Code::Hook,
        Code::Internal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Code::NotFound => "not-found",
            Code::AlreadyExists => "already-exists",
            Code::InvalidStatus => "invalid-status",
            Code::InvalidConfig => "invalid-config",
            Code::InvalidRootfs => "invalid-rootfs",
            Code::InvalidOption => "invalid-option",
            Code::ExecFailed => "exec-failed",
            Code::NotExecutable => "not-executable",
            Code::CommandNotFound => "command-not-found",
            Code::OomKilled => "oom-killed",
            Code::Cgroup => "cgroup",
            Code::PermissionDenied => "permission-denied",
            Code::UnsafeState => "unsafe-state",
            Code::Unsupported => "unsupported",
            Code::Network => "network",
            Code::Hook => "hook",
            Code::Internal => "internal",
        }
    }

    /// Why a command could not be run, for the codes that say so.
    pub fn exec_failure(self) -> Option<crate::process::ExecErrorKind> {
        match self {
            Code::CommandNotFound => Some(crate::process::ExecErrorKind::NotFound),
            Code::NotExecutable => Some(crate::process::ExecErrorKind::NotExecutable),
            _ => None,
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Spec(#[from] crate::spec::SpecError),
    #[error(transparent)]
    Cgroup(#[from] crate::cgroups::CgroupError),
    #[error(transparent)]
    Systemd(#[from] crate::cgroups::systemd::SystemdError),
    #[error(transparent)]
    Rootfs(#[from] crate::rootfs::RootfsError),
    #[error(transparent)]
    Process(#[from] crate::process::ProcessError),
    #[error(transparent)]
    Namespace(#[from] crate::namespaces::NamespaceError),
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    #[error(transparent)]
    Container(#[from] crate::container::ContainerError),
    #[error(transparent)]
    Channel(#[from] crate::channel::ChannelError),
    #[error(transparent)]
    Syscall(#[from] crate::syscall::SyscallError),
    #[error(transparent)]
    Seccomp(#[from] crate::seccomp::SeccompError),
    #[error(transparent)]
    Hook(#[from] crate::hooks::HookError),
    #[error(transparent)]
    Network(#[from] crate::network::NetworkError),
    #[error(transparent)]
    Trust(#[from] crate::trusted::TrustError),
}

impl Error {
    pub fn code(&self) -> Code {
        match self {
            Error::Spec(e) => e.code(),
            Error::Cgroup(e) => e.code(),
            Error::Systemd(e) => e.code(),
            Error::Rootfs(e) => e.code(),
            Error::Process(e) => e.code(),
            Error::Namespace(e) => e.code(),
            Error::State(e) => e.code(),
            Error::Container(e) => e.code(),
            Error::Channel(e) => e.code(),
            Error::Syscall(e) => e.code(),
            Error::Seccomp(e) => e.code(),
            Error::Hook(e) => e.code(),
            Error::Network(e) => e.code(),
            Error::Trust(e) => e.code(),
        }
    }

    /// Set when the container's command could not be found or executed, which
    /// Docker-style front ends report as exit 127 or 126.
    pub fn exec_failure(&self) -> Option<crate::process::ExecErrorKind> {
        self.code().exec_failure()
    }
}

/// An error and its causes as one line, joined by `": "` (what anyhow's `{:#}` prints).
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        text.push_str(": ");
        text.push_str(&e.to_string());
        cause = e.source();
    }
    text
}

/// An I/O error together with what was being done and to which path.
#[derive(Debug, thiserror::Error)]
#[error("{op} {}", path.display())]
pub struct PathError {
    pub op: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// Attaches the operation and the path to an `std::io::Result`, the way youki's
/// `WrapIoResult` does, so every I/O failure names the file at fault.
pub trait IoContext<T> {
    fn at(self, op: &'static str, path: impl AsRef<Path>) -> Result<T, PathError>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, op: &'static str, path: impl AsRef<Path>) -> Result<T, PathError> {
        self.map_err(|source| PathError { op, path: path.as_ref().to_path_buf(), source })
    }
}

impl<T> IoContext<T> for nix::Result<T> {
    fn at(self, op: &'static str, path: impl AsRef<Path>) -> Result<T, PathError> {
        self.map_err(|errno| PathError { op, path: path.as_ref().to_path_buf(), source: std::io::Error::from(errno) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nested_cause_is_printed_once() {
        let io = || std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let untrusted =
            crate::trusted::TrustError::Io { op: "create", what: "state directory", path: "/x".into(), source: io() };
        let state = Error::from(crate::state::StateError::from(untrusted));
        assert_eq!(chain(&state), "cannot create state directory /x: permission denied");
        let path = PathError { op: "open", path: "/y".into(), source: io() };
        assert_eq!(chain(&path), "open /y: permission denied");
        // Three levels, each printed once and in order.
        let syscall = crate::syscall::SyscallError { op: "mount", target: "/proc".into(), errno: nix::Error::EPERM };
        let rootfs = crate::rootfs::RootfsError::Mount { what: "proc".into(), source: syscall };
        assert_eq!(chain(&Error::from(rootfs)), "cannot mount proc: mount /proc: EPERM: Operation not permitted");
    }

    #[test]
    fn every_code_has_a_distinct_name() {
        let names: std::collections::HashSet<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names.len(), Code::ALL.len());
        for code in Code::ALL {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
    }
}
