use tscontainer_core::container::{self, CreateOptions};
use tscontainer_core::syscall::LinuxSyscall;

use super::{supervise, Context};
use crate::cli::Create;

pub fn run(ctx: &Context, args: Create) -> anyhow::Result<i32> {
    if args.supervise {
        container::block_signals()?;
    }
    let created = container::create(&CreateOptions {
        id: &args.id,
        bundle: &args.bundle,
        store: &ctx.store,
        console_socket: args.console_socket.as_deref(),
        pid_file: args.pid_file.as_deref(),
        no_pivot: args.no_pivot,
        no_new_keyring: args.no_new_keyring,
        preserve_fds: args.preserve_fds,
        foreground: args.supervise,
        cgroup_roots: &ctx.roots,
        sys: &LinuxSyscall,
    })?;
    crate::logging::warn_all(&created.warnings);
    if args.supervise {
        return supervise::until_exit(ctx, &args.id, created, Ok(()), true);
    }
    Ok(0)
}
