//! The file-system calls unpacking and lookup make, all relative to directory descriptors.
//!
//! Parents are resolved with `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS |
//! RESOLVE_NO_XDEV)`: a symlink met on the way (`a -> /etc`, `a -> ../../..`) resolves as if
//! the layer's directory were `/`, so nothing is reached outside it. Kernels before 5.6 have
//! no openat2; there a walk in user space does the same, one component at a time with
//! `O_NOFOLLOW`, reading each symlink and restarting from the root descriptor for an
//! absolute target, never climbing above it. Only one process writes a layer directory
//! while it is unpacked (the caller made it empty, under a name of its own), so a component
//! cannot change between the walk's steps.

use std::ffi::{CStr, CString, OsStr};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::{AtomicBool, Ordering};

use nix::errno::Errno;
use nix::fcntl::{openat, openat2, readlinkat, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{fstat, fstatat, FileStat, Mode, SFlag};
use nix::unistd::{unlinkat, UnlinkatFlags};

/// As many symlinks as the kernel follows in one resolution.
pub(crate) const MAX_SYMLINKS: usize = 40;

static NO_OPENAT2: AtomicBool = AtomicBool::new(false);

/// Whether this kernel lacks openat2 (found on first use).
pub(crate) fn openat2_missing() -> bool {
    NO_OPENAT2.load(Ordering::Relaxed)
}

#[cfg(test)]
thread_local! {
    /// Makes this thread resolve as on a kernel without openat2 (the tests run every hostile
    /// layer through both resolutions).
    pub(crate) static FORCE_WALK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn use_openat2() -> bool {
    #[cfg(test)]
    if FORCE_WALK.with(|f| f.get()) {
        return false;
    }
    !openat2_missing()
}

/// How a path is resolved below a root descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resolve {
    /// Symlinks are followed as if the root were `/` (the layer's own links, kept inside).
    InRoot,
    /// No symlink anywhere on the path.
    NoSymlinks,
}

/// openat2 calls that fail with EAGAIN before the walk in user space takes over.
const OPENAT2_RETRIES: usize = 32;

/// Opens `path` (relative, no `..`) below `root`.
pub(crate) fn open_below(root: BorrowedFd<'_>, path: &CStr, flags: OFlag, resolve: Resolve) -> nix::Result<OwnedFd> {
    if path.is_empty() {
        return openat(root, c".", flags | OFlag::O_CLOEXEC, Mode::empty());
    }
    if use_openat2() {
        let resolve_flags = match resolve {
            Resolve::InRoot => ResolveFlag::RESOLVE_IN_ROOT,
            Resolve::NoSymlinks => ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_SYMLINKS,
        } | ResolveFlag::RESOLVE_NO_MAGICLINKS
            | ResolveFlag::RESOLVE_NO_XDEV;
        let how = OpenHow::new().flags(flags | OFlag::O_CLOEXEC).resolve(resolve_flags);
        // EAGAIN: a rename or mount somewhere in the system raced a lookup through `..`, and
        // the kernel asks for a retry (openat2(2)). Past a few, the walk resolves it.
        for _ in 0..OPENAT2_RETRIES {
            match openat2(root, path, how) {
                Err(Errno::EAGAIN) => continue,
                Err(Errno::ENOSYS) => NO_OPENAT2.store(true, Ordering::Relaxed),
                other => return other,
            }
            break;
        }
    }
    walk(root, path.to_bytes(), flags, resolve)
}

/// The user-space resolution for kernels without openat2 (and for its tests).
pub(crate) fn walk(root: BorrowedFd<'_>, path: &[u8], flags: OFlag, resolve: Resolve) -> nix::Result<OwnedFd> {
    // Components still to visit, the next one last.
    let mut todo: Vec<Vec<u8>> = Vec::new();
    push_components(&mut todo, path);
    let mut stack: Vec<OwnedFd> = Vec::new();
    let mut links = 0;
    while let Some(name) = todo.pop() {
        if name == b".." {
            stack.pop();
            continue;
        }
        let parent = stack.last().map_or(root, |fd| fd.as_fd());
        let name = OsStr::from_bytes(&name);
        let fd = openat(parent, name, OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC, Mode::empty())?;
        if is_kind(&fstat(fd.as_fd())?, SFlag::S_IFLNK) {
            if resolve == Resolve::NoSymlinks {
                return Err(Errno::ELOOP);
            }
            links += 1;
            if links > MAX_SYMLINKS {
                return Err(Errno::ELOOP);
            }
            let target = readlinkat(parent, name)?;
            if target.as_bytes().starts_with(b"/") {
                stack.clear();
            }
            push_components(&mut todo, target.as_bytes());
            continue;
        }
        if todo.is_empty() {
            return openat(parent, name, flags | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC, Mode::empty());
        }
        stack.push(fd);
    }
    openat(stack.last().map_or(root, |fd| fd.as_fd()), c".", flags | OFlag::O_CLOEXEC, Mode::empty())
}

/// Pushes a path's components for a walk that pops them: the first component last.
pub(crate) fn push_components(todo: &mut Vec<Vec<u8>>, path: &[u8]) {
    for c in path.split(|b| *b == b'/').rev() {
        if !c.is_empty() && c != b"." {
            todo.push(c.to_vec());
        }
    }
}

pub(crate) fn is_kind(st: &FileStat, kind: SFlag) -> bool {
    SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == kind
}

pub(crate) fn lstat_at(dir: BorrowedFd<'_>, name: &CStr) -> nix::Result<FileStat> {
    fstatat(dir, name, nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW)
}

/// Removes `name` in `dir`, whatever it is; a directory with everything below it. Never
/// follows a symlink: each directory is opened with O_NOFOLLOW relative to its parent.
pub(crate) fn remove_all(dir: BorrowedFd<'_>, name: &CStr) -> nix::Result<()> {
    match unlinkat(dir, name, UnlinkatFlags::NoRemoveDir) {
        Ok(()) | Err(Errno::ENOENT) => return Ok(()),
        Err(Errno::EISDIR) => {}
        Err(e) => return Err(e),
    }
    let fd =
        openat(dir, name, OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC, Mode::empty())?;
    let mut entries = nix::dir::Dir::from_fd(fd)?;
    let children: Vec<CString> = entries
        .iter()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_owned())
        .filter(|n| n.as_bytes() != b"." && n.as_bytes() != b"..")
        .collect();
    for child in &children {
        remove_all(entries.as_fd(), child)?;
    }
    drop(entries);
    unlinkat(dir, name, UnlinkatFlags::RemoveDir)
}

/// Sets an extended attribute through an open descriptor (a file or directory).
pub(crate) fn fsetxattr(fd: BorrowedFd<'_>, name: &CStr, value: &[u8]) -> io::Result<()> {
    // SAFETY: a valid descriptor, a NUL-terminated name, and a buffer with its length.
    let rc = unsafe { libc::fsetxattr(fd.as_raw_fd(), name.as_ptr(), value.as_ptr().cast(), value.len(), 0) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Sets an extended attribute on `name` in `dir` without following it if it is a symlink
/// (there is no lsetxattrat before Linux 6.13): the path goes through the directory's
/// descriptor in /proc, so only the last component is looked up, and not followed.
pub(crate) fn lsetxattr_at(dir: BorrowedFd<'_>, name: &CStr, attr: &CStr, value: &[u8]) -> io::Result<()> {
    let mut path = format!("/proc/self/fd/{}/", dir.as_raw_fd()).into_bytes();
    path.extend_from_slice(name.to_bytes());
    let path = CString::new(path).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: NUL-terminated path and name, and a buffer with its length.
    let rc = unsafe { libc::lsetxattr(path.as_ptr(), attr.as_ptr(), value.as_ptr().cast(), value.len(), 0) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Reads a small extended attribute through an open descriptor; None when it is absent
/// (or invisible to the caller, as trusted.* is to an ordinary user).
pub(crate) fn fgetxattr(fd: BorrowedFd<'_>, name: &CStr) -> io::Result<Option<Vec<u8>>> {
    let mut buf = [0u8; 64];
    // SAFETY: a valid descriptor, a NUL-terminated name, and a buffer with its length.
    let n = unsafe { libc::fgetxattr(fd.as_raw_fd(), name.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if n >= 0 {
        return Ok(Some(buf[..n as usize].to_vec()));
    }
    match io::Error::last_os_error() {
        e if matches!(e.raw_os_error(), Some(libc::ENODATA | libc::ENOTSUP | libc::ERANGE)) => Ok(None),
        e => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    fn setup() -> (tempfile::TempDir, OwnedFd) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::os::unix::fs::symlink("/", root.join("escape")).unwrap();
        std::os::unix::fs::symlink("../../..", root.join("a/up")).unwrap();
        std::os::unix::fs::symlink("/a/b", root.join("abs")).unwrap();
        std::os::unix::fs::symlink("loop2", root.join("loop1")).unwrap();
        std::os::unix::fs::symlink("loop1", root.join("loop2")).unwrap();
        let fd = nix::fcntl::open(root, OFlag::O_PATH | OFlag::O_DIRECTORY, Mode::empty()).unwrap();
        (dir, fd)
    }

    fn resolved(fd: &OwnedFd) -> PathBuf {
        std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap()
    }

    type Resolver = fn(BorrowedFd<'_>, &[u8], OFlag, Resolve) -> nix::Result<OwnedFd>;

    fn with_openat2(root: BorrowedFd<'_>, path: &[u8], flags: OFlag, resolve: Resolve) -> nix::Result<OwnedFd> {
        open_below(root, &CString::new(path).unwrap(), flags, resolve)
    }

    /// The kernel's resolution and the user-space walk agree, and neither leaves the root.
    #[test]
    fn symlinks_resolve_inside_the_root() {
        let (dir, root) = setup();
        let real = dir.path().canonicalize().unwrap();
        for resolve in [with_openat2 as Resolver, walk] {
            let at =
                |p: &str| resolve(root.as_fd(), p.as_bytes(), OFlag::O_PATH, Resolve::InRoot).map(|fd| resolved(&fd));
            assert_eq!(at("escape").unwrap(), real);
            assert_eq!(at("escape/a").unwrap(), real.join("a"));
            assert_eq!(at("a/up/a/b").unwrap(), real.join("a/b"));
            assert_eq!(at("abs").unwrap(), real.join("a/b"));
            assert_eq!(at("loop1"), Err(Errno::ELOOP));
            assert_eq!(at("missing/x"), Err(Errno::ENOENT));
            let strict = |p: &str| resolve(root.as_fd(), p.as_bytes(), OFlag::O_PATH, Resolve::NoSymlinks);
            assert_eq!(strict("escape/a").err(), Some(Errno::ELOOP));
            assert_eq!(strict("a/b").map(|fd| resolved(&fd)).unwrap(), real.join("a/b"));
        }
        assert!(!openat2_missing(), "this kernel has openat2");
    }

    /// openat2 fails with EAGAIN when a rename or a mount happens anywhere in the system
    /// while it resolves a path with `..` (RESOLVE_IN_ROOT); a busy host renames all the time.
    #[test]
    fn a_rename_elsewhere_does_not_fail_a_lookup() {
        let (_dir, root) = setup();
        let busy = tempfile::tempdir().unwrap();
        std::fs::write(busy.path().join("a"), "x").unwrap();
        let stop = std::sync::atomic::AtomicBool::new(false);
        let failures = std::thread::scope(|s| {
            s.spawn(|| {
                let (a, b) = (busy.path().join("a"), busy.path().join("b"));
                while !stop.load(Ordering::Relaxed) {
                    std::fs::rename(&a, &b).unwrap();
                    std::fs::rename(&b, &a).unwrap();
                }
            });
            let mut failures = 0;
            for _ in 0..20_000 {
                if with_openat2(root.as_fd(), b"a/up/a/b", OFlag::O_PATH, Resolve::InRoot).is_err() {
                    failures += 1;
                }
            }
            stop.store(true, Ordering::Relaxed);
            failures
        });
        assert_eq!(failures, 0, "lookups failed while another directory saw renames");
    }

    #[test]
    fn remove_all_does_not_follow_symlinks() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("keep"), "x").unwrap();
        let (dir, root) = setup();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("a/b/out")).unwrap();
        std::fs::write(dir.path().join("a/b/f"), "y").unwrap();
        remove_all(root.as_fd(), c"a").unwrap();
        assert!(!dir.path().join("a").exists());
        assert!(outside.path().join("keep").exists());
        remove_all(root.as_fd(), c"escape").unwrap();
        assert!(Path::new("/").exists() && !dir.path().join("escape").exists());
    }
}
