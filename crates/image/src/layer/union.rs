//! Reading one file from a stack of unpacked layers as the overlay of them will show it,
//! before any overlay is mounted (an image's `/etc/passwd` and `/etc/group`, to resolve
//! `--user NAME`).
//!
//! Lookup follows overlayfs: a name is taken from the topmost layer that has it; a whiteout
//! (a 0:0 character device) hides it in every layer below; a directory merges with the
//! directories of the same name below it until one of them is opaque
//! (`trusted.overlay.opaque` or `user.overlay.opaque` = `y`) or a layer has a non-directory
//! there. Symlinks are followed inside the union only, as if its root were `/` (an absolute
//! target or `..` never leaves it; at most 40 links). Only a regular file is read, never a
//! FIFO or a device (checked before it is opened, and opened non-blocking all the same), and
//! never more than `max_size` bytes.

use std::ffi::{CString, OsStr};
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::rc::Rc;

use nix::errno::Errno;
use nix::fcntl::{openat, readlinkat, OFlag};
use nix::sys::stat::{fstat, Mode, SFlag};

use super::fs::MAX_SYMLINKS;
use super::fs::{fgetxattr, is_kind, lstat_at, push_components};
use super::LayerError;

/// The directories that make up one directory of the union, top layer first.
type Merged = Vec<Rc<OwnedFd>>;

/// Reads `path` (absolute in the image) from the union of `layers_top_first`, at most
/// `max_size` bytes. Ok(None) when the union has no such name (a component missing, hidden
/// by a whiteout, or not a directory).
pub fn open_in_layers(layers_top_first: &[&Path], path: &str, max_size: u64) -> Result<Option<Vec<u8>>, LayerError> {
    let failed = |e: Errno| LayerError::Lookup { path: path.to_string(), source: e.into() };
    let mut roots = Merged::new();
    for layer in layers_top_first {
        let fd = nix::fcntl::open(*layer, OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
            .map_err(|e| LayerError::Dest { op: "open", path: layer.to_path_buf(), source: e.into() })?;
        roots.push(Rc::new(fd));
    }
    let mut levels: Vec<Merged> = vec![roots];
    let mut todo: Vec<Vec<u8>> = Vec::new();
    push_components(&mut todo, path.as_bytes());
    let mut links = 0;
    while let Some(name) = todo.pop() {
        if name == b".." {
            if levels.len() > 1 {
                levels.pop();
            }
            continue;
        }
        let last = todo.is_empty();
        let current = levels.last().cloned().unwrap_or_default();
        match lookup(&current, &name).map_err(failed)? {
            Found::Nothing => return Ok(None),
            Found::Directory(merged) => levels.push(merged),
            Found::Symlink(dir) => {
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(failed(Errno::ELOOP));
                }
                let target = readlinkat(dir.as_fd(), OsStr::from_bytes(&name)).map_err(failed)?;
                if target.as_bytes().starts_with(b"/") {
                    levels.truncate(1);
                }
                push_components(&mut todo, target.as_bytes());
            }
            Found::Regular(dir) if last => return read_regular(&dir, &name, path, max_size).map(Some),
            Found::Regular(_) => return Ok(None),
            Found::Other if last => return Err(LayerError::NotRegular { path: path.to_string() }),
            Found::Other => return Ok(None),
        }
    }
    // The path named a directory (or the root).
    Err(LayerError::NotRegular { path: path.to_string() })
}

enum Found {
    Nothing,
    Directory(Merged),
    /// In this directory (of the topmost layer that has the name).
    Symlink(Rc<OwnedFd>),
    Regular(Rc<OwnedFd>),
    Other,
}

fn lookup(merged: &Merged, name: &[u8]) -> nix::Result<Found> {
    let c = CString::new(name).map_err(|_| Errno::EINVAL)?;
    let mut dirs = Merged::new();
    for dir in merged {
        let st = match lstat_at(dir.as_fd(), &c) {
            Ok(st) => st,
            Err(Errno::ENOENT) => continue,
            Err(e) => return Err(e),
        };
        let is_dir = is_kind(&st, SFlag::S_IFDIR);
        if !dirs.is_empty() && !is_dir {
            // A non-directory below a directory is hidden by it, and so is all below.
            break;
        }
        if is_kind(&st, SFlag::S_IFCHR) && st.st_rdev == 0 {
            break; // a whiteout
        }
        if is_dir {
            let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
            let fd = openat(dir.as_fd(), c.as_c_str(), flags, Mode::empty())?;
            let opaque = is_opaque(&fd)?;
            dirs.push(Rc::new(fd));
            if opaque {
                break;
            }
            continue;
        }
        return Ok(if is_kind(&st, SFlag::S_IFLNK) {
            Found::Symlink(dir.clone())
        } else if is_kind(&st, SFlag::S_IFREG) {
            Found::Regular(dir.clone())
        } else {
            Found::Other
        });
    }
    Ok(if dirs.is_empty() { Found::Nothing } else { Found::Directory(dirs) })
}

fn is_opaque(dir: &OwnedFd) -> nix::Result<bool> {
    for attr in [c"trusted.overlay.opaque", c"user.overlay.opaque"] {
        let value = fgetxattr(dir.as_fd(), attr).map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?;
        if value.as_deref() == Some(b"y") {
            return Ok(true);
        }
    }
    Ok(false)
}

fn read_regular(dir: &OwnedFd, name: &[u8], path: &str, max_size: u64) -> Result<Vec<u8>, LayerError> {
    let failed = |e: Errno| LayerError::Lookup { path: path.to_string(), source: e.into() };
    let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
    let fd = openat(dir.as_fd(), OsStr::from_bytes(name), flags, Mode::empty()).map_err(failed)?;
    let st = fstat(fd.as_fd()).map_err(failed)?;
    if !is_kind(&st, SFlag::S_IFREG) {
        return Err(LayerError::NotRegular { path: path.to_string() });
    }
    let too_large = || LayerError::FileTooLarge { path: path.to_string(), limit: max_size };
    if st.st_size as u64 > max_size {
        return Err(too_large());
    }
    let mut data = Vec::with_capacity(st.st_size as usize);
    std::fs::File::from(fd)
        .take(max_size.saturating_add(1))
        .read_to_end(&mut data)
        .map_err(|source| LayerError::Lookup { path: path.to_string(), source })?;
    if data.len() as u64 > max_size {
        return Err(too_large());
    }
    Ok(data)
}
