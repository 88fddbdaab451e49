//! flock(2) locks on files in the store. A lock is released when its descriptor closes, so a
//! process killed while holding one releases it.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

use super::Store;
use crate::error::{io, Result};

/// A held lock on `store.lock`: shared while content is added, exclusive while content is
/// removed or temporaries are cleaned.
#[derive(Debug)]
pub struct StoreLock {
    _lock: Flock<File>,
}

impl StoreLock {
    pub fn shared(store: &Store) -> Result<StoreLock> {
        Ok(StoreLock { _lock: lock(&store.root.join("store.lock"), FlockArg::LockShared)? })
    }

    pub fn exclusive(store: &Store) -> Result<StoreLock> {
        Ok(StoreLock { _lock: lock(&store.root.join("store.lock"), FlockArg::LockExclusive)? })
    }

    /// The exclusive lock if nobody holds the store now.
    pub fn try_exclusive(store: &Store) -> Result<Option<StoreLock>> {
        Ok(try_lock(&store.root.join("store.lock"))?.map(|l| StoreLock { _lock: l }))
    }
}

/// An exclusive lock on one file; released on drop.
#[derive(Debug)]
pub(crate) struct FileLock {
    _lock: Flock<File>,
}

impl FileLock {
    pub(crate) fn exclusive(path: &Path) -> Result<FileLock> {
        Ok(FileLock { _lock: lock(path, FlockArg::LockExclusive)? })
    }

    pub(crate) fn try_exclusive(path: &Path) -> Result<Option<FileLock>> {
        Ok(try_lock(path)?.map(|l| FileLock { _lock: l }))
    }
}

fn open(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(io("open lock file", path))
}

fn lock(path: &Path, arg: FlockArg) -> Result<Flock<File>> {
    let mut file = open(path)?;
    loop {
        match Flock::lock(file, arg) {
            Ok(l) => return Ok(l),
            Err((f, nix::errno::Errno::EINTR)) => file = f,
            Err((_, errno)) => return Err(io("lock", path)(std::io::Error::from(errno))),
        }
    }
}

fn try_lock(path: &Path) -> Result<Option<Flock<File>>> {
    match Flock::lock(open(path)?, FlockArg::LockExclusiveNonblock) {
        Ok(l) => Ok(Some(l)),
        Err((_, nix::errno::Errno::EWOULDBLOCK)) => Ok(None),
        Err((_, errno)) => Err(io("lock", path)(std::io::Error::from(errno))),
    }
}

impl Store {
    /// The lock file that serializes fetching and unpacking one layer.
    pub(crate) fn layer_lock_path(&self, key: &str) -> PathBuf {
        self.root.join("locks").join(format!("layer-{key}.lock"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusive_excludes_shared_and_is_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("s")).unwrap();
        let a = StoreLock::shared(&store).unwrap();
        let b = StoreLock::shared(&store).unwrap();
        assert!(StoreLock::try_exclusive(&store).unwrap().is_none());
        drop((a, b));
        let ex = StoreLock::try_exclusive(&store).unwrap();
        assert!(ex.is_some());
        let path = dir.path().join("f.lock");
        let l = FileLock::exclusive(&path).unwrap();
        assert!(FileLock::try_exclusive(&path).unwrap().is_none(), "flock is per open file, even in one process");
        drop(l);
        assert!(FileLock::try_exclusive(&path).unwrap().is_some());
    }
}
