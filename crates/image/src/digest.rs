//! Content digests (`sha256:HEX`, `sha512:HEX`), as the image spec registers them, and the
//! hashing that verifies content against them while it streams.

use std::fmt;
use std::str::FromStr;

use sha2::Digest as _;

/// A validated digest of a registered algorithm, hex lower-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algorithm: Algorithm,
    hex: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    Sha256,
    Sha512,
}

impl Algorithm {
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }
}

/// Why a string is not a digest; the message completes "invalid digest X: ...".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    #[error("invalid digest {0:?}: expected ALGORITHM:HEX")]
    Format(String),
    #[error("invalid digest {0:?}: unsupported algorithm (sha256 and sha512 are)")]
    Algorithm(String),
    #[error("invalid digest {0:?}: the hex part has the wrong length or characters")]
    Hex(String),
}

impl Digest {
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The hex part: the file name under `blobs/ALGORITHM/`.
    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// The digest of `bytes` with `algorithm`.
    pub fn of(algorithm: Algorithm, bytes: &[u8]) -> Digest {
        let mut hasher = Hasher::new(algorithm);
        hasher.update(bytes);
        hasher.finish()
    }

    pub fn sha256_of(bytes: &[u8]) -> Digest {
        Digest::of(Algorithm::Sha256, bytes)
    }
}

impl FromStr for Digest {
    type Err = DigestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (algorithm, hex) = s.split_once(':').ok_or_else(|| DigestError::Format(s.to_string()))?;
        if !valid_algorithm_syntax(algorithm) {
            return Err(DigestError::Format(s.to_string()));
        }
        let algorithm = match algorithm {
            "sha256" => Algorithm::Sha256,
            "sha512" => Algorithm::Sha512,
            _ => return Err(DigestError::Algorithm(s.to_string())),
        };
        // The image spec requires lower-case hex for the registered algorithms.
        if hex.len() != algorithm.hex_len() || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(DigestError::Hex(s.to_string()));
        }
        Ok(Digest { algorithm, hex: hex.to_string() })
    }
}

/// The image spec's `algorithm-component (algorithm-separator algorithm-component)*`, with
/// components `[a-z0-9]+` and separators `[+._-]`.
fn valid_algorithm_syntax(algorithm: &str) -> bool {
    !algorithm.is_empty()
        && algorithm
            .split(['+', '.', '_', '-'])
            .all(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.name(), self.hex)
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl TryFrom<&oci_spec::image::Digest> for Digest {
    type Error = DigestError;

    fn try_from(d: &oci_spec::image::Digest) -> Result<Self, Self::Error> {
        d.to_string().parse()
    }
}

/// An incremental hash of one algorithm.
pub enum Hasher {
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

impl Hasher {
    pub fn new(algorithm: Algorithm) -> Hasher {
        match algorithm {
            Algorithm::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            Algorithm::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
        }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(bytes),
            Hasher::Sha512(h) => h.update(bytes),
        }
    }

    pub fn finish(self) -> Digest {
        let (algorithm, bytes) = match self {
            Hasher::Sha256(h) => (Algorithm::Sha256, h.finalize().to_vec()),
            Hasher::Sha512(h) => (Algorithm::Sha512, h.finalize().to_vec()),
        };
        Digest { algorithm, hex: to_hex(&bytes) }
    }
}

fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 0xf)] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn parses_and_prints_registered_digests() {
        let d: Digest = EMPTY.parse().unwrap();
        assert_eq!(d.algorithm(), Algorithm::Sha256);
        assert_eq!(d.to_string(), EMPTY);
        assert_eq!(Digest::sha256_of(b""), d);
        let long = format!("sha512:{}", "a".repeat(128));
        assert_eq!(long.parse::<Digest>().unwrap().to_string(), long);
    }

    #[test]
    fn refuses_malformed_digests() {
        for bad in [
            "",
            "sha256",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "sha256:e3b0",
            "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85g",
            "SHA256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "md5:d41d8cd98f00b204e9800998ecf8427e",
            ":abc",
            "sha256+:abc",
        ] {
            assert!(bad.parse::<Digest>().is_err(), "{bad:?} was accepted");
        }
        assert!(matches!("md5:d41d8cd98f00b204e9800998ecf8427e".parse::<Digest>(), Err(DigestError::Algorithm(_))));
    }

    #[test]
    fn incremental_hash_equals_one_shot() {
        let mut h = Hasher::new(Algorithm::Sha256);
        h.update(b"hello ");
        h.update(b"world");
        assert_eq!(h.finish(), Digest::sha256_of(b"hello world"));
        assert_eq!(
            Digest::sha256_of(b"hello world").hex(),
            "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
        );
    }
}
