//! `exec`: maps runc's flags onto a process spec (the container's own process as the
//! base, as runc does) and runs it in the container.

use std::collections::HashSet;

use nix::unistd::Pid;
use oci_spec::runtime::{Capability, Process};
use tscontainer_core::container::{self, ExecOptions};
use tscontainer_core::oci_spec;
use tscontainer_core::syscall::LinuxSyscall;

use super::Context;
use crate::cli::Exec;
use crate::errors::CommandError;

fn parse_user(text: &str) -> Result<(u32, Option<u32>), CommandError> {
    let bad = |_| CommandError::InvalidFlag { flag: "--user", value: text.to_string(), reason: "expected uid[:gid]" };
    let (uid, gid) = match text.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (text, None),
    };
    Ok((uid.parse().map_err(bad)?, gid.map(str::parse).transpose().map_err(bad)?))
}

/// The process `exec` runs: --process as given, or the container's process with the
/// command line's changes.
fn process(ctx: &Context, args: &Exec) -> anyhow::Result<Process> {
    if let Some(path) = &args.process {
        let what = path.display().to_string();
        let text = std::fs::read(path).map_err(|source| CommandError::Read { what: what.clone(), source })?;
        return Ok(serde_json::from_slice(&text).map_err(|source| CommandError::Parse {
            what,
            expected: "a valid process spec",
            source,
        })?);
    }
    if args.command.is_empty() {
        return Err(CommandError::Usage("exec needs a command to run, or --process").into());
    }
    let state = ctx.store.load(&args.id)?;
    let mut p = state.config.process().clone().unwrap_or_default();
    p.set_args(Some(args.command.clone()));
    p.set_terminal(Some(args.tty));
    if let Some(cwd) = &args.cwd {
        p.set_cwd(cwd.clone());
    }
    let mut env = p.env().clone().unwrap_or_default();
    for entry in &args.env {
        let key = entry.split_once('=').map_or(entry.as_str(), |(k, _)| k);
        env.retain(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) != key);
        env.push(entry.clone());
    }
    p.set_env(Some(env));
    if let Some(user) = &args.user {
        let (uid, gid) = parse_user(user)?;
        p.user_mut().set_uid(uid);
        if let Some(gid) = gid {
            p.user_mut().set_gid(gid);
        }
    }
    if !args.additional_gids.is_empty() {
        p.user_mut().set_additional_gids(Some(args.additional_gids.clone()));
    }
    if args.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    if !args.cap.is_empty() {
        let added: HashSet<Capability> = args
            .cap
            .iter()
            .map(|c| c.parse::<Capability>().or_else(|_| c.trim_start_matches("CAP_").parse::<Capability>()))
            .collect::<Result<_, _>>()
            .map_err(|_| CommandError::InvalidFlag {
                flag: "--cap",
                value: args.cap.join(","),
                reason: "not a Linux capability",
            })?;
        let mut caps = p.capabilities().clone().unwrap_or_default();
        let extend =
            |set: Option<&HashSet<Capability>>| set.cloned().unwrap_or_default().union(&added).copied().collect();
        caps.set_bounding(Some(extend(caps.bounding().as_ref())));
        caps.set_effective(Some(extend(caps.effective().as_ref())));
        caps.set_permitted(Some(extend(caps.permitted().as_ref())));
        p.set_capabilities(Some(caps));
    }
    Ok(p)
}

pub fn run(ctx: &Context, args: Exec) -> anyhow::Result<i32> {
    let process = process(ctx, &args)?;
    if process.terminal() == Some(true) && args.detach && args.console_socket.is_none() {
        return Err(
            CommandError::Usage("cannot allocate a terminal for a detached exec without --console-socket").into()
        );
    }
    if !args.detach {
        container::block_signals()?;
    }
    let execed = container::exec(&ExecOptions {
        id: &args.id,
        store: &ctx.store,
        process: &process,
        console_socket: args.console_socket.as_deref(),
        pid_file: args.pid_file.as_deref(),
        preserve_fds: args.preserve_fds,
        foreground: !args.detach,
        cgroup_roots: &ctx.roots,
        sys: &LinuxSyscall,
    })?;
    if args.detach {
        // Report an execve failure instead of returning before it happens.
        if let Some((tscontainer_core::channel::Message::Failed(f), _)) = execed.channel.recv()? {
            return Err(tscontainer_core::Error::from(container::ContainerError::Init(f)).into());
        }
        return Ok(0);
    }
    let outcome =
        container::supervise(Pid::from_raw(execed.pid.as_raw()), execed.console, Some(&execed.channel), None)?;
    if let Some(failure) = outcome.exec_failure {
        return Err(tscontainer_core::Error::from(container::ContainerError::Init(failure)).into());
    }
    super::supervise::log_exit("process exited", &args.id, outcome.status, false);
    Ok(outcome.status.code())
}
