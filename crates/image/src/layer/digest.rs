//! The diff_id: sha256 over every byte of the uncompressed stream, counted and bounded as it
//! passes.

use std::io::{self, Read};

use sha2::{Digest, Sha256};

use super::compression::LimitExceeded;

pub(crate) struct Digesting<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
    limit: u64,
}

impl<R: Read> Digesting<R> {
    pub(crate) fn new(inner: R, limit: u64) -> Digesting<R> {
        Digesting { inner, hasher: Sha256::new(), count: 0, limit }
    }

    pub(crate) fn count(&self) -> u64 {
        self.count
    }

    /// `sha256:<hex>` of everything read so far.
    pub(crate) fn finish(self) -> String {
        let digest = self.hasher.finalize();
        let mut out = String::with_capacity(7 + 64);
        out.push_str("sha256:");
        for byte in digest {
            out.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
            out.push(char::from(b"0123456789abcdef"[usize::from(byte & 0xf)]));
        }
        out
    }
}

impl<R: Read> Read for Digesting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        if self.count > self.limit {
            return Err(io::Error::other(LimitExceeded { limit: self.limit }));
        }
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_and_count() {
        let mut d = Digesting::new(&b"abc"[..], 10);
        io::copy(&mut d, &mut io::sink()).unwrap();
        assert_eq!(d.count(), 3);
        assert_eq!(d.finish(), "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn the_limit_stops_the_stream() {
        let data = [0u8; 100];
        let mut d = Digesting::new(&data[..], 99);
        let e = io::copy(&mut d, &mut io::sink()).unwrap_err();
        assert!(e.get_ref().unwrap().is::<LimitExceeded>());
    }
}
