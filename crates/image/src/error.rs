//! The image library's errors. A message names the operation and the object and never embeds
//! its cause; the cause is the `source`, and whoever prints an error prints the chain joined by
//! ": " once. Each variant has a stable [`Error::code`] that the addon exposes to JavaScript.

use std::path::{Path, PathBuf};

use tscontainer_core::error::Code;

use crate::digest::Digest;
use crate::layer::LayerError;

pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    InvalidReference(#[from] crate::reference::ReferenceError),

    #[error(transparent)]
    InvalidPlatform(#[from] crate::platform::PlatformError),

    #[error(transparent)]
    InvalidDigest(#[from] crate::digest::DigestError),

    #[error("image {0} is not in the store")]
    ImageNotKnown(String),

    #[error("image id prefix {0} matches several images")]
    AmbiguousImageId(String),

    #[error("image {image} has several names ({}): remove them one by one, or force", names.join(", "))]
    ImageHasNames { image: String, names: Vec<String> },

    #[error("the registry has no manifest for {0}")]
    ManifestUnknown(String),

    #[error("the registry has no blob {digest} in {repository}")]
    BlobUnknown { repository: String, digest: Digest },

    #[error("registry {registry} refused the credentials for {repository}")]
    BadCredentials { registry: String, repository: String },

    #[error("registry {registry} requires authentication for {repository}: log in first")]
    AuthenticationRequired { registry: String, repository: String },

    #[error("registry {registry} denied access to {repository}")]
    Denied { registry: String, repository: String },

    #[error("cannot reach registry {registry}")]
    RegistryUnreachable {
        registry: String,
        #[source]
        source: BoxError,
    },

    #[error("cannot establish a trusted TLS connection to registry {registry}")]
    Tls {
        registry: String,
        #[source]
        source: BoxError,
    },

    #[error("registry {registry} answered {status} to {what}{}", detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    RegistryStatus { registry: String, what: String, status: u16, detail: Option<String> },

    #[error("registry {registry} answered with a bad authentication challenge: {challenge}")]
    BadChallenge { registry: String, challenge: String },

    #[error("{what} has digest {actual}, not {expected}")]
    DigestMismatch { what: String, expected: Digest, actual: Digest },

    #[error("{what} is {actual} bytes, not the {expected} its descriptor gives")]
    SizeMismatch { what: String, expected: u64, actual: u64 },

    #[error("layer {layer} unpacks to {actual}, not to the diff_id {expected} that the image's config gives")]
    DiffIdMismatch { layer: Digest, expected: String, actual: String },

    #[error("{what} has media type {media_type}, which tscontainer does not support")]
    UnsupportedMediaType { what: String, media_type: String },

    #[error("{0} is a Docker schema 1 image, which is no longer supported: push it again with a current tool")]
    Schema1(String),

    #[error("{reference} has no image for {wanted} (it has {offered})")]
    NoMatchingPlatform { reference: String, wanted: String, offered: String },

    #[error("{what} is larger than the {limit} bytes allowed")]
    TooLarge { what: String, limit: u64 },

    #[error("registry {0} is blocked by registries.conf")]
    BlockedRegistry(String),

    #[error("short name {name} is ambiguous between the search registries {registries} (short-name-mode is enforcing): name the registry")]
    AmbiguousShortName { name: String, registries: String },

    #[error("the credential helper docker-credential-{helper} gave no credentials for {registry}: {why}")]
    CredentialHelper { helper: String, registry: String, why: String },

    #[error("not logged in to {0}")]
    NotLoggedIn(String),

    #[error("no space left to {op} {}", path.display())]
    NoSpace {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot {op} {}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot {op} {what}")]
    Network {
        op: &'static str,
        what: String,
        #[source]
        source: BoxError,
    },

    #[error("cannot parse {what}")]
    InvalidContent {
        what: String,
        #[source]
        source: BoxError,
    },

    #[error("cannot read configuration file {}", path.display())]
    InvalidConfig {
        path: PathBuf,
        #[source]
        source: BoxError,
    },

    #[error("storage root {} {reason}", path.display())]
    UnsafeStorage { path: PathBuf, reason: String },

    #[error("cannot unpack layer {layer}")]
    Unpack {
        layer: Digest,
        #[source]
        source: LayerError,
    },

    #[error("cannot unpack layer {layer}")]
    Unpacker {
        layer: Digest,
        #[source]
        source: BoxError,
    },

    #[error("image {image} is used by container {}", containers.join(", "))]
    InUse { image: String, containers: Vec<String> },

    #[error("container {0} already has storage")]
    ContainerExists(String),

    #[error("container {0} has no storage")]
    ContainerNotKnown(String),

    #[error("invalid container id {0:?}: use letters, digits, '_', '.' and '-' (at most 128)")]
    InvalidContainerId(String),

    #[error("the pull was canceled")]
    Canceled,

    #[error("{archive} is not a valid image archive: {reason}")]
    InvalidArchive {
        archive: String,
        reason: String,
        #[source]
        source: Option<BoxError>,
    },

    #[error("no image to save: name at least one")]
    NothingToSave,

    #[error("an {0} is a directory, which cannot be written to a stream: give a path")]
    NotAStream(&'static str),

    #[error(
        "cannot save image {image}: the store has no blob of its layer {layer} (remove the images that use that layer, then pull or load them again)"
    )]
    LayerBlobMissing { image: String, layer: Digest },
}

impl Error {
    /// The kind of failure, in the workspace's one vocabulary of codes (the addon's and the
    /// runtime's `code`).
    pub fn code(&self) -> Code {
        match self {
            Error::InvalidReference(_) => Code::InvalidReference,
            Error::InvalidPlatform(_) => Code::InvalidPlatform,
            Error::InvalidDigest(_) => Code::InvalidDigest,
            Error::ImageNotKnown(_) => Code::ImageNotKnown,
            Error::AmbiguousImageId(_) => Code::AmbiguousImageId,
            Error::ImageHasNames { .. } => Code::InUse,
            Error::ManifestUnknown(_) => Code::ManifestUnknown,
            Error::BlobUnknown { .. } => Code::BlobUnknown,
            Error::BadCredentials { .. } | Error::AuthenticationRequired { .. } | Error::Denied { .. } => {
                Code::Unauthorized
            }
            Error::RegistryUnreachable { .. } | Error::Network { .. } => Code::RegistryUnreachable,
            Error::Tls { .. } => Code::Tls,
            Error::RegistryStatus { .. } | Error::BadChallenge { .. } => Code::RegistryError,
            Error::DigestMismatch { .. } | Error::SizeMismatch { .. } | Error::DiffIdMismatch { .. } => {
                Code::DigestMismatch
            }
            Error::UnsupportedMediaType { .. } | Error::Schema1(_) => Code::UnsupportedMediaType,
            Error::NoMatchingPlatform { .. } => Code::NoMatchingPlatform,
            Error::TooLarge { .. } => Code::TooLarge,
            Error::BlockedRegistry(_) => Code::BlockedRegistry,
            Error::AmbiguousShortName { .. } => Code::AmbiguousShortName,
            Error::CredentialHelper { .. } => Code::CredentialHelper,
            Error::NotLoggedIn(_) => Code::NotLoggedIn,
            Error::NoSpace { .. } => Code::NoSpace,
            Error::Io { .. } => Code::Io,
            Error::InvalidContent { .. } => Code::InvalidContent,
            Error::InvalidConfig { .. } => Code::InvalidConfig,
            Error::UnsafeStorage { .. } => Code::UnsafeStorage,
            // The layer's own kind: hostile-layer, corrupt-layer, no-space, permission-denied, ...
            Error::Unpack { source, .. } => source.code(),
            Error::Unpacker { .. } => Code::Unpack,
            Error::InUse { .. } => Code::InUse,
            Error::ContainerExists(_) => Code::ContainerExists,
            Error::ContainerNotKnown(_) => Code::ContainerNotKnown,
            Error::InvalidContainerId(_) => Code::InvalidContainerId,
            Error::Canceled => Code::Canceled,
            Error::InvalidArchive { .. } => Code::InvalidArchive,
            Error::NothingToSave | Error::NotAStream(_) => Code::InvalidArgument,
            Error::LayerBlobMissing { .. } => Code::BlobUnknown,
        }
    }
}

/// Attaches the operation and the path to an I/O error; a full disk or quota becomes
/// [`Error::NoSpace`].
pub(crate) fn io<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| match source.raw_os_error() {
        Some(libc::ENOSPC) | Some(libc::EDQUOT) => Error::NoSpace { op, path: path.to_path_buf(), source },
        _ => Error::Io { op, path: path.to_path_buf(), source },
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_its_own_kind() {
        let e = io("write", Path::new("/x"))(std::io::Error::from_raw_os_error(libc::ENOSPC));
        assert_eq!(e.code(), "no-space");
        assert_eq!(e.to_string(), "no space left to write /x");
        let e = io("write", Path::new("/x"))(std::io::Error::from_raw_os_error(libc::EACCES));
        assert_eq!(e.code(), "io");
        assert_eq!(e.to_string(), "cannot write /x");
    }
}
