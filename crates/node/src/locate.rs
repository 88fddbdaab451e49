//! Finding the `tscontainer-runtime` executable that ships beside this addon: the
//! platform package holds both files in one directory, and so does a local build.

use std::ffi::CStr;
use std::path::PathBuf;

use tscontainer_core::error::Code;

use crate::errors::Result;

const RUNTIME: &str = "tscontainer-runtime";
pub const OVERRIDE: &str = "TSCONTAINER_RUNTIME_PATH";

/// The path of the shared object this function was loaded from.
fn addon_path() -> Option<PathBuf> {
    // SAFETY: `Dl_info` is plain data; dladdr fills it for an address inside a loaded
    // object. The address is this very function, which is in the addon.
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    // SAFETY: see above; `info` outlives the call.
    let found = unsafe { libc::dladdr(addon_path as *const libc::c_void, &mut info) };
    if found == 0 || info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: dladdr returned a NUL-terminated path owned by the dynamic loader, valid
    // while the object stays loaded (for the life of the process).
    let name = unsafe { CStr::from_ptr(info.dli_fname) };
    Some(PathBuf::from(name.to_string_lossy().into_owned()))
}

fn executable(path: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

pub fn runtime_path() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os(OVERRIDE).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(p);
        return if executable(&path) {
            Ok(path)
        } else {
            Err(napi::Error::new(
                Code::RuntimeNotFound,
                format!("{OVERRIDE} is set to {}, which is not an executable file", path.display()),
            ))
        };
    }
    let addon = addon_path().ok_or_else(|| {
        napi::Error::new(Code::RuntimeNotFound, "cannot tell where the tscontainer addon was loaded from")
    })?;
    let candidate = addon.with_file_name(RUNTIME);
    if executable(&candidate) {
        Ok(candidate)
    } else {
        Err(napi::Error::new(
            Code::RuntimeNotFound,
            format!(
                "{RUNTIME} is missing beside {}: reinstall tscontainer (its platform package carries both files) or set {OVERRIDE}",
                addon.display()
            ),
        ))
    }
}
