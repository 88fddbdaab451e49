//! Errors as JavaScript sees them: every error carries a stable `code`, which the
//! TypeScript layer maps one-to-one onto its error classes.
//!
//! Image operations (`crate::images`) reject with `ERR_TSC_` followed by the image library's
//! stable kind (`tscontainer_image::Error::code`) in upper case, `-` as `_`; the runtime's
//! `storage` subcommand prints the same code in its `{"error": ...}` line. The kinds today:
//!
//! | code | when |
//! | --- | --- |
//! | `ERR_TSC_IMAGE_NOT_KNOWN` | no image by that name, id or id prefix in the store |
//! | `ERR_TSC_AMBIGUOUS_IMAGE_ID` | an id prefix that matches several images |
//! | `ERR_TSC_IN_USE` | removing an image a container uses, or one with several names by id, without force |
//! | `ERR_TSC_INVALID_REFERENCE`, `ERR_TSC_INVALID_PLATFORM`, `ERR_TSC_INVALID_DIGEST` | input that does not parse |
//! | `ERR_TSC_MANIFEST_UNKNOWN`, `ERR_TSC_BLOB_UNKNOWN` | the registry has no such image or blob |
//! | `ERR_TSC_UNAUTHORIZED` | bad credentials, authentication required, access denied |
//! | `ERR_TSC_NOT_LOGGED_IN` | logout with no credentials recorded |
//! | `ERR_TSC_CREDENTIAL_HELPER_UNSUPPORTED` | credentials kept by a docker-credential helper |
//! | `ERR_TSC_REGISTRY_UNREACHABLE`, `ERR_TSC_TLS`, `ERR_TSC_REGISTRY_ERROR` | the registry is down, untrusted, or answers an error |
//! | `ERR_TSC_BLOCKED_REGISTRY`, `ERR_TSC_AMBIGUOUS_SHORT_NAME` | registries.conf forbids it |
//! | `ERR_TSC_DIGEST_MISMATCH` | a blob, a size or a layer's diff_id is not what its descriptor says |
//! | `ERR_TSC_UNSUPPORTED_MEDIA_TYPE`, `ERR_TSC_NO_MATCHING_PLATFORM`, `ERR_TSC_TOO_LARGE` | an image this host cannot use |
//! | `ERR_TSC_HOSTILE_LAYER`, `ERR_TSC_CORRUPT_LAYER`, `ERR_TSC_UNPACK` | a layer refused while unpacking |
//! | `ERR_TSC_NO_SPACE`, `ERR_TSC_PERMISSION_DENIED`, `ERR_TSC_IO` | the file system refused |
//! | `ERR_TSC_NOT_REGULAR_FILE` | an image's `/etc/passwd` or `/etc/group` that is not a regular file |
//! | `ERR_TSC_UNSAFE_STORAGE`, `ERR_TSC_INVALID_CONFIG`, `ERR_TSC_INVALID_CONTENT` | a store, config file or stored file that cannot be trusted or read |
//! | `ERR_TSC_CONTAINER_EXISTS`, `ERR_TSC_CONTAINER_NOT_KNOWN`, `ERR_TSC_INVALID_CONTAINER_ID` | a container's layers |
//! | `ERR_TSC_CANCELED` | the pull's signal aborted (or the runtime got SIGINT/SIGTERM) |
//!
//! and the hosts' own: `ERR_TSC_INVALID_OPTION` (a bad option, as for the other bindings),
//! `ERR_TSC_WRONG_HOST` (an operation the runtime hosts for this user, `imageHost()`),
//! `ERR_TSC_USER_NAMESPACE` (the runtime could not enter the user's namespace).

use napi::bindgen_prelude::Unknown;
use napi::{Env, JsError, Status};
use tscontainer_core::spec::SpecError;
use tscontainer_core::state::StateError;
use tscontainer_image_host::HostError;

/// The `code` of an error thrown by the addon.
pub enum Code {
    /// A run option that cannot be used (`--memory 10Q`, a missing volume source).
    InvalidOption,
    /// A config.json that fails validation.
    InvalidSpec,
    /// The rootfs is missing or not a directory.
    InvalidRootfs,
    /// No container with that id.
    NotFound,
    /// The runtime binary is not where it should be.
    RuntimeNotFound,
    /// What a container needs cannot be made (its bundle exists, a directory is not safe).
    Create,
    /// Anything else: reading state failed.
    Internal,
}

impl AsRef<str> for Code {
    fn as_ref(&self) -> &str {
        match self {
            Code::InvalidOption => "ERR_TSC_INVALID_OPTION",
            Code::InvalidSpec => "ERR_TSC_INVALID_SPEC",
            Code::InvalidRootfs => "ERR_TSC_INVALID_ROOTFS",
            Code::NotFound => "ERR_TSC_NOT_FOUND",
            Code::RuntimeNotFound => "ERR_TSC_RUNTIME_NOT_FOUND",
            Code::Create => "ERR_TSC_CREATE",
            Code::Internal => "ERR_TSC_INTERNAL",
        }
    }
}

pub type Result<T> = napi::Result<T, Code>;

pub fn invalid_option(message: String) -> napi::Error<Code> {
    napi::Error::new(Code::InvalidOption, message)
}

/// Errors the addon can meet, with their codes.
pub trait ToJs {
    fn code(&self) -> Code;
}

impl ToJs for SpecError {
    fn code(&self) -> Code {
        match self {
            SpecError::InvalidOption { .. } => Code::InvalidOption,
            SpecError::Rootfs { .. } => Code::InvalidRootfs,
            _ => Code::InvalidSpec,
        }
    }
}

impl ToJs for StateError {
    fn code(&self) -> Code {
        match self {
            StateError::NotFound(_) => Code::NotFound,
            StateError::InvalidId { .. } => Code::InvalidOption,
            _ => Code::Internal,
        }
    }
}

impl ToJs for tscontainer_core::datadir::DataDirError {
    fn code(&self) -> Code {
        match self {
            Self::Id(_) => Code::InvalidOption,
            _ => Code::Create,
        }
    }
}

impl ToJs for tscontainer_core::output::OutputError {
    fn code(&self) -> Code {
        match self {
            Self::MaxSize { .. } | Self::MaxFiles { .. } => Code::InvalidOption,
            _ => Code::Internal,
        }
    }
}

/// The error with its causes, each once (see `tscontainer_core::error::chain`).
pub fn to_js<E: ToJs + std::error::Error>(e: E) -> napi::Error<Code> {
    napi::Error::new(e.code(), tscontainer_core::error::chain(&e))
}

/// An image operation's failure as the JavaScript `Error` a promise rejects with: `code` is
/// its `ERR_TSC_*` code (a `Task`'s own errors carry only napi's statuses, so the object is
/// made here, on the main thread, and the rejection uses exactly it).
pub fn image_error(env: &Env, e: HostError) -> napi::Error {
    // SAFETY: `env` is the live environment of the main thread that settles the promise.
    let value = unsafe { JsError::from(napi::Error::new(e.code, e.message.clone())).into_value(env.raw()) };
    if value.is_null() {
        return napi::Error::new(Status::GenericFailure, e.message);
    }
    // SAFETY: `value` was just created in `env`.
    napi::Error::from(unsafe { Unknown::from_raw_unchecked(env.raw(), value) })
}
