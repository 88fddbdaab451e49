//! The OCI runtime-spec `config.json`: loading it from a bundle, validating it once, and
//! building the spec that `tscontainer run` uses.

mod capabilities;
mod defaults;
mod rootless;
mod run;
mod seccomp;
mod security;
mod sysctl;
mod units;
mod user;
mod validate;

pub use capabilities::known_capability;
#[cfg(test)]
pub(crate) use defaults::device_allowlist as default_device_rules;
pub use defaults::{default_rootless_spec, default_spec, DEFAULT_PATH};
pub use rootless::{delegated_cgroup, fill_missing_id_maps, id_maps, make_rootless, mapped, IdMaps};
pub use run::{build_run_spec, env_entry, Network, RunOptions};
pub use seccomp::default_profile as default_seccomp_profile;
pub use security::SecurityFlags;
pub use sysctl::check_network_namespace as check_sysctl_network_namespace;
pub(crate) use sysctl::sysctl_path;
pub use units::{parse_cpus, parse_memory, parse_size, MIN_MEMORY};
pub use user::{resolve as resolve_user, resolve_in as resolve_user_in, ResolvedUser};
pub(crate) use validate::ns_name;
pub use validate::validate;

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;
use oci_spec::runtime::{Process, Spec};
use serde_json::Value;

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
    #[error("{} is larger than {} MiB; no OCI runtime config is that big", path.display(), limit / (1024 * 1024))]
    TooLarge { path: PathBuf, limit: u64 },
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

/// The largest `config.json` read: far beyond any real one (the biggest seccomp profiles
/// are tens of kilobytes), small enough that a hostile file cannot exhaust memory.
pub const MAX_CONFIG_SIZE: u64 = 16 * 1024 * 1024;

/// A config as read from a bundle: the spec, and the capability names it asked for that
/// the runtime does not know (left out, for a warning: see `capabilities`).
#[derive(Debug)]
pub struct Loaded {
    pub spec: Spec,
    pub unknown_capabilities: Vec<String>,
}

/// Reads and parses `config.json` from a bundle directory. Unknown fields are allowed, as
/// the runtime-spec requires; malformed JSON and wrong types are errors naming the file.
pub fn load(bundle: &Path) -> Result<Loaded, SpecError> {
    use std::io::Read;
    let path = bundle.join("config.json");
    let read_error = |source| SpecError::Read { path: path.clone(), source };
    let file = std::fs::File::open(&path).map_err(read_error)?;
    let mut text = Vec::new();
    file.take(MAX_CONFIG_SIZE + 1).read_to_end(&mut text).map_err(read_error)?;
    if text.len() as u64 > MAX_CONFIG_SIZE {
        return Err(SpecError::TooLarge { path, limit: MAX_CONFIG_SIZE });
    }
    parse_lenient(&text).map_err(|source| SpecError::Parse { path, source })
}

/// Parses a config from JSON text.
pub fn parse(text: &[u8]) -> Result<Spec, serde_json::Error> {
    serde_json::from_slice(text)
}

/// Parses a config as `load` does: capability names the runtime does not know are left out
/// and returned instead of failing the parse.
pub fn parse_lenient(text: &[u8]) -> Result<Loaded, serde_json::Error> {
    let unknown_capabilities = capabilities::unknown_in_config(text);
    if unknown_capabilities.is_empty() {
        return Ok(Loaded { spec: serde_json::from_slice(text)?, unknown_capabilities });
    }
    // Names to leave out (rare): the document as a value, less them.
    let mut value: Value = serde_json::from_slice(text)?;
    if let Some(caps) = value.get_mut("process").and_then(|p| p.get_mut("capabilities")) {
        capabilities::strip_unknown(caps);
    }
    Ok(Loaded { spec: serde_json::from_value(value)?, unknown_capabilities })
}

/// Parses a runtime-spec `process` object (`exec --process`), leaving out and returning the
/// capability names the runtime does not know.
pub fn parse_process(text: &[u8]) -> Result<(Process, Vec<String>), serde_json::Error> {
    let unknown = capabilities::unknown_in_process(text);
    if unknown.is_empty() {
        return Ok((serde_json::from_slice(text)?, unknown));
    }
    let mut value: Value = serde_json::from_slice(text)?;
    if let Some(caps) = value.get_mut("capabilities") {
        capabilities::strip_unknown(caps);
    }
    Ok((serde_json::from_value(value)?, unknown))
}

/// The container's root directory, resolved once: `fd` is the directory that was checked,
/// and the only handle on it used from then on (a rootfs path can be swapped for a symlink by
/// whoever can write its parent directory, at any moment).
#[derive(Debug)]
pub struct Rootfs {
    /// Where it is, for the state and messages.
    pub path: PathBuf,
    pub fd: OwnedFd,
}

/// Opens `root.path` (relative to the bundle when relative) for the runtime, without
/// following any symlink on the way, as runc requires of a rootfs (`not an absolute path, or a
/// symlink`): nobody who can write a directory of the path can redirect it. A rootfs that is
/// the host's `/` is refused unless the config names `/` itself, read-only.
pub fn open_rootfs(spec: &Spec, bundle: &Path) -> Result<Rootfs, SpecError> {
    let root = spec.root().as_ref().ok_or_else(|| SpecError::invalid("root", "is required"))?;
    let path = if root.path().is_absolute() { root.path().clone() } else { bundle.join(root.path()) };
    let refused = |reason: String| SpecError::Rootfs { path: path.clone(), reason };
    let fd = crate::rootfs::secure::open_dir_no_symlinks(&path).map_err(|errno| match errno {
        Errno::ELOOP => refused(match std::fs::canonicalize(&path) {
            Ok(real) if real == Path::new("/") => HOST_ROOT_BY_ANOTHER_NAME.into(),
            Ok(real) => format!(
                "has a symlink in its path (it leads to {}); name the directory itself, as runc requires",
                real.display()
            ),
            Err(e) => e.to_string(),
        }),
        other => refused(describe_open_error(other)),
    })?;
    check_host_root(&path, fd.as_fd(), root.readonly() == Some(true))?;
    let real = crate::rootfs::secure::real_path(fd.as_fd()).map_err(|e| refused(e.desc().to_string()))?;
    Ok(Rootfs { path: real, fd })
}

/// Opens a rootfs directory a user named on the command line or to the API, following the
/// symlinks they may have meant (the config then names the directory itself, and the runtime
/// follows none). The host's `/` is refused: without a rootfs, a container runs over a
/// read-only view of it already.
pub fn open_rootfs_argument(path: &Path) -> Result<Rootfs, SpecError> {
    let refused = |reason: String| SpecError::Rootfs { path: path.to_path_buf(), reason };
    let fd = open(path, OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|e| refused(describe_open_error(e)))?;
    if crate::rootfs::secure::is_root_directory(fd.as_fd()).map_err(|e| refused(e.desc().to_string()))? {
        return Err(refused(
            "resolves to the host's root directory `/`; without a rootfs, a container runs over a read-only view of it"
                .into(),
        ));
    }
    let real = crate::rootfs::secure::real_path(fd.as_fd()).map_err(|e| refused(e.desc().to_string()))?;
    Ok(Rootfs { path: real, fd })
}

/// Opens the rootfs of an existing container (its state's `root.path`) to read files inside
/// it, such as its user database for `exec --user NAME`. The host's `/` is accepted: the
/// container runs over it, and every read through the descriptor stays inside it anyway.
pub fn open_rootfs_directory(path: &Path) -> Result<OwnedFd, SpecError> {
    open(path, OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|e| SpecError::Rootfs { path: path.to_path_buf(), reason: describe_open_error(e) })
}

const HOST_ROOT_BY_ANOTHER_NAME: &str =
    "resolves to the host's root directory `/`; to run over the host's root, name `/` itself with root.readonly";

fn describe_open_error(errno: Errno) -> String {
    match errno {
        Errno::ENOENT => "does not exist".into(),
        Errno::ENOTDIR => "is not a directory".into(),
        other => other.desc().to_string(),
    }
}

/// A rootfs that turns out to be the host's `/` (`..` enough times, a symlink) would hand
/// the container the host's filesystem. Only the host-root default of `tscontainer run` asks
/// for that, naming `/` itself and read-only; anything else is refused. The check is on the
/// descriptor the container will get, not on a path that could change meanwhile.
fn check_host_root(path: &Path, fd: BorrowedFd<'_>, read_only: bool) -> Result<(), SpecError> {
    let refused = |reason: &str| SpecError::Rootfs { path: path.to_path_buf(), reason: reason.into() };
    if !crate::rootfs::secure::is_root_directory(fd).map_err(|e| refused(e.desc()))? {
        return Ok(());
    }
    if path != Path::new("/") {
        return Err(refused(HOST_ROOT_BY_ANOTHER_NAME));
    }
    if !read_only {
        return Err(refused(
            "is the host's root directory: a container may only run over it read-only (root.readonly)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_past_the_size_limit_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = std::fs::File::create(dir.path().join("config.json")).unwrap();
        file.set_len(MAX_CONFIG_SIZE + 1).unwrap();
        let err = load(dir.path()).unwrap_err().to_string();
        assert!(err.ends_with("config.json is larger than 16 MiB; no OCI runtime config is that big"), "{err}");
    }

    #[test]
    fn the_host_root_is_only_reachable_by_name_and_read_only() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("rootfs");
        std::os::unix::fs::symlink("/", &link).unwrap();
        let spec = |path: &Path, readonly: bool| -> Spec {
            serde_json::from_value(serde_json::json!({
                "ociVersion": "1.0.2", "root": {"path": path, "readonly": readonly}
            }))
            .unwrap()
        };
        let err = open_rootfs(&spec(Path::new("rootfs"), true), dir.path()).unwrap_err().to_string();
        assert!(err.ends_with("resolves to the host's root directory `/`; to run over the host's root, name `/` itself with root.readonly"), "{err}");
        let up = dir.path().join("../../../../../../../../../..");
        let err = open_rootfs(&spec(&up, true), dir.path()).unwrap_err().to_string();
        assert!(err.ends_with(HOST_ROOT_BY_ANOTHER_NAME), "{err}");
        assert!(open_rootfs(&spec(Path::new("/"), false), dir.path()).unwrap_err().to_string().contains("read-only"));
        assert_eq!(open_rootfs(&spec(Path::new("/"), true), dir.path()).unwrap().path, Path::new("/"));
    }

    #[test]
    fn the_runtime_follows_no_symlink_to_a_rootfs() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().canonicalize().unwrap();
        std::fs::create_dir(real.join("image")).unwrap();
        std::os::unix::fs::symlink("image", real.join("rootfs")).unwrap();
        let spec: Spec =
            serde_json::from_value(serde_json::json!({"ociVersion": "1.0.2", "root": {"path": "rootfs"}})).unwrap();
        let err = open_rootfs(&spec, &real).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "rootfs {}: has a symlink in its path (it leads to {}); name the directory itself, as runc requires",
                real.join("rootfs").display(),
                real.join("image").display()
            )
        );
        // The CLI follows what its user named, and the config then names the directory itself.
        let opened = open_rootfs_argument(&real.join("rootfs")).unwrap();
        assert_eq!(opened.path, real.join("image"));
        let err = open_rootfs_argument(&real.join("missing")).unwrap_err().to_string();
        assert!(err.ends_with("missing: does not exist"), "{err}");
        let err = open_rootfs_argument(Path::new("/")).unwrap_err().to_string();
        assert!(err.contains("resolves to the host's root directory"), "{err}");
    }
}
