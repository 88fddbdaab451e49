use tscontainer_core::container;

use super::{supervise, Context};
use crate::cli::Create;

pub fn run(ctx: &Context, args: Create) -> anyhow::Result<i32> {
    if args.supervise {
        container::block_signals()?;
    }
    let created = container::create(&ctx.create_options(&args.container, args.supervise))?;
    crate::logging::warn_all(&created.warnings);
    if args.supervise {
        return supervise::until_exit(ctx, &args.container.id, created, Ok(()), !args.rm);
    }
    Ok(0)
}
