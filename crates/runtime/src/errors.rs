//! The runtime's own failures (its flags and the files they name), and the code of any error
//! a command ends with, for the `code` of the log's `error` entry.

use std::path::PathBuf;

use tscontainer_core::error::Code;

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// A flag whose value cannot be used.
    #[error("invalid {flag} `{value}`: {reason}")]
    InvalidFlag { flag: &'static str, value: String, reason: &'static str },
    /// Flags that do not go together, or a missing one.
    #[error("{0}")]
    Usage(&'static str),
    /// A file a flag names (`--process`, `--resources`) that cannot be read.
    #[error("cannot read {what}")]
    Read {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// What a flag's file holds is not what the flag takes.
    #[error("{what} is not {expected}")]
    Parse {
        what: String,
        expected: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// ps(1), which `ps` runs for its table, failed.
    #[error("ps {args}: {reason}")]
    Ps { args: String, reason: String },
}

impl CommandError {
    pub fn code(&self) -> Code {
        match self {
            CommandError::InvalidFlag { .. }
            | CommandError::Usage(_)
            | CommandError::Read { .. }
            | CommandError::Parse { .. } => Code::InvalidOption,
            CommandError::Write { source, .. } if source.kind() == std::io::ErrorKind::AlreadyExists => {
                Code::AlreadyExists
            }
            CommandError::Write { .. } | CommandError::Ps { .. } => Code::Internal,
        }
    }
}

/// The code of what a command failed with: that of the first error in its chain that has
/// one (a context added on the way up has none), else `internal`.
pub fn code_of(error: &anyhow::Error) -> Code {
    error.chain().find_map(code).unwrap_or(Code::Internal)
}

/// The code of one error, by its type: the errors the core's and this crate's functions return.
fn code(error: &(dyn std::error::Error + 'static)) -> Option<Code> {
    macro_rules! first_of {
        ($($t:ty),* $(,)?) => {
            $(if let Some(e) = error.downcast_ref::<$t>() {
                return Some(e.code());
            })*
        };
    }
    first_of!(
        CommandError,
        tscontainer_core::Error,
        tscontainer_core::state::StateError,
        tscontainer_core::spec::SpecError,
        tscontainer_core::spec::SizeError,
        tscontainer_core::cgroups::CgroupError,
        tscontainer_core::container::ContainerError,
        tscontainer_core::channel::ChannelError,
        tscontainer_core::output::OutputError,
        tscontainer_core::signal::InvalidSignal,
        tscontainer_core::trusted::TrustError,
    );
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context as _;

    #[test]
    fn the_code_is_found_under_contexts() {
        let missing = tscontainer_core::state::StateError::NotFound("c1".into());
        let error = Err::<(), _>(missing).context("while deleting").unwrap_err();
        assert_eq!(code_of(&error), Code::NotFound);
        let usage = anyhow::Error::from(CommandError::Usage("exec needs a command to run, or --process"));
        assert_eq!(code_of(&usage), Code::InvalidOption);
        assert_eq!(code_of(&anyhow::anyhow!("plain")), Code::Internal);
        let exists = std::io::Error::from(std::io::ErrorKind::AlreadyExists);
        let error = anyhow::Error::from(CommandError::Write { path: "/b/config.json".into(), source: exists });
        assert_eq!(code_of(&error), Code::AlreadyExists);
    }
}
