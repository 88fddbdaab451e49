use tscontainer_core::container;

use super::Context;
use crate::cli::Delete;

pub fn run(ctx: &Context, args: Delete) -> anyhow::Result<i32> {
    let warnings = container::delete(&ctx.store, &args.id, args.force, &ctx.roots)?;
    crate::logging::warn_all(&warnings);
    Ok(0)
}
