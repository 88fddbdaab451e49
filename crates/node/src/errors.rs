//! Errors as JavaScript sees them: every error carries a stable `code`, which the
//! TypeScript layer maps one-to-one onto its error classes.

use tscontainer_core::spec::SpecError;
use tscontainer_core::state::StateError;

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
