//! A detached container's output: its stdout and stderr, through a pipe the supervising
//! runtime reads, into `output.log` in the container's bundle, rotated at a size limit the
//! way Docker's json-file driver does (`max-size`, `max-file`): `output.log` is renamed
//! `output.log.1` (and `.1` to `.2` ...) once it is full, and the oldest beyond `max-file`
//! goes. The supervisor, single-threaded, is the only writer; readers (the API's `logs`)
//! follow the names.

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{openat, renameat, OFlag};
use nix::sys::stat::{fstat, Mode};
use nix::unistd::{unlinkat, UnlinkatFlags};

use crate::trusted::{check_unshared, Kind, TrustError};

/// 10 MiB per file and 3 files: at most 30 MiB per container, and at least the last 20 MiB
/// kept across a rotation. The values Docker's documentation uses for its json-file driver
/// (whose own default is unbounded); podman's is unbounded too.
pub const DEFAULT_MAX_SIZE: u64 = 10 * 1024 * 1024;
pub const DEFAULT_MAX_FILES: u32 = 3;
/// More files than this are a typo, not a log policy.
const MAX_FILES_LIMIT: u32 = 100;
/// Below this a file rotates on almost every write.
const MIN_MAX_SIZE: u64 = 4096;

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("invalid log option max-size `{value}`: {reason}")]
    MaxSize { value: String, reason: String },
    #[error("invalid log option max-file `{value}`: expected a whole number from 1 to {MAX_FILES_LIMIT}")]
    MaxFiles { value: String },
    #[error("cannot {op} the container's output log {}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Untrusted(#[from] TrustError),
}

/// How big the output may grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes per file.
    pub max_size: u64,
    /// Files kept, the current one included.
    pub max_files: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_size: DEFAULT_MAX_SIZE, max_files: DEFAULT_MAX_FILES }
    }
}

impl Limits {
    /// Docker's `--log-opt` values: `max-size` as `10m`, `512k`, `1g` or bytes, `max-file`
    /// a count; either may be left to its default.
    pub fn parse(max_size: Option<&str>, max_files: Option<&str>) -> Result<Limits, OutputError> {
        let mut limits = Limits::default();
        if let Some(value) = max_size {
            let bytes = crate::spec::parse_size("log option max-size", value).map_err(|e| match e {
                crate::spec::SpecError::InvalidOption { reason, .. } => {
                    OutputError::MaxSize { value: value.to_string(), reason }
                }
                other => OutputError::MaxSize { value: value.to_string(), reason: other.to_string() },
            })?;
            if (bytes as u64) < MIN_MAX_SIZE {
                return Err(OutputError::MaxSize { value: value.to_string(), reason: "the smallest is 4k".into() });
            }
            limits.max_size = bytes as u64;
        }
        if let Some(value) = max_files {
            limits.max_files = value
                .parse()
                .ok()
                .filter(|n| (1..=MAX_FILES_LIMIT).contains(n))
                .ok_or_else(|| OutputError::MaxFiles { value: value.to_string() })?;
        }
        Ok(limits)
    }
}

/// The output file, open for appending, and its rotation.
pub struct OutputLog {
    dir: OwnedFd,
    path: PathBuf,
    name: String,
    limits: Limits,
    file: File,
    size: u64,
}

impl OutputLog {
    /// Opens (creating it if need be) the output file at `path`, in a directory only its
    /// owner may write to, never through a symlink.
    pub fn open(path: &Path, limits: Limits) -> Result<OutputLog, OutputError> {
        let io = |op: &'static str| move |e: Errno| OutputError::Io { op, path: path.to_path_buf(), source: e.into() };
        let (Some(parent), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else {
            return Err(io("open")(Errno::EINVAL));
        };
        let dir = nix::fcntl::open(parent, OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
            .map_err(io("open"))?;
        check_unshared(&fstat(&dir).map_err(io("inspect"))?, Kind::Directory).map_err(|problem| {
            TrustError::Untrusted { what: "output directory", path: parent.to_path_buf(), problem }
        })?;
        let mut log = OutputLog {
            file: open_file(dir.as_fd(), name, OFlag::empty()).map_err(io("open"))?,
            dir,
            path: path.to_path_buf(),
            name: name.to_string(),
            limits,
            size: 0,
        };
        log.size = fstat(&log.file).map_err(io("inspect"))?.st_size as u64;
        Ok(log)
    }

    /// Appends `data`, rotating whenever the file is full. A file ends at a line's end when
    /// one fits; a line longer than a whole file is split.
    pub fn write(&mut self, mut data: &[u8]) -> Result<(), OutputError> {
        while !data.is_empty() {
            let room = self.limits.max_size.saturating_sub(self.size) as usize;
            let take = if data.len() <= room {
                data.len()
            } else {
                match data[..room].iter().rposition(|b| *b == b'\n') {
                    Some(i) => i + 1,
                    None if self.size == 0 => room,
                    None => 0,
                }
            };
            if take == 0 {
                self.rotate()?;
                continue;
            }
            self.file.write_all(&data[..take]).map_err(|source| OutputError::Io {
                op: "write",
                path: self.path.clone(),
                source,
            })?;
            self.size += take as u64;
            data = &data[take..];
            if self.size >= self.limits.max_size {
                self.rotate()?;
            }
        }
        Ok(())
    }

    /// `name.N-1` → `name.N`, ..., `name` → `name.1`, and a new `name`; with one file,
    /// the file is emptied instead (Docker's `max-file=1`).
    fn rotate(&mut self) -> Result<(), OutputError> {
        let path = self.path.clone();
        let io = move |op: &'static str| {
            let path = path.clone();
            move |e: Errno| OutputError::Io { op, path, source: e.into() }
        };
        if self.limits.max_files <= 1 {
            nix::unistd::ftruncate(&self.file, 0).map_err(io("empty"))?;
            self.size = 0;
            return Ok(());
        }
        let numbered = |i: u32| format!("{}.{i}", self.name);
        match unlinkat(&self.dir, numbered(self.limits.max_files - 1).as_str(), UnlinkatFlags::NoRemoveDir) {
            Ok(()) | Err(Errno::ENOENT) => {}
            Err(e) => return Err(io("rotate")(e)),
        }
        for i in (1..self.limits.max_files - 1).rev() {
            match renameat(&self.dir, numbered(i).as_str(), &self.dir, numbered(i + 1).as_str()) {
                Ok(()) | Err(Errno::ENOENT) => {}
                Err(e) => return Err(io("rotate")(e)),
            }
        }
        renameat(&self.dir, self.name.as_str(), &self.dir, numbered(1).as_str()).map_err(io("rotate"))?;
        self.file = open_file(self.dir.as_fd(), &self.name, OFlag::O_EXCL).map_err(io("rotate"))?;
        self.size = 0;
        Ok(())
    }
}

fn open_file(dir: BorrowedFd<'_>, name: &str, extra: OFlag) -> Result<File, Errno> {
    let flags = OFlag::O_WRONLY | OFlag::O_APPEND | OFlag::O_CREAT | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC | extra;
    let fd = openat(dir, name, flags, Mode::from_bits_truncate(0o600))?;
    if !Kind::Regular.matches(&fstat(&fd)?) {
        return Err(Errno::EINVAL);
    }
    Ok(File::from(fd))
}

/// The pipe a detached container writes its stdout and stderr to, and the log the
/// supervisor copies it into.
pub struct Relay {
    pipe: OwnedFd,
    log: OutputLog,
    open: bool,
}

impl Relay {
    /// A new pipe into `log`; returns the write end, for the container's stdout and stderr.
    pub fn new(log: OutputLog) -> Result<(Relay, OwnedFd), OutputError> {
        let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK).map_err(|e| OutputError::Io {
            op: "create a pipe for",
            path: log.path.clone(),
            source: e.into(),
        })?;
        // Only the reading end is non-blocking: the container blocks when the supervisor
        // falls behind, rather than losing output.
        nix::fcntl::fcntl(&write, nix::fcntl::FcntlArg::F_SETFL(OFlag::empty())).map_err(|e| OutputError::Io {
            op: "create a pipe for",
            path: log.path.clone(),
            source: e.into(),
        })?;
        Ok((Relay { pipe: read, log, open: true }, write))
    }

    /// Whether anything may still come (some process holds the write end).
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Copies what the pipe holds now into the log; notes the end of the pipe. Errors writing
    /// the log are returned; the pipe is still drained by later calls.
    pub fn pump(&mut self) -> Result<(), OutputError> {
        let mut buf = [0u8; 64 * 1024];
        while self.open {
            match nix::unistd::read(&self.pipe, &mut buf) {
                Ok(0) => self.open = false,
                Ok(n) => self.log.write(&buf[..n])?,
                Err(Errno::EINTR) => {}
                Err(_) => break,
            }
        }
        Ok(())
    }
}

impl AsFd for Relay {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.pipe.as_fd()
    }
}

impl AsRawFd for Relay {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.pipe.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(dir: &Path, name: &str) -> String {
        std::fs::read_to_string(dir.join(name)).unwrap_or_default()
    }

    #[test]
    fn limits_take_dockers_values() {
        assert_eq!(Limits::parse(None, None).unwrap(), Limits { max_size: 10 << 20, max_files: 3 });
        assert_eq!(Limits::parse(Some("512k"), Some("1")).unwrap(), Limits { max_size: 512 << 10, max_files: 1 });
        assert!(Limits::parse(Some("10q"), None)
            .unwrap_err()
            .to_string()
            .starts_with("invalid log option max-size `10q`"));
        assert!(Limits::parse(Some("1"), None).is_err(), "a byte-sized file rotates on every write");
        assert_eq!(
            Limits::parse(None, Some("0")).unwrap_err().to_string(),
            "invalid log option max-file `0`: expected a whole number from 1 to 100"
        );
    }

    #[test]
    fn the_log_rotates_at_line_ends_and_keeps_max_files() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("output.log");
        let mut log = OutputLog::open(&path, Limits { max_size: 10, max_files: 3 }).unwrap();
        log.write(b"aaaa\nbbbb\ncc").unwrap();
        assert_eq!(read(tmp.path(), "output.log.1"), "aaaa\nbbbb\n");
        assert_eq!(read(tmp.path(), "output.log"), "cc");
        log.write(b"\ndddd\neeee\nffff\n").unwrap();
        assert_eq!(read(tmp.path(), "output.log.2"), "cc\ndddd\n");
        assert_eq!(read(tmp.path(), "output.log.1"), "eeee\nffff\n");
        assert_eq!(read(tmp.path(), "output.log"), "");
        log.write(b"0123456789012345\n").unwrap();
        assert_eq!(read(tmp.path(), "output.log.2"), "eeee\nffff\n", "the oldest went");
        assert_eq!(read(tmp.path(), "output.log.1"), "0123456789", "a line longer than a file is split");
        assert_eq!(read(tmp.path(), "output.log"), "012345\n");
        assert!(!tmp.path().join("output.log.3").exists());
    }

    #[test]
    fn one_file_is_emptied_in_place() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("output.log");
        let mut log = OutputLog::open(&path, Limits { max_size: 8, max_files: 1 }).unwrap();
        log.write(b"1234567\nabc\n").unwrap();
        assert_eq!(read(tmp.path(), "output.log"), "abc\n");
        assert!(!tmp.path().join("output.log.1").exists());
    }

    #[test]
    fn a_symlinked_log_or_a_shared_directory_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/etc/passwd", tmp.path().join("output.log")).unwrap();
        assert!(OutputLog::open(&tmp.path().join("output.log"), Limits::default()).is_err());
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(matches!(
            OutputLog::open(&tmp.path().join("other.log"), Limits::default()),
            Err(OutputError::Untrusted(_))
        ));
    }

    #[test]
    fn the_relay_copies_until_every_writer_is_gone() {
        let tmp = tempfile::tempdir().unwrap();
        let log = OutputLog::open(&tmp.path().join("output.log"), Limits::default()).unwrap();
        let (mut relay, write) = Relay::new(log).unwrap();
        nix::unistd::write(&write, b"hello\n").unwrap();
        relay.pump().unwrap();
        assert!(relay.is_open());
        drop(write);
        relay.pump().unwrap();
        assert!(!relay.is_open());
        assert_eq!(read(tmp.path(), "output.log"), "hello\n");
    }
}
