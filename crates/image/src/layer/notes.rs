//! What unpacking skipped or changed, one line per kind with a count and the first entry, so
//! a layer of ten thousand device nodes makes one line, not ten thousand.

use super::error::shown;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Note {
    DeviceSkipped,
    XattrNotPermitted,
    XattrUnsupported,
    OverlayXattrIgnored,
    AufsMetaSkipped,
}

impl Note {
    fn text(self) -> &'static str {
        match self {
            Note::DeviceSkipped => "device nodes skipped: the caller may not create them",
            Note::XattrNotPermitted => "extended attributes skipped: the caller may not set them",
            Note::XattrUnsupported => "extended attributes skipped: the file system does not support them",
            Note::OverlayXattrIgnored => "overlayfs attributes in the tar ignored: only whiteout entries make them",
            Note::AufsMetaSkipped => "AUFS metadata entries (.wh..wh.*) skipped",
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct Notes {
    kinds: Vec<(Note, u64, String)>,
    lines: Vec<String>,
}

impl Notes {
    pub(crate) fn add(&mut self, note: Note, entry: &[u8], detail: Option<&[u8]>) {
        if let Some(kind) = self.kinds.iter_mut().find(|(n, _, _)| *n == note) {
            kind.1 += 1;
            return;
        }
        let mut first = shown(entry);
        if let Some(detail) = detail {
            first = format!("{} on {first}", shown(detail));
        }
        self.kinds.push((note, 1, first));
    }

    /// A note of its own, said once.
    pub(crate) fn line(&mut self, text: String) {
        self.lines.push(text);
    }

    pub(crate) fn into_lines(self) -> Vec<String> {
        let mut out = self.lines;
        out.extend(
            self.kinds.into_iter().map(|(note, count, first)| format!("{count} {} (first: {first})", note.text())),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_kind() {
        let mut notes = Notes::default();
        notes.add(Note::DeviceSkipped, b"dev/null", None);
        notes.add(Note::DeviceSkipped, b"dev/zero", None);
        notes.add(Note::XattrNotPermitted, b"bin/ping", Some(b"security.capability"));
        notes.line("the layer is declared gzip but is zstd; read as zstd".into());
        assert_eq!(
            notes.into_lines(),
            [
                "the layer is declared gzip but is zstd; read as zstd",
                "2 device nodes skipped: the caller may not create them (first: dev/null)",
                "1 extended attributes skipped: the caller may not set them (first: security.capability on bin/ping)",
            ]
        );
    }
}
