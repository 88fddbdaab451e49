//! `ps`: the container's processes, as pids or as the matching lines of ps(1).

use anyhow::{bail, Context as _};
use tscontainer_core::cgroups::{self, CgroupManager};

use super::Context;
use crate::cli::{Ps, PsFormat};

pub fn run(ctx: &Context, args: Ps) -> anyhow::Result<i32> {
    let state = ctx.store.load(&args.id)?;
    let pids = cgroups::manager(&state.cgroup_path, &ctx.roots)?.pids()?;
    if args.format == PsFormat::Json {
        println!("{}", serde_json::to_string(&pids)?);
        return Ok(0);
    }
    let ps_args = if args.ps_args.is_empty() { vec!["-ef".to_string()] } else { args.ps_args.clone() };
    let output = std::process::Command::new("ps").args(&ps_args).output().context("cannot run ps")?;
    if !output.status.success() {
        bail!("ps {}: {}", ps_args.join(" "), String::from_utf8_lossy(&output.stderr).trim());
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let Some(pid_column) = header.split_whitespace().position(|c| c == "PID") else {
        bail!("ps {} prints no PID column", ps_args.join(" "));
    };
    println!("{header}");
    for line in lines {
        let pid = line.split_whitespace().nth(pid_column).and_then(|p| p.parse::<i32>().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            println!("{line}");
        }
    }
    Ok(0)
}
