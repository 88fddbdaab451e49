use tscontainer_core::container;

use super::Context;
use crate::cli::Start;

pub fn run(ctx: &Context, args: Start) -> anyhow::Result<i32> {
    container::start(&ctx.store, &args.id, &ctx.roots)?;
    Ok(0)
}
