//! The bundle `create` is given: opened once, checked on its descriptor, and its
//! `config.json` read through that descriptor, so what the runtime reads is what was in the
//! directory it checked, whatever happens to the path meanwhile.

use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::{openat, OFlag};
use nix::sys::stat::{fstat, Mode};
use oci_spec::runtime::Spec;

use crate::spec::{self, SpecError, MAX_CONFIG_SIZE};
use crate::trusted::{check_unshared, Kind, TrustError};

/// An open bundle and the config read from it.
pub struct Bundle {
    /// The bundle's canonical path, as the kernel names the directory opened.
    pub path: PathBuf,
    pub spec: Spec,
    /// Capability names in the config that the runtime does not know: left out of `spec`,
    /// for a warning (runc's "ignoring unknown or unavailable capabilities").
    pub unknown_capabilities: Vec<String>,
    _dir: OwnedFd,
}

impl Bundle {
    /// Opens the bundle at `path` and reads its config. The directory and `config.json` (a
    /// regular file, never a symlink) must not be writable by anyone but their owner:
    /// otherwise someone else could have replaced the config between its writing and this
    /// read.
    pub fn open(path: &Path) -> Result<Bundle, crate::Error> {
        let refuse = |what: &'static str, path: &Path, problem| TrustError::Untrusted {
            what,
            path: path.to_path_buf(),
            problem,
        };
        let io =
            |op| move |e: nix::Error| TrustError::Io { op, what: "bundle", path: path.to_path_buf(), source: e.into() };
        let dir = nix::fcntl::open(path, OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
            .map_err(io("open"))?;
        let stat = fstat(&dir).map_err(io("inspect"))?;
        check_unshared(&stat, Kind::Directory).map_err(|p| refuse("bundle", path, p))?;
        let canonical =
            std::fs::read_link(format!("/proc/self/fd/{}", dir.as_raw_fd())).unwrap_or_else(|_| path.to_path_buf());
        let config = canonical.join(crate::datadir::CONFIG_FILE);
        let read_error = |e: nix::Error| SpecError::Read { path: config.clone(), source: e.into() };
        // Non-blocking: a FIFO in its place is refused below, not waited on.
        let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
        let file = match openat(&dir, crate::datadir::CONFIG_FILE, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(nix::errno::Errno::ELOOP) => {
                return Err(refuse("config", &config, crate::trusted::Problem::SymbolicLink).into())
            }
            Err(e) => return Err(read_error(e).into()),
        };
        let stat = fstat(&file).map_err(read_error)?;
        check_unshared(&stat, Kind::Regular).map_err(|p| refuse("config", &config, p))?;
        let mut text = Vec::new();
        std::fs::File::from(file)
            .take(MAX_CONFIG_SIZE + 1)
            .read_to_end(&mut text)
            .map_err(|source| SpecError::Read { path: config.clone(), source })?;
        if text.len() as u64 > MAX_CONFIG_SIZE {
            return Err(SpecError::TooLarge { path: config, limit: MAX_CONFIG_SIZE }.into());
        }
        let spec::Loaded { spec, unknown_capabilities } =
            spec::parse_lenient(&text).map_err(|source| SpecError::Parse { path: config, source })?;
        Ok(Bundle { path: canonical, spec, unknown_capabilities, _dir: dir })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn chmod(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn a_missing_bundle_is_named() {
        let err = Bundle::open(Path::new("/nonexistent/bundle")).err().unwrap();
        assert_eq!(
            crate::error::chain(&err),
            "cannot open bundle /nonexistent/bundle: No such file or directory (os error 2)"
        );
    }

    #[test]
    fn the_config_is_read_through_the_checked_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("b");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("config.json"), r#"{"ociVersion":"1.2.0"}"#).unwrap();
        let bundle = Bundle::open(&dir).unwrap();
        assert_eq!(bundle.path, dir.canonicalize().unwrap());
        assert_eq!(bundle.spec.version(), "1.2.0");

        chmod(&dir, 0o777);
        let err = Bundle::open(&dir).err().unwrap().to_string();
        assert!(err.starts_with(&format!("refusing bundle {}: other users may write", dir.display())), "{err}");
        chmod(&dir, 0o755);
        chmod(&dir.join("config.json"), 0o666);
        assert!(Bundle::open(&dir).err().unwrap().to_string().starts_with("refusing config"));
        std::fs::remove_file(dir.join("config.json")).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", dir.join("config.json")).unwrap();
        assert!(Bundle::open(&dir).err().unwrap().to_string().ends_with("config.json: it is a symbolic link"));
        std::fs::remove_file(dir.join("config.json")).unwrap();
        nix::unistd::mkfifo(&dir.join("config.json"), Mode::from_bits_truncate(0o600)).unwrap();
        assert!(Bundle::open(&dir).err().unwrap().to_string().ends_with("config.json: it is not a regular file"));
    }
}
