//! Platforms (`linux/arm64/v8`) and the choice of one manifest from an index, as containerd's
//! and podman's platform matchers choose: names normalized (`aarch64` is `arm64`, `x86_64` is
//! `amd64`), `arm64` means variant `v8`, and an `arm/v7` host also runs `v6` and `v5` images,
//! preferring the closest.

use std::fmt;
use std::str::FromStr;

use oci_spec::image::{Descriptor, ImageIndex};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid platform {0:?}: expected OS/ARCH[/VARIANT], such as linux/arm64/v8")]
pub struct PlatformError(pub String);

impl Platform {
    /// The platform this process runs on.
    pub fn host() -> Platform {
        Platform::new("linux", std::env::consts::ARCH, None)
    }

    /// A normalized platform (architecture aliases resolved, the default variant filled in).
    pub fn new(os: &str, architecture: &str, variant: Option<&str>) -> Platform {
        let os = os.to_ascii_lowercase();
        let (architecture, implied) = normalize_arch(&architecture.to_ascii_lowercase());
        let variant = variant.filter(|v| !v.is_empty()).map(str::to_ascii_lowercase).or(implied);
        let variant = match (architecture.as_str(), variant.as_deref()) {
            ("arm64", None | Some("8")) => Some("v8".to_string()),
            ("arm", None) => Some("v7".to_string()),
            ("arm", Some(v @ ("5" | "6" | "7" | "8"))) => Some(format!("v{v}")),
            ("amd64", Some("v1")) => None,
            _ => variant,
        };
        Platform { os, architecture, variant }
    }

    /// From an index entry's platform, normalized the same way.
    pub fn from_spec(p: &oci_spec::image::Platform) -> Platform {
        Platform::new(&p.os().to_string(), &p.architecture().to_string(), p.variant().as_deref())
    }

    /// Whether an image of platform `image` runs here, and how well: lower is better.
    fn rank(&self, image: &Platform) -> Option<usize> {
        if self.os != image.os || self.architecture != image.architecture {
            return None;
        }
        if self.variant == image.variant {
            return Some(0);
        }
        // Older ARM variants run on newer cores (containerd's platforms.Only).
        let arm_level = |v: &Option<String>| v.as_deref().and_then(|v| v.strip_prefix('v')?.parse::<usize>().ok());
        match (self.architecture.as_str(), arm_level(&self.variant), arm_level(&image.variant)) {
            ("arm", Some(host), Some(img)) if img < host && img >= 5 => Some(host - img),
            _ => None,
        }
    }

    /// The manifest in `index` for this platform, or the platforms the index offers.
    pub fn select<'a>(&self, index: &'a ImageIndex) -> Result<&'a Descriptor, Vec<Platform>> {
        let candidates =
            index.manifests().iter().filter_map(|d| Some((d, Platform::from_spec(d.platform().as_ref()?))));
        let best = candidates.clone().filter_map(|(d, p)| Some((self.rank(&p)?, d))).min_by_key(|(rank, _)| *rank);
        match best {
            Some((_, d)) => Ok(d),
            None => Err(candidates.map(|(_, p)| p).collect()),
        }
    }
}

/// GOARCH names from the aliases `uname -m` and Debian use, with the variant they imply.
fn normalize_arch(arch: &str) -> (String, Option<String>) {
    let (a, v) = match arch {
        "x86_64" | "x86-64" => ("amd64", None),
        "aarch64" => ("arm64", None),
        "armhf" | "armv7l" | "armv7" => ("arm", Some("v7")),
        "armel" | "armv6l" | "armv6" => ("arm", Some("v6")),
        "armv5l" | "armv5" => ("arm", Some("v5")),
        "i386" | "i486" | "i586" | "i686" | "x86" => ("386", None),
        "ppc64el" => ("ppc64le", None),
        other => (other, None),
    };
    (a.to_string(), v.map(str::to_string))
}

impl FromStr for Platform {
    type Err = PlatformError;

    /// `OS/ARCH[/VARIANT]` as `--platform` takes it.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split('/').collect();
        let ok = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        match parts.as_slice() {
            [os, arch] if ok(os) && ok(arch) => Ok(Platform::new(os, arch, None)),
            [os, arch, variant] if ok(os) && ok(arch) && ok(variant) => Ok(Platform::new(os, arch, Some(variant))),
            _ => Err(PlatformError(s.to_string())),
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(platforms: &[(&str, &str, Option<&str>)]) -> ImageIndex {
        let manifests: Vec<serde_json::Value> = platforms
            .iter()
            .enumerate()
            .map(|(i, (os, arch, variant))| {
                let mut p = serde_json::json!({"os": os, "architecture": arch});
                if let Some(v) = variant {
                    p["variant"] = serde_json::json!(v);
                }
                serde_json::json!({
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": format!("sha256:{:064x}", i),
                    "size": 100,
                    "platform": p,
                })
            })
            .collect();
        serde_json::from_value(serde_json::json!({"schemaVersion": 2, "manifests": manifests})).unwrap()
    }

    fn pick(want: &str, idx: &ImageIndex) -> Option<usize> {
        let d = want.parse::<Platform>().unwrap().select(idx).ok()?;
        idx.manifests().iter().position(|m| m.digest() == d.digest())
    }

    #[test]
    fn parses_and_normalizes() {
        assert_eq!("linux/arm64".parse::<Platform>().unwrap().to_string(), "linux/arm64/v8");
        assert_eq!("linux/aarch64".parse::<Platform>().unwrap().to_string(), "linux/arm64/v8");
        assert_eq!("linux/arm64/v8".parse::<Platform>().unwrap(), "linux/arm64".parse().unwrap());
        assert_eq!("linux/x86_64".parse::<Platform>().unwrap().to_string(), "linux/amd64");
        assert_eq!("linux/arm".parse::<Platform>().unwrap().to_string(), "linux/arm/v7");
        assert_eq!("Linux/AMD64".parse::<Platform>().unwrap().to_string(), "linux/amd64");
        for bad in ["linux", "linux/", "/amd64", "linux/amd64/v1/x", "linux/am d64", ""] {
            assert!(bad.parse::<Platform>().is_err(), "{bad:?}");
        }
        let host = Platform::host();
        assert_eq!(host.os, "linux");
        assert!(!host.architecture.contains('_'), "{host}");
    }

    #[test]
    fn selects_os_arch_and_variant() {
        let idx = index(&[
            ("linux", "amd64", None),
            ("linux", "arm", Some("v6")),
            ("linux", "arm", Some("v7")),
            ("linux", "arm64", Some("v8")),
            ("windows", "amd64", None),
        ]);
        assert_eq!(pick("linux/amd64", &idx), Some(0));
        assert_eq!(pick("linux/arm64", &idx), Some(3));
        assert_eq!(pick("linux/arm64/v8", &idx), Some(3));
        assert_eq!(pick("linux/arm/v7", &idx), Some(2));
        assert_eq!(pick("linux/arm/v6", &idx), Some(1));
        assert_eq!(pick("linux/arm/v5", &idx), None);
        assert_eq!(pick("windows/amd64", &idx), Some(4));
        assert_eq!(pick("linux/s390x", &idx), None);
    }

    #[test]
    fn arm64_without_variant_is_v8_and_arm_falls_back_to_older_variants() {
        let idx = index(&[("linux", "arm64", None), ("linux", "arm", Some("v5")), ("linux", "arm", Some("v6"))]);
        assert_eq!(pick("linux/arm64/v8", &idx), Some(0));
        assert_eq!(pick("linux/arm/v7", &idx), Some(2), "closest older variant first");
        assert_eq!(pick("linux/arm64/v9", &idx), None);
    }

    #[test]
    fn reports_what_an_index_offers() {
        let idx = index(&[("linux", "s390x", None), ("linux", "ppc64le", None)]);
        let offered = "linux/amd64".parse::<Platform>().unwrap().select(&idx).unwrap_err();
        let offered: Vec<String> = offered.iter().map(Platform::to_string).collect();
        assert_eq!(offered, ["linux/s390x", "linux/ppc64le"]);
    }
}
