//! Signal dispositions around the command's execve.
//!
//! - A created container whose init is still waiting for `start` ends on a signal that
//!   would end a process (SIGTERM, SIGINT, ...), as runc's Go init does. As PID 1 of its own
//!   pid namespace the init would otherwise ignore every signal but SIGKILL: the kernel drops
//!   a default-action signal sent to a namespace's init.
//! - The command starts with SIGPIPE at its default action: the Rust runtime ignores it in
//!   the runtime, and an ignored signal stays ignored across execve.

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

/// Signals whose default action ends the process and that nothing raises synchronously
/// (faults, SIGPIPE on a write to the channel): the ones a user sends to stop a container.
const TERMINATING: [Signal; 15] = [
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGABRT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGALRM,
    Signal::SIGTERM,
    Signal::SIGSTKFLT,
    Signal::SIGXCPU,
    Signal::SIGXFSZ,
    Signal::SIGVTALRM,
    Signal::SIGPROF,
    Signal::SIGIO,
    Signal::SIGPWR,
];

extern "C" fn die(sig: libc::c_int) {
    // SAFETY: signal, sigprocmask, raise and _exit are async-signal-safe; the set is a
    // local. Raised with its default action, the signal ends the process (unless this is a
    // pid namespace's init, which the kernel does not let its own signal end): then exit
    // with the status a shell reports for it.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
        libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::raise(sig);
        libc::_exit(128 + sig);
    }
}

/// Until execve (which resets a caught signal to its default), a terminating signal ends
/// this process. Signals the runtime was started with ignored stay ignored, as they would
/// for the command (`nohup`); real-time signals are included.
pub fn end_on_terminating_signals() {
    let action = SigAction::new(SigHandler::Handler(die), SaFlags::empty(), SigSet::empty());
    for sig in TERMINATING {
        // SAFETY: `die` only makes async-signal-safe calls; the old action is restored
        // when it was SIG_IGN.
        if let Ok(old) = unsafe { sigaction(sig, &action) } {
            if matches!(old.handler(), SigHandler::SigIgn) {
                // SAFETY: restoring the disposition the process had.
                let _ = unsafe { sigaction(sig, &old) };
            }
        }
    }
    // Real-time signals have no nix `Signal`: the same, by number.
    for n in libc::SIGRTMIN()..=libc::SIGRTMAX() {
        // SAFETY: sigaction reads and writes only the local structs; `die` is as above.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(n, std::ptr::null(), &mut old) == 0 && old.sa_sigaction != libc::SIG_IGN {
                libc::signal(n, die as extern "C" fn(libc::c_int) as libc::sighandler_t);
            }
        }
    }
}

/// SIGPIPE back to its default action for the command (see the module's note).
pub fn restore_sigpipe() {
    // SAFETY: setting a standard disposition installs no handler of ours.
    let _ = unsafe { nix::sys::signal::signal(Signal::SIGPIPE, SigHandler::SigDfl) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_terminating_set_leaves_out_faults_and_the_channels_sigpipe() {
        for s in [Signal::SIGSEGV, Signal::SIGBUS, Signal::SIGFPE, Signal::SIGILL, Signal::SIGPIPE, Signal::SIGKILL] {
            assert!(!TERMINATING.contains(&s), "{s}");
        }
    }
}
