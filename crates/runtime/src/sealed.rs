//! CVE-2019-5736: a process inside a container can reach the runtime's executable through
//! `/proc/<pid>/exe` of a runtime process that entered the container (the init before
//! its execve, an `exec`'s child), and overwrite the host's binary once that process is
//! gone. Commands that put processes into containers therefore re-execute themselves
//! from an executable that cannot be written through that link, before doing anything.
//!
//! Two ways, the cheap one first (the order runc 1.2 uses):
//!
//! 1. **A read-only overlayfs view** of the executable's directory, mounted detached
//!    (`fsopen`/`fsmount`: in no mount table, gone with its last reference). An overlay
//!    without an upper layer cannot be written at all, and the mount is read-only too,
//!    so opening `/proc/<pid>/exe` for writing fails with EROFS. It costs one superblock,
//!    not a copy of the binary.
//! 2. **A sealed memfd copy** of the executable (kernels without the new mount API, or
//!    without overlayfs): `/proc/<pid>/exe` names a memfd that can never be written again.
//!
//! Either way the process then runs from an executable on a read-only overlayfs mount or
//! a sealed memfd, which is what [`protected`] checks, so the re-executed process does
//! not loop.

use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, SealFlag};
use nix::sys::memfd::{memfd_create, MFdFlags};
use nix::sys::statfs::{statfs, OVERLAYFS_SUPER_MAGIC};
use nix::sys::statvfs::FsFlags;
use tscontainer_core::syscall::fs_context::FsContext;

const NAME: &str = "tscontainer-runtime";
const SEALS: SealFlag =
    SealFlag::F_SEAL_SEAL.union(SealFlag::F_SEAL_SHRINK).union(SealFlag::F_SEAL_GROW).union(SealFlag::F_SEAL_WRITE);

/// Whether this process already runs from an executable nobody can write: a file on a
/// read-only overlayfs mount (ours), or a memfd whose write seal is set.
fn protected() -> bool {
    let on_read_only_overlay = statfs("/proc/self/exe")
        .is_ok_and(|s| s.filesystem_type() == OVERLAYFS_SUPER_MAGIC && s.flags().contains(FsFlags::ST_RDONLY));
    if on_read_only_overlay {
        return true;
    }
    // A memfd is only safe once sealed; opening /proc/self/exe read-only gives the same
    // file, whose seals tell.
    File::open("/proc/self/exe").is_ok_and(|exe| {
        fcntl(&exe, FcntlArg::F_GET_SEALS)
            .is_ok_and(|seals| SealFlag::from_bits_truncate(seals).contains(SealFlag::F_SEAL_WRITE))
    })
}

/// Re-executes this process, same arguments and environment, from a protected view of
/// its executable. Returns only if that is impossible (the caller carries on unprotected
/// and says so) or already done.
pub fn reexec(state_root: &Path) -> Result<(), String> {
    if protected() {
        return Ok(());
    }
    let exe = match overlay_view(state_root) {
        Ok(fd) => fd,
        Err(overlay) => sealed_copy().map_err(|copy| format!("{overlay}; and {copy}"))?,
    };
    let args: Vec<CString> = std::env::args_os().filter_map(|a| CString::new(a.as_bytes()).ok()).collect();
    let env: Vec<CString> = std::env::vars_os()
        .filter_map(|(k, v)| CString::new([k.as_bytes(), b"=", v.as_bytes()].concat()).ok())
        .collect();
    // Only returns on failure.
    let err = nix::unistd::execveat(exe.as_fd(), c"", &args, &env, nix::fcntl::AtFlags::AT_EMPTY_PATH)
        .err()
        .unwrap_or(Errno::UnknownErrno);
    Err(format!("cannot run the protected executable: {err}"))
}

/// An `O_PATH` descriptor of this executable seen through a detached, read-only overlayfs
/// mount of its directory.
fn overlay_view(state_root: &Path) -> Result<OwnedFd, String> {
    let fail = |what: &str, e: Errno| format!("cannot {what}: {e}");
    let path = std::fs::read_link("/proc/self/exe").map_err(|e| format!("cannot read /proc/self/exe: {e}"))?;
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(format!("unexpected executable path {}", path.display()));
    };
    let context = FsContext::open(c"overlay").map_err(|e| fail("open an overlayfs context", e))?;
    let lower = lower_dirs(dir, state_root)?;
    context.set_string(c"lowerdir", &lower).map_err(|e| fail("set the overlay's layers", e))?;
    // Inode number translation only matters to programs comparing inodes; off, it never
    // fills the kernel log with warnings when the layers sit on different filesystems.
    let _ = context.set_string(c"xino", c"off");
    context.create().map_err(|e| fail("create the overlay", e))?;
    let attributes = libc::MOUNT_ATTR_RDONLY | libc::MOUNT_ATTR_NODEV | libc::MOUNT_ATTR_NOSUID;
    let mount = context.mount(attributes).map_err(|e| fail("mount the overlay", e))?;
    let name = CString::new(name.as_bytes()).map_err(|e| e.to_string())?;
    nix::fcntl::openat(
        mount.as_fd(),
        name.as_c_str(),
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| fail("open the executable through the overlay", e))
}

/// `lowerdir=` for the executable's directory, escaped as overlayfs parses it, over a
/// second layer, which overlayfs requires when there is no upper one: the runtime's state
/// root (as runc uses its own), which exists once a container has been created there.
/// Only the executable is ever opened through the overlay, and the executable's layer is
/// on top, so whatever else the second layer holds is never seen.
fn lower_dirs(dir: &Path, second: &Path) -> Result<CString, String> {
    if !second.is_dir() {
        return Err(format!("no state root {} to serve as the overlay's second layer yet", second.display()));
    }
    let mut value = escape_layer(dir.as_os_str().as_bytes());
    value.push(b':');
    value.extend(escape_layer(second.as_os_str().as_bytes()));
    CString::new(value).map_err(|e| e.to_string())
}

/// overlayfs splits `lowerdir` at `:` and treats `\` as an escape.
fn escape_layer(path: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(path.len());
    for &b in path {
        if b == b':' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out
}

/// A sealed in-memory copy of this executable.
fn sealed_copy() -> Result<OwnedFd, String> {
    let fail = |what: &str, e: &dyn std::fmt::Display| format!("cannot {what}: {e}");
    let mut exe = File::open("/proc/self/exe").map_err(|e| fail("open /proc/self/exe", &e))?;
    let memfd = memfd_create(NAME, MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING)
        .map_err(|e| fail("create a memfd", &e))?;
    let mut copy = File::from(memfd);
    std::io::copy(&mut exe, &mut copy).map_err(|e| fail("copy the executable", &e))?;
    fcntl(&copy, FcntlArg::F_ADD_SEALS(SEALS)).map_err(|e| fail("seal the copy", &e))?;
    Ok(copy.into())
}

#[cfg(test)]
mod tests {
    use super::escape_layer;

    #[test]
    fn layer_paths_escape_colons_and_backslashes() {
        assert_eq!(escape_layer(b"/usr/bin"), b"/usr/bin".to_vec());
        assert_eq!(escape_layer(b"/a:b\\c"), b"/a\\:b\\\\c".to_vec());
    }
}
