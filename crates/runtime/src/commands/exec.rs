//! `exec`: maps runc's flags onto a process spec (the container's own process as the
//! base, as runc does) and runs it in the container.

use std::collections::HashSet;
use std::path::{Component, PathBuf};

use anyhow::{bail, Context as _};
use nix::unistd::Pid;
use oci_spec::runtime::{Capability, Process};
use tscontainer_core::container::{self, ExecOptions};
use tscontainer_core::syscall::LinuxSyscall;
use tscontainer_core::{oci_spec, process, spec};

use super::Context;
use crate::cli::Exec;
use crate::logging;

fn parse_user(text: &str) -> anyhow::Result<(u32, Option<u32>)> {
    let (uid, gid) = match text.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (text, None),
    };
    let uid = uid.parse().with_context(|| format!("invalid --user `{text}`: expected uid[:gid]"))?;
    let gid =
        gid.map(|g| g.parse()).transpose().with_context(|| format!("invalid --user `{text}`: expected uid[:gid]"))?;
    Ok((uid, gid))
}

/// The process `exec` runs: --process as given, or the container's process with the
/// command line's changes; and the capability names it asks for that the runtime does not
/// know (left out, for the warning).
fn process(ctx: &Context, args: &Exec) -> anyhow::Result<(Process, Vec<String>)> {
    if let Some(path) = &args.process {
        let text = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        return spec::parse_process(&text).with_context(|| format!("{} is not a valid process spec", path.display()));
    }
    if args.command.is_empty() {
        bail!("exec needs a command to run, or --process");
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
    if let Some(profile) = &args.apparmor {
        p.set_apparmor_profile(Some(profile.clone()));
    }
    if let Some(label) = &args.process_label {
        p.set_selinux_label(Some(label.clone()));
    }
    let unknown = add_capabilities(&mut p, &args.cap);
    Ok((p, unknown))
}

/// `--cap`, as runc: each capability joins the bounding, effective and permitted sets, and
/// the ambient set when the process has an inheritable set (an ambient capability needs
/// one). A name the runtime does not know is left out with a warning, as in a config.
fn add_capabilities(p: &mut Process, names: &[String]) -> Vec<String> {
    if names.is_empty() {
        return Vec::new();
    }
    let added: HashSet<Capability> = names.iter().filter_map(|name| spec::known_capability(name)).collect();
    let mut unknown: Vec<&String> = names.iter().filter(|name| spec::known_capability(name).is_none()).collect();
    let mut caps = p.capabilities().clone().unwrap_or_default();
    let extend = |set: Option<&HashSet<Capability>>| set.cloned().unwrap_or_default().union(&added).copied().collect();
    caps.set_bounding(Some(extend(caps.bounding().as_ref())));
    caps.set_effective(Some(extend(caps.effective().as_ref())));
    caps.set_permitted(Some(extend(caps.permitted().as_ref())));
    if caps.inheritable().is_some() {
        caps.set_ambient(Some(extend(caps.ambient().as_ref())));
    }
    p.set_capabilities(Some(caps));
    unknown.sort();
    unknown.dedup();
    unknown.into_iter().cloned().collect()
}

/// `--cgroup`: one sub-cgroup for every controller, relative to the container's (a leading
/// `/` is dropped, as runc joins it below the container's cgroup); `..` cannot leave it.
fn sub_cgroup(args: &[String]) -> anyhow::Result<Option<PathBuf>> {
    let [sub] = args else {
        if args.is_empty() {
            return Ok(None);
        }
        bail!("--cgroup is given {} times: give one sub-cgroup, for every controller", args.len());
    };
    if sub.contains(':') {
        bail!("--cgroup `{sub}`: a sub-cgroup per controller (CONTROLLER:PATH) is not supported; give one PATH for every controller");
    }
    let path = PathBuf::from(sub.trim_start_matches('/'));
    if path.as_os_str().is_empty() || path.components().any(|c| !matches!(c, Component::Normal(_))) {
        bail!("--cgroup `{sub}` is not a sub-cgroup path below the container's cgroup");
    }
    Ok(Some(path))
}

pub fn run(ctx: &Context, args: Exec) -> anyhow::Result<i32> {
    let sub_cgroup = sub_cgroup(&args.cgroup)?;
    let (process, unknown) = process(ctx, &args)?;
    logging::warn_all(&process::capability_warnings(
        process.capabilities().as_ref(),
        &unknown,
        process::HostCapabilities::current(),
    ));
    logging::warn_all(&process::lsm_warnings(&process, process::apparmor_enabled()));
    if process.terminal() == Some(true) && args.detach && args.console_socket.is_none() {
        bail!("cannot allocate a terminal for a detached exec without --console-socket");
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
        ignore_paused: args.ignore_paused,
        sub_cgroup: sub_cgroup.as_deref(),
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
