//! Layers: decompressing a layer blob and unpacking its tar stream into a directory, confined
//! to that directory, with the image spec's whiteouts turned into overlayfs's; and reading a
//! file from a stack of unpacked layers as the overlay will show it.
//!
//! The public API is described, with the decisions behind it, in `unpack`'s documentation
//! and in the modules: `compression` (media types, magic bytes), `tar_stream` (parsing with
//! bounded records), `apply` (creating entries through descriptors), `fs` (resolution
//! inside the layer's directory), `union` (lookups across layers).

mod apply;
mod compression;
mod digest;
mod error;
mod fs;
mod name;
mod notes;
mod pipe;
mod tar_stream;
mod union;

#[cfg(test)]
mod tests;

use std::io::{BufReader, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

pub use compression::Compression;
/// The decoder that follows a stream's magic bytes: archives use it for compressed archives
/// and for the layer tars a docker-archive holds uncompressed.
pub(crate) use compression::Decoder;
pub use error::LayerError;
pub use union::open_in_layers;

use apply::Applier;
use compression::{drain, read_error};
use digest::Digesting;
use notes::Notes;
use pipe::{PipeReader, Pumped};
use tar_stream::TarStream;

/// Buffer between the decoder (and the digest) and the tar parser.
const STREAM_BUFFER: usize = 256 * 1024;

/// Who owns what unpacking creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ownership {
    /// Each entry gets the tar's uid and gid: for root, or for a process inside a user
    /// namespace whose mapping covers those ids (a chown that fails is an error).
    AsInTar,
    /// No chown: everything belongs to the caller, device nodes are skipped (with a note),
    /// and only `user.*` extended attributes are set.
    Caller,
}

/// How the image spec's whiteouts are written for the overlay that will stack the layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhiteoutFormat {
    /// A removed name becomes a 0:0 character device; an opaque directory gets
    /// `trusted.overlay.opaque=y` (overlayfs mounted by root).
    OverlayCharDev,
    /// The same devices; an opaque directory gets `user.overlay.opaque=y` (overlayfs mounted
    /// with `userxattr` inside a user namespace, Linux 5.11+).
    OverlayUserXattr,
}

/// Bounds on what one layer may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Tar entries (PAX and GNU records that describe an entry are not counted).
    pub max_entries: u64,
    /// Bytes of the uncompressed stream; also bounds a sparse file's size.
    pub max_total_bytes: u64,
    /// Bytes in an entry's name or link target.
    pub max_path: usize,
    /// Bytes in one PAX header (names, xattrs, sparse maps).
    pub max_header_bytes: u64,
    /// Bytes of directory names held until the end, when directories get their modes and
    /// times (the one thing unpacking keeps per entry; a Debian layer needs about 50 KiB).
    pub max_directory_bytes: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_entries: 1_000_000,
            max_total_bytes: 64 << 30,
            max_path: libc::PATH_MAX as usize,
            max_header_bytes: 1 << 20,
            max_directory_bytes: 64 << 20,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnpackOptions {
    pub ownership: Ownership,
    pub whiteouts: WhiteoutFormat,
    pub limits: Limits,
    /// `sha256:<hex>` from the image config's `rootfs.diff_ids`: a layer whose uncompressed
    /// stream hashes to anything else fails with `DigestMismatch`.
    pub expected_diff_id: Option<String>,
}

impl UnpackOptions {
    /// Default limits and no expected diff_id.
    pub fn new(ownership: Ownership, whiteouts: WhiteoutFormat) -> UnpackOptions {
        UnpackOptions { ownership, whiteouts, limits: Limits::default(), expected_diff_id: None }
    }
}

/// What `unpack` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unpacked {
    /// `sha256:<hex>` of the whole uncompressed stream (to its end, past the tar's end).
    pub diff_id: String,
    /// Bytes of the uncompressed stream.
    pub size: u64,
    /// Tar entries read.
    pub entries: u64,
    /// What was skipped or read differently from what the layer declared, one line per kind.
    pub notes: Vec<String>,
}

/// Unpacks a layer blob into `dest`, an existing empty directory the caller made under a
/// temporary name (and renames into place once this returns Ok).
///
/// The stream is decoded as its magic bytes say (gzip, zstd or plain tar), whatever
/// `compression` declares, as containerd does; a difference is noted. The diff_id is the
/// sha256 of the entire uncompressed stream, read to its end after the tar's end marker,
/// and `compressed` is read to its end too, so a digest the caller computes around it
/// covers every byte. Memory stays bounded (a few buffers of 256 KiB) whatever the layer's
/// size. Nothing is written outside `dest`: every entry is created through descriptors
/// resolved inside it. Nothing is fsynced; `sync_filesystem` is there for a caller that
/// wants the layer on disk before it renames it. The entries are created on a second thread
/// (`pipe`), which ends before this returns; no process is created.
///
/// On error `dest` holds part of the layer: the caller removes it.
pub fn unpack(
    compressed: impl Read,
    compression: Compression,
    dest: &Path,
    options: &UnpackOptions,
) -> Result<Unpacked, LayerError> {
    let dest_error = |op| move |e: nix::Error| LayerError::Dest { op, path: dest.to_path_buf(), source: e.into() };
    let root = nix::fcntl::open(dest, OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(dest_error("open"))?;
    let mut listing = nix::dir::Dir::openat(root.as_fd(), c".", OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(dest_error("open"))?;
    if listing.iter().filter_map(Result::ok).any(|e| e.file_name() != c"." && e.file_name() != c"..") {
        return Err(dest_error("unpack into")(nix::Error::ENOTEMPTY));
    }
    drop(listing);

    let limits = options.limits;
    let (decoder, found) = Decoder::new(compressed)?;
    let mut digesting = Digesting::new(decoder, limits.max_total_bytes);
    let (writer, reader) = pipe::pipe();
    // This thread decodes and digests; the other parses and creates the entries.
    let (applied, pumped) = std::thread::scope(|s| {
        let applying = s.spawn(move || apply_stream(reader, root, options, compression, found));
        let pumped = writer.pump(&mut digesting);
        drop(writer);
        (applying.join(), pumped)
    });
    // A failing source is the cause of whatever the other thread then met.
    let pumped = pumped.map_err(|e| read_error(e, found))?;
    let (entries, global_headers, mut notes) = match applied {
        Ok(applied) => applied?,
        Err(panic) => std::panic::resume_unwind(panic),
    };
    if pumped == Pumped::ReaderGone {
        // The tar's end came before the stream's: the rest is read for the digest.
        drain(&mut BufReader::with_capacity(STREAM_BUFFER, &mut digesting)).map_err(|e| read_error(e, found))?;
    }
    let size = digesting.count();
    let diff_id = digesting.finish();

    if fs::openat2_missing() {
        notes.line("this kernel has no openat2: paths were resolved inside the layer by a walk in user space".into());
    }
    if global_headers > 0 {
        notes.line(format!("{global_headers} PAX global headers ignored (as containerd and podman ignore them)"));
    }
    if let Some(expected) = &options.expected_diff_id {
        if *expected != diff_id {
            return Err(LayerError::DigestMismatch { expected: expected.clone(), actual: diff_id });
        }
    }
    Ok(Unpacked { diff_id, size, entries, notes: notes.into_lines() })
}

/// Parses the tar stream and creates its entries under `root`: the entries' count, the PAX
/// global headers met, and the notes.
fn apply_stream(
    reader: PipeReader,
    root: OwnedFd,
    options: &UnpackOptions,
    declared: Compression,
    found: Compression,
) -> Result<(u64, u64, Notes), LayerError> {
    let limits = options.limits;
    let mut stream = TarStream::new(reader, limits, found);
    let mut applier = Applier::new(root, options);
    if found != declared {
        let line =
            format!("the layer is declared {} but is {}; read as {}", declared.name(), found.name(), found.name());
        applier.notes().line(line);
    }
    let mut entries = 0u64;
    while let Some(member) = stream.next_member()? {
        entries += 1;
        if entries > limits.max_entries {
            return Err(LayerError::TooLarge { what: "entries", limit: limits.max_entries });
        }
        applier.apply(&member, &mut stream)?;
    }
    Ok((entries, stream.global_headers, applier.finish()?))
}

/// syncfs(2) on the file system holding `dir`: what a caller that wants an unpacked layer
/// on disk calls once before renaming it into place (unpack fsyncs nothing, file by file).
pub fn sync_filesystem(dir: &Path) -> Result<(), LayerError> {
    let dest_error = |op| move |e: nix::Error| LayerError::Dest { op, path: dir.to_path_buf(), source: e.into() };
    let fd = nix::fcntl::open(dir, OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(dest_error("open"))?;
    nix::unistd::syncfs(fd.as_fd()).map_err(dest_error("sync the file system of"))
}
