//! `events`: resource usage every interval and an event for each OOM kill, as JSON
//! lines, until the container stops (or one stats event with `--stats`).

use std::time::Duration;

use anyhow::{bail, Context as _};
use serde_json::json;
use tscontainer_core::cgroups::{self, CgroupManager};
use tscontainer_core::container;
use tscontainer_core::state::Status;

use super::Context;
use crate::cli::Events;

fn parse_interval(text: &str) -> anyhow::Result<Duration> {
    let (number, scale) = if let Some(ms) = text.strip_suffix("ms") {
        (ms, 1)
    } else if let Some(s) = text.strip_suffix('s') {
        (s, 1000)
    } else if let Some(m) = text.strip_suffix('m') {
        (m, 60_000)
    } else {
        (text, 1000)
    };
    let n: u64 = number.parse().with_context(|| format!("invalid --interval `{text}`: expected e.g. 5s or 500ms"))?;
    if n == 0 {
        bail!("invalid --interval `{text}`: it must be positive");
    }
    Ok(Duration::from_millis(n * scale))
}

pub fn run(ctx: &Context, args: Events) -> anyhow::Result<i32> {
    let interval = parse_interval(&args.interval)?;
    let state = ctx.store.load(&args.id)?;
    // As runc: a stopped container has no events, not even the stats of what is left.
    let status = container::live_status(&ctx.store, &state, &ctx.roots);
    if status == Status::Stopped {
        let refused = container::ContainerError::InvalidStatus { id: args.id, status, action: "report events for" };
        return Err(tscontainer_core::Error::from(refused).into());
    }
    let cgroup = cgroups::manager(&state.cgroup_path, &ctx.roots)?;
    let emit =
        |kind: &str, data: serde_json::Value| println!("{}", json!({ "type": kind, "id": args.id, "data": data }));
    if args.stats {
        emit("stats", serde_json::to_value(cgroup.stats()?)?);
        return Ok(0);
    }
    let mut ooms = cgroup.oom_kill_count().unwrap_or(0);
    loop {
        let state = ctx.store.load(&args.id)?;
        if container::live_status(&ctx.store, &state, &ctx.roots) == Status::Stopped {
            return Ok(0);
        }
        let now = cgroup.oom_kill_count().unwrap_or(ooms);
        if now > ooms {
            emit("oom", serde_json::Value::Null);
            ooms = now;
        }
        emit("stats", serde_json::to_value(cgroup.stats()?)?);
        std::thread::sleep(interval);
    }
}
