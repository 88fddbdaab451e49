//! What an archive holds, by path: the members of a tar file (indexed once, then read in
//! place with positional reads, so layers stream from the file and several can be read at
//! once) or the files of a directory (opened without following any symbolic link). Nothing
//! of an archive is extracted: a name in it is only a key, and a path that leaves the
//! archive's root, absolute or through `..` or a link, is refused.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

use nix::fcntl::{openat, OFlag};
use nix::sys::stat::{fstat, Mode, SFlag};

use crate::digest::{Algorithm, Digest, Hasher};
use crate::error::{io, BoxError, Error, Result};

/// Entries a tar archive may have: an image archive has a few per layer.
const MAX_ENTRIES: usize = 100_000;
/// Bytes of entry names kept in the index.
const MAX_NAME_BYTES: usize = 16 << 20;
/// Links followed to reach one member (a docker-archive's `ID/layer.tar` links to a layer).
const MAX_LINKS: usize = 16;

/// An archive's contents: `name` is how errors show it.
pub(crate) struct Archive {
    name: Arc<str>,
    contents: Contents,
}

enum Contents {
    Tar { file: Arc<File>, entries: HashMap<String, Entry> },
    Dir(OwnedFd),
}

#[derive(Debug)]
enum Entry {
    File { offset: u64, size: u64 },
    Symlink(String),
    Hardlink(String),
    Other(&'static str),
}

/// One file of an archive: where its bytes are.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    file: Arc<File>,
    offset: u64,
    size: u64,
    path: String,
    archive: Arc<str>,
}

/// `path` relative to the archive's root, with `.` and `..` resolved; `None` when it is
/// absolute, empty or leaves the root.
pub(crate) fn clean(path: &str) -> Option<String> {
    if path.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for component in path.split('/') {
        match component {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            c => parts.push(c),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

impl Archive {
    /// Indexes a tar file: every entry's name, kind and data offset (headers are read, data
    /// is skipped with seeks).
    pub(crate) fn tar(file: File, name: String) -> Result<Archive> {
        let name: Arc<str> = name.into();
        let invalid = |reason: String, source: Option<BoxError>| Error::InvalidArchive {
            archive: name.to_string(),
            reason: tame(&reason),
            source,
        };
        let unreadable = |e: io::Error| invalid("cannot read it as a tar archive".into(), Some(tar_error(e)));
        let len = file.metadata().map_err(io("inspect", Path::new(&*name)))?.len();
        let mut entries = HashMap::new();
        let mut name_bytes = 0;
        let mut tar = tar::Archive::new(&file);
        let iter = tar.entries_with_seek().map_err(unreadable)?;
        for entry in iter {
            let entry = entry.map_err(unreadable)?;
            let raw = entry.path_bytes();
            // A name that is not UTF-8, or leaves the root, cannot be what a JSON file names.
            let Some(key) = std::str::from_utf8(&raw).ok().and_then(clean) else { continue };
            let link = || String::from_utf8_lossy(&entry.link_name_bytes().unwrap_or_default()).into_owned();
            let kind = match entry.header().entry_type() {
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    let (offset, size) = (entry.raw_file_position(), entry.size());
                    if offset.checked_add(size).is_none_or(|end| end > len) {
                        return Err(invalid(format!("it ends inside {key} (a truncated archive)"), None));
                    }
                    Entry::File { offset, size }
                }
                tar::EntryType::Symlink => Entry::Symlink(link()),
                tar::EntryType::Link => Entry::Hardlink(link()),
                tar::EntryType::Directory => continue,
                tar::EntryType::Fifo => Entry::Other("fifo"),
                tar::EntryType::Char | tar::EntryType::Block => Entry::Other("device"),
                _ => Entry::Other("special entry"),
            };
            if entries.len() >= MAX_ENTRIES {
                return Err(invalid(format!("it has more than {MAX_ENTRIES} entries"), None));
            }
            name_bytes += key.len();
            if name_bytes > MAX_NAME_BYTES {
                return Err(invalid(format!("its entry names exceed {MAX_NAME_BYTES} bytes"), None));
            }
            if entries.contains_key(&key) {
                return Err(invalid(format!("it has two entries named {key}"), None));
            }
            entries.insert(key, kind);
        }
        Ok(Archive { name, contents: Contents::Tar { file: Arc::new(file), entries } })
    }

    /// A directory: an OCI image layout, or a docker-archive's extracted contents.
    pub(crate) fn dir(path: &Path) -> Result<Archive> {
        let fd = nix::fcntl::open(path, OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
            .map_err(|e| io("open", path)(e.into()))?;
        Ok(Archive { name: path.display().to_string().into(), contents: Contents::Dir(fd) })
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn invalid(&self, reason: impl AsRef<str>) -> Error {
        Error::InvalidArchive { archive: self.name.to_string(), reason: tame(reason.as_ref()), source: None }
    }

    /// [`invalid`](Self::invalid), with the error that says why.
    pub(crate) fn invalid_because(&self, reason: impl AsRef<str>, source: impl Into<BoxError>) -> Error {
        let reason = tame(reason.as_ref());
        Error::InvalidArchive { archive: self.name.to_string(), reason, source: Some(source.into()) }
    }

    /// The member at `path` (relative to the archive's root); `None` when there is none. A
    /// path or link leading outside the archive, a link in a directory, or something other
    /// than a file, is refused.
    pub(crate) fn get(&self, path: &str) -> Result<Option<Member>> {
        let key = clean(path).ok_or_else(|| self.invalid(format!("{path} is outside the archive")))?;
        match &self.contents {
            Contents::Tar { file, entries } => self.get_in_tar(file, entries, key),
            Contents::Dir(dir) => self.get_in_dir(dir, key),
        }
    }

    fn get_in_tar(
        &self,
        file: &Arc<File>,
        entries: &HashMap<String, Entry>,
        mut key: String,
    ) -> Result<Option<Member>> {
        for _ in 0..MAX_LINKS {
            let outside = |target: &str| self.invalid(format!("{key} links to {target}, outside the archive"));
            match entries.get(&key) {
                None => return Ok(None),
                Some(Entry::File { offset, size }) => {
                    let archive = self.name.clone();
                    return Ok(Some(Member { file: file.clone(), offset: *offset, size: *size, path: key, archive }));
                }
                Some(Entry::Symlink(target)) => {
                    let joined = match key.rsplit_once('/') {
                        _ if target.starts_with('/') => return Err(outside(target)),
                        Some((dir, _)) => format!("{dir}/{target}"),
                        None => target.clone(),
                    };
                    key = clean(&joined).ok_or_else(|| outside(target))?;
                }
                Some(Entry::Hardlink(target)) => key = clean(target).ok_or_else(|| outside(target))?,
                Some(Entry::Other(kind)) => return Err(self.invalid(format!("{key} is a {kind}, not a file"))),
            }
        }
        Err(self.invalid(format!("{key} is reached through more than {MAX_LINKS} links")))
    }

    fn get_in_dir(&self, dir: &OwnedFd, key: String) -> Result<Option<Member>> {
        let path = Path::new(&*self.name).join(&key);
        let symlink = || {
            self.invalid(format!(
                "{key} is or passes through a symbolic link, which is not followed in an image layout"
            ))
        };
        let components: Vec<&str> = key.split('/').collect();
        let (last, parents) = components.split_last().ok_or_else(|| self.invalid("an empty path"))?;
        let mut current: Option<OwnedFd> = None;
        for component in parents {
            let at = current.as_ref().map_or(dir.as_fd(), |c| c.as_fd());
            let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
            match openat(at, *component, flags, Mode::empty()) {
                Ok(fd) => current = Some(fd),
                Err(nix::Error::ENOENT) => return Ok(None),
                Err(nix::Error::ELOOP) => return Err(symlink()),
                // O_DIRECTORY | O_NOFOLLOW on a symlink fails with ENOTDIR.
                Err(nix::Error::ENOTDIR) => {
                    let st = nix::sys::stat::fstatat(at, *component, nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW);
                    return match st {
                        Ok(st) if is_kind(st.st_mode, SFlag::S_IFLNK) => Err(symlink()),
                        _ => Ok(None),
                    };
                }
                Err(e) => return Err(io("open", &path)(e.into())),
            }
        }
        let at = current.as_ref().map_or(dir.as_fd(), |c| c.as_fd());
        // O_NONBLOCK: opening a fifo must not wait for a writer (it is refused just below).
        let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
        let fd = match openat(at, *last, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(nix::Error::ENOENT) | Err(nix::Error::ENOTDIR) => return Ok(None),
            Err(nix::Error::ELOOP) => return Err(symlink()),
            Err(e) => return Err(io("open", &path)(e.into())),
        };
        let st = fstat(fd.as_fd()).map_err(|e| io("inspect", &path)(e.into()))?;
        if !is_kind(st.st_mode, SFlag::S_IFREG) {
            return Err(self.invalid(format!("{key} is not a regular file")));
        }
        let (file, size, archive) = (Arc::new(File::from(fd)), st.st_size as u64, self.name.clone());
        Ok(Some(Member { file, offset: 0, size, path: key, archive }))
    }
}

/// Text from an archive (names, paths, a parser's quote of a header) as a message shows
/// it: control characters escaped (they must not drive the terminal), cut short.
pub(crate) fn tame(text: &str) -> String {
    const MAX: usize = 512;
    let mut shown = String::new();
    for c in text.chars().take(MAX) {
        if c.is_control() {
            shown.extend(c.escape_debug());
        } else {
            shown.push(c);
        }
    }
    if text.chars().nth(MAX).is_some() {
        shown.push('…');
    }
    shown
}

/// The tar parser's error, tamed: it may quote the bytes of a header, which are anything in
/// a file that is not a tar.
fn tar_error(e: io::Error) -> BoxError {
    if e.raw_os_error().is_some() {
        return e.into();
    }
    tame(&e.to_string()).into()
}

fn is_kind(mode: libc::mode_t, kind: SFlag) -> bool {
    mode & SFlag::S_IFMT.bits() == kind.bits()
}

impl Member {
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// Its path in the archive (links resolved).
    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    fn read_error(&self, source: io::Error) -> Error {
        Error::Io { op: "read", path: format!("{} in {}", tame(&self.path), self.archive).into(), source }
    }

    pub(crate) fn reader(&self) -> Region {
        Region { file: self.file.clone(), offset: self.offset, remaining: self.size }
    }

    /// The whole member; one larger than `limit` bytes is refused.
    pub(crate) fn read(&self, limit: u64, what: &str) -> Result<Vec<u8>> {
        if self.size > limit {
            return Err(Error::TooLarge { what: what.to_string(), limit });
        }
        let mut bytes = Vec::with_capacity(self.size as usize);
        self.reader().read_to_end(&mut bytes).map_err(|e| self.read_error(e))?;
        Ok(bytes)
    }

    /// Its sha256, in one read of it.
    pub(crate) fn sha256(&self) -> Result<Digest> {
        let mut hasher = Hasher::new(Algorithm::Sha256);
        let mut reader = self.reader();
        let mut buf = vec![0u8; 256 << 10];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => return Ok(hasher.finish()),
                Ok(n) => hasher.update(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.read_error(e)),
            }
        }
    }

    /// Up to `n` of its first bytes.
    pub(crate) fn prefix(&self, n: usize) -> Result<Vec<u8>> {
        let mut bytes = Vec::with_capacity(n);
        self.reader().take(n as u64).read_to_end(&mut bytes).map_err(|e| self.read_error(e))?;
        Ok(bytes)
    }
}

/// A member's bytes, read with pread(2): readers of one file do not share an offset.
pub(crate) struct Region {
    file: Arc<File>,
    offset: u64,
    remaining: u64,
}

impl Read for Region {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            return Ok(0);
        }
        let want = buf.len().min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let n = self.file.read_at(&mut buf[..want], self.offset)?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the archive file ends inside this member"));
        }
        self.offset += n as u64;
        self.remaining -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    enum T<'a> {
        File(&'a [u8]),
        Symlink(&'a str),
        Hardlink(&'a str),
        Dir,
        Fifo,
    }

    fn tar(entries: &[(&str, T)]) -> (tempfile::NamedTempFile, Archive) {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, entry) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_mode(0o644);
            h.set_size(0);
            match entry {
                T::File(bytes) => {
                    h.set_entry_type(tar::EntryType::Regular);
                    h.set_size(bytes.len() as u64);
                    builder.append_data(&mut h, path, *bytes).unwrap();
                }
                T::Symlink(target) | T::Hardlink(target) => {
                    let symlink = matches!(entry, T::Symlink(_));
                    h.set_entry_type(if symlink { tar::EntryType::Symlink } else { tar::EntryType::Link });
                    builder.append_link(&mut h, path, target).unwrap();
                }
                T::Dir | T::Fifo => {
                    let dir = matches!(entry, T::Dir);
                    h.set_entry_type(if dir { tar::EntryType::Directory } else { tar::EntryType::Fifo });
                    builder.append_data(&mut h, path, std::io::empty()).unwrap();
                }
            }
        }
        let mut file = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut file, &builder.into_inner().unwrap()).unwrap();
        let archive = Archive::tar(file.reopen().unwrap(), "test.tar".into()).unwrap();
        (file, archive)
    }

    fn content(archive: &Archive, path: &str) -> Result<Option<Vec<u8>>> {
        archive.get(path)?.map(|m| m.read(1 << 20, path)).transpose()
    }

    fn reason(e: Error) -> String {
        match e {
            Error::InvalidArchive { reason, .. } => reason,
            other => panic!("not an invalid archive: {other}"),
        }
    }

    #[test]
    fn members_are_found_by_clean_paths_and_read_in_place() {
        let (_f, a) = tar(&[("./blobs/", T::Dir), ("./blobs/x", T::File(b"one")), ("y", T::File(b""))]);
        assert_eq!(content(&a, "blobs/x").unwrap().as_deref(), Some(&b"one"[..]));
        assert_eq!(content(&a, "./blobs//x").unwrap().as_deref(), Some(&b"one"[..]));
        assert_eq!(content(&a, "y").unwrap().as_deref(), Some(&b""[..]));
        assert_eq!(content(&a, "blobs").unwrap(), None, "a directory is not a member");
        assert_eq!(content(&a, "z").unwrap(), None);
        assert_eq!(reason(a.get("../y").unwrap_err()), "../y is outside the archive");
        let m = a.get("blobs/x").unwrap().unwrap();
        assert_eq!((m.size(), m.path()), (3, "blobs/x"));
        assert_eq!(m.read(2, "x").unwrap_err().code(), "too-large");
        assert_eq!(m.prefix(2).unwrap(), b"on");
        assert_eq!(m.sha256().unwrap(), Digest::sha256_of(b"one"));
    }

    #[test]
    fn links_resolve_inside_the_archive_only() {
        let (_f, a) = tar(&[
            ("layer.tar", T::File(b"data")),
            ("id/layer.tar", T::Symlink("../layer.tar")),
            ("id/again", T::Symlink("layer.tar")),
            ("hard", T::Hardlink("id/again")),
            ("abs", T::Symlink("/etc/passwd")),
            ("up", T::Symlink("../../etc/passwd")),
            ("hard-up", T::Hardlink("../x")),
            ("loop-a", T::Symlink("loop-b")),
            ("loop-b", T::Symlink("loop-a")),
            ("dangling", T::Symlink("nothing")),
            ("fifo", T::Fifo),
        ]);
        for path in ["id/layer.tar", "id/again", "hard"] {
            assert_eq!(content(&a, path).unwrap().as_deref(), Some(&b"data"[..]), "{path}");
        }
        assert_eq!(a.get("id/again").unwrap().unwrap().path(), "layer.tar");
        assert_eq!(reason(a.get("abs").unwrap_err()), "abs links to /etc/passwd, outside the archive");
        assert_eq!(reason(a.get("up").unwrap_err()), "up links to ../../etc/passwd, outside the archive");
        assert_eq!(reason(a.get("hard-up").unwrap_err()), "hard-up links to ../x, outside the archive");
        assert!(reason(a.get("loop-a").unwrap_err()).contains("more than 16 links"));
        assert!(a.get("dangling").unwrap().is_none());
        assert_eq!(reason(a.get("fifo").unwrap_err()), "fifo is a fifo, not a file");
    }

    #[test]
    fn what_the_tar_parser_says_of_garbage_is_escaped() {
        let dir = tempfile::tempdir().unwrap();
        // A header whose name drives a terminal and whose checksum is not text.
        let mut garbage = vec![0u8; 1024];
        garbage[..10].copy_from_slice(b"\x1b[31mevil\n");
        garbage[148..156].copy_from_slice(&[0xff; 8]);
        std::fs::write(dir.path().join("g"), &garbage).unwrap();
        let e = Archive::tar(File::open(dir.path().join("g")).unwrap(), "g".into()).err().unwrap();
        let source = std::error::Error::source(&e).unwrap().to_string();
        assert!(source.chars().all(|c| !c.is_control()) && source.len() < 1024, "{source:?}");
    }

    #[test]
    fn names_in_messages_cannot_drive_the_terminal() {
        let (_f, a) = tar(&[("x", T::File(b""))]);
        let long = "a".repeat(5000);
        let r = reason(a.get(&format!("../\x1b[2J{long}")).unwrap_err());
        assert!(r.starts_with("../\\u{1b}[2Jaaa") && r.ends_with('…') && r.len() < 600, "{r}");
    }

    #[test]
    fn duplicate_and_truncated_archives_are_refused() {
        let mut builder = tar::Builder::new(Vec::new());
        for _ in 0..2 {
            let mut h = tar::Header::new_gnu();
            h.set_size(1);
            builder.append_data(&mut h, "manifest.json", &b"x"[..]).unwrap();
        }
        let bytes = builder.into_inner().unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("dup"), &bytes).unwrap();
        let e = Archive::tar(File::open(dir.path().join("dup")).unwrap(), "dup".into()).err().unwrap();
        assert_eq!(reason(e), "it has two entries named manifest.json");

        let mut builder = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(4096);
        builder.append_data(&mut h, "big", &[0u8; 4096][..]).unwrap();
        let bytes = builder.into_inner().unwrap();
        std::fs::write(dir.path().join("cut"), &bytes[..1024]).unwrap();
        let e = Archive::tar(File::open(dir.path().join("cut")).unwrap(), "cut".into()).err().unwrap();
        assert_eq!(reason(e), "it ends inside big (a truncated archive)");
    }

    #[test]
    fn a_directory_is_read_without_following_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("layout");
        std::fs::create_dir_all(root.join("blobs/sha256")).unwrap();
        std::fs::write(root.join("index.json"), "{}").unwrap();
        std::fs::write(dir.path().join("secret"), "s").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret"), root.join("blobs/sha256/link")).unwrap();
        std::os::unix::fs::symlink(root.join("blobs"), root.join("via")).unwrap();
        nix::unistd::mkfifo(&root.join("fifo"), Mode::from_bits_truncate(0o600)).unwrap();
        let a = Archive::dir(&root).unwrap();
        assert_eq!(content(&a, "index.json").unwrap().as_deref(), Some(&b"{}"[..]));
        assert_eq!(content(&a, "blobs/sha256/none").unwrap(), None);
        assert_eq!(content(&a, "index.json/x").unwrap(), None);
        for path in ["blobs/sha256/link", "via/sha256/x"] {
            let r = reason(a.get(path).unwrap_err());
            assert!(
                r.ends_with("is or passes through a symbolic link, which is not followed in an image layout"),
                "{r}"
            );
        }
        assert_eq!(reason(a.get("fifo").unwrap_err()), "fifo is not a regular file");
        assert_eq!(reason(a.get("../secret").unwrap_err()), "../secret is outside the archive");
    }

    #[test]
    fn paths_are_cleaned_and_confined() {
        assert_eq!(clean("manifest.json").as_deref(), Some("manifest.json"));
        assert_eq!(clean("./a//b/./c.tar").as_deref(), Some("a/b/c.tar"));
        assert_eq!(clean("a/../b").as_deref(), Some("b"));
        assert_eq!(clean("../../etc/passwd"), None);
        assert_eq!(clean("a/../../b"), None);
        assert_eq!(clean("/etc/passwd"), None);
        assert_eq!(clean(""), None);
        assert_eq!(clean("."), None);
    }
}
