//! `run`: create, start, wait, delete — the lifecycle every other entry uses, composed
//! in one process that stays in the foreground as the container's supervisor.

use anyhow::bail;
use tscontainer_core::container;

use super::{supervise, Context};
use crate::cli::Run;
use crate::logging;

pub fn run(ctx: &Context, args: Run) -> anyhow::Result<i32> {
    let id = &args.container.id;
    let options = ctx.create_options(&args.container, !args.detach);
    if args.detach {
        let created = container::create(&options)?;
        logging::warn_all(&created.warnings);
        if created.console.is_some() {
            let _ = container::delete(&ctx.store, id, true, &ctx.roots);
            bail!("cannot allocate a terminal for a detached container without --console-socket");
        }
        match container::start(&ctx.store, id, &ctx.roots) {
            Ok(warnings) => logging::warn_all(&warnings),
            Err(e) => {
                let _ = container::delete(&ctx.store, id, true, &ctx.roots);
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
    let started = container::start(&ctx.store, id, &ctx.roots).map(|w| logging::warn_all(&w)).map_err(Into::into);
    supervise::until_exit(ctx, id, created, started, args.keep, None)
}
