//! `ps`: the container's processes, as pids or as the matching lines of ps(1).

use tscontainer_core::cgroups::{self, CgroupManager};

use super::Context;
use crate::cli::{Ps, PsFormat};
use crate::errors::CommandError;

pub fn run(ctx: &Context, args: Ps) -> anyhow::Result<i32> {
    let state = ctx.store.load(&args.id)?;
    let pids = cgroups::manager(&state.cgroup_path, &ctx.roots)?.pids()?;
    if args.format == PsFormat::Json {
        println!("{}", serde_json::to_string(&pids)?);
        return Ok(0);
    }
    let ps_args = if args.ps_args.is_empty() { vec!["-ef".to_string()] } else { args.ps_args.clone() };
    let failed = |reason: String| CommandError::Ps { args: ps_args.join(" "), reason };
    let output =
        std::process::Command::new("ps").args(&ps_args).output().map_err(|e| failed(format!("cannot run it: {e}")))?;
    if !output.status.success() {
        return Err(failed(String::from_utf8_lossy(&output.stderr).trim().to_string()).into());
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let Some(pid_column) = header.split_whitespace().position(|c| c == "PID") else {
        return Err(failed("it prints no PID column".into()).into());
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
