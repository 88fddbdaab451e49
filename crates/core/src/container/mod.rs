//! The lifecycle verbs, one file each: `create` clones the init and leaves it waiting,
//! `start` lets it exec, `kill` signals it, `delete` removes what `create` made. `run` is
//! not here: callers compose it from these (create, start, supervise, delete), so every
//! way in takes the same path.

mod create;
mod delete;
mod exec;
mod foreground;
mod fork;
mod kill;
mod pause;
mod start;
mod update;

pub(crate) use create::random_u64;
pub use create::{create, CreateOptions, Created};
pub use delete::delete;
pub use exec::{exec, ExecOptions, Execed};
pub use foreground::{block_signals, supervise, ExitStatus, Outcome};
pub use kill::kill;
pub use pause::{pause, resume};
pub use start::start;
pub use update::update;

use std::path::PathBuf;

use serde::Serialize;

use crate::cgroups::{self, CgroupManager, FreezerState, Roots};
use crate::channel::InitFailure;
use crate::state::{ContainerState, StateError, StateStore, Status};

#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    #[error("container `{id}` is {status}: cannot {action} it{}", runc_words(action, *status))]
    InvalidStatus { id: String, status: Status, action: &'static str },
    #[error("container `{id}` is created: without root, exec can enter it only once it is started (until then its init may not be entered)")]
    ExecBeforeStart { id: String },
    #[error("unable to start container process: {}", .0.message)]
    Init(InitFailure),
    #[error("the {what} cannot be applied: {error}; this user may not create cgroups there (on a cgroup v2 host, run from a cgroup delegated to you, e.g. `systemd-run --user --scope -p Delegate=yes`), or run without the limit")]
    CgroupDenied {
        what: &'static str,
        #[source]
        error: crate::cgroups::CgroupError,
    },
    #[error("{0}")]
    UserNamespacesForbidden(String),
    #[error("a network helper (io.tscontainer.network) needs the container to have a network namespace of its own")]
    NetworkWithoutNamespace,
    #[error("the container's init exited before it was ready ({0})")]
    InitDied(String),
    #[error("the container's init was OOM-killed while setting up: the memory limit{} is too low to start it", .limit.map(|l| format!(" ({l} bytes)")).unwrap_or_default())]
    InitOomKilled { limit: Option<i64> },
    #[error("cannot clone the container's init: {0}")]
    Clone(#[source] nix::Error),
    #[error(
        "refusing to create a container from a multithreaded process ({0} threads): namespaces cannot be set up safely"
    )]
    Multithreaded(usize),
    #[error("cannot write {what} {}: {source}", path.display())]
    Write {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot send the console to {}: {source}", path.display())]
    ConsoleSocket {
        path: PathBuf,
        #[source]
        source: nix::Error,
    },
    #[error("cannot signal container `{id}`: {source}")]
    Signal {
        id: String,
        #[source]
        source: nix::Error,
    },
    #[error("cannot {action}: {source}")]
    Wait {
        action: &'static str,
        #[source]
        source: nix::Error,
    },
    #[error("refusing to signal every process in the cgroup of container `{id}`: it holds this runtime too, so it is not the container's own")]
    SharedCgroup { id: String },
    #[error("container `{id}` did not stop within {seconds}s of SIGKILL")]
    StuckAfterKill { id: String, seconds: u64 },
    #[error("cannot {action}: {source}")]
    WorkingDirectory {
        action: &'static str,
        #[source]
        source: nix::Error,
    },
    #[error("{error} (cleanup also failed: {cleanup})")]
    Cleanup {
        #[source]
        error: Box<crate::Error>,
        cleanup: String,
    },
}

/// runc's words for a refusal, where managers match on them: containerd's shim reads
/// "container not running" from a kill as "the process already finished".
fn runc_words(action: &str, status: Status) -> &'static str {
    match (action, status) {
        ("kill", Status::Stopped) => " (container not running)",
        _ => "",
    }
}

/// The container's status now, derived from its process, not just read back: a container
/// whose init has exited is stopped whatever the file says, and a reused pid (another
/// start time) does not count as its init.
pub fn live_status(store: &StateStore, state: &ContainerState, roots: &Roots) -> Status {
    let alive = state.pid.is_some_and(|pid| crate::proc::is_alive(pid, state.pid_start_time));
    if !alive {
        return if state.pid.is_none() && store.is_locked(&state.id) { Status::Creating } else { Status::Stopped };
    }
    if state.status == Status::Creating {
        return if store.is_locked(&state.id) { Status::Creating } else { Status::Stopped };
    }
    // Frozen first: a created container can be paused too (and is created again once resumed).
    let frozen = cgroups::manager(&state.cgroup_path, roots)
        .and_then(|m| m.freezer_state())
        .is_ok_and(|s| s == FreezerState::Frozen);
    if frozen {
        Status::Paused
    } else if store.open(&state.id).is_ok_and(|dir| dir.has_exec_fifo()) {
        Status::Created
    } else {
        Status::Running
    }
}

/// The state JSON `tscontainer-runtime state` prints: the runtime-spec's fields plus
/// runc's `rootfs`, `created` and `owner`, which managers read.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StateReport {
    pub oci_version: String,
    pub id: String,
    pub pid: i32,
    pub status: Status,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    pub owner: String,
    #[serde(skip_serializing_if = "std::collections::HashMap::is_empty")]
    pub annotations: std::collections::HashMap<String, String>,
    /// How the process ended, when a supervising runtime recorded it (a tscontainer
    /// extension; runc's state has no such field).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit: Option<crate::state::ExitRecord>,
}

/// Remembers how a kept container's process ended, for `state`, `inspect` and `ps -a`.
pub fn record_exit(store: &StateStore, id: &str, exit: crate::state::ExitRecord) -> Result<(), StateError> {
    store.update(id, |state| {
        state.status = Status::Stopped;
        state.exit = Some(exit);
        Ok(())
    })
}

/// Loads a container and reports its live state.
pub fn state(store: &StateStore, id: &str, roots: &Roots) -> Result<StateReport, StateError> {
    let state = store.load(id)?;
    let status = live_status(store, &state, roots);
    Ok(report(&state, status))
}

pub fn report(state: &ContainerState, status: Status) -> StateReport {
    let pid = if status == Status::Stopped { 0 } else { state.pid.unwrap_or(0) };
    StateReport {
        oci_version: state.oci_version.clone(),
        id: state.id.clone(),
        pid,
        status,
        bundle: state.bundle.clone(),
        rootfs: state.rootfs.clone(),
        created: state.created.clone(),
        owner: String::new(),
        annotations: state.annotations.clone(),
        exit: state.exit.clone(),
    }
}
