//! Staying with a container until its process ends: what `run` does in the foreground,
//! what `create --supervise` does for a container someone else starts, and what `exec`
//! does for its process. The outcome goes to the log as one machine-readable entry.

use nix::unistd::Pid;
use serde_json::Value;
use tscontainer_core::cgroups::{self, CgroupManager};
use tscontainer_core::container::{self, ContainerError, Created, ExitStatus};
use tscontainer_core::output::Relay;
use tscontainer_core::signal::signal_name;

use super::Context;
use crate::logging::{self, Level};

/// Logs how a process ended: `{"msg": what, "exitCode", "signal", "oomKilled", ...}`.
pub fn log_exit(what: &str, id: &str, status: ExitStatus, oom_killed: bool) {
    let (exit_code, signal) = match status {
        ExitStatus::Exited(code) => (Value::from(code), Value::Null),
        ExitStatus::Signaled(sig) => (Value::Null, Value::from(signal_name(sig))),
    };
    logging::log(
        Level::Info,
        what,
        &[("id", id.into()), ("exitCode", exit_code), ("signal", signal), ("oomKilled", oom_killed.into())],
    );
}

/// Waits for a created container's init to end (`start` either done by `started` or by
/// someone else), records the outcome, and deletes the container unless `keep`.
pub fn until_exit(
    ctx: &Context,
    id: &str,
    created: Created,
    started: anyhow::Result<()>,
    keep: bool,
    output: Option<&mut Relay>,
) -> anyhow::Result<i32> {
    let pid = Pid::from_raw(created.state.pid.unwrap_or(0));
    let supervised =
        started.and_then(|()| Ok(container::supervise(pid, created.console, Some(&created.channel), output)?));
    let oom_killed =
        cgroups::manager(&created.state.cgroup_path, &ctx.roots).and_then(|m| m.oom_kill_count()).is_ok_and(|n| n > 0);
    if let Ok(outcome) = &supervised {
        if keep {
            if let Err(e) = container::record_exit(&ctx.store, id, outcome.status.record(oom_killed)) {
                logging::warn(&format!("cannot record how container {id} ended: {e}"));
            }
        }
    }
    if !keep {
        match container::delete(&ctx.store, id, true, &ctx.roots) {
            Ok(warnings) => logging::warn_all(&warnings),
            Err(e) => logging::warn(&format!("cannot delete container {id}: {e}")),
        }
    }
    let outcome = supervised?;
    if let Some(failure) = outcome.exec_failure {
        return Err(tscontainer_core::Error::from(ContainerError::Init(failure)).into());
    }
    log_exit("container exited", id, outcome.status, oom_killed);
    Ok(outcome.status.code())
}
