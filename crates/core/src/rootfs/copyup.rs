//! runc's `tmpcopyup` mount option: a tmpfs mounted over a directory starts with a copy
//! of what the directory held (podman mounts /tmp, /run and /var/tmp that way for
//! read-only containers). The copy reads the hidden directory through a descriptor
//! opened before the mount and never follows a symlink.

use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, PermissionsExt};

use nix::dir::{Dir, Type};
use nix::errno::Errno;
use nix::fcntl::{openat, readlinkat, AtFlags, OFlag};
use nix::sys::stat::{fchmod, fstatat, mkdirat, Mode};
use nix::unistd::{fchownat, symlinkat, Gid, Uid};

const MAX_DEPTH: usize = 64;

fn chown_at(dir: BorrowedFd<'_>, name: &std::ffi::OsStr, uid: u32, gid: u32) -> nix::Result<()> {
    fchownat(dir, name, Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)), AtFlags::AT_SYMLINK_NOFOLLOW)
}

/// Copies the contents of `from` into `to` (both directories), keeping modes, owners and
/// symlinks; device nodes and sockets are not copied.
pub(super) fn copy_tree(from: BorrowedFd<'_>, to: BorrowedFd<'_>, depth: usize) -> nix::Result<()> {
    if depth > MAX_DEPTH {
        return Err(Errno::ELOOP);
    }
    let mut dir = Dir::openat(from, ".", OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())?;
    let names: Vec<(std::ffi::OsString, Option<Type>)> = dir
        .iter()
        .flatten()
        .map(|e| (std::ffi::OsStr::from_bytes_compat(e.file_name().to_bytes()), e.file_type()))
        .filter(|(n, _)| n != "." && n != "..")
        .collect();
    for (name, kind) in names {
        let st = fstatat(from, name.as_os_str(), AtFlags::AT_SYMLINK_NOFOLLOW)?;
        let mode = Mode::from_bits_truncate(st.st_mode & 0o7777);
        match kind {
            Some(Type::Directory) => {
                mkdirat(to, name.as_os_str(), mode)?;
                let src = openat(
                    from,
                    name.as_os_str(),
                    OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                    Mode::empty(),
                )?;
                let dst = openat(
                    to,
                    name.as_os_str(),
                    OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                    Mode::empty(),
                )?;
                copy_tree(src.as_fd(), dst.as_fd(), depth + 1)?;
                fchmod(dst.as_fd(), mode)?;
            }
            Some(Type::File) => {
                // Whoever can write the rootfs can swap the file for a FIFO since the listing:
                // O_NONBLOCK opens one without waiting for a writer, and only a regular file
                // is copied.
                let src = openat(
                    from,
                    name.as_os_str(),
                    OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
                    Mode::empty(),
                )?;
                if nix::sys::stat::fstat(src.as_fd())?.st_mode & libc::S_IFMT != libc::S_IFREG {
                    continue;
                }
                let dst = openat(
                    to,
                    name.as_os_str(),
                    OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                    mode,
                )?;
                let (mut src, mut dst) = (File::from(src), File::from(dst));
                std::io::copy(&mut src, &mut dst)
                    .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?;
                dst.set_permissions(std::fs::Permissions::from_mode(mode.bits())).map_err(|_| Errno::EIO)?;
            }
            Some(Type::Symlink) => {
                let target = readlinkat(from, name.as_os_str())?;
                symlinkat(target.as_os_str(), to, name.as_os_str())?;
            }
            _ => continue,
        }
        chown_at(to, name.as_os_str(), st.st_uid, st.st_gid)?;
    }
    Ok(())
}

/// Gives the new tmpfs root the hidden directory's mode and owner.
pub(super) fn copy_root_attributes(from: &OwnedFd, to: BorrowedFd<'_>) -> nix::Result<()> {
    let meta = File::from(from.try_clone().map_err(|_| Errno::EBADF)?).metadata().map_err(|_| Errno::EIO)?;
    fchmod(to, Mode::from_bits_truncate(meta.mode() & 0o7777))?;
    nix::unistd::fchown(to, Some(Uid::from_raw(meta.uid())), Some(Gid::from_raw(meta.gid())))
}

trait FromBytes {
    fn from_bytes_compat(bytes: &[u8]) -> std::ffi::OsString;
}

impl FromBytes for std::ffi::OsStr {
    fn from_bytes_compat(bytes: &[u8]) -> std::ffi::OsString {
        use std::os::unix::ffi::OsStrExt;
        std::ffi::OsStr::from_bytes(bytes).to_os_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::fcntl::open;

    #[test]
    fn a_tree_is_copied_with_links_and_modes() {
        let src = tempfile::tempdir().unwrap();
        let dst = tempfile::tempdir().unwrap();
        std::fs::create_dir(src.path().join("d")).unwrap();
        std::fs::write(src.path().join("d/f"), "hello").unwrap();
        std::fs::set_permissions(src.path().join("d/f"), std::fs::Permissions::from_mode(0o640)).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", src.path().join("link")).unwrap();
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY;
        let from = open(src.path(), flags, Mode::empty()).unwrap();
        let to = open(dst.path(), flags, Mode::empty()).unwrap();
        copy_tree(from.as_fd(), to.as_fd(), 0).unwrap();
        assert_eq!(std::fs::read_to_string(dst.path().join("d/f")).unwrap(), "hello");
        assert_eq!(std::fs::metadata(dst.path().join("d/f")).unwrap().mode() & 0o777, 0o640);
        assert_eq!(std::fs::read_link(dst.path().join("link")).unwrap(), std::path::Path::new("/etc/passwd"));
    }
}
