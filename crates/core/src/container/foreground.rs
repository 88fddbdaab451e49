//! Supervising a container from the foreground, as `run` does: signals sent to the
//! runtime are forwarded to the container's init, a terminal is relayed (raw mode,
//! window size), and the init's exit status is collected.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::termios::{self, SetArg, Termios};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::ContainerError;
use crate::channel::{Channel, InitFailure, Message};
use crate::process::{set_winsize, winsize_of};
use crate::Error;

/// How the container's init ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Exited(i32),
    Signaled(i32),
}

impl ExitStatus {
    /// The record a supervising runtime keeps of this ending.
    pub fn record(self, oom_killed: bool) -> crate::state::ExitRecord {
        crate::state::ExitRecord {
            exit_code: self.code(),
            signal: match self {
                ExitStatus::Signaled(s) => Some(crate::signal::signal_name(s)),
                ExitStatus::Exited(_) => None,
            },
            oom_killed,
            finished: crate::state::rfc3339(std::time::SystemTime::now()),
        }
    }

    /// The shell convention: the exit code, or 128 + the signal number.
    pub fn code(self) -> i32 {
        match self {
            ExitStatus::Exited(c) => c,
            ExitStatus::Signaled(s) => 128 + s,
        }
    }
}

pub struct Outcome {
    pub status: ExitStatus,
    /// Set when execve failed after `start`.
    pub exec_failure: Option<InitFailure>,
}

/// Signals the runtime does not forward: those the kernel raises for its own faults, and
/// those it handles itself.
const NOT_FORWARDED: [Signal; 9] = [
    Signal::SIGCHLD,
    Signal::SIGWINCH,
    Signal::SIGPIPE,
    Signal::SIGSEGV,
    Signal::SIGBUS,
    Signal::SIGFPE,
    Signal::SIGILL,
    Signal::SIGTRAP,
    Signal::SIGSYS,
];

fn supervised_set() -> SigSet {
    let mut set = SigSet::all();
    for s in [Signal::SIGSEGV, Signal::SIGBUS, Signal::SIGFPE, Signal::SIGILL, Signal::SIGTRAP, Signal::SIGSYS] {
        set.remove(s);
    }
    set
}

/// Blocks every signal the supervisor will read from a signalfd. Call it before `create`
/// so a signal that arrives while the container is being set up is held, not lost (and
/// does not kill the runtime half-way). The init unblocks them before its execve.
pub fn block_signals() -> Result<(), Error> {
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&supervised_set()), None)
        .map_err(|source| ContainerError::Wait { action: "block signals", source }.into())
}

/// Puts the caller's terminal in raw mode for the relay, and restores it when dropped.
struct RawTerminal<'a> {
    fd: BorrowedFd<'a>,
    saved: Termios,
}

impl<'a> RawTerminal<'a> {
    fn enter(fd: BorrowedFd<'a>) -> Option<Self> {
        let saved = termios::tcgetattr(fd).ok()?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        termios::tcsetattr(fd, SetArg::TCSANOW, &raw).ok()?;
        Some(RawTerminal { fd, saved })
    }
}

impl Drop for RawTerminal<'_> {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(self.fd, SetArg::TCSANOW, &self.saved);
    }
}

fn write_all(fd: BorrowedFd<'_>, mut data: &[u8]) -> nix::Result<()> {
    while !data.is_empty() {
        match nix::unistd::write(fd, data) {
            Ok(n) => data = &data[n..],
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Waits for the container's init, forwarding signals and relaying the terminal.
/// `channel` is the init channel after `start`: end-of-file means the command runs.
/// `output`, for a detached container, carries its stdout and stderr into its log: read
/// as it comes, and drained of what is left once the init has ended.
pub fn supervise(
    pid: Pid,
    console: Option<OwnedFd>,
    channel: Option<&Channel>,
    mut output: Option<&mut crate::output::Relay>,
) -> Result<Outcome, Error> {
    let wait_err = |action| move |source| ContainerError::Wait { action, source };
    let signals = SignalFd::with_flags(&supervised_set(), SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .map_err(wait_err("read signals"))?;
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let _raw = console.as_ref().and_then(|_| RawTerminal::enter(stdin.as_fd()));
    if let Some(master) = &console {
        if let Some((rows, cols)) = winsize_of(stdin.as_fd()).or_else(|| winsize_of(stdout.as_fd())) {
            let _ = set_winsize(master.as_fd(), rows, cols);
        }
    }

    let mut status = None;
    let mut exec_failure = None;
    let mut channel_open = channel.is_some();
    let mut stdin_open = console.is_some();
    let mut master_open = console.is_some();
    let mut buf = vec![0u8; 32 * 1024];
    while status.is_none() || master_open {
        let mut fds = vec![PollFd::new(signals.as_fd(), PollFlags::POLLIN)];
        let channel_index = channel.filter(|_| channel_open).map(|c| {
            fds.push(PollFd::new(c.as_fd(), PollFlags::POLLIN));
            fds.len() - 1
        });
        let master_index = console.as_ref().filter(|_| master_open).map(|m| {
            fds.push(PollFd::new(m.as_fd(), PollFlags::POLLIN));
            fds.len() - 1
        });
        let stdin_index = (stdin_open && status.is_none()).then(|| {
            fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
            fds.len() - 1
        });
        let output_index = output.as_deref().filter(|o| o.is_open()).map(|o| {
            fds.push(PollFd::new(o.as_fd(), PollFlags::POLLIN));
            fds.len() - 1
        });
        // Once the init is gone, only drain what is left on the terminal.
        let timeout = if status.is_some() { PollTimeout::from(100u16) } else { PollTimeout::NONE };
        match poll(&mut fds, timeout) {
            Ok(0) if status.is_some() => break,
            Ok(_) => {}
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(wait_err("poll")(e).into()),
        }
        let ready = |i: Option<usize>| i.and_then(|i| fds[i].revents()).is_some_and(|r| !r.is_empty());
        let (sig_ready, ch_ready, m_ready, in_ready) =
            (ready(Some(0)), ready(channel_index), ready(master_index), ready(stdin_index));
        let out_ready = ready(output_index);
        drop(fds);
        if out_ready {
            if let Some(relay) = output.as_deref_mut() {
                // A log that cannot be written loses output, not the container.
                let _ = relay.pump();
            }
        }

        if sig_ready {
            while let Ok(Some(info)) = signals.read_signal() {
                let signo = info.ssi_signo as i32;
                match Signal::try_from(signo) {
                    Ok(Signal::SIGCHLD) => {
                        while let Ok(ws) = waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                            match ws {
                                WaitStatus::Exited(p, code) if p == pid => status = Some(ExitStatus::Exited(code)),
                                WaitStatus::Signaled(p, sig, _) if p == pid => {
                                    status = Some(ExitStatus::Signaled(sig as i32))
                                }
                                WaitStatus::StillAlive => break,
                                _ => {}
                            }
                        }
                    }
                    Ok(Signal::SIGWINCH) => {
                        if let (Some(master), Some((rows, cols))) = (&console, winsize_of(stdin.as_fd())) {
                            let _ = set_winsize(master.as_fd(), rows, cols);
                        }
                    }
                    Ok(s) if NOT_FORWARDED.contains(&s) => {}
                    _ if status.is_none() => {
                        // SAFETY: kill(2) with plain integers; real-time signals have no
                        // nix `Signal`, so the number is passed as is.
                        unsafe { libc::kill(pid.as_raw(), signo) };
                    }
                    _ => {}
                }
            }
        }
        if ch_ready {
            if let Some(c) = channel {
                match c.recv() {
                    Ok(Some((Message::Failed(f), _))) => exec_failure = Some(f),
                    _ => channel_open = false,
                }
            }
        }
        if m_ready {
            if let Some(master) = &console {
                match nix::unistd::read(master.as_fd(), &mut buf) {
                    Ok(0) | Err(Errno::EIO) => master_open = false,
                    Ok(n) => {
                        let _ = write_all(stdout.as_fd(), &buf[..n]);
                    }
                    Err(Errno::EINTR) | Err(Errno::EAGAIN) => {}
                    Err(_) => master_open = false,
                }
            }
        }
        if in_ready {
            if let Some(master) = &console {
                match nix::unistd::read(stdin.as_fd(), &mut buf) {
                    Ok(0) | Err(Errno::EIO) => {
                        // End of input: ^D tells the program on the terminal, as a user would.
                        let _ = write_all(master.as_fd(), &[4]);
                        stdin_open = false;
                    }
                    Ok(n) => {
                        let _ = write_all(master.as_fd(), &buf[..n]);
                    }
                    Err(Errno::EINTR) | Err(Errno::EAGAIN) => {}
                    Err(_) => stdin_open = false,
                }
            }
        }
        if console.is_none() && status.is_some() {
            break;
        }
    }
    let status = status.ok_or(ContainerError::InitDied("its exit status was lost".into()))?;
    if let Some(relay) = output {
        // What the container wrote before it ended; processes it left behind (without a pid
        // namespace of its own) are not waited for.
        let _ = relay.pump();
    }
    Ok(Outcome { status, exec_failure })
}
