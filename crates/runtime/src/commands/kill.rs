use tscontainer_core::{container, signal};

use super::Context;
use crate::cli::Kill;

pub fn run(ctx: &Context, args: Kill) -> anyhow::Result<i32> {
    let sig = signal::parse_signal(&args.signal)?;
    container::kill(&ctx.store, &args.id, sig, args.all, &ctx.roots)?;
    Ok(0)
}
