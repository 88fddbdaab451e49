//! Reading a tar stream member by member, with every record that a member's name, link or
//! attributes come from bounded in size before it is read.
//!
//! The `tar` crate parses the headers (`tar::Header`: numeric fields, ustar prefixes, GNU
//! base-256 numbers, GNU sparse maps), but its archive reader cannot be used here: it reads a
//! GNU long name or a PAX record of any size into memory, splits PAX records on newlines
//! (an xattr value is binary), and counts data for header-only entries (Go's archive/tar,
//! which containerd and podman use, counts none: a difference a hostile tar could exploit to
//! show two parsers two different archives). The stream follows Go's reader on these points.

use std::io::{self, BufRead};

use tar::{GnuExtSparseHeader, Header};

use super::compression::{read_error, Compression};
use super::error::shown;
use super::{LayerError, Limits};

const BLOCK: u64 = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Regular,
    HardLink,
    Symlink,
    Char,
    Block,
    Directory,
    Fifo,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Time {
    pub(crate) secs: i64,
    pub(crate) nanos: u32,
}

/// Where a sparse file's stored data goes: (offset, length) pairs in order, and its size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sparse {
    pub(crate) real_size: u64,
    pub(crate) regions: Vec<(u64, u64)>,
}

/// One tar member with the PAX and GNU records that describe it applied.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub(crate) kind: Kind,
    pub(crate) name: Vec<u8>,
    pub(crate) link: Vec<u8>,
    pub(crate) mode: u32,
    pub(crate) uid: u64,
    pub(crate) gid: u64,
    pub(crate) mtime: Time,
    pub(crate) atime: Option<Time>,
    pub(crate) dev_major: u32,
    pub(crate) dev_minor: u32,
    pub(crate) xattrs: Vec<(Vec<u8>, Vec<u8>)>,
    pub(crate) sparse: Option<Sparse>,
    /// Bytes of data the member has in the stream.
    pub(crate) size: u64,
}

/// PAX records in the order they came: (key, value).
type PaxRecords = Vec<(Vec<u8>, Vec<u8>)>;

/// Records that only describe the next member.
#[derive(Default)]
struct Pending {
    pax: Option<PaxRecords>,
    long_name: Option<Vec<u8>>,
    long_link: Option<Vec<u8>>,
}

pub(crate) struct TarStream<R> {
    reader: R,
    limits: Limits,
    compression: Compression,
    /// Data of the current member not read yet, and the padding after it.
    remaining: u64,
    padding: u64,
    ended: bool,
    /// PAX global headers met (ignored, as containerd and podman ignore them).
    pub(crate) global_headers: u64,
}

impl<R: BufRead> TarStream<R> {
    pub(crate) fn new(reader: R, limits: Limits, compression: Compression) -> TarStream<R> {
        TarStream { reader, limits, compression, remaining: 0, padding: 0, ended: false, global_headers: 0 }
    }

    fn io(&self, e: io::Error) -> LayerError {
        if e.kind() == io::ErrorKind::UnexpectedEof && e.get_ref().is_none() {
            return LayerError::Corrupt { reason: "the stream ends in the middle of an entry" };
        }
        read_error(e, self.compression)
    }

    /// Reads the next block; false at the end of the stream before any byte of it.
    fn block(&mut self, buf: &mut [u8; 512]) -> Result<bool, LayerError> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.reader.read(&mut buf[filled..]) {
                Ok(0) if filled == 0 => return Ok(false),
                Ok(0) => return Err(LayerError::Corrupt { reason: "the stream ends in the middle of a header" }),
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io(e)),
            }
        }
        Ok(true)
    }

    fn skip(&mut self, mut n: u64) -> Result<(), LayerError> {
        while n > 0 {
            let available = match self.reader.fill_buf() {
                Ok([]) => return Err(LayerError::Corrupt { reason: "the stream ends in the middle of an entry" }),
                Ok(buf) => buf.len(),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.io(e)),
            };
            let step = n.min(available as u64);
            self.reader.consume(step as usize);
            n -= step;
        }
        Ok(())
    }

    /// Reads a record's whole data (a long name, a PAX header, a PAX sparse map), known to be
    /// no larger than a limit.
    fn record(&mut self, size: u64) -> Result<Vec<u8>, LayerError> {
        let mut data = vec![0u8; size as usize];
        self.reader.read_exact(&mut data).map_err(|e| self.io(e))?;
        self.skip(pad(size))?;
        Ok(data)
    }

    /// Reads up to `buf.len()` bytes of the current member's data; 0 at its end.
    pub(crate) fn read_data(&mut self, buf: &mut [u8]) -> Result<usize, LayerError> {
        if self.remaining == 0 {
            return Ok(0);
        }
        let want = buf.len().min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        loop {
            match self.reader.read(&mut buf[..want]) {
                Ok(0) => return Err(LayerError::Corrupt { reason: "the stream ends in the middle of an entry" }),
                Ok(n) => {
                    self.remaining -= n as u64;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io(e)),
            }
        }
    }

    /// The next member, or None after the end-of-archive marker (two zero blocks) or at the
    /// end of the stream on a block boundary (as Go's reader, which also accepts that).
    pub(crate) fn next_member(&mut self) -> Result<Option<Member>, LayerError> {
        if self.ended {
            return Ok(None);
        }
        let leftover = self.remaining + self.padding;
        self.remaining = 0;
        self.padding = 0;
        self.skip(leftover)?;
        let mut pending = Pending::default();
        let mut block = [0u8; 512];
        loop {
            if !self.block(&mut block)? {
                return self.end(&pending);
            }
            if block.iter().all(|b| *b == 0) {
                // One zero block must be followed by another (Go's reader says the same).
                if self.block(&mut block)? && !block.iter().all(|b| *b == 0) {
                    return Err(LayerError::Corrupt { reason: "a zero block followed by a header" });
                }
                return self.end(&pending);
            }
            let header = Header::from_byte_slice(&block);
            check_sum(header)?;
            let size = numeric(&header.as_old().size).ok_or(LayerError::Corrupt { reason: "a bad size field" })?;
            match header.entry_type().as_byte() {
                b'x' => {
                    if size > self.limits.max_header_bytes {
                        return Err(LayerError::TooLarge {
                            what: "bytes in one PAX header",
                            limit: self.limits.max_header_bytes,
                        });
                    }
                    let data = self.record(size)?;
                    pending.pax = Some(parse_pax(&data)?);
                }
                b'g' => {
                    self.global_headers += 1;
                    self.skip(size + pad(size))?;
                }
                kind @ (b'L' | b'K') => {
                    // A name of max_path bytes takes one more for its NUL.
                    if size > self.limits.max_path as u64 + 1 {
                        let mut start = vec![0u8; 256];
                        self.reader.read_exact(&mut start).map_err(|e| self.io(e))?;
                        return Err(LayerError::Hostile {
                            entry: format!("{}…", shown(&start)),
                            reason: format!(
                                "its {} is longer than {} bytes",
                                if kind == b'L' { "name" } else { "link target" },
                                self.limits.max_path
                            ),
                        });
                    }
                    let mut data = self.record(size)?;
                    while data.last() == Some(&0) {
                        data.pop();
                    }
                    if kind == b'L' {
                        pending.long_name = Some(data);
                    } else {
                        pending.long_link = Some(data);
                    }
                }
                _ => return self.member(header, size, pending).map(Some),
            }
        }
    }

    fn end(&mut self, pending: &Pending) -> Result<Option<Member>, LayerError> {
        if pending.pax.is_some() || pending.long_name.is_some() || pending.long_link.is_some() {
            return Err(LayerError::Corrupt { reason: "the stream ends after a header that describes a next entry" });
        }
        self.ended = true;
        Ok(None)
    }

    fn member(&mut self, header: &Header, header_size: u64, pending: Pending) -> Result<Member, LayerError> {
        let old = header.as_old();
        let field = |bytes: &[u8], reason| numeric(bytes).ok_or(LayerError::Corrupt { reason });
        let mut name = pending.long_name.unwrap_or_else(|| header.path_bytes().into_owned());
        let mut link =
            pending.long_link.unwrap_or_else(|| header.link_name_bytes().map(|l| l.into_owned()).unwrap_or_default());
        let mut uid = field(&old.uid, "a bad uid field")?;
        let mut gid = field(&old.gid, "a bad gid field")?;
        let mut mtime = Time { secs: field(&old.mtime, "a bad mtime field")? as i64, nanos: 0 };
        let mut atime = header
            .as_gnu()
            .and_then(|g| numeric(&g.atime))
            .filter(|t| *t != 0)
            .map(|t| Time { secs: t as i64, nanos: 0 });
        let mut size = header_size;
        let mut xattrs = Vec::new();
        let mut sparse_pax = SparsePax::default();
        for (key, value) in pending.pax.unwrap_or_default() {
            match key.as_slice() {
                b"path" => name = value,
                b"linkpath" => link = value,
                b"size" => size = number(&value).ok_or(LayerError::Corrupt { reason: "a bad PAX size" })?,
                b"uid" => uid = number(&value).ok_or(LayerError::Corrupt { reason: "a bad PAX uid" })?,
                b"gid" => gid = number(&value).ok_or(LayerError::Corrupt { reason: "a bad PAX gid" })?,
                b"mtime" => mtime = pax_time(&value).ok_or(LayerError::Corrupt { reason: "a bad PAX mtime" })?,
                b"atime" => atime = Some(pax_time(&value).ok_or(LayerError::Corrupt { reason: "a bad PAX atime" })?),
                _ => {
                    if let Some(xattr) = key.strip_prefix(b"SCHILY.xattr.") {
                        xattrs.push((xattr.to_vec(), value));
                    } else {
                        sparse_pax.record(&key, value)?;
                    }
                }
            }
        }
        if let Some(real_name) = sparse_pax.name.take() {
            name = real_name;
        }
        let kind = match header.entry_type().as_byte() {
            b'0' | b'7' | b'S' => Kind::Regular,
            // Old tars mark a directory with a regular type and a trailing slash.
            b'\0' if name.ends_with(b"/") => Kind::Directory,
            b'\0' => Kind::Regular,
            b'1' => Kind::HardLink,
            b'2' => Kind::Symlink,
            b'3' => Kind::Char,
            b'4' => Kind::Block,
            b'5' => Kind::Directory,
            b'6' => Kind::Fifo,
            other => {
                return Err(LayerError::Hostile {
                    entry: shown(&name),
                    reason: format!("its tar entry type {:?} is not one a layer holds", char::from(other)),
                })
            }
        };
        for (what, bytes) in [("name", &name), ("link target", &link)] {
            if bytes.len() > self.limits.max_path {
                return Err(LayerError::Hostile {
                    entry: shown(&name),
                    reason: format!("its {what} is longer than {} bytes", self.limits.max_path),
                });
            }
        }
        // Header-only types carry no data, whatever their size field says (as Go reads them).
        if !matches!(kind, Kind::Regular) {
            size = 0;
        }
        let (dev_major, dev_minor) = match (kind, header.as_ustar(), header.as_gnu()) {
            (Kind::Char | Kind::Block, Some(ustar), _) => {
                (field(&ustar.dev_major, "a bad device number")?, field(&ustar.dev_minor, "a bad device number")?)
            }
            (Kind::Char | Kind::Block, None, Some(gnu)) => {
                (field(&gnu.dev_major, "a bad device number")?, field(&gnu.dev_minor, "a bad device number")?)
            }
            _ => (0, 0),
        };
        let (Ok(dev_major), Ok(dev_minor)) = (u32::try_from(dev_major), u32::try_from(dev_minor)) else {
            return Err(LayerError::Corrupt { reason: "a bad device number" });
        };
        self.remaining = size;
        self.padding = pad(size);
        let sparse = if header.entry_type().as_byte() == b'S' {
            Some(self.gnu_sparse_map(header, size)?)
        } else if kind == Kind::Regular && sparse_pax.present() {
            Some(self.pax_sparse_map(sparse_pax)?)
        } else {
            None
        };
        let mode = field(&old.mode, "a bad mode field")? as u32 & 0o7777;
        Ok(Member {
            kind,
            name,
            link,
            mode,
            uid,
            gid,
            mtime,
            atime,
            dev_major,
            dev_minor,
            xattrs,
            sparse,
            size: self.remaining,
        })
    }

    /// GNU's own sparse format: the map in the header and in extension blocks after it.
    fn gnu_sparse_map(&mut self, header: &Header, stored: u64) -> Result<Sparse, LayerError> {
        let bad = |_| LayerError::Corrupt { reason: "a bad GNU sparse map" };
        let gnu = header.as_gnu().ok_or(LayerError::Corrupt { reason: "a sparse entry without a GNU header" })?;
        let mut regions = Vec::new();
        let max = self.max_regions();
        for entry in gnu.sparse.iter().filter(|e| !e.is_empty()) {
            regions.push((entry.offset().map_err(bad)?, entry.length().map_err(bad)?));
        }
        let mut extended = gnu.is_extended();
        let real_size = gnu.real_size().map_err(bad)?;
        while extended {
            let mut ext = GnuExtSparseHeader::new();
            if !self.block(ext.as_mut_bytes())? {
                return Err(LayerError::Corrupt { reason: "the stream ends in a GNU sparse map" });
            }
            for entry in ext.sparse().iter().filter(|e| !e.is_empty()) {
                regions.push((entry.offset().map_err(bad)?, entry.length().map_err(bad)?));
            }
            if regions.len() > max {
                return Err(LayerError::TooLarge { what: "regions in a sparse file", limit: max as u64 });
            }
            extended = ext.is_extended();
        }
        self.checked_sparse(Sparse { real_size, regions }, stored)
    }

    /// PAX's GNU sparse formats 0.0 and 0.1 (the map in PAX records) and 1.0 (the map at the
    /// start of the data).
    fn pax_sparse_map(&mut self, pax: SparsePax) -> Result<Sparse, LayerError> {
        let real_size = pax.real_size.ok_or(LayerError::Corrupt { reason: "a PAX sparse file without its size" })?;
        let numbers = match pax.version {
            SparseVersion::V1 => self.sparse_map_in_data()?,
            SparseVersion::V0 => pax.map,
            SparseVersion::Unknown => return Err(LayerError::Corrupt { reason: "an unknown PAX sparse format" }),
        };
        if numbers.len() % 2 != 0 {
            return Err(LayerError::Corrupt { reason: "a bad PAX sparse map" });
        }
        let regions = numbers.chunks(2).map(|pair| (pair[0], pair[1])).collect();
        let stored = self.remaining;
        self.checked_sparse(Sparse { real_size, regions }, stored)
    }

    /// Format 1.0: decimal numbers, one a line (the count, then offset and length pairs),
    /// in whole blocks at the start of the member's data.
    fn sparse_map_in_data(&mut self) -> Result<Vec<u64>, LayerError> {
        let bad = LayerError::Corrupt { reason: "a bad PAX sparse map" };
        let max = self.max_regions();
        let mut text = Vec::new();
        let mut numbers: Vec<u64> = Vec::new();
        let mut wanted: Option<usize> = None;
        loop {
            if wanted.is_some_and(|w| numbers.len() == w) {
                return Ok(numbers);
            }
            if text.contains(&b'\n') {
                let at = text.iter().position(|b| *b == b'\n').unwrap_or(0);
                let n = number(&text[..at]).ok_or(LayerError::Corrupt { reason: "a bad PAX sparse map" })?;
                text.drain(..=at);
                match wanted {
                    None if n as usize > max => {
                        return Err(LayerError::TooLarge { what: "regions in a sparse file", limit: max as u64 })
                    }
                    None => wanted = Some(2 * n as usize),
                    Some(_) => numbers.push(n),
                }
                continue;
            }
            if self.remaining < BLOCK || text.len() > 64 {
                return Err(bad);
            }
            let mut block = [0u8; 512];
            if !self.block(&mut block)? {
                return Err(bad);
            }
            self.remaining -= BLOCK;
            text.extend_from_slice(&block);
        }
    }

    fn max_regions(&self) -> usize {
        usize::try_from(self.limits.max_header_bytes / 16).unwrap_or(usize::MAX)
    }

    /// Regions in order, inside the file, and their lengths adding up to the stored data.
    fn checked_sparse(&self, sparse: Sparse, stored: u64) -> Result<Sparse, LayerError> {
        let bad = LayerError::Corrupt { reason: "a sparse map that does not fit its data" };
        if sparse.regions.len() > self.max_regions() {
            return Err(LayerError::TooLarge { what: "regions in a sparse file", limit: self.max_regions() as u64 });
        }
        let mut end = 0u64;
        let mut total = 0u64;
        for &(offset, length) in &sparse.regions {
            if offset < end {
                return Err(bad);
            }
            end = offset
                .checked_add(length)
                .ok_or(LayerError::Corrupt { reason: "a sparse map that does not fit its data" })?;
            total += length;
        }
        if end > sparse.real_size || total != stored {
            return Err(bad);
        }
        if sparse.real_size > self.limits.max_total_bytes {
            return Err(LayerError::TooLarge { what: "bytes in one sparse file", limit: self.limits.max_total_bytes });
        }
        Ok(sparse)
    }
}

#[derive(Default, PartialEq, Eq)]
enum SparseVersion {
    #[default]
    V0,
    V1,
    Unknown,
}

/// The GNU.sparse.* PAX records of one member.
#[derive(Default)]
struct SparsePax {
    seen: bool,
    version: SparseVersion,
    name: Option<Vec<u8>>,
    real_size: Option<u64>,
    map: Vec<u64>,
}

impl SparsePax {
    fn present(&self) -> bool {
        self.seen && (self.version != SparseVersion::V0 || !self.map.is_empty() || self.real_size.is_some())
    }

    fn record(&mut self, key: &[u8], value: Vec<u8>) -> Result<(), LayerError> {
        let bad = LayerError::Corrupt { reason: "a bad PAX sparse record" };
        let Some(key) = key.strip_prefix(b"GNU.sparse.") else { return Ok(()) };
        self.seen = true;
        match key {
            b"major" => {
                self.version = match value.as_slice() {
                    b"0" => SparseVersion::V0,
                    b"1" => SparseVersion::V1,
                    _ => SparseVersion::Unknown,
                }
            }
            b"minor" => {}
            b"name" => self.name = Some(value),
            b"size" | b"realsize" => self.real_size = Some(number(&value).ok_or(bad)?),
            b"offset" | b"numbytes" => self.map.push(number(&value).ok_or(bad)?),
            b"map" => {
                for n in value.split(|b| *b == b',').filter(|s| !s.is_empty()) {
                    self.map.push(number(n).ok_or(LayerError::Corrupt { reason: "a bad PAX sparse record" })?);
                }
            }
            _ => {}
        }
        Ok(())
    }
}

fn pad(size: u64) -> u64 {
    (BLOCK - size % BLOCK) % BLOCK
}

/// The header's checksum, as either the unsigned or the signed sum of its bytes with the
/// checksum field taken as spaces (writers have used both; Go accepts both).
fn check_sum(header: &Header) -> Result<(), LayerError> {
    let bytes = header.as_bytes();
    let recorded =
        numeric(&header.as_old().cksum).ok_or(LayerError::Corrupt { reason: "a bad header checksum field" })?;
    let field = 148..156;
    let unsigned: u32 =
        bytes.iter().enumerate().map(|(i, b)| if field.contains(&i) { 32 } else { u32::from(*b) }).sum();
    let signed: i32 =
        bytes.iter().enumerate().map(|(i, b)| if field.contains(&i) { 32 } else { i32::from(*b as i8) }).sum();
    if recorded == u64::from(unsigned) || i64::try_from(recorded).ok() == Some(i64::from(signed)) {
        Ok(())
    } else {
        Err(LayerError::Corrupt { reason: "a header checksum mismatch" })
    }
}

/// PAX records: `LEN KEY=VALUE\n`, LEN counting the whole record; values may hold any byte.
fn parse_pax(data: &[u8]) -> Result<PaxRecords, LayerError> {
    let bad = || LayerError::Corrupt { reason: "a malformed PAX record" };
    let mut records = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        if rest.iter().all(|b| *b == 0) {
            break;
        }
        let space = rest.iter().position(|b| *b == b' ').ok_or_else(bad)?;
        let len = number(&rest[..space]).ok_or_else(bad)? as usize;
        if len <= space + 1 || len > rest.len() || rest[len - 1] != b'\n' {
            return Err(bad());
        }
        let record = &rest[space + 1..len - 1];
        let equals = record.iter().position(|b| *b == b'=').ok_or_else(bad)?;
        records.push((record[..equals].to_vec(), record[equals + 1..].to_vec()));
        rest = &rest[len..];
    }
    Ok(records)
}

/// A numeric header field as Go's archive/tar reads it: base-256 when the high bit of the
/// first byte is set (negative values refused), else octal text with NULs and spaces around
/// it, an empty field being 0.
fn numeric(field: &[u8]) -> Option<u64> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        if field[0] == 0xff {
            return None; // negative
        }
        let mut value: u64 = u64::from(field[0] & 0x7f);
        for b in &field[1..] {
            value = value.checked_mul(256)?.checked_add(u64::from(*b))?;
        }
        return Some(value);
    }
    let start = field.iter().position(|b| *b != 0 && *b != b' ').unwrap_or(field.len());
    let end = field.iter().rposition(|b| *b != 0 && *b != b' ').map_or(start, |i| i + 1);
    let text = &field[start..end.max(start)];
    if text.is_empty() {
        return Some(0);
    }
    if !text.iter().all(|b| (b'0'..=b'7').contains(b)) {
        return None;
    }
    u64::from_str_radix(std::str::from_utf8(text).ok()?, 8).ok()
}

fn number(text: &[u8]) -> Option<u64> {
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// A PAX time: decimal seconds with an optional fraction, possibly negative.
fn pax_time(text: &[u8]) -> Option<Time> {
    let (negative, text) = match text.strip_prefix(b"-") {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = match text.iter().position(|b| *b == b'.') {
        Some(dot) => (&text[..dot], &text[dot + 1..]),
        None => (text, &b""[..]),
    };
    let secs = i64::try_from(number(whole)?).ok()?;
    if !fraction.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut nanos = 0u32;
    for i in 0..9 {
        nanos = nanos * 10 + fraction.get(i).map_or(0, |d| u32::from(d - b'0'));
    }
    Some(match (negative, nanos) {
        (false, _) => Time { secs, nanos },
        (true, 0) => Time { secs: -secs, nanos: 0 },
        (true, n) => Time { secs: -secs - 1, nanos: 1_000_000_000 - n },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_records_keep_binary_values() {
        let mut data = Vec::new();
        let value = b"a\nb=c";
        let body = [b"SCHILY.xattr.user.x=".as_slice(), value, b"\n"].concat();
        let len = body.len() + 3; // "NN " where NN is two digits
        data.extend_from_slice(format!("{len} ").as_bytes());
        data.extend_from_slice(&body);
        data.extend_from_slice(b"11 path=ab\n");
        let records = parse_pax(&data).unwrap();
        assert_eq!(records[0], (b"SCHILY.xattr.user.x".to_vec(), value.to_vec()));
        assert_eq!(records[1], (b"path".to_vec(), b"ab".to_vec()));
        assert!(parse_pax(b"99 path=ab\n").is_err());
        assert!(parse_pax(b"5 a=b\n").is_err());
    }

    #[test]
    fn numeric_fields_as_go_reads_them() {
        assert_eq!(numeric(b"0000644\0"), Some(0o644));
        assert_eq!(numeric(b" 644 \0\0"), Some(0o644));
        assert_eq!(numeric(&[0u8; 8]), Some(0));
        assert_eq!(numeric(b"        "), Some(0));
        assert_eq!(numeric(&[0x80, 0, 0, 0, 0, 0, 1, 0]), Some(256));
        assert_eq!(numeric(&[0xff; 8]), None);
        assert_eq!(numeric(b"12 34\0\0\0"), None);
        assert_eq!(numeric(b"0009\0"), None);
    }

    #[test]
    fn pax_times() {
        assert_eq!(pax_time(b"1700000000"), Some(Time { secs: 1_700_000_000, nanos: 0 }));
        assert_eq!(pax_time(b"1.5"), Some(Time { secs: 1, nanos: 500_000_000 }));
        assert_eq!(pax_time(b"-1.25"), Some(Time { secs: -2, nanos: 750_000_000 }));
        assert_eq!(pax_time(b"1.1234567891"), Some(Time { secs: 1, nanos: 123_456_789 }));
        assert_eq!(pax_time(b"x"), None);
        assert_eq!(pax_time(b"1.x"), None);
    }
}
