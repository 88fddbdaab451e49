//! The OCI runtime-spec `config.json`: loading it from a bundle, validating it once, and
//! building the spec that `tscontainer run` uses.

mod defaults;
mod rootless;
mod run;
mod seccomp;
mod units;
mod user;
mod validate;

pub use defaults::{default_rootless_spec, default_spec, DEFAULT_PATH};
pub use rootless::{delegated_cgroup, id_maps, make_rootless, mapped, IdMaps};
pub use run::{build_run_spec, Network, RunOptions};
pub use seccomp::default_profile as default_seccomp_profile;
pub use units::{parse_cpus, parse_memory, parse_size, MIN_MEMORY};
pub(crate) use validate::ns_name;
pub use validate::validate;

use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;

/// The lowest and highest runtime-spec versions this runtime accepts in `ociVersion`.
pub const OCI_VERSION_MIN: (u64, u64) = (1, 0);
pub const OCI_VERSION_MAX: (u64, u64) = (1, 3);
/// The version written into specs we generate.
pub const OCI_VERSION: &str = "1.2.1";

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not a valid OCI runtime config: {source}", path.display())]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// A config that parses but asks for something impossible or contradictory.
    #[error("invalid config: {field}: {reason}")]
    Invalid { field: String, reason: String },
    /// A `tscontainer run` option whose value cannot be used.
    #[error("invalid {option} `{value}`: {reason}")]
    InvalidOption { option: &'static str, value: String, reason: String },
    #[error("rootfs {}: {reason}", path.display())]
    Rootfs { path: PathBuf, reason: String },
}

impl SpecError {
    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        SpecError::Invalid { field: field.into(), reason: reason.into() }
    }

    pub(crate) fn option(option: &'static str, value: impl Into<String>, reason: impl Into<String>) -> Self {
        SpecError::InvalidOption { option, value: value.into(), reason: reason.into() }
    }
}

/// Reads and parses `config.json` from a bundle directory. Unknown fields are allowed, as
/// the runtime-spec requires; malformed JSON and wrong types are errors naming the file.
pub fn load(bundle: &Path) -> Result<Spec, SpecError> {
    let path = bundle.join("config.json");
    let text = std::fs::read(&path).map_err(|source| SpecError::Read { path: path.clone(), source })?;
    parse(&text).map_err(|source| SpecError::Parse { path, source })
}

/// Parses a config from JSON text.
pub fn parse(text: &[u8]) -> Result<Spec, serde_json::Error> {
    serde_json::from_slice(text)
}

/// Resolves `root.path` against the bundle (relative paths are relative to it) and checks
/// that it names a directory.
pub fn resolve_rootfs(spec: &Spec, bundle: &Path) -> Result<PathBuf, SpecError> {
    let root = spec.root().as_ref().ok_or_else(|| SpecError::invalid("root", "is required"))?;
    let path = if root.path().is_absolute() { root.path().clone() } else { bundle.join(root.path()) };
    check_rootfs(&path)?;
    std::fs::canonicalize(&path).map_err(|e| SpecError::Rootfs { path, reason: e.to_string() })
}

/// Fails unless `path` is an existing directory (symlinks followed, as runc does).
pub fn check_rootfs(path: &Path) -> Result<(), SpecError> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(SpecError::Rootfs { path: path.to_path_buf(), reason: "is not a directory".into() }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(SpecError::Rootfs { path: path.to_path_buf(), reason: "does not exist".into() })
        }
        Err(e) => Err(SpecError::Rootfs { path: path.to_path_buf(), reason: e.to_string() }),
    }
}
