//! Directories no one but the caller can change, used only through descriptors.
//!
//! The runtime's state, the front ends' bundles and a detached container's output live
//! in such directories. Each is opened with `O_NOFOLLOW|O_DIRECTORY` and checked on the
//! descriptor (`fstat`: owned by this process's effective uid, not writable by group or
//! others), and everything below it is reached with `openat` and friends from that
//! descriptor, every entry checked the same way once opened. A directory replaced by a
//! symlink or by another user's after the check changes nothing: what was checked is what
//! is used.

use std::ffi::OsStr;
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{openat, renameat, AtFlags, OFlag};
use nix::sys::stat::{fstat, fstatat, mkdirat, FileStat, Mode, SFlag};
use nix::unistd::{unlinkat, UnlinkatFlags};

/// What is wrong with a directory or file that is not trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    SymbolicLink,
    /// Not the kind of file expected there (`a directory`, `a regular file`, `a FIFO`).
    NotA(&'static str),
    Owner {
        owner: u32,
        caller: u32,
    },
    Writable {
        mode: u32,
    },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::SymbolicLink => f.write_str("it is a symbolic link"),
            Problem::NotA(kind) => write!(f, "it is not {kind}"),
            Problem::Owner { owner, caller } => {
                write!(f, "it is owned by uid {owner}, not by uid {caller}, who runs tscontainer")
            }
            Problem::Writable { mode } => {
                write!(f, "other users may write to it (mode {:04o}); only its owner may", mode & 0o7777)
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// One sentence naming the path and what is wrong with it.
    #[error("refusing {what} {}: {problem}", path.display())]
    Untrusted { what: &'static str, path: PathBuf, problem: Problem },
    #[error("cannot {op} {what} {}", path.display())]
    Io {
        op: &'static str,
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl TrustError {
    pub fn code(&self) -> crate::error::Code {
        use crate::error::Code;
        match self {
            TrustError::Untrusted { .. } => Code::UnsafeState,
            TrustError::Io { .. } => Code::Internal,
        }
    }
}

impl TrustError {
    /// The path (or the entry below a trusted directory) does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, TrustError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }

    /// An exclusive creation found the name taken.
    pub fn is_already_existing(&self) -> bool {
        matches!(self, TrustError::Io { source, .. } if source.kind() == std::io::ErrorKind::AlreadyExists)
    }
}

/// The kinds of file a trusted directory holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Directory,
    Regular,
    Fifo,
}

impl Kind {
    pub(crate) fn matches(self, stat: &FileStat) -> bool {
        let format = SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT;
        format
            == match self {
                Kind::Directory => SFlag::S_IFDIR,
                Kind::Regular => SFlag::S_IFREG,
                Kind::Fifo => SFlag::S_IFIFO,
            }
    }

    fn article(self) -> &'static str {
        match self {
            Kind::Directory => "a directory",
            Kind::Regular => "a regular file",
            Kind::Fifo => "a FIFO",
        }
    }
}

/// Whether `stat` is of `kind`, owned by this process's effective uid and writable by no
/// one else.
pub fn check(stat: &FileStat, kind: Kind) -> Result<(), Problem> {
    let caller = nix::unistd::geteuid().as_raw();
    // Another owner first: it says more than the mode does.
    match check_unshared(stat, kind) {
        Err(Problem::Writable { .. }) | Ok(()) if stat.st_uid != caller => {
            Err(Problem::Owner { owner: stat.st_uid, caller })
        }
        other => other,
    }
}

/// Whether `stat` is of `kind` and writable by its owner alone, whoever that is: for what
/// the caller chose to trust (a bundle it names) but must not be changed by a third party.
pub fn check_unshared(stat: &FileStat, kind: Kind) -> Result<(), Problem> {
    if SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT == SFlag::S_IFLNK {
        return Err(Problem::SymbolicLink);
    }
    if !kind.matches(stat) {
        return Err(Problem::NotA(kind.article()));
    }
    if stat.st_mode & 0o022 != 0 {
        return Err(Problem::Writable { mode: stat.st_mode });
    }
    Ok(())
}

fn io_error<'a>(op: &'static str, what: &'static str, path: &'a Path) -> impl FnOnce(Errno) -> TrustError + 'a {
    move |errno| TrustError::Io { op, what, path: path.to_path_buf(), source: errno.into() }
}

/// A failed `open` with `O_NOFOLLOW` (and maybe `O_DIRECTORY`): a symlink shows as ELOOP
/// or ENOTDIR, a file that is no directory as ENOTDIR; `lstat` (only for the message, the
/// refusal stands either way) tells which to say.
fn open_error(what: &'static str, path: &Path, errno: Errno, lstat: impl FnOnce() -> Option<FileStat>) -> TrustError {
    if !matches!(errno, Errno::ELOOP | Errno::ENOTDIR) {
        return io_error("open", what, path)(errno);
    }
    let problem = match lstat() {
        Some(s) if s.st_mode & libc::S_IFMT == libc::S_IFLNK => Problem::SymbolicLink,
        Some(_) if errno == Errno::ENOTDIR => Problem::NotA(Kind::Directory.article()),
        _ => return io_error("open", what, path)(errno),
    };
    TrustError::Untrusted { what, path: path.to_path_buf(), problem }
}

/// A checked directory, held open: every operation below it goes through its descriptor.
#[derive(Debug)]
pub struct TrustedDir {
    fd: OwnedFd,
    path: PathBuf,
    what: &'static str,
}

impl AsFd for TrustedDir {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

const DIR_FLAGS: OFlag = OFlag::O_RDONLY.union(OFlag::O_DIRECTORY).union(OFlag::O_NOFOLLOW).union(OFlag::O_CLOEXEC);

impl TrustedDir {
    /// Opens and checks the directory at `path`. `what` names it in errors (`state
    /// directory`).
    pub fn open(path: &Path, what: &'static str) -> Result<Self, TrustError> {
        let fd = nix::fcntl::open(path, DIR_FLAGS, Mode::empty())
            .map_err(|e| open_error(what, path, e, || nix::sys::stat::lstat(path).ok()))?;
        Self::checked(fd, path.to_path_buf(), what)
    }

    /// Creates the directory at `path` with `mode` (its missing parents with `parent_mode`),
    /// or takes the one already there, then opens and checks it: one that someone else
    /// made first is refused, not adopted.
    pub fn create(path: &Path, mode: u32, parent_mode: u32, what: &'static str) -> Result<Self, TrustError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            if !parent.exists() {
                std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), parent_mode)
                    .create(parent)
                    .map_err(|source| TrustError::Io { op: "create", what, path: parent.to_path_buf(), source })?;
            }
        }
        match nix::unistd::mkdir(path, Mode::from_bits_truncate(mode)) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(io_error("create", what, path)(e)),
        }
        Self::open(path, what)
    }

    fn checked(fd: OwnedFd, path: PathBuf, what: &'static str) -> Result<Self, TrustError> {
        let stat = fstat(&fd).map_err(io_error("inspect", what, &path))?;
        check(&stat, Kind::Directory).map_err(|problem| TrustError::Untrusted { what, path: path.clone(), problem })?;
        Ok(TrustedDir { fd, path, what })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path of an entry, for messages and for programs that take paths.
    pub fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.path.join(name)
    }

    /// A path that reaches this very directory through its descriptor, whatever happens to
    /// its name, for helper programs that take paths (valid in this process and in children
    /// that inherit the descriptor without close-on-exec).
    pub fn fd_path(&self) -> PathBuf {
        PathBuf::from(format!("/proc/self/fd/{}", self.fd.as_raw_fd()))
    }

    /// The subdirectory `name`, checked.
    pub fn open_dir(&self, name: &str, what: &'static str) -> Result<TrustedDir, TrustError> {
        let path = self.join(name);
        let fd = openat(self.fd.as_fd(), name, DIR_FLAGS, Mode::empty())
            .map_err(|e| open_error(what, &path, e, || self.stat(name)))?;
        Self::checked(fd, path, what)
    }

    /// Creates the subdirectory `name` (failing if it exists: see
    /// [`TrustError::is_already_existing`]), then opens and checks it.
    pub fn create_dir(&self, name: &str, mode: u32, what: &'static str) -> Result<TrustedDir, TrustError> {
        let path = self.join(name);
        mkdirat(self.fd.as_fd(), name, Mode::from_bits_truncate(mode)).map_err(io_error("create", what, &path))?;
        self.open_dir(name, what)
    }

    /// The subdirectory `name`, created first if it is missing.
    pub fn ensure_dir(&self, name: &str, mode: u32, what: &'static str) -> Result<TrustedDir, TrustError> {
        match self.create_dir(name, mode, what) {
            Err(e) if e.is_already_existing() => self.open_dir(name, what),
            other => other,
        }
    }

    /// Opens the entry `name` with `flags` (never following a symlink) and checks that it
    /// is a `kind` of ours.
    pub fn open_file(&self, name: &str, flags: OFlag, kind: Kind, what: &'static str) -> Result<File, TrustError> {
        let path = self.join(name);
        let fd = openat(self.fd.as_fd(), name, flags | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC, Mode::empty())
            .map_err(|e| open_error(what, &path, e, || self.stat(name)))?;
        let stat = fstat(&fd).map_err(io_error("inspect", what, &path))?;
        check(&stat, kind).map_err(|problem| TrustError::Untrusted { what, path, problem })?;
        Ok(File::from(fd))
    }

    /// Opens the regular file `name`, creating it with `mode` if it is missing.
    pub fn open_or_create_file(
        &self,
        name: &str,
        flags: OFlag,
        mode: u32,
        what: &'static str,
    ) -> Result<File, TrustError> {
        let path = self.join(name);
        let fd = openat(
            self.fd.as_fd(),
            name,
            flags | OFlag::O_CREAT | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::from_bits_truncate(mode),
        )
        .map_err(|e| open_error(what, &path, e, || self.stat(name)))?;
        let stat = fstat(&fd).map_err(io_error("inspect", what, &path))?;
        check(&stat, Kind::Regular).map_err(|problem| TrustError::Untrusted { what, path, problem })?;
        Ok(File::from(fd))
    }

    /// Creates the regular file `name`, which must not exist yet (`O_EXCL`: a planted file
    /// or symlink makes this fail, it is never written through).
    pub fn create_file(&self, name: &str, mode: u32, what: &'static str) -> Result<File, TrustError> {
        let path = self.join(name);
        let flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let fd = openat(self.fd.as_fd(), name, flags, Mode::from_bits_truncate(mode))
            .map_err(io_error("create", what, &path))?;
        Ok(File::from(fd))
    }

    /// Replaces `name` with `bytes` so that a reader sees the old file or the new one,
    /// never a torn one: a temporary file of this process's own, then renamed. Not synced:
    /// what is written here (a container's state) describes processes that end with the
    /// machine, so surviving a crash buys nothing, and an fsync costs a `run` milliseconds
    /// wherever the state root is not a tmpfs (runc and crun do not sync theirs either).
    pub fn write_atomically(&self, name: &str, bytes: &[u8], mode: u32, what: &'static str) -> Result<(), TrustError> {
        let tmp = format!(".{name}.{}.tmp", std::process::id());
        let tmp_path = self.join(&tmp);
        // A temporary left by a process that died with this pid: ours to replace.
        let _ = unlinkat(self.fd.as_fd(), tmp.as_str(), UnlinkatFlags::NoRemoveDir);
        let mut file = self.create_file(&tmp, mode, what)?;
        let written = file.write_all(bytes).map_err(|source| TrustError::Io {
            op: "write",
            what,
            path: tmp_path.clone(),
            source,
        });
        let renamed = written.and_then(|()| {
            renameat(self.fd.as_fd(), tmp.as_str(), self.fd.as_fd(), name).map_err(io_error(
                "replace",
                what,
                &self.join(name),
            ))
        });
        if renamed.is_err() {
            let _ = unlinkat(self.fd.as_fd(), tmp.as_str(), UnlinkatFlags::NoRemoveDir);
        }
        renamed
    }

    /// What the entry `name` is, without following a symlink; `None` if it does not exist.
    pub fn stat(&self, name: &str) -> Option<FileStat> {
        fstatat(self.fd.as_fd(), name, AtFlags::AT_SYMLINK_NOFOLLOW).ok()
    }

    /// Removes the file `name`; a missing one is fine.
    pub fn remove_file(&self, name: &str) -> Result<(), TrustError> {
        match unlinkat(self.fd.as_fd(), name, UnlinkatFlags::NoRemoveDir) {
            Ok(()) | Err(Errno::ENOENT) => Ok(()),
            Err(e) => Err(io_error("remove", self.what, &self.join(name))(e)),
        }
    }

    /// Removes the entry `name` and, if it is a directory, everything in it, never
    /// following a symlink out of it; a missing one is fine.
    pub fn remove_tree(&self, name: &str) -> Result<(), TrustError> {
        let path = self.join(name);
        match unlinkat(self.fd.as_fd(), name, UnlinkatFlags::NoRemoveDir) {
            Ok(()) | Err(Errno::ENOENT) => return Ok(()),
            Err(Errno::EISDIR) | Err(Errno::EPERM) => {}
            Err(e) => return Err(io_error("remove", self.what, &path)(e)),
        }
        let fd = match openat(self.fd.as_fd(), name, DIR_FLAGS, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => return Ok(()),
            Err(e) => return Err(io_error("open", self.what, &path)(e)),
        };
        let dir = TrustedDir { fd, path: path.clone(), what: self.what };
        for entry in dir.entries()? {
            dir.remove_tree(&entry)?;
        }
        match unlinkat(self.fd.as_fd(), name, UnlinkatFlags::RemoveDir) {
            Ok(()) | Err(Errno::ENOENT) => Ok(()),
            Err(e) => Err(io_error("remove", self.what, &path)(e)),
        }
    }

    /// The names in this directory (not `.` and `..`), in no particular order.
    pub fn entries(&self) -> Result<Vec<String>, TrustError> {
        let fd =
            openat(self.fd.as_fd(), ".", DIR_FLAGS, Mode::empty()).map_err(io_error("read", self.what, &self.path))?;
        let mut dir = nix::dir::Dir::from_fd(fd).map_err(io_error("read", self.what, &self.path))?;
        let mut names = Vec::new();
        for entry in dir.iter() {
            let entry = entry.map_err(io_error("read", self.what, &self.path))?;
            let name = OsStr::from_bytes(entry.file_name().to_bytes());
            if name != "." && name != ".." {
                if let Some(name) = name.to_str() {
                    names.push(name.to_string());
                }
            }
        }
        Ok(names)
    }

    /// A new open file description of this directory (for `flock`, which locks per
    /// description).
    pub fn reopen(&self) -> Result<OwnedFd, TrustError> {
        openat(self.fd.as_fd(), ".", DIR_FLAGS, Mode::empty()).map_err(io_error("open", self.what, &self.path))
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
    fn a_private_directory_is_trusted_and_a_shared_one_is_not() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("d");
        let trusted = TrustedDir::create(&dir, 0o700, 0o700, "state directory").unwrap();
        assert_eq!(trusted.path(), dir);
        chmod(&dir, 0o777);
        let err = TrustedDir::open(&dir, "state directory").unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "refusing state directory {}: other users may write to it (mode 0777); only its owner may",
                dir.display()
            )
        );
        chmod(&dir, 0o1777);
        assert!(matches!(
            TrustedDir::create(&dir, 0o700, 0o700, "state directory"),
            Err(TrustError::Untrusted { problem: Problem::Writable { .. }, .. })
        ));
        chmod(&dir, 0o750);
        TrustedDir::open(&dir, "state directory").unwrap();
    }

    #[test]
    fn a_symlink_is_refused_wherever_it_is() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("real");
        std::fs::create_dir(&real).unwrap();
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let err = TrustedDir::create(&link, 0o700, 0o700, "state directory").unwrap_err();
        assert_eq!(err.to_string(), format!("refusing state directory {}: it is a symbolic link", link.display()));
        let top = TrustedDir::open(tmp.path(), "test directory").unwrap();
        assert!(matches!(
            top.open_dir("link", "container directory"),
            Err(TrustError::Untrusted { problem: Problem::SymbolicLink, .. })
        ));
        std::fs::write(real.join("file"), "x").unwrap();
        std::os::unix::fs::symlink(real.join("file"), tmp.path().join("file-link")).unwrap();
        assert!(matches!(
            top.open_file("file-link", OFlag::O_RDONLY, Kind::Regular, "state file"),
            Err(TrustError::Untrusted { problem: Problem::SymbolicLink, .. })
        ));
    }

    #[test]
    fn files_are_created_exclusively_replaced_atomically_and_checked() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = TrustedDir::open(tmp.path(), "test directory").unwrap();
        std::os::unix::fs::symlink("/etc/hostname", tmp.path().join("planted")).unwrap();
        assert!(dir.create_file("planted", 0o600, "pid file").unwrap_err().is_already_existing());
        dir.write_atomically("state.json", b"{}", 0o600, "state file").unwrap();
        dir.write_atomically("state.json", b"{\"a\":1}", 0o600, "state file").unwrap();
        assert_eq!(std::fs::read_to_string(tmp.path().join("state.json")).unwrap(), "{\"a\":1}");
        let mut names = dir.entries().unwrap();
        names.sort();
        assert_eq!(names, ["planted", "state.json"], "no temporary file is left");
        chmod(&tmp.path().join("state.json"), 0o666);
        assert!(matches!(
            dir.open_file("state.json", OFlag::O_RDONLY, Kind::Regular, "state file"),
            Err(TrustError::Untrusted { problem: Problem::Writable { .. }, .. })
        ));
        assert!(matches!(
            dir.open_file("state.json", OFlag::O_RDONLY, Kind::Fifo, "exec fifo"),
            Err(TrustError::Untrusted { problem: Problem::NotA("a FIFO"), .. })
        ));
        assert!(dir.open_file("missing", OFlag::O_RDONLY, Kind::Regular, "state file").unwrap_err().is_not_found());
    }

    #[test]
    fn a_tree_is_removed_without_following_symlinks_out_of_it() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(outside.join("keep"), "x").unwrap();
        let tree = tmp.path().join("tree");
        std::fs::create_dir_all(tree.join("sub/deeper")).unwrap();
        std::fs::write(tree.join("sub/deeper/file"), "x").unwrap();
        std::os::unix::fs::symlink(&outside, tree.join("sub/link")).unwrap();
        let dir = TrustedDir::open(tmp.path(), "test directory").unwrap();
        dir.remove_tree("tree").unwrap();
        dir.remove_tree("tree").unwrap();
        assert!(!tree.exists());
        assert!(outside.join("keep").exists(), "the symlink was removed, not followed");
    }

    #[test]
    fn another_owner_is_named_in_the_refusal() {
        let stat = |uid, mode| {
            // SAFETY: FileStat is a plain C struct; all-zero is a valid value.
            let mut s: FileStat = unsafe { std::mem::zeroed() };
            s.st_uid = uid;
            s.st_mode = mode;
            s
        };
        let me = nix::unistd::geteuid().as_raw();
        let other = me.wrapping_add(1);
        assert_eq!(check(&stat(me, libc::S_IFDIR | 0o700), Kind::Directory), Ok(()));
        assert_eq!(
            check(&stat(other, libc::S_IFDIR | 0o700), Kind::Directory),
            Err(Problem::Owner { owner: other, caller: me })
        );
        assert_eq!(
            Problem::Owner { owner: 1001, caller: 1000 }.to_string(),
            "it is owned by uid 1001, not by uid 1000, who runs tscontainer"
        );
        assert_eq!(
            check(&stat(me, libc::S_IFREG | 0o620), Kind::Regular),
            Err(Problem::Writable { mode: libc::S_IFREG | 0o620 })
        );
        assert_eq!(check(&stat(me, libc::S_IFLNK | 0o777), Kind::Regular), Err(Problem::SymbolicLink));
    }
}
