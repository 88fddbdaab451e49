//! Where the front ends (the CLI and the Node API) keep what they make for a container: its
//! bundle (`config.json`, the runtime's log, a detached container's output) and an exec's
//! log and pid file. One directory per user, private to it and checked as the state root is
//! (see [`crate::trusted`]): `/var/lib/tscontainer` for root, `$XDG_DATA_HOME/tscontainer`
//! (`~/.local/share/tscontainer`) for anyone else, never `$TMPDIR`, which another user may
//! own. The per-container directory `containers/<id>` is where the container's storage goes
//! too, so one container's files stay together; it is made exclusively and removed only
//! through this directory's descriptor, so nothing this package did not make is removed.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::state::validate_id;
use crate::trusted::{TrustError, TrustedDir};

const CONTAINERS: &str = "containers";
const EXEC: &str = "exec";
pub const CONFIG_FILE: &str = "config.json";

#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error("cannot find a directory for tscontainer's files: set HOME or XDG_DATA_HOME")]
    NoHome,
    #[error("invalid container id for a bundle")]
    Id(#[source] crate::state::StateError),
    #[error("a bundle for container `{id}` already exists in {}", dir.display())]
    Exists { id: String, dir: PathBuf },
    #[error("{} is not a directory this package made", path.display())]
    NotOurs { path: PathBuf },
    #[error(transparent)]
    Untrusted(#[from] TrustError),
}

/// This user's data directory: `/var/lib/tscontainer` for root (in the host's user
/// namespace), else `$XDG_DATA_HOME/tscontainer`, else `$HOME/.local/share/tscontainer`.
pub fn default_dir() -> Result<PathBuf, DataDirError> {
    if crate::userns::privileged() {
        return Ok(PathBuf::from("/var/lib/tscontainer"));
    }
    let absolute = |name: &str| std::env::var_os(name).map(PathBuf::from).filter(|p| p.is_absolute());
    if let Some(data) = absolute("XDG_DATA_HOME") {
        return Ok(data.join("tscontainer"));
    }
    absolute("HOME").map(|home| home.join(".local/share/tscontainer")).ok_or(DataDirError::NoHome)
}

/// The data directory, open and checked.
pub struct DataDir {
    dir: TrustedDir,
}

impl DataDir {
    /// Opens (creating it, 0700, if need be) the data directory at `path`, or this user's.
    pub fn open(path: Option<&Path>) -> Result<Self, DataDirError> {
        let path = match path {
            Some(p) => p.to_path_buf(),
            None => default_dir()?,
        };
        Ok(DataDir { dir: TrustedDir::create(&path, 0o700, 0o755, "data directory")? })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Where container `id`'s bundle is (or would be).
    pub fn bundle_path(&self, id: &str) -> PathBuf {
        self.dir.join(CONTAINERS).join(id)
    }

    fn containers(&self) -> Result<TrustedDir, TrustError> {
        self.dir.ensure_dir(CONTAINERS, 0o700, "bundle directory")
    }

    /// Makes container `id`'s bundle, holding `config`, and returns its path. The directory
    /// is new (0700) and the file created exclusively: a name someone planted is an error,
    /// never something written through.
    pub fn create_bundle(&self, id: &str, config: &[u8]) -> Result<PathBuf, DataDirError> {
        validate_id(id).map_err(DataDirError::Id)?;
        let containers = self.containers()?;
        let bundle = match containers.create_dir(id, 0o700, "bundle") {
            Ok(dir) => dir,
            Err(e) if e.is_already_existing() => {
                return Err(DataDirError::Exists { id: id.to_string(), dir: containers.path().to_path_buf() })
            }
            Err(e) => return Err(e.into()),
        };
        let written = bundle.create_file(CONFIG_FILE, 0o600, "config").and_then(|mut file| {
            file.write_all(config).map_err(|source| TrustError::Io {
                op: "write",
                what: "config",
                path: bundle.join(CONFIG_FILE),
                source,
            })
        });
        if let Err(e) = written {
            let _ = containers.remove_tree(id);
            return Err(e.into());
        }
        Ok(bundle.path().to_path_buf())
    }

    /// Removes container `id`'s bundle and everything in it; a missing one is fine.
    pub fn remove_bundle(&self, id: &str) -> Result<(), DataDirError> {
        validate_id(id).map_err(DataDirError::Id)?;
        match self.dir.open_dir(CONTAINERS, "bundle directory") {
            Ok(containers) => Ok(containers.remove_tree(id)?),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// A new private directory for an exec's log and pid file.
    pub fn create_scratch(&self) -> Result<PathBuf, DataDirError> {
        let exec = self.dir.ensure_dir(EXEC, 0o700, "exec directory")?;
        loop {
            let name = format!("{:016x}", crate::container::random_u64());
            match exec.create_dir(&name, 0o700, "exec directory") {
                Ok(dir) => return Ok(dir.path().to_path_buf()),
                Err(e) if e.is_already_existing() => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Removes a directory [`DataDir::create_scratch`] made; any other path is refused.
    pub fn remove_scratch(&self, path: &Path) -> Result<(), DataDirError> {
        let exec = self.dir.join(EXEC);
        let name = match (path.parent(), path.file_name().and_then(|n| n.to_str())) {
            (Some(parent), Some(name))
                if parent == exec && name.len() == 16 && name.bytes().all(|b| b.is_ascii_hexdigit()) =>
            {
                name
            }
            _ => return Err(DataDirError::NotOurs { path: path.to_path_buf() }),
        };
        match self.dir.open_dir(EXEC, "exec directory") {
            Ok(dir) => Ok(dir.remove_tree(name)?),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundles_are_made_once_and_removed_through_the_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let data = DataDir::open(Some(&tmp.path().join("data"))).unwrap();
        let bundle = data.create_bundle("c1", b"{}").unwrap();
        assert_eq!(bundle, data.bundle_path("c1"));
        assert_eq!(std::fs::read_to_string(bundle.join(CONFIG_FILE)).unwrap(), "{}");
        assert!(matches!(data.create_bundle("c1", b"{}"), Err(DataDirError::Exists { .. })));
        assert!(data.create_bundle("../x", b"{}").is_err());
        data.remove_bundle("c1").unwrap();
        data.remove_bundle("c1").unwrap();
        assert!(!bundle.exists());
    }

    #[test]
    fn scratch_directories_are_private_and_only_they_are_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let data = DataDir::open(Some(&tmp.path().join("data"))).unwrap();
        let scratch = data.create_scratch().unwrap();
        std::fs::write(scratch.join("runtime.log"), "x").unwrap();
        assert!(matches!(data.remove_scratch(tmp.path()), Err(DataDirError::NotOurs { .. })));
        assert!(matches!(
            data.remove_scratch(&data.path().join("exec/../containers")),
            Err(DataDirError::NotOurs { .. })
        ));
        data.remove_scratch(&scratch).unwrap();
        assert!(!scratch.exists());
    }

    #[test]
    fn a_data_directory_others_may_write_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = DataDir::open(Some(&dir)).err().unwrap().to_string();
        assert!(err.starts_with(&format!("refusing data directory {}: other users may write", dir.display())), "{err}");
    }
}
