//! User-mode networking: a container with its own network namespace reaches the outside
//! (and publishes ports) through `pasta` or `slirp4netns`, which need no privilege — the
//! way rootless podman gives containers a network.
//!
//! The request travels in config.json as two annotations, so every way in (CLI, API, a
//! hand-written bundle) takes the same path: `create` reads them and, once the container's
//! network namespace exists and before its process can start, starts the helper under a
//! watcher that stops it when the container's init exits (see [`helper`]).

mod helper;
mod ports;

use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;

pub use helper::{start, wait_until_stopped, Target};
pub use ports::{PortMapping, Protocol};

/// The annotation naming the helper: `pasta` or `slirp4netns`.
pub const HELPER_ANNOTATION: &str = "io.tscontainer.network";
/// The annotation listing published ports, comma-separated, as `-p` takes them.
pub const PUBLISH_ANNOTATION: &str = "io.tscontainer.network.publish";

#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("invalid network `{0}`: expected `pasta` or `slirp4netns`")]
    UnknownHelper(String),
    #[error("invalid published port `{value}`: {reason}")]
    Port { value: String, reason: String },
    #[error("{what} needs {program}, which is not installed here: {install}")]
    NotInstalled { what: String, program: &'static str, install: &'static str },
    #[error("{helper} could not set up the container's network: {message}")]
    Failed { helper: &'static str, message: String },
    #[error("cannot start the network helper: {what}: {source}")]
    Io {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    State(Box<crate::trusted::TrustError>),
}

/// A program that gives a network namespace a user-mode network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Helper {
    Pasta,
    Slirp4netns,
}

impl Helper {
    /// In order of preference: pasta forwards ports without an API round trip per port and
    /// keeps the host's addresses and routes.
    pub const ALL: [Helper; 2] = [Helper::Pasta, Helper::Slirp4netns];

    pub fn name(self) -> &'static str {
        match self {
            Helper::Pasta => "pasta",
            Helper::Slirp4netns => "slirp4netns",
        }
    }

    /// The Debian package that installs it.
    pub fn package(self) -> &'static str {
        match self {
            Helper::Pasta => "passt",
            Helper::Slirp4netns => "slirp4netns",
        }
    }

    /// Its executable, from `PATH` (or the usual directories when `PATH` is unset).
    pub fn program(self) -> Option<PathBuf> {
        find_program(self.name())
    }

    /// Its executable, or an error saying what to install.
    pub fn require(self, what: &str) -> Result<PathBuf, NetworkError> {
        self.program().ok_or_else(|| self.not_installed(what))
    }

    /// `what` needs this helper, which is missing: the error says what to install.
    pub fn not_installed(self, what: &str) -> NetworkError {
        NetworkError::NotInstalled {
            what: what.to_string(),
            program: self.name(),
            install: match self {
                Helper::Pasta => "apt-get install passt",
                Helper::Slirp4netns => "apt-get install slirp4netns",
            },
        }
    }

    /// The first helper installed here, or an error naming both.
    pub fn installed(what: &str) -> Result<Helper, NetworkError> {
        Helper::ALL.into_iter().find(|h| h.program().is_some()).ok_or_else(|| NetworkError::NotInstalled {
            what: what.to_string(),
            program: "pasta or slirp4netns",
            install: "apt-get install passt (or slirp4netns)",
        })
    }
}

impl std::str::FromStr for Helper {
    type Err = NetworkError;
    fn from_str(s: &str) -> Result<Self, NetworkError> {
        match s {
            "pasta" => Ok(Helper::Pasta),
            "slirp4netns" => Ok(Helper::Slirp4netns),
            other => Err(NetworkError::UnknownHelper(other.to_string())),
        }
    }
}

fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin".into());
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// What a config asks of the network helper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkRequest {
    pub helper: Helper,
    pub ports: Vec<PortMapping>,
}

impl NetworkRequest {
    /// The request a config's annotations make, if any; bad values are errors, so a
    /// container never starts with less network than it asked for.
    pub fn from_spec(spec: &Spec) -> Result<Option<NetworkRequest>, NetworkError> {
        let annotations = spec.annotations().as_ref();
        let Some(helper) = annotations.and_then(|a| a.get(HELPER_ANNOTATION)) else {
            if let Some(publish) = annotations.and_then(|a| a.get(PUBLISH_ANNOTATION)) {
                return Err(NetworkError::Port {
                    value: publish.clone(),
                    reason: format!("publishing ports needs a network helper ({HELPER_ANNOTATION})"),
                });
            }
            return Ok(None);
        };
        let helper = helper.parse()?;
        let ports = match annotations.and_then(|a| a.get(PUBLISH_ANNOTATION)) {
            Some(list) => ports::parse_list(list)?,
            None => Vec::new(),
        };
        Ok(Some(NetworkRequest { helper, ports }))
    }

    /// The annotations that carry this request.
    pub fn annotations(&self) -> Vec<(String, String)> {
        let mut out = vec![(HELPER_ANNOTATION.to_string(), self.helper.name().to_string())];
        if !self.ports.is_empty() {
            let list: Vec<String> = self.ports.iter().map(ToString::to_string).collect();
            out.push((PUBLISH_ANNOTATION.to_string(), list.join(",")));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec_with(annotations: &[(&str, &str)]) -> Spec {
        let mut spec = Spec::default();
        spec.set_annotations(Some(annotations.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()));
        spec
    }

    #[test]
    fn requests_round_trip_through_annotations() {
        let request = NetworkRequest {
            helper: Helper::Slirp4netns,
            ports: vec!["8080:80".parse().unwrap(), "127.0.0.1:5353:53/udp".parse().unwrap()],
        };
        let annotations = request.annotations();
        let pairs: Vec<(&str, &str)> = annotations.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(pairs[1].1, "8080:80/tcp,127.0.0.1:5353:53/udp");
        assert_eq!(NetworkRequest::from_spec(&spec_with(&pairs)).unwrap(), Some(request));
    }

    #[test]
    fn no_annotation_is_no_request_and_bad_ones_are_errors() {
        assert_eq!(NetworkRequest::from_spec(&Spec::default()).unwrap(), None);
        let err = NetworkRequest::from_spec(&spec_with(&[(HELPER_ANNOTATION, "vde")])).unwrap_err();
        assert_eq!(err.to_string(), "invalid network `vde`: expected `pasta` or `slirp4netns`");
        assert!(NetworkRequest::from_spec(&spec_with(&[(PUBLISH_ANNOTATION, "80:80")])).is_err());
        let bad = [(HELPER_ANNOTATION, "pasta"), (PUBLISH_ANNOTATION, "80:x")];
        assert!(NetworkRequest::from_spec(&spec_with(&bad)).is_err());
    }

    #[test]
    fn a_missing_helper_says_what_to_install() {
        let err = Helper::Pasta.not_installed("--net pasta");
        assert_eq!(err.to_string(), "--net pasta needs pasta, which is not installed here: apt-get install passt");
        assert_eq!(Helper::Pasta.package(), "passt");
    }
}
