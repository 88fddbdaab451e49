//! Reading a file of a rootfs that someone else may have shaped: the CLI and the API read an
//! untrusted `--rootfs` on the host (its /etc/passwd and /etc/group, for `--user`), the
//! images work reads the same files across an image's layers, the init reads them once it is
//! inside. Whoever made the rootfs chooses what those paths are: a symlink out of it (to
//! /etc/shadow), a symlink to /dev/zero, a FIFO that never answers, a device node of the host's
//! disk, a file of gigabytes.
//!
//! So a path is resolved inside the rootfs (`openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`,
//! or the same walk in user space on older kernels) to an `O_PATH` descriptor, which opens
//! nothing: no FIFO blocks, no device's driver runs. Only a regular file is then reopened for
//! reading, through that same descriptor (so what is read is what was checked), and read up
//! to a bound.

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::sys::stat::{fstat, Mode, SFlag};

use super::secure::{fd_path, open_in_root};

/// Why a file of a rootfs could not be read. Paths are as seen inside the rootfs.
#[derive(Debug, thiserror::Error)]
pub enum ConfinedError {
    #[error("cannot open {}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: nix::Error,
    },
    #[error("{} is {kind}, not a regular file", path.display())]
    NotRegular { path: PathBuf, kind: &'static str },
    #[error("{} is larger than {} MiB", path.display(), limit / (1024 * 1024))]
    TooLarge { path: PathBuf, limit: u64 },
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl ConfinedError {
    pub fn code(&self) -> crate::error::Code {
        use crate::error::Code;
        match self {
            ConfinedError::NotRegular { .. } | ConfinedError::TooLarge { .. } => Code::UnsafeState,
            ConfinedError::Open { .. } | ConfinedError::Read { .. } => Code::Internal,
        }
    }
}

fn kind_of(mode: libc::mode_t) -> &'static str {
    match SFlag::from_bits_truncate(mode) & SFlag::S_IFMT {
        SFlag::S_IFDIR => "a directory",
        SFlag::S_IFIFO => "a FIFO",
        SFlag::S_IFCHR => "a character device",
        SFlag::S_IFBLK => "a block device",
        SFlag::S_IFSOCK => "a socket",
        SFlag::S_IFLNK => "a symlink",
        _ => "not a file",
    }
}

/// Opens `path`, resolved inside `root`, for reading: a regular file only. `Ok(None)` when it
/// does not exist.
pub fn open_regular(root: BorrowedFd<'_>, path: &Path) -> Result<Option<File>, ConfinedError> {
    let handle = match open_in_root(root, path, OFlag::O_PATH) {
        Ok(fd) => fd,
        Err(Errno::ENOENT | Errno::ENOTDIR) => return Ok(None),
        Err(source) => return Err(ConfinedError::Open { path: path.to_path_buf(), source }),
    };
    regular(handle, path).map(Some)
}

/// Reopens a checked `O_PATH` handle for reading once it is known to be a regular file.
fn regular(handle: OwnedFd, path: &Path) -> Result<File, ConfinedError> {
    let open_err = |source| ConfinedError::Open { path: path.to_path_buf(), source };
    let st = fstat(handle.as_fd()).map_err(open_err)?;
    if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT != SFlag::S_IFREG {
        return Err(ConfinedError::NotRegular { path: path.to_path_buf(), kind: kind_of(st.st_mode) });
    }
    // Through /proc/self/fd the kernel reopens the very inode the handle holds: a rename in
    // the rootfs since the check cannot put a FIFO or a device in its place. O_NONBLOCK and
    // O_NOCTTY change nothing for a regular file; they are there should that ever not hold.
    let flags = OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_NOCTTY | OFlag::O_CLOEXEC;
    let file = open(&fd_path(handle.as_fd()), flags, Mode::empty()).map_err(open_err)?;
    Ok(File::from(file))
}

/// Reads the whole of `path` inside `root`, a regular file of at most `max` bytes; `Ok(None)`
/// when it does not exist.
pub fn read_file(root: BorrowedFd<'_>, path: &Path, max: u64) -> Result<Option<Vec<u8>>, ConfinedError> {
    let Some(file) = open_regular(root, path)? else {
        return Ok(None);
    };
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| ConfinedError::Read { path: path.to_path_buf(), source })?;
    if bytes.len() as u64 > max {
        return Err(ConfinedError::TooLarge { path: path.to_path_buf(), limit: max });
    }
    Ok(Some(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    const MAX: u64 = 1024 * 1024;

    fn root(dir: &Path) -> OwnedFd {
        open(dir, OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty()).unwrap()
    }

    #[test]
    fn regular_files_inside_the_root_are_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("etc")).unwrap();
        std::fs::write(dir.path().join("etc/real"), "inside\n").unwrap();
        symlink("/etc/real", dir.path().join("etc/passwd")).unwrap();
        let fd = root(dir.path());
        assert_eq!(read_file(fd.as_fd(), Path::new("/etc/passwd"), MAX).unwrap().unwrap(), b"inside\n");
        assert!(read_file(fd.as_fd(), Path::new("/etc/group"), MAX).unwrap().is_none());
        assert!(read_file(fd.as_fd(), Path::new("/etc/real/x"), MAX).unwrap().is_none());
    }

    #[test]
    fn links_out_of_the_root_stay_inside_it() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "host\n").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let target = outside.path().join("secret");
        symlink(&target, dir.path().join("abs")).unwrap();
        symlink(format!("../../../../../../..{}", target.display()), dir.path().join("rel")).unwrap();
        symlink("/dev/zero", dir.path().join("zero")).unwrap();
        let fd = root(dir.path());
        for name in ["/abs", "/rel", "/zero"] {
            assert!(read_file(fd.as_fd(), Path::new(name), MAX).unwrap().is_none(), "{name}");
        }
    }

    #[test]
    fn fifos_devices_and_directories_are_refused_without_opening_them() {
        let dir = tempfile::tempdir().unwrap();
        nix::unistd::mkfifo(&dir.path().join("fifo"), Mode::from_bits_truncate(0o644)).unwrap();
        std::fs::create_dir(dir.path().join("dir")).unwrap();
        let fd = root(dir.path());
        // A FIFO opened for reading would block until a writer came: this returns at once.
        let err = read_file(fd.as_fd(), Path::new("/fifo"), MAX).unwrap_err().to_string();
        assert_eq!(err, "/fifo is a FIFO, not a regular file");
        let err = read_file(fd.as_fd(), Path::new("/dir"), MAX).unwrap_err().to_string();
        assert_eq!(err, "/dir is a directory, not a regular file");
        // A device node, as an image's layer may carry one (the host's /dev/null here: this
        // test need not be root).
        let dev = open(Path::new("/"), OFlag::O_PATH | OFlag::O_DIRECTORY, Mode::empty()).unwrap();
        let err = read_file(dev.as_fd(), Path::new("/dev/null"), MAX).unwrap_err().to_string();
        assert_eq!(err, "/dev/null is a character device, not a regular file");
    }

    #[test]
    fn files_past_the_bound_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("big"), vec![b'#'; 2 * MAX as usize + 1]).unwrap();
        let fd = root(dir.path());
        let err = read_file(fd.as_fd(), Path::new("big"), 2 * MAX).unwrap_err().to_string();
        assert_eq!(err, "big is larger than 2 MiB");
        assert_eq!(read_file(fd.as_fd(), Path::new("big"), 3 * MAX).unwrap().unwrap().len(), 2 * MAX as usize + 1);
    }
}
