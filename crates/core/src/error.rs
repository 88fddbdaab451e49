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

/// Defines [`Code`], its names and [`Code::ALL`] from one list, so none can miss a kind.
macro_rules! codes {
    ($($(#[doc = $doc:literal])* $variant:ident => $name:literal,)*) => {
        /// What kind of failure an error is: the one vocabulary of stable names every face
        /// carries beside its message (the runtime's JSON log entries and `storage` errors as
        /// `code`, the addon's errors as the JS error's `code`), which a front end maps to its
        /// own errors. The container kinds come first, then the image store's and registry's
        /// (`tscontainer_image::Error::code`), then the native hosts' own.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $($(#[doc = $doc])* $variant,)*
        }

        impl Code {
            /// Every code, in the order above.
            pub const ALL: &[Code] = &[$(Code::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $name,)*
                }
            }
        }
    };
}

codes! {
    /// No container has that id.
    NotFound => "not-found",
    /// A container (or its bundle) with that id exists already.
    AlreadyExists => "already-exists",
    /// The container's status does not allow the operation (starting a running container).
    InvalidStatus => "invalid-status",
    /// A configuration (a container's `config.json`, `registries.conf`, an auth file) cannot
    /// be read or asks for something impossible.
    InvalidConfig => "invalid-config",
    /// The root filesystem is missing, not a directory, or refused.
    InvalidRootfs => "invalid-rootfs",
    /// An option, flag or value given to the runtime or to a front end cannot be used.
    InvalidOption => "invalid-option",
    /// The container's process could not be started (its init gave up before the command ran).
    ExecFailed => "exec-failed",
    /// The command exists but cannot be executed (exit status 126 for Docker).
    NotExecutable => "not-executable",
    /// The command does not exist (exit status 127 for Docker).
    CommandNotFound => "command-not-found",
    /// The kernel's OOM killer ended the container's init while it was being set up.
    OomKilled => "oom-killed",
    /// A cgroup (or systemd's scope for it) could not be made, changed, read or removed.
    Cgroup => "cgroup",
    /// This user may not do it here (create cgroups, user namespaces, map those ids, write
    /// those files).
    PermissionDenied => "permission-denied",
    /// A file, directory or descriptor is not what it must be to be trusted, and was refused.
    UnsafeState => "unsafe-state",
    /// This host or build does not have what is asked for.
    Unsupported => "unsupported",
    /// The container's network (a user-mode helper) could not be set up.
    Network => "network",
    /// A hook of the config failed.
    Hook => "hook",
    /// Anything else: a system call failed.
    Internal => "internal",

    /// An image reference that does not parse.
    InvalidReference => "invalid-reference",
    /// A platform (`linux/arm64/v8`) that does not parse.
    InvalidPlatform => "invalid-platform",
    /// A digest that does not parse.
    InvalidDigest => "invalid-digest",
    /// No image by that name, id or id prefix in the store.
    ImageNotKnown => "image-not-known",
    /// An id prefix that matches several images.
    AmbiguousImageId => "ambiguous-image-id",
    /// An image a container uses, or one with several names removed by id, without force.
    InUse => "in-use",
    /// The registry has no such manifest.
    ManifestUnknown => "manifest-unknown",
    /// The registry has no such blob.
    BlobUnknown => "blob-unknown",
    /// Bad credentials, authentication required, access denied.
    Unauthorized => "unauthorized",
    /// The registry cannot be reached.
    RegistryUnreachable => "registry-unreachable",
    /// The registry's TLS is not trusted or fails.
    Tls => "tls",
    /// The registry answered with an error.
    RegistryError => "registry-error",
    /// A blob, a size or a layer's diff_id is not what its descriptor says.
    DigestMismatch => "digest-mismatch",
    /// A media type this host cannot use (or a schema 1 manifest).
    UnsupportedMediaType => "unsupported-media-type",
    /// No manifest of the image's index is for the platform asked for.
    NoMatchingPlatform => "no-matching-platform",
    /// A manifest, config, layer or file larger than allowed.
    TooLarge => "too-large",
    /// registries.conf blocks the registry.
    BlockedRegistry => "blocked-registry",
    /// A short name registries.conf cannot resolve to one registry.
    AmbiguousShortName => "ambiguous-short-name",
    /// A docker-credential helper is missing, fails, or answers with nothing usable.
    CredentialHelper => "credential-helper",
    /// Logout with no credentials recorded.
    NotLoggedIn => "not-logged-in",
    /// The file system is full (or a quota is reached).
    NoSpace => "no-space",
    /// A file of the store could not be read or written.
    Io => "io",
    /// A stored file that cannot be read as what it should be.
    InvalidContent => "invalid-content",
    /// An image archive (docker-archive, oci-archive, OCI layout) that is not what it claims.
    InvalidArchive => "invalid-archive",
    /// Arguments an image operation cannot use (nothing to save, a non-stream output).
    InvalidArgument => "invalid-argument",
    /// A store that cannot be trusted (its owner, its modes, a symbolic link).
    UnsafeStorage => "unsafe-storage",
    /// A layer refused while unpacking: an entry that would escape or attack the host.
    HostileLayer => "hostile-layer",
    /// A layer that does not decompress or is not a valid archive.
    CorruptLayer => "corrupt-layer",
    /// A layer could not be unpacked (its unpacking process failed).
    Unpack => "unpack",
    /// An image's file (`/etc/passwd`) that is not a regular file.
    NotRegularFile => "not-regular-file",
    /// The store already has layers for a container of that id.
    ContainerExists => "container-exists",
    /// The store has no layers for a container of that id.
    ContainerNotKnown => "container-not-known",
    /// A container id the store cannot use.
    InvalidContainerId => "invalid-container-id",
    /// The operation was canceled (an AbortSignal, SIGINT or SIGTERM).
    Canceled => "canceled",

    /// The `tscontainer-runtime` executable is not where the addon expects it.
    RuntimeNotFound => "runtime-not-found",
    /// An image operation this caller's other host runs (see the addon's `imageHost()`).
    WrongHost => "wrong-host",
    /// The runtime could not enter the user's user namespace for an image operation.
    UserNamespace => "user-namespace",
}

impl Code {
    /// The code named `name`, if there is one.
    pub fn from_name(name: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| c.as_str() == name)
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

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Code {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Code::from_name(&name).ok_or_else(|| serde::de::Error::custom(format!("unknown error code `{name}`")))
    }
}

/// napi-rs takes an error's `code` as `AsRef<str>`.
impl AsRef<str> for Code {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

/// Tests compare a code with its name.
impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
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
        for &code in Code::ALL {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
            assert_eq!(serde_json::from_value::<Code>(code.as_str().into()).unwrap(), code);
        }
        assert!(serde_json::from_value::<Code>("ERR_TSC_NOT_FOUND".into()).is_err());
    }
}
