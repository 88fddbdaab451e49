//! Why a run's options cannot be used: one sentence naming the option and its value.

use std::path::PathBuf;

use tscontainer_core::error::Code;
use tscontainer_core::rootfs::confined::ConfinedError;
use tscontainer_core::spec::SpecError;

#[derive(Debug, thiserror::Error)]
pub enum OptionError {
    /// A value that cannot be used, and why.
    #[error("invalid {option} `{value}`: {reason}")]
    Invalid { option: &'static str, value: String, reason: String },
    /// A value refused for what another error says (a volume's host path that cannot be
    /// resolved, a profile that cannot be read), described by `what`.
    #[error("invalid {option} `{value}`: {what}")]
    Unusable {
        option: &'static str,
        value: String,
        what: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A value refused for what another error says, in full.
    #[error("invalid {option} `{value}`")]
    Refused {
        option: &'static str,
        value: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The rootfs's user database, which `user` is resolved in, cannot be read.
    #[error("rootfs {}", path.display())]
    UserDatabase {
        path: PathBuf,
        #[source]
        source: ConfinedError,
    },
    /// The config these options make (or the rootfs they name) is refused by the core.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// A detached container's output limits (`--log-opt`).
    #[error(transparent)]
    Log(#[from] tscontainer_core::output::OutputError),
}

impl OptionError {
    pub(crate) fn invalid(option: &'static str, value: impl Into<String>, reason: impl Into<String>) -> Self {
        OptionError::Invalid { option, value: value.into(), reason: reason.into() }
    }

    pub(crate) fn refused(
        option: &'static str,
        value: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        OptionError::Refused { option, value: value.into(), source: Box::new(source) }
    }

    pub(crate) fn unusable(
        option: &'static str,
        value: impl Into<String>,
        what: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        OptionError::Unusable { option, value: value.into(), what: what.into(), source: Box::new(source) }
    }

    pub fn code(&self) -> Code {
        match self {
            OptionError::Invalid { .. } | OptionError::Unusable { .. } | OptionError::Refused { .. } => {
                Code::InvalidOption
            }
            OptionError::UserDatabase { .. } => Code::InvalidRootfs,
            OptionError::Spec(e) => e.code(),
            OptionError::Log(e) => e.code(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tscontainer_core::error::chain;

    #[test]
    fn a_cause_reaches_the_message_once() {
        let io = std::io::Error::from_raw_os_error(libc::ENOENT);
        let e = OptionError::unusable("volume", "/x:/y", "the host path /x cannot be used", io);
        assert_eq!(
            chain(&e),
            "invalid volume `/x:/y`: the host path /x cannot be used: No such file or directory (os error 2)"
        );
        assert_eq!(e.code(), Code::InvalidOption);
    }
}
