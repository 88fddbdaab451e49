//! `run`: create, start, wait, delete — the lifecycle every other entry uses, composed
//! in one process that stays in the foreground as the container's supervisor.

use anyhow::bail;
use tscontainer_core::container::{self, CreateOptions};
use tscontainer_core::syscall::LinuxSyscall;

use super::{supervise, Context};
use crate::cli::Run;
use crate::logging;

pub fn run(ctx: &Context, args: Run) -> anyhow::Result<i32> {
    let options = CreateOptions {
        id: &args.id,
        bundle: &args.bundle,
        store: &ctx.store,
        console_socket: args.console_socket.as_deref(),
        pid_file: args.pid_file.as_deref(),
        no_pivot: args.no_pivot,
        no_new_keyring: args.no_new_keyring,
        preserve_fds: args.preserve_fds,
        foreground: !args.detach,
        cgroup_roots: &ctx.roots,
        sys: &LinuxSyscall,
    };
    if args.detach {
        let created = container::create(&options)?;
        logging::warn_all(&created.warnings);
        if created.console.is_some() {
            let _ = container::delete(&ctx.store, &args.id, true, &ctx.roots);
            bail!("cannot allocate a terminal for a detached container without --console-socket");
        }
        match container::start(&ctx.store, &args.id, &ctx.roots) {
            Ok(warnings) => logging::warn_all(&warnings),
            Err(e) => {
                let _ = container::delete(&ctx.store, &args.id, true, &ctx.roots);
                return Err(e.into());
            }
        }
        return Ok(0);
    }

    // Held from here on, so a signal during setup is forwarded once the process runs
    // instead of killing the runtime half-way.
    container::block_signals()?;
    let created = container::create(&options)?;
    logging::warn_all(&created.warnings);
    let started = container::start(&ctx.store, &args.id, &ctx.roots).map(|w| logging::warn_all(&w)).map_err(Into::into);
    supervise::until_exit(ctx, &args.id, created, started, args.keep)
}
