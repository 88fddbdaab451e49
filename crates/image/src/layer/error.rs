//! The one error type of layer unpacking and lookup. Messages name the operation and the
//! object and never embed their cause: the cause is the `source`, printed once by whoever
//! prints the chain.

use std::io;
use std::path::PathBuf;
use tscontainer_core::error::Code;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LayerError {
    #[error("unsupported layer media type {media_type}")]
    UnsupportedMediaType { media_type: String },

    #[error("layer diff_id is {actual}, the image says {expected}")]
    DigestMismatch { expected: String, actual: String },

    /// An entry that would reach outside the layer, or that no honest tar writer makes.
    #[error("refusing layer entry {entry}: {reason}")]
    Hostile { entry: String, reason: String },

    #[error("layer exceeds the limit of {limit} {what}")]
    TooLarge { what: &'static str, limit: u64 },

    /// The caller's stream of the compressed blob failed (its error is the source).
    #[error("cannot read the layer blob")]
    Read(#[source] io::Error),

    #[error("cannot decompress the layer ({format})")]
    Decompress {
        format: &'static str,
        #[source]
        source: io::Error,
    },

    #[error("malformed tar stream in layer: {reason}")]
    Corrupt { reason: &'static str },

    #[error("cannot {op} layer entry {entry}")]
    Entry {
        op: &'static str,
        entry: String,
        #[source]
        source: io::Error,
    },

    #[error("cannot {op} layer directory {}", path.display())]
    Dest {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("cannot read {path} from the image's layers")]
    Lookup {
        path: String,
        #[source]
        source: io::Error,
    },

    #[error("{path} in the image is not a regular file")]
    NotRegular { path: String },

    #[error("{path} in the image is larger than {limit} bytes")]
    FileTooLarge { path: String, limit: u64 },
}

impl LayerError {
    /// A stable identifier for programs (the addon's error `code`).
    pub fn code(&self) -> Code {
        match self {
            LayerError::UnsupportedMediaType { .. } => Code::UnsupportedMediaType,
            LayerError::DigestMismatch { .. } => Code::DigestMismatch,
            LayerError::Hostile { .. } => Code::HostileLayer,
            LayerError::TooLarge { .. } | LayerError::FileTooLarge { .. } => Code::TooLarge,
            LayerError::Decompress { .. } | LayerError::Corrupt { .. } => Code::CorruptLayer,
            LayerError::NotRegular { .. } => Code::NotRegularFile,
            LayerError::Read(source)
            | LayerError::Entry { source, .. }
            | LayerError::Dest { source, .. }
            | LayerError::Lookup { source, .. } => io_code(source),
        }
    }
}

fn io_code(e: &io::Error) -> Code {
    match e.raw_os_error() {
        Some(libc::ENOSPC | libc::EDQUOT) => Code::NoSpace,
        Some(libc::EPERM | libc::EACCES) => Code::PermissionDenied,
        _ => Code::Io,
    }
}

/// An entry's name as it appears in a message: lossy UTF-8 with control characters escaped
/// (a hostile name must not drive the terminal), cut short when huge.
pub(crate) fn shown(name: &[u8]) -> String {
    const MAX: usize = 256;
    let text = String::from_utf8_lossy(&name[..name.len().min(MAX)]);
    let mut out: String = text.chars().flat_map(char::escape_debug).collect();
    if name.len() > MAX {
        out.push_str(&format!("… ({} bytes)", name.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_errno() {
        let e =
            |errno| LayerError::Entry { op: "write", entry: "a".into(), source: io::Error::from_raw_os_error(errno) };
        assert_eq!(e(libc::ENOSPC).code(), "no-space");
        assert_eq!(e(libc::EDQUOT).code(), "no-space");
        assert_eq!(e(libc::EPERM).code(), "permission-denied");
        assert_eq!(e(libc::EIO).code(), "io");
    }

    #[test]
    fn names_are_escaped_and_bounded() {
        assert_eq!(shown(b"a\nb\x1b[31m"), "a\\nb\\u{1b}[31m");
        let long = vec![b'x'; 5000];
        let s = shown(&long);
        assert!(s.len() < 300 && s.ends_with("(5000 bytes)"), "{s}");
    }

    #[test]
    fn the_message_does_not_repeat_the_cause() {
        let e = LayerError::Entry {
            op: "write",
            entry: "etc/passwd".into(),
            source: io::Error::from_raw_os_error(libc::ENOSPC),
        };
        assert_eq!(e.to_string(), "cannot write layer entry etc/passwd");
    }
}
