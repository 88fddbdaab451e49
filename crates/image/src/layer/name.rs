//! Entry names: every name a layer holds is made relative to the layer's root, with `.` and
//! empty components dropped; a `..` anywhere refuses the entry (no tar writer that layers
//! come from emits one; podman refuses those that climb out, containerd cleans them away).

use std::ffi::CString;

/// A normalized name: components joined by `/`, no leading `/`, empty for the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Name {
    path: Vec<u8>,
    /// Where the last component starts.
    base_at: usize,
}

impl Name {
    pub(crate) fn parse(raw: &[u8]) -> Result<Name, &'static str> {
        if raw.contains(&0) {
            return Err("its name holds a NUL byte");
        }
        let mut path = Vec::with_capacity(raw.len());
        let mut base_at = 0;
        for component in raw.split(|b| *b == b'/') {
            match component {
                b"" | b"." => {}
                b".." => return Err("its name contains `..`"),
                _ => {
                    if !path.is_empty() {
                        path.push(b'/');
                    }
                    base_at = path.len();
                    path.extend_from_slice(component);
                }
            }
        }
        Ok(Name { path, base_at })
    }

    pub(crate) fn is_root(&self) -> bool {
        self.path.is_empty()
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.path
    }

    /// The parent's path, empty for an entry at the root.
    pub(crate) fn parent(&self) -> &[u8] {
        &self.path[..self.base_at.saturating_sub(1)]
    }

    pub(crate) fn base(&self) -> &[u8] {
        &self.path[self.base_at..]
    }

    pub(crate) fn base_cstring(&self) -> CString {
        // parse() refused NUL bytes.
        CString::new(self.base()).unwrap_or_default()
    }

    pub(crate) fn components(&self) -> impl Iterator<Item = &[u8]> {
        self.path.split(|b| *b == b'/').filter(|c| !c.is_empty())
    }
}

pub(crate) const WHITEOUT_PREFIX: &[u8] = b".wh.";
pub(crate) const WHITEOUT_META_PREFIX: &[u8] = b".wh..wh.";
pub(crate) const OPAQUE_MARKER: &[u8] = b".wh..wh..opq";

/// What the image spec makes of an entry's last component.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Whiteout<'a> {
    /// An ordinary entry.
    None,
    /// `.wh..wh..opq`: the parent directory hides everything below it.
    Opaque,
    /// `.wh.NAME`: NAME is removed from the layers below.
    Remove(&'a [u8]),
    /// Another `.wh..wh.` name: AUFS's own bookkeeping (hard link directories), not content.
    AufsMeta,
}

impl Name {
    pub(crate) fn whiteout(&self) -> Result<Whiteout<'_>, &'static str> {
        if self.components().any(|c| c.starts_with(WHITEOUT_META_PREFIX) && c != OPAQUE_MARKER) {
            return Ok(Whiteout::AufsMeta);
        }
        let base = self.base();
        if base == OPAQUE_MARKER {
            return Ok(Whiteout::Opaque);
        }
        match base.strip_prefix(WHITEOUT_PREFIX) {
            None => Ok(Whiteout::None),
            Some(b"" | b"." | b"..") => Err("it is a whiteout of no name"),
            Some(name) => Ok(Whiteout::Remove(name)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_made_relative() {
        let n = Name::parse(b"/usr//bin/./ls").unwrap();
        assert_eq!(n.as_bytes(), b"usr/bin/ls");
        assert_eq!(n.parent(), b"usr/bin");
        assert_eq!(n.base(), b"ls");
        let n = Name::parse(b"./etc/").unwrap();
        assert_eq!((n.as_bytes(), n.parent(), n.base()), (&b"etc"[..], &b""[..], &b"etc"[..]));
        assert!(Name::parse(b"./").unwrap().is_root());
        assert!(Name::parse(b"/").unwrap().is_root());
    }

    #[test]
    fn dot_dot_and_nul_are_refused() {
        for bad in [&b"../etc/passwd"[..], b"a/../../b", b"a/..", b"/..", b"a\0b"] {
            assert!(Name::parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        assert!(Name::parse(b"a/..b/c..").is_ok());
    }

    #[test]
    fn whiteouts() {
        let w = |s: &[u8]| Name::parse(s).unwrap().whiteout().map(|w| format!("{w:?}"));
        assert_eq!(w(b"etc/.wh.passwd").unwrap(), format!("{:?}", Whiteout::Remove(b"passwd")));
        assert_eq!(w(b"etc/.wh..wh..opq").unwrap(), "Opaque");
        assert_eq!(w(b".wh..wh.plnk/123").unwrap(), "AufsMeta");
        assert_eq!(w(b".wh..wh.aufs").unwrap(), "AufsMeta");
        assert_eq!(w(b"etc/passwd").unwrap(), "None");
        assert!(w(b"etc/.wh.").is_err());
        assert!(w(b"etc/.wh..").is_err());
        assert!(w(b"etc/.wh...").is_err());
    }
}
