use tscontainer_core::container;

use super::Context;
use crate::cli::{Pause, Resume};

pub fn pause(ctx: &Context, args: Pause) -> anyhow::Result<i32> {
    container::pause(&ctx.store, &args.id, &ctx.roots)?;
    Ok(0)
}

pub fn resume(ctx: &Context, args: Resume) -> anyhow::Result<i32> {
    container::resume(&ctx.store, &args.id, &ctx.roots)?;
    Ok(0)
}
