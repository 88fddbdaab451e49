//! CVE-2019-5736: a process inside a container can reach the runtime's executable through
//! `/proc/<pid>/exe` of a runtime process that entered the container (the init before
//! its execve, an `exec`'s child), and overwrite the host's binary once that process is
//! gone. Commands that put processes into containers therefore run from a sealed
//! in-memory copy of this executable: `/proc/<pid>/exe` then names a memfd that can
//! never be written again.

use std::ffi::CString;
use std::fs::File;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;

use nix::fcntl::{fcntl, FcntlArg, SealFlag};
use nix::sys::memfd::{memfd_create, MFdFlags};

const NAME: &str = "tscontainer-runtime";

/// Whether this process already runs from the sealed copy.
fn sealed() -> bool {
    std::fs::read_link("/proc/self/exe")
        .is_ok_and(|p| p.as_os_str().as_bytes().starts_with(format!("/memfd:{NAME}").as_bytes()))
}

/// Re-executes this process, same arguments and environment, from a sealed copy of its
/// executable. Returns only if that is impossible (the caller carries on unprotected and
/// says so) or already done.
pub fn reexec() -> Result<(), String> {
    if sealed() {
        return Ok(());
    }
    let fail = |what: &str, e: &dyn std::fmt::Display| format!("cannot {what}: {e}");
    let mut exe = File::open("/proc/self/exe").map_err(|e| fail("open /proc/self/exe", &e))?;
    let memfd = memfd_create(NAME, MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING)
        .map_err(|e| fail("create a memfd", &e))?;
    let mut copy = File::from(memfd);
    std::io::copy(&mut exe, &mut copy).map_err(|e| fail("copy the executable", &e))?;
    let seals = SealFlag::F_SEAL_SEAL | SealFlag::F_SEAL_SHRINK | SealFlag::F_SEAL_GROW | SealFlag::F_SEAL_WRITE;
    fcntl(&copy, FcntlArg::F_ADD_SEALS(seals)).map_err(|e| fail("seal the copy", &e))?;
    let args: Vec<CString> = std::env::args_os().filter_map(|a| CString::new(a.as_bytes()).ok()).collect();
    let env: Vec<CString> = std::env::vars_os()
        .filter_map(|(k, v)| CString::new([k.as_bytes(), b"=", v.as_bytes()].concat()).ok())
        .collect();
    // Only returns on failure.
    let err = nix::unistd::fexecve(copy.as_fd(), &args, &env).unwrap_err();
    Err(fail("run the sealed copy", &err))
}
