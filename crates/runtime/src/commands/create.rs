use std::os::fd::{AsRawFd, OwnedFd};

use tscontainer_core::container;
use tscontainer_core::output::{Limits, OutputLog, Relay};

use super::{supervise, Context};
use crate::cli::Create;

pub fn run(ctx: &Context, args: Create) -> anyhow::Result<i32> {
    if args.supervise {
        container::block_signals()?;
    }
    let relay = match &args.output {
        Some(path) => {
            let limits = Limits::parse(args.output_max_size.as_deref(), args.output_max_files.as_deref())?;
            Some(Relay::new(OutputLog::open(path, limits)?)?)
        }
        None => None,
    };
    let created = match &relay {
        // The container's init inherits this process's stdout and stderr: for the clone they
        // are the pipe into the log, then /dev/null again, so that only the container's
        // processes hold the pipe and its end means they are all gone.
        Some((_, writer)) => {
            let null = OwnedFd::from(std::fs::OpenOptions::new().write(true).open("/dev/null")?);
            redirect_stdout_and_stderr(writer)?;
            let created = container::create(&ctx.create_options(&args.container, args.supervise));
            redirect_stdout_and_stderr(&null)?;
            created?
        }
        None => container::create(&ctx.create_options(&args.container, args.supervise))?,
    };
    let mut pipe = relay.map(|(pipe, writer)| {
        drop(writer);
        pipe
    });
    crate::logging::warn_all(&created.warnings);
    if args.supervise {
        return supervise::until_exit(ctx, &args.container.id, created, Ok(()), !args.rm, pipe.as_mut());
    }
    Ok(0)
}

fn redirect_stdout_and_stderr(to: &OwnedFd) -> std::io::Result<()> {
    for fd in [1, 2] {
        // SAFETY: dup2 onto the standard descriptors from one this function borrows; no
        // Rust object owns 1 and 2 beyond std's handles, which only ever write to them.
        if unsafe { libc::dup2(to.as_raw_fd(), fd) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}
