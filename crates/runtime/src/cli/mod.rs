//! The command line, in runc's shape: global flags, the OCI standard verbs, and runc's
//! extras. Doc comments here are the `--help` text.

mod create;
mod delete;
mod events;
mod exec;
mod features;
mod kill;
mod list;
mod pause;
mod ps;
mod run;
mod spec;
mod start;
mod state;
mod storage;
mod update;

pub use create::{ContainerArgs, Create};
pub use delete::Delete;
pub use events::Events;
pub use exec::Exec;
pub use features::Features;
pub use kill::Kill;
pub use list::{List, ListFormat};
pub use pause::{Pause, Resume};
pub use ps::{Ps, PsFormat};
pub use run::Run;
pub use spec::SpecCmd;
pub use start::Start;
pub use state::State;
pub use storage::{Storage, StorageLoad, StorageOperation, StoragePrune, StorageRemoveContainer, StorageRemoveImage};
pub use update::Update;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Parser)]
pub struct GlobalOpts {
    /// Root directory for container state (default: /run/tscontainer, or
    /// $XDG_RUNTIME_DIR/tscontainer when not run as root)
    #[arg(long, global = true)]
    pub root: Option<PathBuf>,
    /// Write log entries to this file instead of stderr
    #[arg(long, global = true)]
    pub log: Option<PathBuf>,
    /// Log format: text or json
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Log debug entries too
    #[arg(long, global = true)]
    pub debug: bool,
    /// Put containers in systemd scopes (the systemd cgroup driver); cgroupsPath is then
    /// "slice:prefix:name", e.g. "system.slice:runc:434234"
    #[arg(long, global = true)]
    pub systemd_cgroup: bool,
    /// Accepted for runc compatibility: checkpointing is not supported
    #[arg(long, global = true, hide = true)]
    pub criu: Option<PathBuf>,
    /// Accepted for runc compatibility (auto, true or false); rootless mode is detected
    #[arg(long, global = true, hide = true)]
    pub rootless: Option<String>,
}

#[derive(Debug, Parser)]
#[command(name = "tscontainer-runtime", version = version(), about = "A runc-compatible OCI container runtime", long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOpts,
    #[command(subcommand)]
    pub command: Command,
}

fn version() -> &'static str {
    concat!(env!("CARGO_PKG_VERSION"), "\nspec: ", "1.2.1")
}

impl Command {
    /// Whether the command puts runtime processes into a container (and so must run from
    /// a sealed copy of this executable).
    pub fn enters_containers(&self) -> bool {
        matches!(self, Command::Create(_) | Command::Run(_) | Command::Exec(_))
    }

    /// The exit status when the command itself fails: 255 for `exec`, as runc, so that it
    /// stands apart from any status of the command exec runs; 1 otherwise.
    pub fn failure_status(&self) -> i32 {
        if matches!(self, Command::Exec(_)) {
            255
        } else {
            1
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    // The OCI runtime CLI's standard verbs.
    Create(Create),
    Start(Start),
    State(State),
    Kill(Kill),
    Delete(Delete),
    // runc's additions.
    Run(Run),
    Exec(Exec),
    List(List),
    Ps(Ps),
    Pause(Pause),
    Resume(Resume),
    Events(Events),
    Update(Update),
    Spec(SpecCmd),
    Features(Features),
    // tscontainer's own, for its TypeScript layer.
    #[command(hide = true)]
    Storage(Storage),
}
