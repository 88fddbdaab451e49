//! Tests of unpacking and lookup against the real file system, with tars built here.

mod hostile;
mod privileges;
mod union;
mod unpack;

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use tar::{Builder, EntryType, Header};

use super::{unpack, Compression, LayerError, Ownership, UnpackOptions, Unpacked, WhiteoutFormat};

pub(crate) fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// A tar built entry by entry, including shapes the `tar` crate's builder refuses to write.
pub(crate) struct Tar(Builder<Vec<u8>>);

impl Tar {
    pub(crate) fn new() -> Tar {
        Tar(Builder::new(Vec::new()))
    }

    fn header(kind: EntryType, mode: u32, size: u64) -> Header {
        let mut h = Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(size);
        h.set_mtime(1_600_000_000);
        h.set_uid(0);
        h.set_gid(0);
        h
    }

    pub(crate) fn dir(mut self, name: &str, mode: u32) -> Tar {
        let mut h = Self::header(EntryType::Directory, mode, 0);
        self.0.append_data(&mut h, name, &[][..]).unwrap();
        self
    }

    pub(crate) fn file(mut self, name: &str, data: &[u8]) -> Tar {
        let mut h = Self::header(EntryType::Regular, 0o644, data.len() as u64);
        self.0.append_data(&mut h, name, data).unwrap();
        self
    }

    /// A file with every attribute given.
    pub(crate) fn file_with(mut self, name: &str, data: &[u8], mode: u32, uid: u64, gid: u64, mtime: u64) -> Tar {
        let mut h = Self::header(EntryType::Regular, mode, data.len() as u64);
        h.set_uid(uid);
        h.set_gid(gid);
        h.set_mtime(mtime);
        self.0.append_data(&mut h, name, data).unwrap();
        self
    }

    pub(crate) fn symlink(mut self, name: &str, target: &str) -> Tar {
        let mut h = Self::header(EntryType::Symlink, 0o777, 0);
        self.0.append_link(&mut h, name, target).unwrap();
        self
    }

    pub(crate) fn hard_link(mut self, name: &str, target: &str) -> Tar {
        let mut h = Self::header(EntryType::Link, 0o644, 0);
        self.0.append_link(&mut h, name, target).unwrap();
        self
    }

    pub(crate) fn node(mut self, name: &str, kind: EntryType, major: u32, minor: u32) -> Tar {
        let mut h = Self::header(kind, 0o644, 0);
        h.set_device_major(major).unwrap();
        h.set_device_minor(minor).unwrap();
        self.0.append_data(&mut h, name, &[][..]).unwrap();
        self
    }

    /// PAX records for the next entry.
    pub(crate) fn pax(mut self, records: &[(&str, &[u8])]) -> Tar {
        self.0.append_pax_extensions(records.iter().map(|(k, v)| (*k, *v))).unwrap();
        self
    }

    /// An entry written byte for byte: any name (`..`, absolute), any link, any type.
    pub(crate) fn raw(mut self, kind: u8, name: &[u8], link: &[u8], data: &[u8]) -> Tar {
        let mut h = Self::header(EntryType::new(kind), 0o644, data.len() as u64);
        let old = h.as_old_mut();
        old.name = [0; 100];
        old.name[..name.len()].copy_from_slice(name);
        old.linkname = [0; 100];
        old.linkname[..link.len()].copy_from_slice(link);
        h.set_cksum();
        self.0.append(&h, data).unwrap();
        self
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.0.into_inner().unwrap()
    }
}

/// A temporary directory holding `dest` (empty, where layers go) and `outside` (with a
/// sentinel file), to check that nothing an unpack does reaches past `dest`.
pub(crate) struct Sandbox {
    pub(crate) dir: tempfile::TempDir,
    before: BTreeMap<PathBuf, String>,
}

impl Sandbox {
    pub(crate) fn new() -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("dest")).unwrap();
        std::fs::create_dir(dir.path().join("outside")).unwrap();
        std::fs::write(dir.path().join("outside/sentinel"), "original").unwrap();
        let mut sandbox = Sandbox { dir, before: BTreeMap::new() };
        sandbox.before = sandbox.outside_state();
        sandbox
    }

    pub(crate) fn dest(&self) -> PathBuf {
        self.dir.path().join("dest")
    }

    pub(crate) fn outside(&self) -> PathBuf {
        self.dir.path().join("outside")
    }

    /// Everything of the sandbox but `dest`: names, types, contents, modes, owners, times,
    /// extended attributes.
    fn outside_state(&self) -> BTreeMap<PathBuf, String> {
        let mut state = BTreeMap::new();
        let mut todo = vec![self.dir.path().to_path_buf()];
        while let Some(path) = todo.pop() {
            if path == self.dest() {
                continue;
            }
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let xattrs: Vec<String> = xattr_names(&path);
            let content =
                if meta.is_file() { std::fs::read_to_string(&path).unwrap_or_default() } else { String::new() };
            let mtime = if path == self.dir.path() { 0 } else { meta.mtime() };
            state.insert(
                path.clone(),
                format!(
                    "{:o} {}:{} {} {} {:?} {content}",
                    meta.mode(),
                    meta.uid(),
                    meta.gid(),
                    meta.nlink(),
                    mtime,
                    xattrs
                ),
            );
            if meta.is_dir() {
                for entry in std::fs::read_dir(&path).unwrap() {
                    todo.push(entry.unwrap().path());
                }
            }
        }
        state
    }

    pub(crate) fn assert_outside_untouched(&self) {
        assert_eq!(self.outside_state(), self.before, "something outside dest changed");
    }
}

pub(crate) fn xattr_names(path: &Path) -> Vec<String> {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    let mut buf = vec![0u8; 4096];
    // SAFETY: a NUL-terminated path and a buffer with its length.
    let n = unsafe { libc::llistxattr(c.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if n <= 0 {
        return Vec::new();
    }
    buf[..n as usize]
        .split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

pub(crate) fn get_xattr(path: &Path, name: &str) -> Option<Vec<u8>> {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    let n = std::ffi::CString::new(name).unwrap();
    let mut buf = vec![0u8; 4096];
    // SAFETY: NUL-terminated strings and a buffer with its length.
    let len = unsafe { libc::lgetxattr(c.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    (len >= 0).then(|| buf[..len as usize].to_vec())
}

pub(crate) fn caller_options() -> UnpackOptions {
    UnpackOptions::new(Ownership::Caller, WhiteoutFormat::OverlayUserXattr)
}

pub(crate) fn unpack_tar(tar: &[u8], dest: &Path, options: &UnpackOptions) -> Result<Unpacked, LayerError> {
    unpack(tar, Compression::None, dest, options)
}

pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, data).unwrap();
    gz.finish().unwrap()
}

pub(crate) fn sha256(data: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{:x}", sha2::Sha256::digest(data))
}
