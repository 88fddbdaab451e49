//! Creating a layer's entries in its directory, one tar member at a time.
//!
//! Every entry is made relative to a descriptor of its parent directory, resolved inside the
//! layer's directory (`fs::open_below`), and the last component is never followed: files are
//! created with `O_CREAT | O_EXCL | O_NOFOLLOW`, symlinks with symlinkat, devices with
//! mknodat, hard links with linkat (which does not follow). A name already there is
//! replaced, the later entry winning as in Docker and containerd: a directory stays a
//! directory when the new entry is one too, anything else is removed first (a directory
//! with everything in it, without following a symlink).
//!
//! Ownership and modes: a file is written while it is 0600 and the caller's, then chowned
//! (`Ownership::AsInTar`), then given its mode (chown clears setuid and setgid), then its
//! extended attributes (after chown, which drops `security.capability`), then its times.
//! Directories are made 0700 and get their mode and times at the end, deepest first, so an
//! ordinary user can still write into a directory the tar makes read-only, and a
//! directory's mtime is not changed by what is written into it afterwards.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::fs::File;
use std::io::{BufRead, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::rc::Rc;

use nix::errno::Errno;
use nix::fcntl::{openat, AtFlags, OFlag};
use nix::sys::stat::{
    fchmod, fchmodat, futimens, makedev, mkdirat, mknodat, utimensat, FchmodatFlags, Mode, SFlag, UtimensatFlags,
};
use nix::sys::time::TimeSpec;
use nix::unistd::{fchown, fchownat, linkat, symlinkat, unlinkat, Gid, Uid, UnlinkatFlags};

use super::error::shown;
use super::fs::{fsetxattr, is_kind, lsetxattr_at, lstat_at, open_below, remove_all, Resolve};
use super::name::{Name, Whiteout};
use super::notes::{Note, Notes};
use super::tar_stream::{Kind, Member, TarStream, Time};
use super::{LayerError, Ownership, UnpackOptions, WhiteoutFormat};

/// Copy buffer for file data.
const COPY_BUFFER: usize = 256 * 1024;

struct DirMeta {
    mode: u32,
    atime: Time,
    mtime: Time,
}

pub(crate) struct Applier {
    root: Rc<OwnedFd>,
    ownership: Ownership,
    /// Who owns what this process creates in the layer (its effective ids, as long as the
    /// layer's directory is not setgid): a chown to those ids is skipped, which is most
    /// chowns of a root file system unpacked by root.
    creator: Option<(u64, u64)>,
    whiteouts: WhiteoutFormat,
    notes: Notes,
    /// Modes and times of the directories the tar names, applied by `finish`, and the bytes
    /// of their names (bounded).
    dirs: HashMap<Vec<u8>, DirMeta>,
    dir_bytes: u64,
    max_dir_bytes: u64,
    /// The last parent directory resolved (entries come grouped by directory).
    cache: Option<(Vec<u8>, Rc<OwnedFd>)>,
    buf: Vec<u8>,
}

/// Where an extended attribute goes: an open file or directory, or a name in a directory
/// that must not be followed (a symlink, a device, a FIFO).
enum Target<'a> {
    Fd(BorrowedFd<'a>),
    At(BorrowedFd<'a>, &'a CStr),
}

fn hostile(entry: &[u8], reason: impl Into<String>) -> LayerError {
    LayerError::Hostile { entry: shown(entry), reason: reason.into() }
}

fn failed<'a>(op: &'static str, entry: &'a [u8]) -> impl FnOnce(Errno) -> LayerError + 'a {
    move |errno| LayerError::Entry { op, entry: shown(entry), source: errno.into() }
}

fn timespec(t: Time) -> TimeSpec {
    TimeSpec::new(t.secs, i64::from(t.nanos))
}

fn cstring(bytes: &[u8]) -> Result<CString, Errno> {
    CString::new(bytes).map_err(|_| Errno::EINVAL)
}

fn is_under(path: &[u8], dir: &[u8]) -> bool {
    path == dir || (path.starts_with(dir) && path.get(dir.len()) == Some(&b'/'))
}

impl Applier {
    /// `root`: the layer's directory, opened O_RDONLY | O_DIRECTORY.
    pub(crate) fn new(root: OwnedFd, options: &UnpackOptions) -> Applier {
        // Directories made here get their setgid bits only at the end (`finish`): during the
        // unpack, only the layer's directory itself could pass its group on.
        let setgid = nix::sys::stat::fstat(root.as_fd()).map_or(true, |st| st.st_mode & libc::S_ISGID != 0);
        let creator =
            (!setgid).then(|| (u64::from(nix::unistd::geteuid().as_raw()), u64::from(nix::unistd::getegid().as_raw())));
        Applier {
            root: Rc::new(root),
            ownership: options.ownership,
            creator,
            whiteouts: options.whiteouts,
            notes: Notes::default(),
            dirs: HashMap::new(),
            dir_bytes: 0,
            max_dir_bytes: options.limits.max_directory_bytes,
            cache: None,
            buf: vec![0u8; COPY_BUFFER],
        }
    }

    pub(crate) fn notes(&mut self) -> &mut Notes {
        &mut self.notes
    }

    pub(crate) fn apply<R: BufRead>(&mut self, m: &Member, stream: &mut TarStream<R>) -> Result<(), LayerError> {
        let name = Name::parse(&m.name).map_err(|reason| hostile(&m.name, reason))?;
        if m.uid >= u64::from(u32::MAX) || m.gid >= u64::from(u32::MAX) {
            return Err(hostile(&m.name, "its owner is out of range"));
        }
        if name.is_root() {
            return self.root_entry(m);
        }
        match name.whiteout().map_err(|reason| hostile(&m.name, reason))? {
            Whiteout::None => {}
            Whiteout::AufsMeta => {
                self.notes.add(Note::AufsMetaSkipped, name.as_bytes(), None);
                return Ok(());
            }
            Whiteout::Opaque => return self.opaque(&name),
            Whiteout::Remove(target) => return self.whiteout(&name, target),
        }
        let parent = self.parent(name.parent(), true, &m.name)?;
        let base = name.base_cstring();
        match m.kind {
            Kind::Directory => self.directory(&parent, &base, &name, m),
            Kind::Regular => self.regular(&parent, &base, &name, m, stream),
            Kind::Symlink => self.symlink(&parent, &base, &name, m),
            Kind::HardLink => self.hard_link(&parent, &base, &name, m),
            Kind::Char | Kind::Block | Kind::Fifo => self.special(&parent, &base, &name, m),
        }
    }

    /// The directory `path` (relative to the layer) resolved inside it; missing directories
    /// are made (0755, as tar makes them) when `create` is set.
    fn parent(&mut self, path: &[u8], create: bool, entry: &[u8]) -> Result<Rc<OwnedFd>, LayerError> {
        if path.is_empty() {
            return Ok(self.root.clone());
        }
        if let Some((cached, fd)) = &self.cache {
            if cached == path {
                return Ok(fd.clone());
            }
        }
        let c = cstring(path).map_err(failed("resolve the directory of", entry))?;
        let fd = match open_below(self.root.as_fd(), &c, OFlag::O_PATH | OFlag::O_DIRECTORY, Resolve::InRoot) {
            Ok(fd) => Rc::new(fd),
            Err(Errno::ENOENT) if create => self.make_parents(path, entry)?,
            Err(Errno::ENOENT) => return Err(hostile(entry, "a directory on its path does not exist in this layer")),
            Err(Errno::ELOOP) => return Err(hostile(entry, "its path loops through symlinks")),
            Err(e) => return Err(failed("resolve the directory of", entry)(e)),
        };
        self.cache = Some((path.to_vec(), fd.clone()));
        Ok(fd)
    }

    fn make_parents(&mut self, path: &[u8], entry: &[u8]) -> Result<Rc<OwnedFd>, LayerError> {
        let mut dir = self.root.clone();
        let mut end = 0;
        for component in path.split(|b| *b == b'/') {
            end += component.len();
            let prefix = cstring(&path[..end]).map_err(failed("resolve the directory of", entry))?;
            end += 1;
            match open_below(self.root.as_fd(), &prefix, OFlag::O_PATH | OFlag::O_DIRECTORY, Resolve::InRoot) {
                Ok(fd) => dir = Rc::new(fd),
                Err(Errno::ENOENT) => {
                    let name = cstring(component).map_err(failed("create the directory of", entry))?;
                    match mkdirat(dir.as_fd(), name.as_c_str(), Mode::from_bits_truncate(0o755)) {
                        Ok(()) => {}
                        // The name is there but does not resolve: a symlink to nowhere.
                        Err(Errno::EEXIST) => {
                            return Err(hostile(entry, "a directory on its path is a dangling symlink"))
                        }
                        Err(e) => return Err(failed("create the directory of", entry)(e)),
                    }
                    // Whatever the umask, a directory tar makes for a path is 0755.
                    fchmodat(
                        dir.as_fd(),
                        name.as_c_str(),
                        Mode::from_bits_truncate(0o755),
                        FchmodatFlags::FollowSymlink,
                    )
                    .map_err(failed("create the directory of", entry))?;
                    let opened = openat(
                        dir.as_fd(),
                        name.as_c_str(),
                        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                        Mode::empty(),
                    )
                    .map_err(failed("create the directory of", entry))?;
                    dir = Rc::new(opened);
                }
                Err(Errno::ELOOP) => return Err(hostile(entry, "its path loops through symlinks")),
                Err(e) => return Err(failed("resolve the directory of", entry)(e)),
            }
        }
        Ok(dir)
    }

    /// Makes `base` in `parent` with `make`; when the name is taken, keeps an existing
    /// directory if `keep_dir`, or removes what is there and makes it again.
    fn replace<T>(
        &mut self,
        parent: &OwnedFd,
        base: &CStr,
        path: &[u8],
        keep_dir: bool,
        mut make: impl FnMut() -> nix::Result<T>,
    ) -> nix::Result<Made<T>> {
        match make() {
            Err(Errno::EEXIST) => {}
            other => return other.map(Made::New),
        }
        let existing = lstat_at(parent.as_fd(), base)?;
        let is_dir = is_kind(&existing, SFlag::S_IFDIR);
        if keep_dir && is_dir {
            return Ok(Made::KeptDirectory);
        }
        self.forget(path);
        if is_dir {
            remove_all(parent.as_fd(), base)?;
        } else {
            unlinkat(parent.as_fd(), base, UnlinkatFlags::NoRemoveDir)?;
        }
        let over_whiteout = is_kind(&existing, SFlag::S_IFCHR) && existing.st_rdev == 0;
        make().map(|value| if over_whiteout { Made::OverWhiteout(value) } else { Made::New(value) })
    }

    /// Something at `path` is going away: no cached descriptor or pending directory record
    /// may outlive it.
    fn forget(&mut self, path: &[u8]) {
        self.cache = None;
        if !self.dirs.is_empty() {
            let mut freed = 0;
            self.dirs.retain(|dir, _| {
                let keep = !is_under(dir, path);
                if !keep {
                    freed += dir.len() as u64;
                }
                keep
            });
            self.dir_bytes -= freed;
        }
    }

    /// Whether an entry needs a chown to get the tar's owner: always, unless this process
    /// has just made it (`fresh`) and owns it as the tar says.
    fn needs_chown(&self, m: &Member, fresh: bool) -> bool {
        self.ownership == Ownership::AsInTar && !(fresh && self.creator == Some((m.uid, m.gid)))
    }

    /// Chowns a file this process has just made.
    fn chown_fd(&self, fd: BorrowedFd<'_>, m: &Member) -> Result<(), LayerError> {
        if self.needs_chown(m, true) {
            fchown(fd, Some(Uid::from_raw(m.uid as u32)), Some(Gid::from_raw(m.gid as u32)))
                .map_err(failed("change the owner of", &m.name))?;
        }
        Ok(())
    }

    fn chown_at(&self, parent: &OwnedFd, base: &CStr, m: &Member, fresh: bool) -> Result<(), LayerError> {
        if self.needs_chown(m, fresh) {
            let (uid, gid) = (Uid::from_raw(m.uid as u32), Gid::from_raw(m.gid as u32));
            fchownat(parent.as_fd(), base, Some(uid), Some(gid), AtFlags::AT_SYMLINK_NOFOLLOW)
                .map_err(failed("change the owner of", &m.name))?;
        }
        Ok(())
    }

    fn xattrs(&mut self, target: Target<'_>, m: &Member) -> Result<(), LayerError> {
        for (attr, value) in &m.xattrs {
            // overlayfs's own attributes would steer the overlay this layer becomes part of:
            // only whiteout entries make them.
            if attr.starts_with(b"trusted.overlay.") || attr.starts_with(b"user.overlay.") {
                self.notes.add(Note::OverlayXattrIgnored, &m.name, Some(attr));
                continue;
            }
            if self.ownership == Ownership::Caller && !attr.starts_with(b"user.") {
                self.notes.add(Note::XattrNotPermitted, &m.name, Some(attr));
                continue;
            }
            let Ok(c) = CString::new(attr.as_slice()) else {
                self.notes.add(Note::XattrUnsupported, &m.name, Some(attr));
                continue;
            };
            let result = match target {
                Target::Fd(fd) => fsetxattr(fd, &c, value),
                Target::At(dir, name) => lsetxattr_at(dir, name, &c, value),
            };
            match result.as_ref().map_err(|e| e.raw_os_error().unwrap_or(0)) {
                Ok(()) => {}
                Err(libc::EPERM | libc::EACCES) => self.notes.add(Note::XattrNotPermitted, &m.name, Some(attr)),
                Err(libc::EOPNOTSUPP | libc::EINVAL | libc::E2BIG | libc::ERANGE) => {
                    self.notes.add(Note::XattrUnsupported, &m.name, Some(attr))
                }
                Err(_) => {
                    return Err(LayerError::Entry {
                        op: "set an extended attribute on",
                        entry: shown(&m.name),
                        source: result.unwrap_err(),
                    })
                }
            }
        }
        Ok(())
    }

    fn times(m: &Member) -> (TimeSpec, TimeSpec) {
        (timespec(m.atime.unwrap_or(m.mtime)), timespec(m.mtime))
    }

    fn root_entry(&mut self, m: &Member) -> Result<(), LayerError> {
        if m.kind != Kind::Directory {
            return Err(hostile(&m.name, "it names the layer's root but is not a directory"));
        }
        let root = self.root.clone();
        if self.ownership == Ownership::AsInTar {
            fchown(root.as_fd(), Some(Uid::from_raw(m.uid as u32)), Some(Gid::from_raw(m.gid as u32)))
                .map_err(failed("change the owner of", &m.name))?;
        }
        self.xattrs(Target::Fd(root.as_fd()), m)?;
        self.record_dir(Vec::new(), m)
    }

    fn directory(&mut self, parent: &OwnedFd, base: &CStr, name: &Name, m: &Member) -> Result<(), LayerError> {
        let made = self
            .replace(parent, base, name.as_bytes(), true, || mkdirat(parent.as_fd(), base, Mode::S_IRWXU))
            .map_err(failed("create", &m.name))?;
        // `.wh.NAME` then `NAME/` in one layer: the directory below is gone and this one is
        // new, so nothing of the layers below may show through it (what overlayfs itself
        // does with a directory made where a whiteout was, and so what containerd, which
        // unpacks through a mounted overlay, ends up with).
        let opaque = matches!(made, Made::OverWhiteout(_));
        self.chown_at(parent, base, m, !matches!(made, Made::KeptDirectory))?;
        if !m.xattrs.is_empty() || opaque {
            let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
            let fd = openat(parent.as_fd(), base, flags, Mode::empty()).map_err(failed("open", &m.name))?;
            self.xattrs(Target::Fd(fd.as_fd()), m)?;
            if opaque {
                self.mark_opaque(fd.as_fd(), &m.name)?;
            }
        }
        self.record_dir(name.as_bytes().to_vec(), m)
    }

    fn record_dir(&mut self, path: Vec<u8>, m: &Member) -> Result<(), LayerError> {
        let meta = DirMeta { mode: m.mode, atime: m.atime.unwrap_or(m.mtime), mtime: m.mtime };
        let len = path.len() as u64;
        if self.dirs.insert(path, meta).is_none() {
            self.dir_bytes += len;
            if self.dir_bytes > self.max_dir_bytes {
                return Err(LayerError::TooLarge { what: "bytes of directory names", limit: self.max_dir_bytes });
            }
        }
        Ok(())
    }

    fn regular<R: BufRead>(
        &mut self,
        parent: &OwnedFd,
        base: &CStr,
        name: &Name,
        m: &Member,
        stream: &mut TarStream<R>,
    ) -> Result<(), LayerError> {
        let flags = OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let fd = self
            .replace(parent, base, name.as_bytes(), false, || {
                openat(parent.as_fd(), base, flags, Mode::S_IRUSR | Mode::S_IWUSR)
            })
            .map_err(failed("create", &m.name))?
            .value()
            .ok_or_else(|| failed("create", &m.name)(Errno::EEXIST))?;
        let file = File::from(fd);
        let mut buf = std::mem::take(&mut self.buf);
        let written = write_data(&file, m, stream, &mut buf);
        self.buf = buf;
        written.map_err(|e| match e {
            WriteError::Stream(e) => e,
            WriteError::File(source) => LayerError::Entry { op: "write", entry: shown(&m.name), source },
        })?;
        self.chown_fd(file.as_fd(), m)?;
        fchmod(file.as_fd(), Mode::from_bits_truncate(m.mode)).map_err(failed("change the mode of", &m.name))?;
        self.xattrs(Target::Fd(file.as_fd()), m)?;
        let (atime, mtime) = Self::times(m);
        futimens(file.as_fd(), &atime, &mtime).map_err(failed("set the times of", &m.name))?;
        Ok(())
    }

    fn symlink(&mut self, parent: &OwnedFd, base: &CStr, name: &Name, m: &Member) -> Result<(), LayerError> {
        let target =
            CString::new(m.link.as_slice()).map_err(|_| hostile(&m.name, "its link target holds a NUL byte"))?;
        self.replace(parent, base, name.as_bytes(), false, || symlinkat(target.as_c_str(), parent.as_fd(), base))
            .map_err(failed("create", &m.name))?;
        self.chown_at(parent, base, m, true)?;
        self.xattrs(Target::At(parent.as_fd(), base), m)?;
        let (atime, mtime) = Self::times(m);
        utimensat(parent.as_fd(), base, &atime, &mtime, UtimensatFlags::NoFollowSymlink)
            .map_err(failed("set the times of", &m.name))?;
        Ok(())
    }

    /// A hard link to an entry of this layer, already unpacked (a tar lists a file before
    /// its links). The target's directories resolve inside the layer; the target itself is
    /// not followed, so a link to a symlink is a second name of that symlink.
    fn hard_link(&mut self, parent: &OwnedFd, base: &CStr, name: &Name, m: &Member) -> Result<(), LayerError> {
        let target = Name::parse(&m.link).map_err(|_| hostile(&m.name, "its hard link target is outside the layer"))?;
        if target.is_root() {
            return Err(hostile(&m.name, "it is a hard link to the layer's root"));
        }
        let target_dir = self.parent(target.parent(), false, &m.name)?;
        let target_base = target.base_cstring();
        let target_stat = match lstat_at(target_dir.as_fd(), &target_base) {
            Ok(st) => st,
            Err(Errno::ENOENT) => return Err(hostile(&m.name, "its hard link target does not exist in this layer")),
            Err(e) => return Err(failed("link", &m.name)(e)),
        };
        if is_kind(&target_stat, SFlag::S_IFDIR) {
            return Err(hostile(&m.name, "it is a hard link to a directory"));
        }
        if let Ok(existing) = lstat_at(parent.as_fd(), base) {
            if (existing.st_dev, existing.st_ino) == (target_stat.st_dev, target_stat.st_ino) {
                return Ok(());
            }
        }
        self.replace(parent, base, name.as_bytes(), false, || {
            linkat(target_dir.as_fd(), target_base.as_c_str(), parent.as_fd(), base, AtFlags::empty())
        })
        .map_err(failed("link", &m.name))?;
        Ok(())
    }

    fn special(&mut self, parent: &OwnedFd, base: &CStr, name: &Name, m: &Member) -> Result<(), LayerError> {
        let (kind, dev) = match m.kind {
            Kind::Char => (SFlag::S_IFCHR, makedev(m.dev_major.into(), m.dev_minor.into())),
            Kind::Block => (SFlag::S_IFBLK, makedev(m.dev_major.into(), m.dev_minor.into())),
            _ => (SFlag::S_IFIFO, 0),
        };
        let perm = Mode::from_bits_truncate(m.mode & 0o777);
        match self.replace(parent, base, name.as_bytes(), false, || mknodat(parent.as_fd(), base, kind, perm, dev)) {
            Ok(_) => {}
            Err(Errno::EPERM) if kind != SFlag::S_IFIFO => {
                self.notes.add(Note::DeviceSkipped, &m.name, None);
                return Ok(());
            }
            Err(e) => return Err(failed("create", &m.name)(e)),
        }
        self.chown_at(parent, base, m, true)?;
        // The node was just made here by this process: following it is following nothing.
        fchmodat(parent.as_fd(), base, Mode::from_bits_truncate(m.mode), FchmodatFlags::FollowSymlink)
            .map_err(failed("change the mode of", &m.name))?;
        self.xattrs(Target::At(parent.as_fd(), base), m)?;
        let (atime, mtime) = Self::times(m);
        utimensat(parent.as_fd(), base, &atime, &mtime, UtimensatFlags::NoFollowSymlink)
            .map_err(failed("set the times of", &m.name))?;
        Ok(())
    }

    /// `.wh.NAME`: NAME becomes overlayfs's whiteout, a 0:0 character device (which needs no
    /// privilege since Linux 5.8), replacing whatever this layer put there before.
    fn whiteout(&mut self, name: &Name, target: &[u8]) -> Result<(), LayerError> {
        let parent = self.parent(name.parent(), true, name.as_bytes())?;
        let base = cstring(target).map_err(failed("create the whiteout", name.as_bytes()))?;
        let mut path = name.parent().to_vec();
        if !path.is_empty() {
            path.push(b'/');
        }
        path.extend_from_slice(target);
        self.replace(&parent, &base, &path, false, || {
            mknodat(parent.as_fd(), base.as_c_str(), SFlag::S_IFCHR, Mode::empty(), 0)
        })
        .map_err(failed("create the whiteout", name.as_bytes()))?;
        Ok(())
    }

    /// `.wh..wh..opq`: the directory hides what the layers below have in it.
    fn opaque(&mut self, name: &Name) -> Result<(), LayerError> {
        let dir = self.parent(name.parent(), true, name.as_bytes())?;
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
        let fd = openat(dir.as_fd(), c".", flags, Mode::empty())
            .map_err(failed("open the directory of", name.as_bytes()))?;
        self.mark_opaque(fd.as_fd(), name.as_bytes())
    }

    fn mark_opaque(&self, dir: BorrowedFd<'_>, entry: &[u8]) -> Result<(), LayerError> {
        let attr = match self.whiteouts {
            WhiteoutFormat::OverlayCharDev => c"trusted.overlay.opaque",
            WhiteoutFormat::OverlayUserXattr => c"user.overlay.opaque",
        };
        fsetxattr(dir, attr, b"y").map_err(|source| LayerError::Entry {
            op: "mark opaque the directory of",
            entry: shown(entry),
            source,
        })
    }

    /// Gives directories their modes and times, deepest first, and returns the notes.
    pub(crate) fn finish(mut self) -> Result<Notes, LayerError> {
        self.cache = None;
        let mut dirs: Vec<(Vec<u8>, DirMeta)> = self.dirs.drain().collect();
        dirs.sort_unstable_by_key(|(path, _)| {
            Reverse(path.iter().filter(|b| **b == b'/').count() + usize::from(!path.is_empty()))
        });
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW;
        for (path, meta) in dirs {
            let c = cstring(&path).map_err(failed("open", &path))?;
            let fd = match open_below(self.root.as_fd(), &c, flags, Resolve::NoSymlinks) {
                Ok(fd) => fd,
                // No longer a directory at that path: a later entry replaced it.
                Err(Errno::ENOENT | Errno::ENOTDIR | Errno::ELOOP) => continue,
                Err(e) => return Err(failed("open", &path)(e)),
            };
            fchmod(fd.as_fd(), Mode::from_bits_truncate(meta.mode)).map_err(failed("change the mode of", &path))?;
            futimens(fd.as_fd(), &timespec(meta.atime), &timespec(meta.mtime))
                .map_err(failed("set the times of", &path))?;
        }
        Ok(self.notes)
    }
}

/// What `replace` did.
enum Made<T> {
    New(T),
    /// Made in place of this layer's own whiteout of the name.
    OverWhiteout(T),
    /// A directory was there and stays.
    KeptDirectory,
}

impl<T> Made<T> {
    fn value(self) -> Option<T> {
        match self {
            Made::New(v) | Made::OverWhiteout(v) => Some(v),
            Made::KeptDirectory => None,
        }
    }
}

enum WriteError {
    Stream(LayerError),
    File(std::io::Error),
}

/// Writes a member's data: contiguous, or a sparse file's regions at their offsets with
/// holes left unwritten.
fn write_data<R: BufRead>(
    file: &File,
    m: &Member,
    stream: &mut TarStream<R>,
    buf: &mut [u8],
) -> Result<(), WriteError> {
    let regions: Vec<(u64, u64)> = match &m.sparse {
        Some(sparse) => sparse.regions.clone(),
        None => vec![(0, m.size)],
    };
    let mut writer = file;
    for (offset, length) in regions {
        let mut at = offset;
        let end = offset + length;
        while at < end {
            let want = buf.len().min(usize::try_from(end - at).unwrap_or(usize::MAX));
            let n = stream.read_data(&mut buf[..want]).map_err(WriteError::Stream)?;
            if n == 0 {
                return Err(WriteError::Stream(LayerError::Corrupt { reason: "an entry shorter than its size" }));
            }
            if m.sparse.is_some() {
                file.write_all_at(&buf[..n], at).map_err(WriteError::File)?;
            } else {
                writer.write_all(&buf[..n]).map_err(WriteError::File)?;
            }
            at += n as u64;
        }
    }
    if let Some(sparse) = &m.sparse {
        file.set_len(sparse.real_size).map_err(WriteError::File)?;
    }
    Ok(())
}
