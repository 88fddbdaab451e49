//! Turning a process spec into a running command, the same way for a container's init and
//! for `exec`: terminal, rlimits, no_new_privs, capabilities, user, umask, working
//! directory and command lookup, then (after the caller's wait) seccomp and execve.

use std::os::fd::AsRawFd;
use std::path::PathBuf;

use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use oci_spec::runtime::Process;

use super::{
    apparmor_enabled, apply_capabilities, apply_rlimits, capability_plan, drop_bounding_set, exec, find_executable,
    open_console, set_apparmor_exec_profile, switch_user, HostCapabilities, ProcessError,
};
use crate::channel::{Channel, Message};
use crate::seccomp::Filter;
use crate::syscall::Syscall;
use crate::Error;

/// A process ready to exec: everything but the last step is done.
pub struct Prepared {
    command: String,
    path: PathBuf,
    argv: Vec<String>,
    env: Vec<String>,
    /// Loaded just before execve (with no_new_privs); without no_new_privs it was loaded
    /// during preparation, while CAP_SYS_ADMIN was still held.
    late_seccomp: bool,
}

/// In a user namespace whose `setgroups` is denied (rootless without newgidmap),
/// setgroups(2) fails; the supplementary groups are then left as they are.
fn setgroups_allowed() -> bool {
    std::fs::read_to_string("/proc/self/setgroups").map_or(true, |s| s.trim() != "deny")
}

/// Applies `process` to the calling process. A terminal's master goes to `channel`.
pub fn prepare(
    process: &Process,
    seccomp: Option<&Filter>,
    channel: &Channel,
    sys: &dyn Syscall,
) -> Result<Prepared, Error> {
    if process.terminal() == Some(true) {
        let size = process.console_size().map(|b| (b.height() as u16, b.width() as u16));
        let master = open_console(process.user().uid(), size)?;
        channel.send_with_fd(&Message::Console, Some(master.as_raw_fd()))?;
    }
    apply_rlimits(process.rlimits().as_deref().unwrap_or_default(), sys)?;
    if let Some(profile) = process.apparmor_profile().as_deref().filter(|p| !p.is_empty() && apparmor_enabled()) {
        set_apparmor_exec_profile(profile)?;
    }
    let no_new_privileges = process.no_new_privileges() == Some(true);
    if no_new_privileges {
        sys.set_no_new_privs().map_err(ProcessError::NoNewPrivileges)?;
    } else if let Some(filter) = seccomp {
        // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN, so it goes in now,
        // before the capabilities are dropped.
        sys.load_seccomp(filter).map_err(ProcessError::Seccomp)?;
    }
    let host = HostCapabilities::current();
    let capabilities = capability_plan(process.capabilities().as_ref(), host);
    drop_bounding_set(&capabilities, host, sys)?;
    switch_user(process.user(), setgroups_allowed(), sys)?;
    apply_capabilities(&capabilities, sys)?;
    sys.umask(process.user().umask().unwrap_or(0o022));
    sys.chdir(process.cwd()).map_err(|source| ProcessError::Cwd { path: process.cwd().clone(), source })?;
    // The kernel names a directory unreachable from our root `(unreachable)/...`, which
    // getcwd reports as ENOENT: such a cwd came through a host descriptor, not the rootfs.
    // Any other failure proves nothing (the container's seccomp profile may deny getcwd).
    if cwd_outside_root(nix::unistd::getcwd()) {
        return Err(ProcessError::CwdOutsideRoot { path: process.cwd().clone() }.into());
    }

    let argv = process.args().clone().unwrap_or_default();
    let mut env = process.env().clone().unwrap_or_default();
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        // As runc: programs expect HOME; the container's own /etc/passwd says where.
        env.push(format!("HOME={}", home_of(process.user().uid())));
    }
    let command = argv.first().cloned().unwrap_or_default();
    let path = find_executable(&command, &env).map_err(ProcessError::from)?;
    Ok(Prepared { command, path, argv, env, late_seccomp: no_new_privileges })
}

fn cwd_outside_root(cwd: nix::Result<std::path::PathBuf>) -> bool {
    match cwd {
        Ok(path) => !path.is_absolute(),
        Err(errno) => errno == nix::errno::Errno::ENOENT,
    }
}

/// The home directory of `uid` in the container's /etc/passwd (we are past pivot_root), or
/// `/` when it has none.
fn home_of(uid: u32) -> String {
    use nix::fcntl::{open, OFlag};
    // The container shaped this file: a FIFO or a huge one must not stall the init.
    let root = open(
        std::path::Path::new("/"),
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    );
    root.ok()
        .and_then(|root| crate::passwd::users(std::os::fd::AsFd::as_fd(&root)).ok())
        .unwrap_or_default()
        .into_iter()
        .find(|u| u.uid == uid && !u.home.is_empty())
        .map_or_else(|| "/".into(), |u| u.home)
}

/// Only 0-2 and the preserved descriptors survive execve (CVE-2024-21626: no runtime
/// descriptor, such as a host directory, may leak into the container).
pub fn close_descriptors_on_exec(preserve_fds: i32) {
    let first = 3 + preserve_fds.max(0) as u32;
    // SAFETY: close_range only changes descriptor flags; CLOSE_RANGE_CLOEXEC marks them
    // instead of closing, so descriptors still in use here stay valid until execve.
    let rc = unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, libc::CLOSE_RANGE_CLOEXEC) };
    if rc != 0 {
        // Kernels before 5.11: mark them one by one.
        if let Ok(entries) = std::fs::read_dir("/proc/self/fd") {
            for fd in entries.flatten().filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok()) {
                if fd >= first as i32 {
                    // SAFETY: F_SETFD only changes the flag of a descriptor number; an
                    // already-closed one fails with EBADF, which is fine.
                    unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
                }
            }
        }
    }
}

impl Prepared {
    /// Replaces this process with the command. Returns only on failure.
    pub fn exec(self, seccomp: Option<&Filter>, parent_death_signal: Option<Signal>, sys: &dyn Syscall) -> Error {
        if let Some(sig) = parent_death_signal {
            // After the user switch: changing credentials clears the parent-death signal.
            let _ = nix::sys::prctl::set_pdeathsig(sig);
        }
        super::restore_sigpipe();
        let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
        // Rust programs, this runtime included, ignore SIGPIPE, and an ignored signal stays
        // ignored across execve: the container's programs get the default back (a writer to a
        // closed pipe ends), as under runc and crun.
        // SAFETY: SIG_DFL installs no handler. Should execve fail, the report goes over the
        // channel with MSG_NOSIGNAL, so it cannot raise SIGPIPE.
        let _ = unsafe { nix::sys::signal::signal(Signal::SIGPIPE, nix::sys::signal::SigHandler::SigDfl) };
        if let Some(filter) = seccomp.filter(|_| self.late_seccomp) {
            // As close to execve as possible: only execve itself runs under the filter.
            if let Err(source) = sys.load_seccomp(filter) {
                return ProcessError::Seccomp(source).into();
            }
        }
        ProcessError::Exec(exec(&self.command, &self.path, &self.argv, &self.env)).into()
    }
}

#[cfg(test)]
mod tests {
    use super::cwd_outside_root;
    use nix::errno::Errno;
    use std::path::PathBuf;

    #[test]
    fn only_an_unreachable_cwd_counts_as_outside_the_root() {
        assert!(!cwd_outside_root(Ok(PathBuf::from("/work"))));
        assert!(cwd_outside_root(Ok(PathBuf::from("(unreachable)/etc"))));
        assert!(cwd_outside_root(Err(Errno::ENOENT)));
        // A seccomp profile that denies getcwd (runtime-tools' linux_seccomp does).
        assert!(!cwd_outside_root(Err(Errno::EPERM)));
    }
}
