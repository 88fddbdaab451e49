//! One file per verb: each maps its arguments onto a `tscontainer_core` call.

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
mod supervise;
mod update;

use tscontainer_core::cgroups::Roots;
use tscontainer_core::state::StateStore;

use tscontainer_core::container::CreateOptions;
use tscontainer_core::syscall::LinuxSyscall;

use crate::cli::{Cli, Command, ContainerArgs};

/// What every command works with.
pub struct Context {
    pub store: StateStore,
    pub roots: Roots,
    /// `--systemd-cgroup`: new containers get a systemd scope (later commands read from
    /// a container's state whether it has one).
    pub systemd_cgroup: bool,
}

impl Context {
    /// `create`'s options from the flags `create` and `run` share.
    pub fn create_options<'a>(&'a self, args: &'a ContainerArgs, foreground: bool) -> CreateOptions<'a> {
        CreateOptions {
            id: &args.id,
            bundle: &args.bundle,
            store: &self.store,
            console_socket: args.console_socket.as_deref(),
            pid_file: args.pid_file.as_deref(),
            no_pivot: args.no_pivot,
            no_new_keyring: args.no_new_keyring,
            preserve_fds: args.preserve_fds,
            listen_fds: listen_fds(),
            foreground,
            cgroup_roots: &self.roots,
            systemd_cgroup: self.systemd_cgroup,
            sys: &LinuxSyscall,
        }
    }
}

/// How many sockets systemd passed this process (`LISTEN_FDS`, when `LISTEN_PID` names it).
fn listen_fds() -> i32 {
    let ours = std::env::var("LISTEN_PID").ok().and_then(|p| p.parse::<u32>().ok()) == Some(std::process::id());
    let count = std::env::var("LISTEN_FDS").ok().and_then(|n| n.parse::<i32>().ok()).unwrap_or(0);
    if ours {
        count.max(0)
    } else {
        0
    }
}

pub fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    let ctx = Context {
        store: StateStore::new(cli.global.root.clone().unwrap_or_else(tscontainer_core::state::default_root)),
        roots: Roots::default(),
        systemd_cgroup: cli.global.systemd_cgroup,
    };
    match cli.command {
        Command::Create(args) => create::run(&ctx, args),
        Command::Start(args) => start::run(&ctx, args),
        Command::State(args) => state::run(&ctx, args),
        Command::Kill(args) => kill::run(&ctx, args),
        Command::Delete(args) => delete::run(&ctx, args),
        Command::Run(args) => run::run(&ctx, args),
        Command::Exec(args) => exec::run(&ctx, args),
        Command::List(args) => list::run(&ctx, args),
        Command::Ps(args) => ps::run(&ctx, args),
        Command::Pause(args) => pause::pause(&ctx, args),
        Command::Resume(args) => pause::resume(&ctx, args),
        Command::Events(args) => events::run(&ctx, args),
        Command::Update(args) => update::run(&ctx, args),
        Command::Spec(args) => spec::run(args),
        Command::Features(_) => features::run(),
        Command::Storage(args) => storage::run(args),
    }
}
