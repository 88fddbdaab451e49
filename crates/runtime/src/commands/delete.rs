use tscontainer_core::container;

use super::Context;
use crate::cli::Delete;

pub fn run(ctx: &Context, args: Delete) -> anyhow::Result<i32> {
    container::delete(&ctx.store, &args.id, args.force, &ctx.roots)?;
    Ok(0)
}
