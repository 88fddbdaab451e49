//! The container's terminal: a pty from the container's own devpts, its slave as the
//! process's controlling terminal and stdio, its master handed to the runtime.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt};
use nix::sys::stat::Mode;
use nix::unistd::{dup2_stderr, dup2_stdin, dup2_stdout};

use super::ProcessError;

/// Opens a pty, makes its slave the controlling terminal and fds 0-2 of this process
/// (which must be a session leader), and returns the master.
pub fn open_console(uid: u32, size: Option<(u16, u16)>) -> Result<OwnedFd, ProcessError> {
    let master = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC).map_err(ProcessError::Terminal)?;
    grantpt(&master).map_err(ProcessError::Terminal)?;
    unlockpt(&master).map_err(ProcessError::Terminal)?;
    let name = ptsname_r(&master).map_err(ProcessError::Terminal)?;
    let slave = open(name.as_str(), OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(ProcessError::Terminal)?;
    nix::unistd::fchown(slave.as_fd(), Some(nix::unistd::Uid::from_raw(uid)), None).map_err(ProcessError::Terminal)?;
    if let Some((rows, cols)) = size {
        set_winsize(slave.as_fd(), rows, cols).map_err(ProcessError::Terminal)?;
    }
    // SAFETY: TIOCSCTTY takes an int argument (0: do not steal); the caller is a session
    // leader without a controlling terminal.
    Errno::result(unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCSCTTY, 0) }).map_err(ProcessError::Terminal)?;
    dup2_stdin(&slave).map_err(ProcessError::Terminal)?;
    dup2_stdout(&slave).map_err(ProcessError::Terminal)?;
    dup2_stderr(&slave).map_err(ProcessError::Terminal)?;
    // SAFETY: `into_raw_fd` hands over sole ownership of the master descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(master.into_raw_fd()) })
}

pub fn set_winsize(fd: BorrowedFd<'_>, rows: u16, cols: u16) -> nix::Result<()> {
    let ws = libc::winsize { ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCSWINSZ reads a `winsize` from the pointer, which outlives the call.
    Errno::result(unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &ws) }).map(drop)
}

/// The window size of a terminal, or None if `fd` is not one.
pub fn winsize_of(fd: BorrowedFd<'_>) -> Option<(u16, u16)> {
    // SAFETY: `winsize` is plain data; TIOCGWINSZ fills it in or fails.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: the pointer is to a live `winsize`.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) };
    (rc == 0).then_some((ws.ws_row, ws.ws_col))
}
