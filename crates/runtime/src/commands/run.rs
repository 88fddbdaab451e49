//! `run`: create, start, wait, delete — the lifecycle every other entry uses, composed
//! in one process that stays in the foreground as the container's supervisor.

use anyhow::bail;
use nix::unistd::Pid;
use serde_json::Value;
use tscontainer_core::cgroups::{self, CgroupManager};
use tscontainer_core::container::{self, CreateOptions, ExitStatus};
use tscontainer_core::signal::signal_name;
use tscontainer_core::syscall::LinuxSyscall;

use super::Context;
use crate::cli::Run;
use crate::logging::{self, Level};

pub fn run(ctx: &Context, args: Run) -> anyhow::Result<i32> {
    let options = CreateOptions {
        id: &args.id,
        bundle: &args.bundle,
        store: &ctx.store,
        console_socket: args.console_socket.as_deref(),
        pid_file: args.pid_file.as_deref(),
        no_pivot: args.no_pivot,
        no_new_keyring: args.no_new_keyring,
        preserve_fds: args.preserve_fds,
        foreground: !args.detach,
        cgroup_roots: &ctx.roots,
        sys: &LinuxSyscall,
    };
    if args.detach {
        let created = container::create(&options)?;
        logging::warn_all(&created.warnings);
        if created.console.is_some() {
            let _ = container::delete(&ctx.store, &args.id, true, &ctx.roots);
            bail!("cannot allocate a terminal for a detached container without --console-socket");
        }
        match container::start(&ctx.store, &args.id, &ctx.roots) {
            Ok(warnings) => logging::warn_all(&warnings),
            Err(e) => {
                let _ = container::delete(&ctx.store, &args.id, true, &ctx.roots);
                return Err(e.into());
            }
        }
        return Ok(0);
    }

    // Held from here on, so a signal during setup is forwarded once the process runs
    // instead of killing the runtime half-way.
    container::block_signals()?;
    let created = container::create(&options)?;
    logging::warn_all(&created.warnings);
    let pid = Pid::from_raw(created.state.pid.unwrap_or(0));
    let supervised =
        container::start(&ctx.store, &args.id, &ctx.roots).map_err(anyhow::Error::from).and_then(|warnings| {
            logging::warn_all(&warnings);
            Ok(container::supervise(pid, created.console, Some(&created.channel))?)
        });
    let oom_killed =
        cgroups::manager(&created.state.cgroup_path, &ctx.roots).and_then(|m| m.oom_kill_count()).is_ok_and(|n| n > 0);
    if !args.keep {
        match container::delete(&ctx.store, &args.id, true, &ctx.roots) {
            Ok(warnings) => logging::warn_all(&warnings),
            Err(e) => logging::warn(&format!("cannot delete container {}: {e}", args.id)),
        }
    }
    let outcome = supervised?;
    if let Some(failure) = outcome.exec_failure {
        return Err(tscontainer_core::Error::from(container::ContainerError::Init(failure)).into());
    }
    let (exit_code, signal) = match outcome.status {
        ExitStatus::Exited(code) => (Value::from(code), Value::Null),
        ExitStatus::Signaled(sig) => (Value::Null, Value::from(signal_name(sig))),
    };
    logging::log(
        Level::Info,
        "container exited",
        &[
            ("id", args.id.clone().into()),
            ("exitCode", exit_code),
            ("signal", signal),
            ("oomKilled", oom_killed.into()),
        ],
    );
    Ok(outcome.status.code())
}
