//! The error every public function of this crate returns: one enum per module, rolled up.

use std::path::{Path, PathBuf};

pub type Result<T, E = Error> = std::result::Result<T, E>;

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
    /// Set when the container's command could not be found or executed, which
    /// Docker-style front ends report as exit 127 or 126.
    pub fn exec_failure(&self) -> Option<crate::process::ExecErrorKind> {
        match self {
            Error::Process(crate::process::ProcessError::Exec(e)) => Some(e.kind),
            Error::Container(crate::container::ContainerError::Init(failure)) => failure.exec,
            _ => None,
        }
    }
}

/// An error and its causes as one line, joined by `": "` (what anyhow's `{:#}` prints). A
/// cause whose text the message already holds is not repeated: enums that still embed their
/// cause in their message read the same as those that leave it to their `source`.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        let part = e.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cause = e.source();
    }
    text
}

/// An I/O error together with what was being done and to which path.
#[derive(Debug, thiserror::Error)]
#[error("{op} {}: {source}", path.display())]
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
    fn a_chain_names_each_cause_once() {
        let io = || std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let untrusted =
            crate::trusted::TrustError::Io { op: "create", what: "state directory", path: "/x".into(), source: io() };
        assert_eq!(chain(&untrusted), "cannot create state directory /x: permission denied");
        let embedded = PathError { op: "open", path: "/y".into(), source: io() };
        assert_eq!(chain(&embedded), "open /y: permission denied");
    }
}
