//! `save`: stored images into a docker-archive, an oci-archive or an OCI layout directory.
//!
//! Each layer is written from the blob the store kept: as it is (OCI formats), or
//! decompressed (docker-archive, whose layers are tars), and checked on the way against its
//! digest or diff_id, so a damaged store is an error and never a bad archive. Where an
//! image's own blob of a layer is missing (the same layer came first with another image, in
//! another compression, and was not fetched again), the blob the layer was unpacked from is
//! written instead: the config, hence the image id, is unchanged, and only an OCI
//! manifest, made for the image, differs from the one pulled. A layer is never rebuilt from
//! its unpacked directory: without the original tar's exact headers (what podman keeps as
//! tar-split) the rebuilt tar would have another diff_id, so the config and the image id
//! would change, and the unpacked tree of a rootless store has lost the ownership and
//! devices the layer had. A layer without any stored blob (a store from before layer.json
//! recorded it) is an error that says so.
//!
//! A file is written to a temporary beside the destination and renamed over it once
//! complete (a directory likewise, onto a path that does not exist or is an empty
//! directory); memory stays bounded whatever the images' size.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::digest::{Digest, Hasher};
use crate::error::{io, Error, Result};
use crate::manifest::CONFIG_LIMIT;
use crate::reference::Reference;
use crate::store::{ImageRecord, LayerBlob, Store, StoreLock};

/// What `save` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A tar as `docker save` writes it (`manifest.json`, configs, uncompressed layer tars).
    DockerArchive,
    /// An OCI image layout in a tar.
    OciArchive,
    /// An OCI image layout directory.
    OciDir,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::DockerArchive => "docker-archive",
            Format::OciArchive => "oci-archive",
            Format::OciDir => "oci-dir",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The format names podman's `save --format` takes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown archive format {0:?}: docker-archive, oci-archive or oci-dir")]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> std::result::Result<Format, UnknownFormat> {
        match s {
            "docker-archive" => Ok(Format::DockerArchive),
            "oci-archive" => Ok(Format::OciArchive),
            "oci-dir" => Ok(Format::OciDir),
            other => Err(UnknownFormat(other.to_string())),
        }
    }
}

/// An image to write, with everything read from the store but its layers.
pub(crate) struct SaveImage {
    pub(crate) record: ImageRecord,
    /// The names it is saved under: those given that are its names (full, with a tag).
    pub(crate) names: Vec<String>,
    pub(crate) config: Vec<u8>,
    /// Bottom first.
    pub(crate) layers: Vec<SaveLayer>,
}

pub(crate) struct SaveLayer {
    pub(crate) diff_id: Digest,
    /// The stored blob written for it.
    pub(crate) blob: LayerBlob,
    /// Bytes of its uncompressed tar.
    pub(crate) size: u64,
}

/// Saves the images `refs` name (references, ids or id prefixes, as `rmi` takes them) into
/// `dest`, replacing a file there. An image named by one of its names is saved under that
/// name; named by id, without one. Several images, or one under several names, go into
/// one archive.
pub fn save(store: &Store, refs: &[&str], dest: &Path, format: Format) -> Result<()> {
    let _lock = StoreLock::shared(store)?;
    let images = resolve(store, refs)?;
    match format {
        Format::OciDir => write_dir_atomically(dest, |out| super::oci::write(store, &images, out)),
        Format::DockerArchive | Format::OciArchive => {
            write_file_atomically(dest, |file| write_tar(store, &images, format, file, dest))
        }
    }
}

/// Saves as [`save`] does, as a tar written to `out` (standard output): `docker-archive` or
/// `oci-archive`.
pub fn save_to_writer(store: &Store, refs: &[&str], out: impl Write, format: Format) -> Result<()> {
    if format == Format::OciDir {
        return Err(Error::NotAStream(format.as_str()));
    }
    let _lock = StoreLock::shared(store)?;
    let images = resolve(store, refs)?;
    write_tar(store, &images, format, out, Path::new("standard output"))
}

fn resolve(store: &Store, refs: &[&str]) -> Result<Vec<SaveImage>> {
    if refs.is_empty() {
        return Err(Error::NothingToSave);
    }
    let mut images: Vec<SaveImage> = Vec::new();
    for spec in refs {
        let record = store.image(spec)?;
        let name = Reference::parse(spec)
            .ok()
            .filter(|r| r.digest().is_none())
            .map(|r| r.with_default_tag().to_string())
            .filter(|n| record.names.contains(n));
        match images.iter_mut().find(|i| i.record.id == record.id) {
            Some(image) => image.names.extend(name.filter(|n| !image.names.contains(n))),
            None => images.push(SaveImage::new(store, record, name)?),
        }
    }
    Ok(images)
}

impl SaveImage {
    fn new(store: &Store, record: ImageRecord, name: Option<String>) -> Result<SaveImage> {
        let config = store.read_blob(&record.id, CONFIG_LIMIT, &format!("the config of image {}", record.id))?;
        let mut layers = Vec::new();
        for l in &record.layers {
            let info = store.layer_info(&l.diff_id)?;
            let blob = if store.has_blob(&l.digest) {
                LayerBlob { digest: l.digest.clone(), media_type: l.media_type.clone(), size: l.size }
            } else {
                info.blob.filter(|b| store.has_blob(&b.digest)).ok_or_else(|| Error::LayerBlobMissing {
                    image: record.names.first().cloned().unwrap_or_else(|| record.id.to_string()),
                    layer: l.diff_id.clone(),
                })?
            };
            layers.push(SaveLayer { diff_id: l.diff_id.clone(), blob, size: info.size });
        }
        Ok(SaveImage { record, names: name.into_iter().collect(), config, layers })
    }
}

pub(crate) fn open_blob(store: &Store, digest: &Digest) -> Result<File> {
    let path = store.blob_path(digest);
    File::open(&path).map_err(io("open", &path))
}

/// Where an archive's files go.
pub(crate) trait Output {
    fn dir(&mut self, path: &str) -> Result<()>;
    /// A file of `size` bytes: `data` yields exactly that many.
    fn file(&mut self, path: &str, size: u64, data: &mut dyn Read) -> Result<()>;
}

fn write_tar(store: &Store, images: &[SaveImage], format: Format, out: impl Write, dest: &Path) -> Result<()> {
    let mut tar = TarOutput { builder: tar::Builder::new(out), dest };
    match format {
        Format::DockerArchive => super::docker::write(store, images, &mut tar)?,
        _ => super::oci::write(store, images, &mut tar)?,
    }
    tar.builder.into_inner().map_err(io("write", dest))?.flush().map_err(io("write", dest))
}

/// Entries owned by root, dated 1970 and sorted as written: the same images make the same
/// archive.
struct TarOutput<'a, W: Write> {
    builder: tar::Builder<W>,
    dest: &'a Path,
}

impl<W: Write> TarOutput<'_, W> {
    fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(kind);
        header.set_mode(mode);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_size(size);
        header
    }
}

impl<W: Write> Output for TarOutput<'_, W> {
    fn dir(&mut self, path: &str) -> Result<()> {
        let mut header = Self::header(tar::EntryType::Directory, 0o755, 0);
        self.builder.append_data(&mut header, format!("{path}/"), io::empty()).map_err(io("write", self.dest))
    }

    fn file(&mut self, path: &str, size: u64, data: &mut dyn Read) -> Result<()> {
        let mut header = Self::header(tar::EntryType::Regular, 0o644, size);
        self.builder.append_data(&mut header, path, data).map_err(io("write", self.dest))
    }
}

/// Files under a directory that is renamed into place once complete.
struct DirOutput {
    root: PathBuf,
}

impl Output for DirOutput {
    fn dir(&mut self, path: &str) -> Result<()> {
        let path = self.root.join(path);
        fs::DirBuilder::new().mode(0o755).create(&path).map_err(io("create", &path))
    }

    fn file(&mut self, path: &str, _size: u64, data: &mut dyn Read) -> Result<()> {
        let path = self.root.join(path);
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)
            .map_err(io("create", &path))?;
        let mut writer = BufWriter::with_capacity(256 << 10, file);
        io::copy(data, &mut writer).map_err(io("write", &path))?;
        writer.into_inner().map_err(|e| io("write", &path)(e.into_error()))?;
        Ok(())
    }
}

fn parent_of(dest: &Path) -> &Path {
    dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

fn temporary_prefix(dest: &Path) -> String {
    format!(".{}.", dest.file_name().map(|n| n.to_string_lossy()).unwrap_or_default())
}

fn write_file_atomically(dest: &Path, write: impl FnOnce(&mut BufWriter<&File>) -> Result<()>) -> Result<()> {
    let parent = parent_of(dest);
    let tmp = tempfile::Builder::new()
        .prefix(&temporary_prefix(dest))
        .suffix(".tmp")
        .tempfile_in(parent)
        .map_err(io("create a temporary in", parent))?;
    let mut writer = BufWriter::with_capacity(1 << 20, tmp.as_file());
    write(&mut writer)?;
    writer.flush().map_err(io("write", tmp.path()))?;
    drop(writer);
    tmp.as_file().sync_all().map_err(io("sync", tmp.path()))?;
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o644)).map_err(io("set the mode of", tmp.path()))?;
    tmp.persist(dest).map_err(|e| io("write", dest)(e.error))?;
    sync_dir(parent)
}

fn write_dir_atomically(dest: &Path, write: impl FnOnce(&mut DirOutput) -> Result<()>) -> Result<()> {
    match fs::symlink_metadata(dest) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Ok(meta) if meta.is_dir() && fs::read_dir(dest).map_err(io("read", dest))?.next().is_none() => {}
        Ok(_) => return Err(io("save to", dest)(io::Error::from_raw_os_error(libc::EEXIST))),
        Err(e) => return Err(io("inspect", dest)(e)),
    }
    let parent = parent_of(dest);
    let tmp = tempfile::Builder::new()
        .prefix(&temporary_prefix(dest))
        .suffix(".tmp")
        .tempdir_in(parent)
        .map_err(io("create a temporary in", parent))?;
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755)).map_err(io("set the mode of", tmp.path()))?;
    write(&mut DirOutput { root: tmp.path().to_path_buf() })?;
    let dir = File::open(tmp.path()).map_err(io("open", tmp.path()))?;
    nix::unistd::syncfs(&dir).map_err(|e| io("sync", tmp.path())(e.into()))?;
    // Over an empty directory, rename(2) replaces it; over anything else it fails.
    fs::rename(tmp.path(), dest).map_err(io("save to", dest))?;
    let _ = tmp.keep();
    sync_dir(parent)
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io("sync", dir))
}

/// A stored blob on its way into an archive: exactly `size` bytes whose digest is
/// `expected`, else the read fails and [`Verified::failure`] says why.
pub(crate) struct Verified<R> {
    inner: R,
    hasher: Option<Hasher>,
    expected: Digest,
    size: u64,
    read: u64,
    what: String,
    failure: Option<Error>,
}

impl<R: Read> Verified<R> {
    pub(crate) fn new(inner: R, expected: &Digest, size: u64, what: String) -> Verified<R> {
        let hasher = Some(Hasher::new(expected.algorithm()));
        Verified { inner, hasher, expected: expected.clone(), size, read: 0, what, failure: None }
    }

    /// Why the read failed, when it was the content.
    pub(crate) fn failure(&mut self) -> Option<Error> {
        self.failure.take()
    }

    fn fail(&mut self, e: Error) -> io::Error {
        let io = io::Error::other(e.to_string());
        self.failure = Some(e);
        io
    }
}

impl<R: Read> Read for Verified<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.size || (n == 0 && self.read < self.size) {
            let e = Error::SizeMismatch { what: self.what.clone(), expected: self.size, actual: self.read };
            return Err(self.fail(e));
        }
        if n > 0 {
            if let Some(hasher) = self.hasher.as_mut() {
                hasher.update(&buf[..n]);
            }
            // The last byte: checked before the caller sees the end.
            if self.read < self.size {
                return Ok(n);
            }
        }
        if let Some(hasher) = self.hasher.take() {
            let actual = hasher.finish();
            if actual != self.expected {
                let e = Error::DigestMismatch { what: self.what.clone(), expected: self.expected.clone(), actual };
                return Err(self.fail(e));
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_as_podman_names_them() {
        for f in [Format::DockerArchive, Format::OciArchive, Format::OciDir] {
            assert_eq!(f.as_str().parse::<Format>().unwrap(), f);
        }
        assert_eq!(
            "docker-dir".parse::<Format>().unwrap_err().to_string(),
            "unknown archive format \"docker-dir\": docker-archive, oci-archive or oci-dir"
        );
    }

    #[test]
    fn a_verified_copy_fails_on_a_short_long_or_different_blob() {
        let good = b"layer bytes";
        let digest = Digest::sha256_of(good);
        let copy = |bytes: &[u8], size: u64| {
            let mut v = Verified::new(bytes, &digest, size, "blob x".into());
            let r = io::copy(&mut v, &mut io::sink());
            (r.is_ok(), v.failure().map(|e| e.code()))
        };
        assert_eq!(copy(good, good.len() as u64), (true, None));
        assert_eq!(copy(&good[..4], good.len() as u64), (false, Some("digest-mismatch")));
        assert_eq!(copy(good, 4), (false, Some("digest-mismatch")));
        assert_eq!(copy(b"layer bytez", good.len() as u64), (false, Some("digest-mismatch")));
        // An empty blob is checked too.
        let empty = Digest::sha256_of(b"");
        let mut v = Verified::new(&b""[..], &empty, 0, "blob e".into());
        assert!(io::copy(&mut v, &mut io::sink()).is_ok());
    }
}
