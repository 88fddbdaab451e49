//! Blobs by digest: written to a temporary while hashed, renamed to `blobs/ALG/HEX` only once
//! the digest and size match.

use std::fs;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use super::Store;
use crate::digest::{Digest, Hasher};
use crate::error::{io, Error, Result};

/// A blob being written: every byte is hashed and counted on its way to a temporary file.
pub struct BlobWriter {
    /// A second descriptor of `temp`'s file: its write errors are the system's own (tempfile
    /// wraps its own with the path, hiding a full disk's errno from `error::io`).
    file: BufWriter<fs::File>,
    temp: NamedTempFile,
    hasher: Hasher,
    size: u64,
}

impl BlobWriter {
    pub fn new(store: &Store, expected: &Digest) -> Result<BlobWriter> {
        let tmp_dir = store.tmp_dir();
        let file = tempfile::Builder::new()
            .prefix("blob-")
            .tempfile_in(&tmp_dir)
            .map_err(io("create a temporary in", &tmp_dir))?;
        let descriptor = file.as_file().try_clone().map_err(io("open", file.path()))?;
        Ok(BlobWriter {
            file: BufWriter::with_capacity(256 << 10, descriptor),
            temp: file,
            hasher: Hasher::new(expected.algorithm()),
            size: 0,
        })
    }

    /// Its temporary file, for errors.
    pub fn path(&self) -> &Path {
        self.temp.path()
    }

    /// Verifies the content against `expected` (and `expected_size` when known) and renames it
    /// into place. `what` names the blob in an error. On a mismatch nothing is kept.
    pub fn commit(self, store: &Store, expected: &Digest, expected_size: Option<u64>, what: &str) -> Result<PathBuf> {
        self.verify(expected, expected_size, what)?.persist(store)
    }

    /// Verifies the content; nothing is stored until [`VerifiedBlob::persist`].
    pub fn verify(self, expected: &Digest, expected_size: Option<u64>, what: &str) -> Result<VerifiedBlob> {
        let BlobWriter { file, temp, hasher, size } = self;
        file.into_inner().map_err(|e| io("write", temp.path())(e.into_error()))?;
        if let Some(expected_size) = expected_size.filter(|&s| s != size) {
            return Err(Error::SizeMismatch { what: what.to_string(), expected: expected_size, actual: size });
        }
        let actual = hasher.finish();
        if &actual != expected {
            return Err(Error::DigestMismatch { what: what.to_string(), expected: expected.clone(), actual });
        }
        Ok(VerifiedBlob { file: temp, digest: actual })
    }
}

/// A blob whose content matched its digest, still under its temporary name.
pub struct VerifiedBlob {
    file: NamedTempFile,
    digest: Digest,
}

impl VerifiedBlob {
    pub fn persist(self, store: &Store) -> Result<PathBuf> {
        let path = store.blob_path(&self.digest);
        self.file.persist(&path).map_err(|e| io("write", &path)(e.error))?;
        Ok(path)
    }
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl Store {
    pub fn has_blob(&self, digest: &Digest) -> bool {
        self.blob_path(digest).is_file()
    }

    /// Stores `bytes` as the blob `digest` (verified).
    pub fn put_blob(&self, digest: &Digest, bytes: &[u8], what: &str) -> Result<()> {
        let mut w = BlobWriter::new(self, digest)?;
        w.write_all(bytes).map_err(io("write", w.path()))?;
        w.commit(self, digest, None, what)?;
        Ok(())
    }

    /// Reads a whole blob of at most `limit` bytes, checking its digest (a blob is trusted no
    /// more than what a registry sent).
    pub fn read_blob(&self, digest: &Digest, limit: u64, what: &str) -> Result<Vec<u8>> {
        let path = self.blob_path(digest);
        let file = fs::File::open(&path).map_err(io("open", &path))?;
        let mut bytes = Vec::new();
        file.take(limit + 1).read_to_end(&mut bytes).map_err(io("read", &path))?;
        if bytes.len() as u64 > limit {
            return Err(Error::TooLarge { what: what.to_string(), limit });
        }
        let actual = Digest::of(digest.algorithm(), &bytes);
        if &actual != digest {
            return Err(Error::DigestMismatch { what: what.to_string(), expected: digest.clone(), actual });
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blob_is_kept_only_when_it_matches() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("s")).unwrap();
        let good = Digest::sha256_of(b"hello");
        store.put_blob(&good, b"hello", "blob").unwrap();
        assert!(store.has_blob(&good));
        assert_eq!(store.read_blob(&good, 100, "blob").unwrap(), b"hello");
        assert_eq!(store.read_blob(&good, 2, "blob").unwrap_err().code(), "too-large");

        let claimed = Digest::sha256_of(b"other");
        let e = store.put_blob(&claimed, b"hello", "blob x").unwrap_err();
        assert_eq!(e.code(), "digest-mismatch");
        assert_eq!(e.to_string(), format!("blob x has digest {good}, not {claimed}"));
        assert!(!store.has_blob(&claimed));
        assert_eq!(fs::read_dir(store.tmp_dir()).unwrap().count(), 0, "a refused blob leaves no temporary");

        let mut w = BlobWriter::new(&store, &good).unwrap();
        w.write_all(b"hello").unwrap();
        assert_eq!(w.commit(&store, &good, Some(6), "blob y").unwrap_err().code(), "digest-mismatch");
    }

    #[test]
    fn a_corrupted_stored_blob_is_detected_on_read() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("s")).unwrap();
        let d = Digest::sha256_of(b"hello");
        store.put_blob(&d, b"hello", "blob").unwrap();
        fs::write(store.blob_path(&d), b"jello").unwrap();
        assert_eq!(store.read_blob(&d, 100, "blob").unwrap_err().code(), "digest-mismatch");
    }
}
