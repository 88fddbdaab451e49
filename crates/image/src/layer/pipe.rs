//! The uncompressed stream, handed from the thread that decodes and digests it to the thread
//! that creates the layer's entries. Decoding (gzip, zstd), both sha256 digests and the
//! network are CPU work; creating ten thousand files is file-system calls: on two cores they
//! overlap instead of taking turns, which is most of a one-layer pull's time.
//!
//! Bounded, so a pull's memory does not grow with the layer: at most `DEPTH` chunks wait in
//! the channel, and chunks are recycled through a second channel rather than allocated anew.

use std::io::{self, BufRead, Read};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};

/// Bytes a chunk holds: with `DEPTH`, under a MiB a layer in flight.
const CHUNK: usize = 128 * 1024;

/// Chunks that may wait between the two threads.
const DEPTH: usize = 4;

/// The decoding side.
pub(crate) struct PipeWriter {
    chunks: SyncSender<io::Result<Vec<u8>>>,
    spare: Receiver<Vec<u8>>,
}

/// The unpacking side: a `BufRead` over the chunks, ending when the writer is dropped.
pub(crate) struct PipeReader {
    chunks: Receiver<io::Result<Vec<u8>>>,
    spare: Sender<Vec<u8>>,
    current: Vec<u8>,
    position: usize,
}

pub(crate) fn pipe() -> (PipeWriter, PipeReader) {
    let (chunks_tx, chunks_rx) = sync_channel(DEPTH);
    let (spare_tx, spare_rx) = channel();
    (
        PipeWriter { chunks: chunks_tx, spare: spare_rx },
        PipeReader { chunks: chunks_rx, spare: spare_tx, current: Vec::new(), position: 0 },
    )
}

/// How pumping ended, when the source did not fail.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Pumped {
    /// The source's end was reached and everything was handed over.
    End,
    /// The reader went away before the source's end (it finished, or failed).
    ReaderGone,
}

impl PipeWriter {
    /// Reads `source` into chunks and hands them over, until its end, the reader going away,
    /// or the source's first error: that is returned here, and the reader gets an error that
    /// stops it (the cause is the caller's to report).
    pub(crate) fn pump(&self, source: &mut impl Read) -> io::Result<Pumped> {
        loop {
            let mut chunk = self.spare.try_recv().unwrap_or_default();
            chunk.resize(CHUNK, 0);
            let filled = match fill(source, &mut chunk) {
                Ok(0) => return Ok(Pumped::End),
                Ok(n) => n,
                Err(e) => {
                    let _ = self.chunks.send(Err(io::Error::other(SourceFailed)));
                    return Err(e);
                }
            };
            chunk.truncate(filled);
            if self.chunks.send(Ok(chunk)).is_err() {
                return Ok(Pumped::ReaderGone);
            }
        }
    }
}

/// What the reader gets when the source failed.
#[derive(Debug)]
pub(crate) struct SourceFailed;

impl std::fmt::Display for SourceFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the layer's stream failed")
    }
}

impl std::error::Error for SourceFailed {}

/// Reads until `buf` is full or the source ends: the decoders return a few KiB a call.
fn fill(source: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match source.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

impl Read for PipeReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for PipeReader {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.position == self.current.len() {
            let next = match self.chunks.recv() {
                Ok(chunk) => chunk?,
                // The writer is gone: the stream's end.
                Err(_) => return Ok(&[]),
            };
            let used = std::mem::replace(&mut self.current, next);
            self.position = 0;
            if used.capacity() > 0 {
                // The writer may be gone already; the chunk is then simply freed.
                let _ = self.spare.send(used);
            }
        }
        Ok(&self.current[self.position..])
    }

    fn consume(&mut self, amount: usize) {
        self.position = (self.position + amount).min(self.current.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source that yields `data` a few bytes at a time, then fails if told to.
    struct Trickle<'a> {
        data: &'a [u8],
        fail_at_end: bool,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.data.is_empty() {
                return if self.fail_at_end { Err(io::Error::other("source failed")) } else { Ok(0) };
            }
            let n = buf.len().min(self.data.len()).min(7000);
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    fn sample(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    #[test]
    fn every_byte_arrives_in_order() {
        let data = sample(3 * CHUNK + 12345);
        let (writer, mut reader) = pipe();
        let received = std::thread::scope(|s| {
            let reading = s.spawn(move || {
                let mut out = Vec::new();
                reader.read_to_end(&mut out).unwrap();
                out
            });
            assert_eq!(writer.pump(&mut Trickle { data: &data, fail_at_end: false }).unwrap(), Pumped::End);
            drop(writer);
            reading.join().unwrap()
        });
        assert_eq!(received, data);
    }

    #[test]
    fn a_source_error_stops_the_reader_after_the_bytes_before_it_and_is_returned() {
        let data = sample(CHUNK + 10);
        let (writer, mut reader) = pipe();
        let (got, err) = std::thread::scope(|s| {
            let reading = s.spawn(move || {
                let mut out = Vec::new();
                let err = reader.read_to_end(&mut out).unwrap_err();
                (out, err)
            });
            let pumped = writer.pump(&mut Trickle { data: &data, fail_at_end: true });
            assert_eq!(pumped.unwrap_err().to_string(), "source failed");
            drop(writer);
            reading.join().unwrap()
        });
        assert_eq!(got, data[..CHUNK]);
        assert!(err.get_ref().is_some_and(|inner| inner.is::<SourceFailed>()), "{err}");
    }

    #[test]
    fn a_reader_that_goes_away_stops_the_writer() {
        let data = sample(20 * CHUNK);
        let (writer, reader) = pipe();
        drop(reader);
        assert_eq!(writer.pump(&mut Trickle { data: &data, fail_at_end: false }).unwrap(), Pumped::ReaderGone);
    }
}
