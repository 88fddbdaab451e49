//! Compiled filters kept on disk, keyed by what determines the program: the profile, the
//! libseccomp version, the architecture and this runtime's version. Containers of one
//! manager share a handful of profiles, so nearly every start loads a cached program.
//!
//! The cache belongs to the user running the runtime and is trusted only if it still does:
//! a file is used only when that user owns it and nobody else can write it.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxSeccomp;

use super::{compile, Filter, SeccompError};

/// `/var/cache/tscontainer/seccomp` for root, the XDG cache directory for others.
pub fn cache_dir() -> Option<PathBuf> {
    if nix::unistd::geteuid().is_root() {
        return Some(PathBuf::from("/var/cache/tscontainer/seccomp"));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("tscontainer/seccomp"))
}

fn key(profile: &LinuxSeccomp) -> Option<String> {
    let json = serde_json::to_vec(profile).ok()?;
    let version = super::libseccomp_version()?;
    let mut h = DefaultHasher::new();
    json.hash(&mut h);
    version.hash(&mut h);
    std::env::consts::ARCH.hash(&mut h);
    env!("CARGO_PKG_VERSION").hash(&mut h);
    Some(format!("{:016x}-{}", h.finish(), json.len()))
}

/// Ours alone: owned by this user, writable by nobody else, not a symlink.
fn trusted(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| {
        !m.file_type().is_symlink() && m.uid() == nix::unistd::geteuid().as_raw() && m.mode() & 0o022 == 0
    })
}

fn store(dir: &Path, name: &str, filter: &Filter) -> std::io::Result<()> {
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let tmp = dir.join(format!(".{name}.{}", std::process::id()));
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
    f.write_all(&filter.to_bytes())?;
    std::fs::rename(&tmp, dir.join(name)).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// The compiled filter for `profile`, from `dir` when a trusted copy is there, else
/// compiled and (best effort) stored there.
pub fn compile_cached(profile: &LinuxSeccomp, dir: Option<&Path>) -> Result<Filter, SeccompError> {
    let (Some(dir), Some(name)) = (dir, key(profile)) else { return compile(profile) };
    let path = dir.join(&name);
    if trusted(&path) && trusted(dir) {
        if let Some(filter) = std::fs::read(&path).ok().and_then(|b| Filter::from_bytes(&b)) {
            return Ok(filter);
        }
    }
    let filter = compile(profile)?;
    // A cache that cannot be written (read-only /var, a full disk) only costs time.
    let _ = store(dir, &name, &filter);
    Ok(filter)
}

#[cfg(all(test, feature = "seccomp"))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn profile() -> LinuxSeccomp {
        serde_json::from_str(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read","write"],"action":"SCMP_ACT_ALLOW"}]}"#,
        )
        .unwrap()
    }

    #[test]
    fn a_compiled_filter_is_stored_and_found_again() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("c");
        let first = compile_cached(&profile(), Some(&cache)).unwrap();
        assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 1);
        let second = compile_cached(&profile(), Some(&cache)).unwrap();
        assert_eq!(first, second);
    }

    #[test]
    fn a_cached_filter_is_used_without_compiling() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("c");
        let compiled = compile_cached(&profile(), Some(&cache)).unwrap();
        // Replace the stored program with another valid one: finding that proves the
        // cache was read instead of the profile compiled again.
        let file = std::fs::read_dir(&cache).unwrap().next().unwrap().unwrap().path();
        let other = Filter { program: vec![6, 0, 0, 0, 0, 0, 0xff, 0x7f], flags: 0 };
        std::fs::write(&file, other.to_bytes()).unwrap();
        let loaded = compile_cached(&profile(), Some(&cache)).unwrap();
        assert_eq!(loaded, other);
        assert_ne!(loaded, compiled);
    }

    #[test]
    fn a_file_others_could_write_is_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("c");
        compile_cached(&profile(), Some(&cache)).unwrap();
        let file = std::fs::read_dir(&cache).unwrap().next().unwrap().unwrap().path();
        // Poison it and open it to the world: it must be recompiled, not loaded.
        std::fs::write(&file, [0u8; 12]).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
        let filter = compile_cached(&profile(), Some(&cache)).unwrap();
        assert_eq!(filter, compile(&profile()).unwrap());
    }
}
