//! Errors as both hosts report them: a code of the workspace's one vocabulary
//! (`tscontainer_core::error::Code`: the image library's kinds, `image-not-known`,
//! `unauthorized`, `registry-unreachable`, `digest-mismatch`, `canceled`, ..., and the hosts'
//! own, `invalid-option`, `wrong-host`, `user-namespace`) and one human sentence. The addon
//! throws an `Error` whose `code` is the code, as for its other errors; the runtime prints
//! `{"error": {"code": ..., "message": ...}}`.
//!
//! The message is the error and its causes joined by ": ", each once (the workspace's
//! convention): `cannot reach registry 127.0.0.1:5000: io: Connection refused (os error 111)`.

use serde::Serialize;
use tscontainer_core::error::{chain, Code};

/// An image operation's failure, ready for either host to report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct HostError {
    pub code: Code,
    pub message: String,
}

impl HostError {
    pub fn new(code: Code, message: impl Into<String>) -> HostError {
        HostError { code, message: message.into() }
    }

    /// A bad option (a platform that does not parse, a storage root that cannot be found).
    pub fn invalid_option(message: impl Into<String>) -> HostError {
        HostError::new(Code::InvalidOption, message)
    }
}

impl From<tscontainer_image::Error> for HostError {
    fn from(e: tscontainer_image::Error) -> HostError {
        HostError::new(e.code(), chain(&e))
    }
}

pub type Result<T, E = HostError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_library_error_keeps_its_kind_and_its_causes_once() {
        let io = std::io::Error::from_raw_os_error(nix::errno::Errno::ENOENT as i32);
        let e = tscontainer_image::Error::Io { op: "read", path: "/x/images.json".into(), source: io };
        let host = HostError::from(e);
        assert_eq!(host.code, Code::Io);
        assert_eq!(host.message, "cannot read /x/images.json: No such file or directory (os error 2)");
        let e = HostError::from(tscontainer_image::Error::ImageNotKnown("debian:12".into()));
        assert_eq!(e, HostError::new(Code::ImageNotKnown, "image debian:12 is not in the store"));
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"code":"image-not-known","message":"image debian:12 is not in the store"}"#
        );
    }
}
