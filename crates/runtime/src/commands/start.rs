use tscontainer_core::container;

use super::Context;
use crate::cli::Start;

pub fn run(ctx: &Context, args: Start) -> anyhow::Result<i32> {
    let warnings = container::start(&ctx.store, &args.id, &ctx.roots)?;
    crate::logging::warn_all(&warnings);
    Ok(0)
}
