use tscontainer_core::container;

use super::Context;
use crate::cli::{List, ListFormat};

pub fn run(ctx: &Context, args: List) -> anyhow::Result<i32> {
    let mut reports = Vec::new();
    for id in ctx.store.list()? {
        // A container whose directory holds no readable state is being created or was
        // abandoned mid-create; `list` shows what it can read, as runc does.
        if let Ok(r) = container::state(&ctx.store, &id, &ctx.roots) {
            reports.push(r);
        }
    }
    if args.quiet {
        for r in &reports {
            println!("{}", r.id);
        }
        return Ok(0);
    }
    match args.format {
        ListFormat::Json => println!("{}", serde_json::to_string(&reports)?),
        ListFormat::Table => {
            println!("{:<20} {:<8} {:<10} {:<40} {:<31} OWNER", "ID", "PID", "STATUS", "BUNDLE", "CREATED");
            for r in &reports {
                println!(
                    "{:<20} {:<8} {:<10} {:<40} {:<31} {}",
                    r.id,
                    r.pid,
                    r.status.to_string(),
                    r.bundle.display(),
                    r.created,
                    if r.owner.is_empty() { "root" } else { &r.owner }
                );
            }
        }
    }
    Ok(0)
}
