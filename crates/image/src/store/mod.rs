//! The content store: blobs by digest, each layer unpacked once and shared, image metadata,
//! per-container writable layers, locks and garbage collection.
//!
//! ```text
//! ROOT/                     0700, owned by the caller, not a symlink (checked at open)
//!   store.lock              flock: shared while content is added (pull, container create),
//!                           exclusive to remove content (rmi, prune) and to clean tmp/
//!   images.lock             flock: exclusive around each read-modify-write of images.json
//!   images.json             every image: id (config digest), names, digests, layers, ...
//!   blobs/sha256/HEX        manifests, configs and compressed layers, by digest
//!   layers/HEX/             one per diff_id: diff/ (the unpacked tree, an overlay lowerdir)
//!                           and layer.json (its size, the blob it was unpacked from)
//!   containers/ID/          upper/, work/ and container.json (image and layers it uses)
//!   locks/layer-HEX.lock    flock: one process fetches and unpacks a layer; others wait
//!   tmp/                    temporaries, renamed into place when complete
//! ```
//!
//! Every write is a temporary name in `tmp/` then a rename: a process killed at any moment
//! leaves at most a temporary, which nothing reads and the next open removes (when no other
//! process holds the store, since a live pull's temporaries are in the same directory).

mod blobs;
mod containers;
mod gc;
mod images;
mod layers;
mod lock;

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

pub use blobs::{BlobWriter, VerifiedBlob};
pub use containers::{ContainerLayers, ContainerRecord};
pub use gc::{DiskUsage, Pruned, UsageLine};
pub use images::{ImageRecord, LayerRecord, Removed};
pub use layers::{LayerBlob, LayerInfo};
pub use lock::StoreLock;

use crate::digest::Digest;
use crate::error::{io, Error, Result};
use crate::layer::{Ownership, UnpackOptions, WhiteoutFormat};

/// A store at a root directory. Cheap to clone paths from; holds no descriptor or lock
/// between calls, so a long-lived process (the addon) does not block `prune` in another.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
    unpack: UnpackOptions,
}

impl Store {
    /// The store root when none is given: `$TSCONTAINER_STORAGE`, else `/var/lib/tscontainer`
    /// for root, else `$XDG_DATA_HOME/tscontainer` or `~/.local/share/tscontainer`.
    pub fn default_root() -> Option<PathBuf> {
        if let Some(root) = std::env::var_os("TSCONTAINER_STORAGE").filter(|v| !v.is_empty()) {
            return Some(PathBuf::from(root));
        }
        if nix::unistd::geteuid().is_root() {
            return Some(PathBuf::from("/var/lib/tscontainer"));
        }
        let data =
            std::env::var_os("XDG_DATA_HOME").filter(|v| Path::new(v).is_absolute()).map(PathBuf::from).or_else(
                || std::env::var_os("HOME").filter(|v| !v.is_empty()).map(|h| Path::new(&h).join(".local/share")),
            )?;
        Some(data.join("tscontainer"))
    }

    /// How layers are unpacked when nothing else is said: as root, ownership as the tar says
    /// and overlayfs's trusted.* opaque marker; otherwise everything belongs to the caller and
    /// opaque directories carry user.overlay.opaque (overlay mounted with `userxattr`).
    pub fn default_unpack_options() -> UnpackOptions {
        if nix::unistd::geteuid().is_root() {
            UnpackOptions::new(Ownership::AsInTar, WhiteoutFormat::OverlayCharDev)
        } else {
            UnpackOptions::new(Ownership::Caller, WhiteoutFormat::OverlayUserXattr)
        }
    }

    /// Opens (creating when missing) the store at `root`, checks that the root is safe, and
    /// removes temporaries that a killed process left, when no other process uses the store.
    pub fn open(root: impl Into<PathBuf>) -> Result<Store> {
        Store::open_with(root, Store::default_unpack_options())
    }

    pub fn open_with(root: impl Into<PathBuf>, unpack: UnpackOptions) -> Result<Store> {
        let root = root.into();
        let root =
            if root.is_absolute() { root } else { std::env::current_dir().map_err(io("resolve", &root))?.join(root) };
        create_root(&root)?;
        check_root(&root)?;
        let store = Store { root, unpack };
        for dir in ["blobs/sha256", "blobs/sha512", "layers", "containers", "locks", "tmp"] {
            let path = store.root.join(dir);
            fs::DirBuilder::new().recursive(true).mode(0o700).create(&path).map_err(io("create", &path))?;
        }
        if let Some(lock) = StoreLock::try_exclusive(&store)? {
            store.clean_tmp();
            drop(lock);
        }
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn unpack_options(&self) -> &UnpackOptions {
        &self.unpack
    }

    pub(crate) fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root.join("blobs").join(digest.algorithm().name()).join(digest.hex())
    }

    /// The directory of the layer with this diff_id (its `diff/` is the unpacked tree).
    pub fn layer_dir(&self, diff_id: &Digest) -> PathBuf {
        self.root.join("layers").join(layer_key(diff_id))
    }

    /// The unpacked tree of a layer: an overlay lowerdir.
    pub fn layer_diff(&self, diff_id: &Digest) -> PathBuf {
        self.layer_dir(diff_id).join("diff")
    }

    pub fn has_layer(&self, diff_id: &Digest) -> bool {
        self.layer_dir(diff_id).is_dir()
    }

    /// Removes what killed processes left in `tmp/`, as far as this process can: nothing
    /// reads a temporary, so one it cannot remove is no reason to refuse the store. (An
    /// ordinary user's addon cannot remove a half-unpacked layer whose directories belong to
    /// the user's subordinate ids; the next open inside the user's namespace does.)
    fn clean_tmp(&self) {
        let Ok(entries) = fs::read_dir(self.tmp_dir()) else { return };
        for entry in entries.flatten() {
            let _ = remove_any(&entry.path());
        }
    }

    /// Writes `bytes` to `path` atomically: a temporary in `tmp/`, fsync, rename, fsync of
    /// the directory.
    pub(crate) fn write_atomic(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        let mut tmp = tempfile::Builder::new()
            .prefix("write-")
            .tempfile_in(self.tmp_dir())
            .map_err(io("create a temporary in", &self.tmp_dir()))?;
        tmp.write_all(bytes).map_err(io("write", tmp.path()))?;
        tmp.as_file().sync_all().map_err(io("sync", tmp.path()))?;
        set_mode(tmp.path(), 0o600)?;
        tmp.persist(path).map_err(|e| io("write", path)(e.error))?;
        if let Some(parent) = path.parent() {
            sync_dir(parent)?;
        }
        Ok(())
    }
}

/// `layers/` is keyed by the diff_id's hex (sha256) or `sha512-HEX`.
fn layer_key(diff_id: &Digest) -> String {
    match diff_id.algorithm() {
        crate::digest::Algorithm::Sha256 => diff_id.hex().to_string(),
        other => format!("{}-{}", other.name(), diff_id.hex()),
    }
}

fn create_root(root: &Path) -> Result<()> {
    if let Some(parent) = root.parent() {
        fs::DirBuilder::new().recursive(true).mode(0o755).create(parent).map_err(io("create", parent))?;
    }
    match fs::DirBuilder::new().mode(0o700).create(root) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(io("create", root)(e)),
    }
}

/// The root must be a directory itself (not a symlink to one), owned by the caller and
/// writable by nobody else: whoever can write it can plant layers that containers run.
/// Checked on a descriptor opened with O_NOFOLLOW, so the answer is about the directory
/// opened, not about whatever the path names a moment later.
fn check_root(root: &Path) -> Result<()> {
    let unsafe_root = |reason: &str| Error::UnsafeStorage { path: root.to_path_buf(), reason: reason.to_string() };
    let dir = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(root)
        .map_err(|e| match e.raw_os_error() {
            // O_NOFOLLOW with O_DIRECTORY reports a symlink as ENOTDIR.
            Some(libc::ELOOP) | Some(libc::ENOTDIR) => {
                match fs::symlink_metadata(root).map(|m| m.file_type().is_symlink()) {
                    Ok(true) => unsafe_root("is a symbolic link"),
                    _ => unsafe_root("is not a directory"),
                }
            }
            _ => io("open", root)(e),
        })?;
    let meta = dir.metadata().map_err(io("inspect", root))?;
    if meta.uid() != nix::unistd::geteuid().as_raw() {
        return Err(unsafe_root(&format!("belongs to uid {}, not to this user", meta.uid())));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(unsafe_root(&format!("is writable by its group or others (mode {:o})", meta.mode() & 0o7777)));
    }
    Ok(())
}

pub(crate) fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(io("set the mode of", path))
}

pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    let f = fs::File::open(dir).map_err(io("open", dir))?;
    f.sync_all().map_err(io("sync", dir))
}

/// Removes a file or a directory tree; a path already gone is not an error. Directories
/// without write or search permission (a layer may have them) are opened up first.
pub(crate) fn remove_any(path: &Path) -> Result<()> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io("inspect", path)(e)),
    };
    if !meta.is_dir() {
        return match fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io("remove", path)(e)),
            _ => Ok(()),
        };
    }
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            open_up(path);
            fs::remove_dir_all(path).map_err(io("remove", path))
        }
        Err(e) => Err(io("remove", path)(e)),
    }
}

/// Gives the owner rwx on every directory under `path` (not following symlinks), so that an
/// image's mode-000 directories can be removed.
fn open_up(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = fs::symlink_metadata(path) else { return };
    if !meta.is_dir() {
        return;
    }
    let _ = fs::set_permissions(path, fs::Permissions::from_mode((meta.mode() & 0o7777) | 0o700));
    if let Ok(entries) = fs::read_dir(path) {
        for entry in entries.flatten() {
            open_up(&entry.path());
        }
    }
}

/// An RFC 3339 UTC timestamp with seconds.
pub(crate) fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_creates_and_checks_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("a/b/store");
        let store = Store::open(&root).unwrap();
        let meta = fs::metadata(store.root()).unwrap();
        assert_eq!(meta.mode() & 0o777, 0o700);
        assert!(root.join("blobs/sha256").is_dir() && root.join("tmp").is_dir());
        // Opening again is fine.
        Store::open(&root).unwrap();
    }

    #[test]
    fn refuses_a_symlinked_or_shared_root() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        fs::create_dir(&real).unwrap();
        set_mode(&real, 0o700).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let e = Store::open(&link).unwrap_err();
        assert_eq!(e.code(), "unsafe-storage");
        assert!(e.to_string().ends_with("is a symbolic link"), "{e}");

        set_mode(&real, 0o777).unwrap();
        let e = Store::open(&real).unwrap_err();
        assert_eq!(e.code(), "unsafe-storage");
        assert!(e.to_string().contains("writable by its group or others"), "{e}");

        let file = dir.path().join("file");
        fs::write(&file, "").unwrap();
        assert_eq!(Store::open(&file).unwrap_err().code(), "unsafe-storage");
    }

    #[test]
    fn refuses_a_root_owned_by_someone_else() {
        if !nix::unistd::geteuid().is_root() {
            return; // only root can make a directory that belongs to another user
        }
        let dir = tempfile::tempdir().unwrap();
        let other = dir.path().join("other");
        fs::create_dir(&other).unwrap();
        set_mode(&other, 0o700).unwrap();
        nix::unistd::chown(&other, Some(nix::unistd::Uid::from_raw(65534)), None).unwrap();
        let e = Store::open(&other).unwrap_err();
        assert!(e.to_string().contains("belongs to uid 65534"), "{e}");
    }

    #[test]
    fn open_removes_stale_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("s")).unwrap();
        let half = store.tmp_dir().join("layer-half/diff/etc");
        fs::create_dir_all(&half).unwrap();
        fs::write(half.join("passwd"), "x").unwrap();
        fs::write(store.tmp_dir().join("blob-half"), "x").unwrap();
        Store::open(store.root()).unwrap();
        assert_eq!(fs::read_dir(store.tmp_dir()).unwrap().count(), 0);
    }

    #[test]
    fn open_keeps_temporaries_while_another_holds_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("s")).unwrap();
        fs::write(store.tmp_dir().join("live"), "x").unwrap();
        let held = StoreLock::shared(&store).unwrap();
        Store::open(store.root()).unwrap();
        assert!(store.tmp_dir().join("live").exists(), "a live pull's temporary was removed");
        drop(held);
    }

    #[test]
    fn removes_trees_with_closed_directories() {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path().join("t");
        fs::create_dir_all(t.join("a/b")).unwrap();
        fs::write(t.join("a/b/f"), "x").unwrap();
        set_mode(&t.join("a/b"), 0o000).unwrap();
        set_mode(&t.join("a"), 0o000).unwrap();
        remove_any(&t).unwrap();
        assert!(!t.exists());
        remove_any(&t).unwrap();
    }

    #[test]
    fn timestamps_are_rfc3339() {
        let s = now_rfc3339();
        assert_eq!(s.len(), 20, "{s}");
        assert!(s.starts_with("20") && s.ends_with('Z'), "{s}");
    }
}
