//! Resolving paths inside the container's rootfs without letting the rootfs redirect us:
//! a symlink such as `rootfs/proc -> /` must resolve to `rootfs/`, not to the host's root
//! (CVE-2021-30465 and kin). `openat2(RESOLVE_IN_ROOT)` does it in the kernel; on kernels
//! without it (before 5.6) a component-by-component walk over file descriptors does the
//! same. Mounts then target `/proc/self/fd/N` of the resolved descriptor, so there is no
//! path string left for the container to race.

use std::ffi::{CString, OsString};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{openat, readlinkat, OFlag};
use nix::sys::stat::{fstat, mkdirat, Mode, SFlag};

/// How many symlinks a walk follows before giving up, as the kernel's limit.
const MAX_SYMLINKS: usize = 40;

/// `/proc/self/fd/N` for a descriptor: the path through which mount(2) acts on it.
pub fn fd_path(fd: BorrowedFd<'_>) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// openat2(2): `path` resolved from `dir` under the `RESOLVE_*` rules in `resolve`.
fn openat2_raw(dir: RawFd, path: &Path, flags: OFlag, resolve: u64) -> nix::Result<OwnedFd> {
    let c = CString::new(path.as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)?;
    // SAFETY: `open_how` is plain integers; all-zero is its documented default.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (flags | OFlag::O_CLOEXEC).bits() as u64;
    how.resolve = resolve;
    // SAFETY: `c` is a NUL-terminated path and `how` a zero-initialised `open_how` with
    // its size passed; the kernel returns a new descriptor or an error.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir,
            c.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    let fd = Errno::result(fd)?;
    // SAFETY: a non-negative return value is a descriptor the kernel just opened for us.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

fn openat2(root: BorrowedFd<'_>, path: &Path, flags: OFlag) -> nix::Result<OwnedFd> {
    let relative = path.strip_prefix("/").unwrap_or(path);
    let relative = if relative.as_os_str().is_empty() { Path::new(".") } else { relative };
    openat2_raw(root.as_raw_fd(), relative, flags, libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS)
}

/// The same resolution in user space: each component is opened relative to the previous
/// descriptor without following symlinks; a symlink's target is read and walked again
/// from the root descriptor, and `..` never climbs above it.
fn walk(root: BorrowedFd<'_>, path: &Path, flags: OFlag) -> nix::Result<OwnedFd> {
    // Components still to visit, last one first, so `pop` walks the path in order.
    let mut todo: Vec<OsString> = Vec::new();
    push_components(&mut todo, path);
    let mut stack: Vec<OwnedFd> = Vec::new(); // directories from the root down
    let mut links = 0;
    while let Some(name) = todo.pop() {
        if name == ".." {
            stack.pop();
            continue;
        }
        let parent = stack.last().map_or(root, |fd| fd.as_fd());
        let fd = openat(parent, name.as_os_str(), OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC, Mode::empty())?;
        let st = fstat(fd.as_fd())?;
        if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFLNK {
            links += 1;
            if links > MAX_SYMLINKS {
                return Err(Errno::ELOOP);
            }
            let target = PathBuf::from(readlinkat(parent, name.as_os_str())?);
            if target.is_absolute() {
                stack.clear();
            }
            push_components(&mut todo, &target);
            continue;
        }
        if todo.is_empty() {
            // Reopen with the caller's flags now that the target is known not to be a link.
            return openat(parent, name.as_os_str(), flags | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC, Mode::empty());
        }
        stack.push(fd);
    }
    openat(stack.last().map_or(root, |fd| fd.as_fd()), ".", flags | OFlag::O_CLOEXEC, Mode::empty())
}

fn push_components(todo: &mut Vec<OsString>, path: &Path) {
    for c in path.components().rev() {
        match c {
            Component::Normal(n) => todo.push(n.to_os_string()),
            Component::ParentDir => todo.push(OsString::from("..")),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
}

/// openat2 calls that may fail with EAGAIN before the walk in user space takes over.
const OPENAT2_ATTEMPTS: usize = 8;

/// Opens `path` as seen from inside `root`.
pub fn open_in_root(root: BorrowedFd<'_>, path: &Path, flags: OFlag) -> nix::Result<OwnedFd> {
    for _ in 0..OPENAT2_ATTEMPTS {
        match openat2(root, path, flags) {
            // EAGAIN: a rename or a mount anywhere in the system raced a lookup through `..`
            // (the kernel's seqlock check for RESOLVE_IN_ROOT). Busy hosts, with containers
            // mounting all the time, see it; it says nothing about this path.
            Err(Errno::EAGAIN) => continue,
            Err(Errno::ENOSYS) => break,
            other => return other,
        }
    }
    walk(root, path, flags)
}

/// Opens the directory `path` (from the working directory when relative) as an `O_PATH`
/// descriptor, refusing any symlink on the way (`ELOOP`): with no link to follow, nobody who
/// can write a directory of the path can redirect the open elsewhere.
pub fn open_dir_no_symlinks(path: &Path) -> nix::Result<OwnedFd> {
    let flags = OFlag::O_PATH | OFlag::O_DIRECTORY;
    match openat2_raw(libc::AT_FDCWD, path, flags, libc::RESOLVE_NO_SYMLINKS) {
        Err(Errno::ENOSYS) => walk_dir_no_symlinks(path),
        other => other,
    }
}

/// [`open_dir_no_symlinks`] for kernels before 5.6: component by component.
fn walk_dir_no_symlinks(path: &Path) -> nix::Result<OwnedFd> {
    let flags = OFlag::O_PATH | OFlag::O_DIRECTORY;
    let start = if path.is_absolute() { Path::new("/") } else { Path::new(".") };
    let mut dir = nix::fcntl::open(start, flags | OFlag::O_CLOEXEC, Mode::empty())?;
    for c in path.components() {
        let name = match c {
            Component::Normal(n) => n,
            Component::ParentDir => std::ffi::OsStr::new(".."),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => continue,
        };
        let next = openat(dir.as_fd(), name, OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC, Mode::empty())?;
        match SFlag::from_bits_truncate(fstat(next.as_fd())?.st_mode) & SFlag::S_IFMT {
            SFlag::S_IFLNK => return Err(Errno::ELOOP),
            SFlag::S_IFDIR => dir = next,
            _ => return Err(Errno::ENOTDIR),
        }
    }
    Ok(dir)
}

/// Opens `path` (relative) beneath `dir`: no `..` above it, no symlink, and with `same_mount`
/// no other mount on the way (`openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS [|
/// RESOLVE_NO_XDEV])`, or the same walk in user space before Linux 5.6).
pub fn open_beneath(dir: BorrowedFd<'_>, path: &Path, flags: OFlag, same_mount: bool) -> nix::Result<OwnedFd> {
    if path.as_os_str().is_empty() || path == Path::new(".") {
        return openat(dir, ".", flags | OFlag::O_CLOEXEC, Mode::empty());
    }
    let mut resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS;
    if same_mount {
        resolve |= libc::RESOLVE_NO_XDEV;
    }
    for _ in 0..OPENAT2_ATTEMPTS {
        match openat2_raw(dir.as_raw_fd(), path, flags, resolve) {
            // As in open_in_root: a system-wide rename or mount raced the scoped lookup.
            Err(Errno::EAGAIN) => continue,
            Err(Errno::ENOSYS) => break,
            other => return other,
        }
    }
    let mut parent: Option<OwnedFd> = None;
    let mut components = path.components().peekable();
    while let Some(c) = components.next() {
        let Component::Normal(name) = c else {
            return Err(Errno::EXDEV);
        };
        let at = parent.as_ref().map_or(dir, |p| p.as_fd());
        if components.peek().is_none() {
            return openat(at, name, flags | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC, Mode::empty());
        }
        let next =
            openat(at, name, OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC, Mode::empty())?;
        if same_mount && fstat(next.as_fd())?.st_dev != fstat(at)?.st_dev {
            return Err(Errno::EXDEV);
        }
        parent = Some(next);
    }
    Err(Errno::EINVAL)
}

/// An absolute path without `.`, `..` or repeated slashes, as Go's filepath.Clean (and so
/// runc) makes it.
pub(crate) fn lexically_clean(destination: &Path) -> PathBuf {
    let mut clean = PathBuf::from("/");
    for c in destination.components() {
        match c {
            std::path::Component::Normal(n) => clean.push(n),
            std::path::Component::ParentDir => {
                clean.pop();
            }
            _ => {}
        }
    }
    clean
}

/// Whether a directory descriptor is this process's root directory (the host's `/`, for the
/// runtime): the same inode of the same filesystem.
pub fn is_root_directory(dir: BorrowedFd<'_>) -> nix::Result<bool> {
    let here = fstat(dir)?;
    let root = nix::sys::stat::stat("/")?;
    Ok(here.st_dev == root.st_dev && here.st_ino == root.st_ino)
}

/// The path a descriptor names now, as the kernel reports it.
pub fn real_path(fd: BorrowedFd<'_>) -> nix::Result<PathBuf> {
    nix::fcntl::readlink(&fd_path(fd)).map(PathBuf::from)
}

/// Creates every missing directory of `path` inside `root` and returns an `O_PATH`
/// descriptor of the last one.
pub fn mkdir_all_in_root(root: BorrowedFd<'_>, path: &Path, mode: Mode) -> nix::Result<OwnedFd> {
    let flags = OFlag::O_PATH | OFlag::O_DIRECTORY;
    match open_in_root(root, path, flags) {
        Err(Errno::ENOENT) => {}
        other => return other,
    }
    let parent_path = path.parent().unwrap_or(Path::new("/"));
    let name = path.file_name().ok_or(Errno::EINVAL)?;
    let parent = mkdir_all_in_root(root, parent_path, mode)?;
    match mkdirat(parent.as_fd(), name, mode) {
        Ok(()) | Err(Errno::EEXIST) => {}
        Err(e) => return Err(e),
    }
    // Opened through the parent we just resolved, never through a re-walked string.
    openat(parent.as_fd(), name, flags | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC, Mode::empty())
}

/// Makes sure a regular file exists at `path` inside `root` (a mount point for a file
/// bind mount) and returns an `O_PATH` descriptor of it.
pub fn create_file_in_root(root: BorrowedFd<'_>, path: &Path) -> nix::Result<OwnedFd> {
    match open_in_root(root, path, OFlag::O_PATH) {
        Err(Errno::ENOENT) => {}
        other => return other,
    }
    let parent = mkdir_all_in_root(root, path.parent().unwrap_or(Path::new("/")), Mode::from_bits_truncate(0o755))?;
    let name = path.file_name().ok_or(Errno::EINVAL)?;
    let file = openat(
        parent.as_fd(),
        name,
        OFlag::O_CREAT | OFlag::O_WRONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::from_bits_truncate(0o644),
    )?;
    drop(file);
    openat(parent.as_fd(), name, OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC, Mode::empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::fcntl::open;

    fn setup() -> (tempfile::TempDir, OwnedFd) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::os::unix::fs::symlink("/", root.join("escape")).unwrap();
        std::os::unix::fs::symlink("../../..", root.join("a/up")).unwrap();
        std::os::unix::fs::symlink("/a/b", root.join("abs")).unwrap();
        let fd = open(root, OFlag::O_PATH | OFlag::O_DIRECTORY, Mode::empty()).unwrap();
        (dir, fd)
    }

    fn resolved(fd: &OwnedFd) -> PathBuf {
        std::fs::read_link(fd_path(fd.as_fd())).unwrap()
    }

    #[test]
    fn symlinks_cannot_leave_the_root() {
        let (dir, root) = setup();
        let real = dir.path().canonicalize().unwrap();
        for resolve in [open_in_root as fn(BorrowedFd<'_>, &Path, OFlag) -> nix::Result<OwnedFd>, walk] {
            let fd = resolve(root.as_fd(), Path::new("/escape"), OFlag::O_PATH).unwrap();
            assert_eq!(resolved(&fd), real);
            let fd = resolve(root.as_fd(), Path::new("/a/up/a"), OFlag::O_PATH).unwrap();
            assert_eq!(resolved(&fd), real.join("a"));
            let fd = resolve(root.as_fd(), Path::new("/abs"), OFlag::O_PATH).unwrap();
            assert_eq!(resolved(&fd), real.join("a/b"));
            let fd = resolve(root.as_fd(), Path::new("/../../a"), OFlag::O_PATH).unwrap();
            assert_eq!(resolved(&fd), real.join("a"));
        }
    }

    #[test]
    fn no_symlink_is_followed_anywhere_in_the_path() {
        let (dir, _root) = setup();
        let real = dir.path().canonicalize().unwrap();
        for open in [open_dir_no_symlinks as fn(&Path) -> nix::Result<OwnedFd>, walk_dir_no_symlinks] {
            let fd = open(&real.join("a/b")).unwrap();
            assert_eq!(real_path(fd.as_fd()).unwrap(), real.join("a/b"));
            assert_eq!(real_path(open(&real.join("a/b/..")).unwrap().as_fd()).unwrap(), real.join("a"));
            assert_eq!(open(&real.join("abs")).unwrap_err(), Errno::ELOOP);
            assert_eq!(open(&real.join("escape/tmp")).unwrap_err(), Errno::ELOOP);
            assert_eq!(open(&real.join("missing")).unwrap_err(), Errno::ENOENT);
            assert!(is_root_directory(open(Path::new("/")).unwrap().as_fd()).unwrap());
            assert!(!is_root_directory(fd.as_fd()).unwrap());
        }
    }

    #[test]
    fn destinations_are_cleaned_as_runc_does() {
        assert_eq!(lexically_clean(Path::new("/x/../proc//sys/.")), Path::new("/proc/sys"));
        assert_eq!(lexically_clean(Path::new("/../../proc")), Path::new("/proc"));
    }

    #[test]
    fn directories_are_created_inside_the_root_even_through_links() {
        let (dir, root) = setup();
        let real = dir.path().canonicalize().unwrap();
        let fd =
            mkdir_all_in_root(root.as_fd(), Path::new("/escape/new/dir"), Mode::from_bits_truncate(0o755)).unwrap();
        assert_eq!(resolved(&fd), real.join("new/dir"));
        assert!(!Path::new("/new/dir").exists());
        let fd = create_file_in_root(root.as_fd(), Path::new("/abs/file")).unwrap();
        assert_eq!(resolved(&fd), real.join("a/b/file"));
    }
}
