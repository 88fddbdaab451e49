//! Errors as JavaScript sees them: every error carries a stable `code`, the core's
//! (`not-found`, `invalid-option`, ...: the codes the runtime's JSON log carries too), and
//! its message is the error's chain, each cause once. The TypeScript layer maps codes to its
//! error classes in one table (`ts/api/errors.ts`).

use tscontainer_core::error::{chain, Code};

/// The `code` of an error thrown by the addon: the core's, or `runtime-not-found`, which only
/// the addon meets (its runtime executable is not where it should be).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Core(Code),
    RuntimeNotFound,
}

impl Status {
    pub const RUNTIME_NOT_FOUND: &str = "runtime-not-found";
}

impl AsRef<str> for Status {
    fn as_ref(&self) -> &str {
        match self {
            Status::Core(code) => code.as_str(),
            Status::RuntimeNotFound => Self::RUNTIME_NOT_FOUND,
        }
    }
}

impl From<Code> for Status {
    fn from(code: Code) -> Self {
        Status::Core(code)
    }
}

pub type Result<T> = napi::Result<T, Status>;

/// An error of this code with this message.
pub fn error(code: Code, message: impl Into<String>) -> napi::Error<Status> {
    napi::Error::new(Status::Core(code), message.into())
}

/// Errors the addon can meet, each with its code.
pub trait Coded: std::error::Error {
    fn code(&self) -> Code;
}

macro_rules! coded {
    ($($t:ty),* $(,)?) => {
        $(impl Coded for $t {
            fn code(&self) -> Code {
                <$t>::code(self)
            }
        })*
    };
}

coded!(
    tscontainer_core::Error,
    tscontainer_core::spec::SpecError,
    tscontainer_core::state::StateError,
    tscontainer_core::datadir::DataDirError,
    tscontainer_core::cgroups::CgroupError,
    tscontainer_core::hooks::HookError,
    tscontainer_core::signal::InvalidSignal,
    tscontainer_run_options::OptionError,
);

/// The error as JavaScript gets it: its code, and its chain as the message.
pub fn to_js<E: Coded>(e: E) -> napi::Error<Status> {
    error(e.code(), chain(&e))
}
