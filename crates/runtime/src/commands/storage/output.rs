//! The storage commands' output: one JSON object per line on stdout, each written whole
//! (pull's worker threads report progress concurrently).
//!
//! - `{"progress": EVENT}`: EVENT exactly as the addon's `onProgress` receives it;
//! - `{"result": VALUE}`: VALUE exactly as the addon's promise resolves (`null` for
//!   operations that resolve to nothing), the last line of a success, exit status 0;
//! - `{"error": {"code": "image-not-known", "message": "..."}}`: the last line of a failure,
//!   exit status 1 (128 + the signal when a signal canceled a pull).

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;
use tscontainer_image_host::view::ProgressEvent;
use tscontainer_image_host::HostError;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
enum Line<'a, T: Serialize> {
    Progress(&'a ProgressEvent),
    Result(&'a T),
    Error(&'a HostError),
}

/// Writes one line; false when stdout is gone (the reader died).
fn write<T: Serialize>(line: &Line<T>) -> bool {
    let Ok(mut text) = serde_json::to_vec(line) else { return false };
    text.push(b'\n');
    let mut out = std::io::stdout().lock();
    out.write_all(&text).and_then(|()| out.flush()).is_ok()
}

/// A progress line. A reader that has gone away cannot see the rest: the pull is canceled.
pub fn progress(event: &ProgressEvent, cancel: &AtomicBool) {
    if !write::<()>(&Line::Progress(event)) {
        cancel.store(true, Ordering::Relaxed);
    }
}

pub fn result<T: Serialize>(value: &T) {
    write(&Line::Result(value));
}

pub fn error(e: &HostError) {
    write::<()>(&Line::Error(e));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_wrap_the_addons_values() {
        let event = ProgressEvent {
            image: "r.io/a:1".into(),
            layer: "sha256:ab".into(),
            phase: "done".into(),
            done: 3,
            total: 3,
        };
        assert_eq!(
            serde_json::to_string(&Line::<()>::Progress(&event)).unwrap(),
            r#"{"progress":{"image":"r.io/a:1","layer":"sha256:ab","phase":"done","done":3,"total":3}}"#
        );
        assert_eq!(serde_json::to_string(&Line::Result(&())).unwrap(), r#"{"result":null}"#);
        let e = HostError::new(tscontainer_core::error::Code::ImageNotKnown, "image x is not in the store");
        assert_eq!(
            serde_json::to_string(&Line::<()>::Error(&e)).unwrap(),
            r#"{"error":{"code":"image-not-known","message":"image x is not in the store"}}"#
        );
    }
}
