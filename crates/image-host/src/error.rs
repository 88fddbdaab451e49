//! Errors as both hosts report them: a stable code and one human sentence.
//!
//! The code is `ERR_TSC_` followed by the image library's kind (`Error::code()`, which is
//! stable) in upper case with `_` for `-`: `image-not-known` is `ERR_TSC_IMAGE_NOT_KNOWN`,
//! `unauthorized` is `ERR_TSC_UNAUTHORIZED`, `registry-unreachable` is
//! `ERR_TSC_REGISTRY_UNREACHABLE`, `digest-mismatch` is `ERR_TSC_DIGEST_MISMATCH`, `canceled`
//! is `ERR_TSC_CANCELED`; the rule has no exceptions, so a kind the library adds later gets
//! its code without a table to update. The hosts add two kinds of their own:
//! `invalid-option` (`ERR_TSC_INVALID_OPTION`, the addon's code for a bad option) and
//! `user-namespace` (`ERR_TSC_USER_NAMESPACE`: the runtime could not enter the user's
//! namespace). The addon throws an `Error` whose `code` is the code; the runtime prints
//! `{"error": {"code": ..., "message": ...}}`.
//!
//! The message is the error and its causes joined by ": ", each once (the workspace's
//! convention): `cannot reach registry 127.0.0.1:5000: io: Connection refused (os error 111)`.

use serde::Serialize;

/// An image operation's failure, ready for either host to report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct HostError {
    /// `ERR_TSC_...`.
    pub code: String,
    pub message: String,
}

/// `ERR_TSC_` and the kind in upper case.
pub fn code_of(kind: &str) -> String {
    let mut code = String::from("ERR_TSC_");
    code.extend(kind.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }));
    code
}

impl HostError {
    pub fn new(kind: &str, message: impl Into<String>) -> HostError {
        HostError { code: code_of(kind), message: message.into() }
    }

    /// A bad option (a platform that does not parse, a storage root that cannot be found).
    pub fn invalid_option(message: impl Into<String>) -> HostError {
        HostError::new("invalid-option", message)
    }
}

impl From<tscontainer_image::Error> for HostError {
    fn from(e: tscontainer_image::Error) -> HostError {
        HostError::new(e.code(), tscontainer_core::error::chain(&e))
    }
}

pub type Result<T, E = HostError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_kind_in_upper_case() {
        assert_eq!(code_of("image-not-known"), "ERR_TSC_IMAGE_NOT_KNOWN");
        assert_eq!(code_of("unauthorized"), "ERR_TSC_UNAUTHORIZED");
        assert_eq!(code_of("credential-helper-unsupported"), "ERR_TSC_CREDENTIAL_HELPER_UNSUPPORTED");
    }

    #[test]
    fn a_library_error_keeps_its_kind_and_its_causes_once() {
        let io = std::io::Error::from_raw_os_error(libc_enoent());
        let e = tscontainer_image::Error::Io { op: "read", path: "/x/images.json".into(), source: io };
        let host = HostError::from(e);
        assert_eq!(host.code, "ERR_TSC_IO");
        assert_eq!(host.message, "cannot read /x/images.json: No such file or directory (os error 2)");
        let e = HostError::from(tscontainer_image::Error::ImageNotKnown("debian:12".into()));
        assert_eq!(e, HostError::new("image-not-known", "image debian:12 is not in the store"));
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"code":"ERR_TSC_IMAGE_NOT_KNOWN","message":"image debian:12 is not in the store"}"#
        );
    }

    fn libc_enoent() -> i32 {
        nix::errno::Errno::ENOENT as i32
    }
}
