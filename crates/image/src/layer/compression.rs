//! Layer compression: what a media type declares, what the stream's first bytes say, and the
//! decoder between the caller's compressed stream and the tar parser.
//!
//! As containerd does (`compression.DecompressStream` behind every compressed or "unknown"
//! layer media type), the decoder follows the stream's magic bytes, not the media type: a
//! layer declared gzip that is really zstd or plain tar is read as what it is, and a note
//! says so. The diff_id the image config records is what keeps such a layer honest.

use std::io::{self, BufRead, BufReader, Read};

use flate2::bufread::MultiGzDecoder;

use super::LayerError;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// Buffer between the caller's stream and the decoder.
const INPUT_BUFFER: usize = 128 * 1024;

/// The largest zstd window accepted, as a power of two: 32 MiB, which every level of
/// `zstd` up to 19 stays below (8 MiB at most); only `--long=26` and up, or `--ultra -22`,
/// make more. A frame asking for a larger window would make the decoder allocate it, so it
/// is refused as a decoding error instead: a pull's memory stays bounded.
const ZSTD_MAX_WINDOW_LOG: u32 = 25;

/// How a layer blob is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// The compression a layer media type declares: OCI's `…layer.v1.tar[+gzip|+zstd]` and
    /// their `…layer.nondistributable.v1.tar…` forms, Docker's
    /// `…rootfs.diff.tar[.gzip|.zstd]` and `…rootfs.foreign.diff.tar[.gzip]`.
    pub fn from_media_type(media_type: &str) -> Result<Compression, LayerError> {
        const OCI: &str = "application/vnd.oci.image.layer.v1.tar";
        const OCI_NONDIST: &str = "application/vnd.oci.image.layer.nondistributable.v1.tar";
        const DOCKER: &str = "application/vnd.docker.image.rootfs.diff.tar";
        const DOCKER_FOREIGN: &str = "application/vnd.docker.image.rootfs.foreign.diff.tar";
        let oci_suffix = media_type.strip_prefix(OCI).or_else(|| media_type.strip_prefix(OCI_NONDIST));
        let docker_suffix = media_type.strip_prefix(DOCKER).or_else(|| media_type.strip_prefix(DOCKER_FOREIGN));
        match (oci_suffix, docker_suffix) {
            (Some(""), _) | (_, Some("")) => Ok(Compression::None),
            (Some("+gzip"), _) | (_, Some(".gzip")) => Ok(Compression::Gzip),
            (Some("+zstd"), _) | (_, Some(".zstd")) => Ok(Compression::Zstd),
            _ => Err(LayerError::UnsupportedMediaType { media_type: media_type.to_string() }),
        }
    }

    /// The compression a stream's first bytes show; None when they are neither gzip's nor
    /// zstd's magic (a tar stream starts with an entry's name).
    pub fn detect(prefix: &[u8]) -> Option<Compression> {
        if prefix.starts_with(&GZIP_MAGIC) {
            Some(Compression::Gzip)
        } else if prefix.starts_with(&ZSTD_MAGIC) {
            Some(Compression::Zstd)
        } else {
            None
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Compression::None => "uncompressed",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

/// An error of the caller's stream, tagged so that it is reported as such and not as a
/// decoding failure after it has passed through the decoder.
#[derive(Debug)]
pub(crate) struct SourceError(pub(crate) io::Error);

impl std::fmt::Display for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SourceError {}

struct Tagged<R>(R);

impl<R: Read> Read for Tagged<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).map_err(|e| io::Error::new(e.kind(), SourceError(e)))
    }
}

type Input<R> = BufReader<io::Chain<io::Cursor<Vec<u8>>, Tagged<R>>>;

/// The uncompressed stream of a layer blob.
pub(crate) struct Decoder<R: Read>(Inner<R>);

enum Inner<R: Read> {
    Plain(Input<R>),
    Gzip(Box<MultiGzDecoder<Input<R>>>),
    Zstd(Box<zstd::stream::read::Decoder<'static, Input<R>>>),
}

impl<R: Read> Decoder<R> {
    /// Reads the first bytes of `source` and picks the decoder they call for. Returns the
    /// compression found, which the caller compares with the declared one.
    pub(crate) fn new(source: R) -> Result<(Decoder<R>, Compression), LayerError> {
        let mut source = Tagged(source);
        let mut prefix = Vec::with_capacity(ZSTD_MAGIC.len());
        while prefix.len() < ZSTD_MAGIC.len() {
            let mut byte = [0u8; 4];
            let want = ZSTD_MAGIC.len() - prefix.len();
            match source.read(&mut byte[..want]) {
                Ok(0) => break,
                Ok(n) => prefix.extend_from_slice(&byte[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(read_error(e, Compression::None)),
            }
        }
        let found = Compression::detect(&prefix).unwrap_or(Compression::None);
        let input = BufReader::with_capacity(INPUT_BUFFER, io::Cursor::new(prefix).chain(source));
        let inner = match found {
            Compression::None => Inner::Plain(input),
            Compression::Gzip => Inner::Gzip(Box::new(MultiGzDecoder::new(input))),
            Compression::Zstd => {
                let mut decoder = zstd::stream::read::Decoder::with_buffer(input).map_err(|e| read_error(e, found))?;
                decoder.window_log_max(ZSTD_MAX_WINDOW_LOG).map_err(|e| read_error(e, found))?;
                Inner::Zstd(Box::new(decoder))
            }
        };
        Ok((Decoder(inner), found))
    }
}

impl<R: Read> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.0 {
            Inner::Plain(r) => r.read(buf),
            Inner::Gzip(r) => r.read(buf),
            Inner::Zstd(r) => r.read(buf),
        }
    }
}

/// The limit on the uncompressed stream was passed.
#[derive(Debug)]
pub(crate) struct LimitExceeded {
    pub(crate) limit: u64,
}

impl std::fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "more than {} bytes", self.limit)
    }
}

impl std::error::Error for LimitExceeded {}

/// Turns an error met while reading the uncompressed stream into the error it really is:
/// the caller's stream failing, the size limit, or the decoder's complaint.
pub(crate) fn read_error(e: io::Error, compression: Compression) -> LayerError {
    let tag = e.get_ref().map(|inner| (inner.is::<SourceError>(), inner.downcast_ref::<LimitExceeded>()));
    match tag {
        Some((_, Some(limit))) => LayerError::TooLarge { what: "uncompressed bytes", limit: limit.limit },
        Some((true, None)) => match e.into_inner().map(|inner| inner.downcast::<SourceError>()) {
            Some(Ok(source)) => LayerError::Read(source.0),
            _ => LayerError::Corrupt { reason: "the stream failed" },
        },
        _ if compression == Compression::None => LayerError::Read(e),
        _ => LayerError::Decompress { format: compression.name(), source: e },
    }
}

/// Drains what is left of a reader (the caller's digest must cover the whole blob).
pub(crate) fn drain(reader: &mut impl BufRead) -> io::Result<u64> {
    let mut total = 0u64;
    loop {
        let n = match reader.fill_buf() {
            Ok(buf) => buf.len(),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            return Ok(total);
        }
        reader.consume(n);
        total += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types() {
        use Compression::*;
        for (mt, c) in [
            ("application/vnd.oci.image.layer.v1.tar", None),
            ("application/vnd.oci.image.layer.v1.tar+gzip", Gzip),
            ("application/vnd.oci.image.layer.v1.tar+zstd", Zstd),
            ("application/vnd.oci.image.layer.nondistributable.v1.tar", None),
            ("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", Gzip),
            ("application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", Zstd),
            ("application/vnd.docker.image.rootfs.diff.tar.gzip", Gzip),
            ("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", Gzip),
            ("application/vnd.docker.image.rootfs.diff.tar", None),
            ("application/vnd.docker.image.rootfs.diff.tar.zstd", Zstd),
        ] {
            assert_eq!(Compression::from_media_type(mt).unwrap(), c, "{mt}");
        }
        for mt in [
            "application/vnd.oci.image.layer.v1.tar+gzip+encrypted",
            "application/vnd.oci.image.layer.v1.tar+xz",
            "application/vnd.oci.image.config.v1+json",
            "application/vnd.docker.image.rootfs.diff.tar.gzipx",
            "",
        ] {
            let e = Compression::from_media_type(mt).unwrap_err();
            assert_eq!(e.code(), "unsupported-media-type", "{mt}");
        }
    }

    #[test]
    fn magic_bytes() {
        assert_eq!(Compression::detect(&[0x1f, 0x8b, 8, 0]), Some(Compression::Gzip));
        assert_eq!(Compression::detect(&[0x28, 0xb5, 0x2f, 0xfd]), Some(Compression::Zstd));
        assert_eq!(Compression::detect(b"etc/"), None);
        assert_eq!(Compression::detect(&[0x1f]), None);
    }

    /// A reader that hands out one byte at a time, then fails.
    struct Trickle(Vec<u8>, usize, bool);
    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.1 < self.0.len() {
                buf[0] = self.0[self.1];
                self.1 += 1;
                Ok(1)
            } else if self.2 {
                Err(io::Error::new(io::ErrorKind::ConnectionReset, "peer went away"))
            } else {
                Ok(0)
            }
        }
    }

    #[test]
    fn short_reads_still_find_the_magic() {
        let compressed = zstd::encode_all(&b"hello"[..], 3).unwrap();
        let (mut d, found) = Decoder::new(Trickle(compressed, 0, false)).unwrap();
        assert_eq!(found, Compression::Zstd);
        let mut out = Vec::new();
        d.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"hello");
    }

    #[test]
    fn a_failing_source_is_reported_as_such() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &[7u8; 100_000]).unwrap();
        let mut compressed = gz.finish().unwrap();
        compressed.truncate(compressed.len() / 2);
        let (mut d, _) = Decoder::new(Trickle(compressed, 0, true)).unwrap();
        let e = read_error(d.read_to_end(&mut Vec::new()).unwrap_err(), Compression::Gzip);
        assert!(matches!(&e, LayerError::Read(s) if s.kind() == io::ErrorKind::ConnectionReset), "{e:?}");
    }

    #[test]
    fn a_zstd_window_beyond_the_bound_is_refused() {
        let data = vec![5u8; 1 << 20];
        let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
        encoder.window_log(27).unwrap();
        encoder.long_distance_matching(true).unwrap();
        std::io::Write::write_all(&mut encoder, &data).unwrap();
        let compressed = encoder.finish().unwrap();
        let (mut d, _) = Decoder::new(&compressed[..]).unwrap();
        let e = read_error(d.read_to_end(&mut Vec::new()).unwrap_err(), Compression::Zstd);
        assert_eq!(e.code(), "corrupt-layer", "{e:?}");
    }

    #[test]
    fn a_truncated_stream_is_a_decoding_error() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &[7u8; 100_000]).unwrap();
        let mut compressed = gz.finish().unwrap();
        compressed.truncate(compressed.len() / 2);
        let (mut d, _) = Decoder::new(&compressed[..]).unwrap();
        let e = read_error(d.read_to_end(&mut Vec::new()).unwrap_err(), Compression::Gzip);
        assert_eq!(e.code(), "corrupt-layer", "{e:?}");
    }
}
