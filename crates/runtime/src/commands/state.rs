use tscontainer_core::container;

use super::Context;
use crate::cli::State;

pub fn run(ctx: &Context, args: State) -> anyhow::Result<i32> {
    let report = container::state(&ctx.store, &args.id, &ctx.roots)?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(0)
}
