use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use tscontainer_core::{container, passwd};

use super::Context;
use crate::cli::{List, ListFormat};

pub fn run(ctx: &Context, args: List) -> anyhow::Result<i32> {
    let mut reports = Vec::new();
    for id in ctx.store.list()? {
        // A container whose directory holds no readable state is being created or was
        // abandoned mid-create; `list` shows what it can read, as runc does.
        if let Ok(mut r) = container::state(&ctx.store, &id, &ctx.roots) {
            r.owner = ctx.store.open(&id).map(|dir| owner(dir.path())).unwrap_or_default();
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
                    r.owner
                );
            }
        }
    }
    Ok(0)
}

/// Who owns a container, as runc's `list` says: the name of the user owning its state
/// directory in the host's /etc/passwd, or `#UID` when it has none.
fn owner(dir: &Path) -> String {
    let Ok(uid) = std::fs::metadata(dir).map(|m| m.uid()) else { return String::new() };
    let users = std::fs::File::open("/").ok().and_then(|root| passwd::users(root.as_fd()).ok()).unwrap_or_default();
    users.into_iter().find(|u| u.uid == uid).map_or_else(|| format!("#{uid}"), |u| u.name)
}
