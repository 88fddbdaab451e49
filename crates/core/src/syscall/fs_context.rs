//! The new mount API's filesystem context (`fsopen`, `fsconfig`, `fsmount`): a filesystem
//! configured key by key and mounted detached, reachable only through the descriptor
//! `mount` returns until the caller moves it somewhere (`move_mount`) or opens files
//! through it. The one place these calls are made; [`super::LinuxSyscall`] and the
//! runtime's sealed executable (crates/runtime/src/sealed.rs) build on it.

use std::ffi::CStr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use nix::errno::Errno;

/// An open filesystem context.
pub struct FsContext(OwnedFd);

impl FsContext {
    /// A new context for a filesystem of type `fstype` (`overlay`, `tmpfs`, ...).
    pub fn open(fstype: &CStr) -> Result<FsContext, Errno> {
        // SAFETY: fsopen reads one NUL-terminated name that outlives the call.
        owned(unsafe { libc::syscall(libc::SYS_fsopen, fstype.as_ptr(), libc::FSOPEN_CLOEXEC) }).map(FsContext)
    }

    /// Sets the flag parameter `key` (`ro`, `userxattr`).
    pub fn set_flag(&self, key: &CStr) -> Result<(), Errno> {
        self.config(libc::FSCONFIG_SET_FLAG, Some(key), None)
    }

    /// Sets the string parameter `key` to `value` (`lowerdir`, `mode`).
    pub fn set_string(&self, key: &CStr, value: &CStr) -> Result<(), Errno> {
        self.config(libc::FSCONFIG_SET_STRING, Some(key), Some(value))
    }

    /// Creates the filesystem from the parameters set so far.
    pub fn create(&self) -> Result<(), Errno> {
        self.config(libc::FSCONFIG_CMD_CREATE, None, None)
    }

    /// A detached mount of the created filesystem, with `attributes` (`MOUNT_ATTR_*`).
    pub fn mount(&self, attributes: u64) -> Result<OwnedFd, Errno> {
        // SAFETY: fsmount takes the context descriptor and two integer flag sets, no pointer.
        owned(unsafe { libc::syscall(libc::SYS_fsmount, self.0.as_raw_fd(), libc::FSMOUNT_CLOEXEC, attributes) })
    }

    /// What the filesystem logged to the context (`e overlay: ...`), for the error of the
    /// step that failed; each message without its level prefix.
    pub fn log(&self) -> Vec<String> {
        let mut messages = Vec::new();
        let mut buf = [0u8; 1024];
        // The log holds at most 8 messages, one per read; a read past them fails (ENODATA).
        while messages.len() < 8 {
            match nix::unistd::read(&self.0, &mut buf) {
                Ok(n) if n > 0 => {
                    let line = String::from_utf8_lossy(&buf[..n]);
                    // Each message starts with its level: `e ` error, `w ` warning, `i ` info.
                    messages.push(line.get(2..).unwrap_or_default().trim_end().to_string());
                }
                _ => break,
            }
        }
        messages
    }

    fn config(&self, cmd: libc::fsconfig_command, key: Option<&CStr>, value: Option<&CStr>) -> Result<(), Errno> {
        let key = key.map_or(std::ptr::null(), CStr::as_ptr);
        let value = value.map_or(std::ptr::null(), CStr::as_ptr);
        // SAFETY: `key` and `value` are NUL-terminated strings that outlive the call, or NULL
        // where `cmd` takes none; fsconfig copies them and takes no other pointer.
        Errno::result(unsafe {
            libc::syscall(libc::SYS_fsconfig, self.0.as_raw_fd(), cmd, key, value, 0 as libc::c_int)
        })
        .map(drop)
    }
}

impl AsFd for FsContext {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

/// The descriptor a syscall returned, or its errno.
fn owned(rc: libc::c_long) -> Result<OwnedFd, Errno> {
    let fd = Errno::result(rc)?;
    // SAFETY: a non-negative return value of fsopen/fsmount is a descriptor the kernel just
    // opened for this process, owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}
