//! SIGINT, SIGTERM and SIGHUP cancel a pull: the first one sets the flag the pull checks
//! between reads (it then stops, keeping nothing of what it had not finished); a second one
//! ends the process at once, which the store survives too (temporaries only).

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

pub static CANCEL: AtomicBool = AtomicBool::new(false);
static RECEIVED: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(signal: libc::c_int) {
    // Only atomics, signal(2) and raise(3): async-signal-safe.
    if CANCEL.swap(true, Ordering::SeqCst) {
        // SAFETY: restoring the default action and re-raising is async-signal-safe.
        unsafe {
            libc::signal(signal, libc::SIG_DFL);
            libc::raise(signal);
        }
    }
    RECEIVED.store(signal, Ordering::SeqCst);
}

const SIGNALS: [Signal; 3] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP];

/// Installs the handlers (SA_RESTART: a read the signal interrupts resumes, and the flag is
/// seen at the next one).
pub fn cancel_on_signals() -> nix::Result<()> {
    let action = SigAction::new(SigHandler::Handler(on_signal), SaFlags::SA_RESTART, SigSet::empty());
    for signal in SIGNALS {
        // SAFETY: the handler only touches atomics and async-signal-safe calls.
        unsafe { sigaction(signal, &action) }?;
    }
    Ok(())
}

/// The signal that canceled the operation, if one did.
pub fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}
