//! Errors as JavaScript sees them: every error carries a stable `code` of the workspace's one
//! vocabulary (`tscontainer_core::error::Code`: `not-found`, `invalid-option`, ... for
//! containers, the codes the runtime's JSON log carries too; `image-not-known`,
//! `unauthorized`, ... for images, the codes `tscontainer-runtime storage` prints too;
//! `runtime-not-found` and `wrong-host`, the addon's own), and its message is the error's
//! chain, each cause once. The TypeScript layer maps codes to its error classes in one table
//! (`ts/api/errors.ts`).

use napi::bindgen_prelude::Unknown;
use napi::{Env, JsError, Status};
use tscontainer_core::error::{chain, Code};
use tscontainer_image_host::HostError;

pub type Result<T> = napi::Result<T, Code>;

/// An error of this code with this message.
pub fn error(code: Code, message: impl Into<String>) -> napi::Error<Code> {
    napi::Error::new(code, message.into())
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
pub fn to_js<E: Coded>(e: E) -> napi::Error<Code> {
    error(e.code(), chain(&e))
}

/// An image operation's failure as the JavaScript `Error` a promise rejects with: `code` is
/// its code (a `Task`'s own errors carry only napi's statuses, so the object is made here, on
/// the main thread, and the rejection uses exactly it).
pub fn image_error(env: &Env, e: HostError) -> napi::Error {
    // SAFETY: `env` is the live environment of the main thread that settles the promise.
    let value = unsafe { JsError::from(napi::Error::new(e.code, e.message.clone())).into_value(env.raw()) };
    if value.is_null() {
        return napi::Error::new(Status::GenericFailure, e.message);
    }
    // SAFETY: `value` was just created in `env`.
    napi::Error::from(unsafe { Unknown::from_raw_unchecked(env.raw(), value) })
}
