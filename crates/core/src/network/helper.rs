//! Starting the network helper and tying its life to the container's.
//!
//! Neither pasta (as Debian 12 ships it) nor slirp4netns quits when a network namespace
//! given by pid goes away, so `create` forks a small watcher (this single-threaded runtime,
//! no exec) in its own session. The watcher starts the helper, reports to `create` once
//! the helper says the namespace is configured (or why it failed), then waits on pidfds
//! for the container's init to exit and stops the helper. The helper gets SIGKILL if the
//! watcher dies first (parent-death signal), and slirp4netns also watches a pipe only the
//! watcher holds. The watcher holds a lock on `network.lock` in the container's state
//! directory for its whole life, so `delete` can wait until nothing of the network is left.
//!
//! The helper reaches the container's namespaces through descriptors `create` opened right
//! after the clone ([`Target`]), never through `/proc/<init>/ns`: by the time the helper
//! runs, the init is no longer dumpable, and an unprivileged user could not open those.

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, Signal};
use nix::unistd::{fork, setsid, ForkResult, Pid};

use nix::fcntl::OFlag;

use super::{Helper, NetworkError, NetworkRequest, PortMapping};
use crate::trusted::{Kind, TrustedDir};

const LOCK_FILE: &str = "network.lock";
const LOG_FILE: &str = "network.log";
const API_SOCKET: &str = "network.sock";
/// How long a helper may take to configure the namespace.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a helper may take to quit after SIGTERM before it gets SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(2);
/// The container's addresses, slirp4netns's defaults, for both helpers: the container
/// then never holds the host's own address, so it reaches the host at that address.
const ADDRESS: &str = "10.0.2.100";
const PREFIX: &str = "24";
const GATEWAY: &str = "10.0.2.2";
const CIDR: &str = "10.0.2.0/24";
/// Where the helper's end of the readiness pipe (and slirp4netns's exit pipe) go, and the
/// container's namespaces and state directory.
const READY_FD: RawFd = 3;
const EXIT_FD: RawFd = 4;
const USERNS_FD: RawFd = 5;
const NETNS_FD: RawFd = 6;
const STATE_DIR_FD: RawFd = 7;

fn io(what: &'static str) -> impl FnOnce(std::io::Error) -> NetworkError {
    move |source| NetworkError::Io { what, source }
}

fn pipe() -> Result<(OwnedFd, OwnedFd), NetworkError> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| NetworkError::Io { what: "pipe", source: e.into() })
}

fn pidfd_open(pid: i32) -> std::io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: the kernel just returned this descriptor to us; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// The container's network namespace and, when the container has a user namespace of its
/// own, that one (which owns the network namespace), held open from right after the clone.
#[derive(Debug)]
pub struct Target {
    net: OwnedFd,
    user: Option<OwnedFd>,
}

impl Target {
    /// Opens the namespaces of the just-cloned `init`, while it may still be opened by its
    /// creator (it becomes non-dumpable once told to proceed).
    pub fn open(init: i32, own_user_namespace: bool) -> Result<Self, NetworkError> {
        let open = |kind: &str| {
            std::fs::File::open(format!("/proc/{init}/ns/{kind}"))
                .map(OwnedFd::from)
                .map_err(io("namespace of the init"))
        };
        Ok(Target { net: open("net")?, user: own_user_namespace.then(|| open("user")).transpose()? })
    }
}

/// Starts `request`'s helper for the container whose init is `init` and whose namespaces
/// `target` holds; returns once the container's network is configured and its ports are
/// published.
pub fn start(request: &NetworkRequest, init: i32, target: Target, state_dir: &TrustedDir) -> Result<(), NetworkError> {
    let program = request.helper.require(&format!("the network `{}`", request.helper.name()))?;
    let lock = state_dir
        .open_or_create_file(LOCK_FILE, OFlag::O_WRONLY, 0o600, "network lock")
        .map_err(|e| NetworkError::State(Box::new(e)))?;
    let (report_r, report_w) = pipe()?;
    // SAFETY: the runtime is single-threaded (crate invariant), so the child may do anything.
    match unsafe { fork() }.map_err(|e| NetworkError::Io { what: "fork", source: e.into() })? {
        ForkResult::Child => {
            drop(report_r);
            // A session of its own, and a second fork so the watcher is nobody's child
            // here: the caller's waits never see it, and it outlives this process.
            let _ = setsid();
            // SAFETY: as above; this intermediate process only forks and exits.
            if let Ok(ForkResult::Child) = unsafe { fork() } {
                let watcher = Watcher { request, program, init, target, state_dir };
                watcher.run(lock, report_w);
            }
            // SAFETY: _exit skips the runtime's atexit work, which belongs to the parent.
            unsafe { libc::_exit(0) }
        }
        ForkResult::Parent { child } => {
            drop(report_w);
            drop(lock);
            drop(target);
            let _ = nix::sys::wait::waitpid(child, None);
            let mut report = String::new();
            File::from(report_r).read_to_string(&mut report).map_err(io("network helper report"))?;
            match report.strip_prefix("ok") {
                Some(_) => Ok(()),
                None if report.is_empty() => Err(NetworkError::Failed {
                    helper: request.helper.name(),
                    message: "its watcher ended without a report".into(),
                }),
                None => Err(NetworkError::Failed { helper: request.helper.name(), message: report }),
            }
        }
    }
}

/// Waits until the helper of a container whose init has exited is gone (a no-op when the
/// container had none).
pub fn wait_until_stopped(state_dir: &TrustedDir) {
    let Ok(lock) = state_dir.open_file(LOCK_FILE, OFlag::O_RDONLY, Kind::Regular, "network lock") else { return };
    // SAFETY: flock on a descriptor we own; it takes no pointers. The watcher holds the
    // lock until it has reaped the helper.
    unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
}

struct Watcher<'a> {
    request: &'a NetworkRequest,
    program: PathBuf,
    init: i32,
    target: Target,
    state_dir: &'a TrustedDir,
}

impl Watcher<'_> {
    /// The watcher's whole life; never returns.
    fn run(&self, lock: File, report: OwnedFd) -> ! {
        let mut report = File::from(report);
        let (lock_fd, report_fd) = (lock.as_raw_fd(), report.as_raw_fd());
        let mut keep = vec![lock_fd, report_fd, self.target.net.as_raw_fd(), self.state_dir.as_fd().as_raw_fd()];
        keep.extend(self.target.user.as_ref().map(AsRawFd::as_raw_fd));
        close_inherited(&keep);
        // SAFETY: flock on a descriptor we own; it takes no pointers.
        unsafe { libc::flock(lock_fd, libc::LOCK_EX) };
        let outcome = self.start_helper();
        let message = match &outcome {
            Ok(_) => "ok".to_string(),
            Err(e) => e.to_string(),
        };
        let _ = std::io::Write::write_all(&mut report, message.as_bytes());
        drop(report);
        if let Ok((mut child, init_fd)) = outcome {
            wait_for_either(&init_fd, &child);
            stop(&mut child);
        }
        drop(lock);
        // SAFETY: see start(); nothing of the runtime's must run in the watcher.
        unsafe { libc::_exit(0) }
    }

    /// Starts the helper and waits until it has configured the namespace.
    fn start_helper(&self) -> Result<(Child, OwnedFd), String> {
        let init_fd = pidfd_open(self.init).map_err(|e| format!("the container's init is gone: {e}"))?;
        let (ready_r, ready_w) = high_pipe()?;
        let (exit_r, exit_w) = high_pipe()?;
        let log = self
            .state_dir
            .open_or_create_file(LOG_FILE, OFlag::O_WRONLY | OFlag::O_TRUNC, 0o600, "network helper log")
            .map_err(|e| format!("cannot write its log: {e}"))?;
        let mut command = Command::new(&self.program);
        command.args(self.arguments()).stdin(Stdio::null()).stdout(log.try_clone().map_err(|e| e.to_string())?);
        command.stderr(log);
        let watcher = std::process::id() as i32;
        let (ready, exit) = (ready_w.as_raw_fd(), exit_r.as_raw_fd());
        let net_copy = raise(self.target.net.as_fd())?;
        let user_copy = self.target.user.as_ref().map(|u| raise(u.as_fd())).transpose()?;
        let dir_copy = raise(self.state_dir.as_fd())?;
        let (net, user, state_dir) =
            (net_copy.as_raw_fd(), user_copy.as_ref().map(AsRawFd::as_raw_fd), dir_copy.as_raw_fd());
        // SAFETY: only async-signal-safe calls (dup2, prctl, getppid, _exit) between fork
        // and exec.
        unsafe {
            command.pre_exec(move || {
                // Every source was raised above the targets (see `raise`), so no dup2
                // overwrites a descriptor a later one reads.
                let moved = [(ready, READY_FD), (exit, EXIT_FD), (net, NETNS_FD), (state_dir, STATE_DIR_FD)]
                    .into_iter()
                    .chain(user.map(|u| (u, USERNS_FD)));
                for (from, to) in moved {
                    if libc::dup2(from, to) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::getppid() != watcher {
                    libc::_exit(1);
                }
                Ok(())
            });
        }
        let mut child = command.spawn().map_err(|e| format!("cannot run {}: {e}", self.program.display()))?;
        drop((ready_w, exit_r, net_copy, user_copy, dir_copy));
        // The write end stays open in the watcher only: slirp4netns quits when it closes.
        std::mem::forget(exit_w);
        if let Err(e) = self.wait_ready(&ready_r, &init_fd, &mut child) {
            stop(&mut child);
            return Err(e);
        }
        if self.request.helper == Helper::Slirp4netns {
            let socket = self.state_dir.fd_path().join(API_SOCKET);
            for port in &self.request.ports {
                if let Err(e) = slirp_forward(&socket, port) {
                    stop(&mut child);
                    return Err(format!("cannot publish {port}: {e}"));
                }
            }
        }
        Ok((child, init_fd))
    }

    fn arguments(&self) -> Vec<String> {
        let ports = &self.request.ports;
        match self.request.helper {
            Helper::Pasta => {
                let spec = |protocol| {
                    let list: Vec<String> = ports
                        .iter()
                        .filter(|p| p.protocol == protocol)
                        .map(|p| match p.host_ip {
                            Some(ip) => format!("{ip}/{}:{}", p.host_port, p.container_port),
                            None => format!("{}:{}", p.host_port, p.container_port),
                        })
                        .collect();
                    if list.is_empty() {
                        "none".to_string()
                    } else {
                        list.join(",")
                    }
                };
                let mut args: Vec<String> = [
                    "--config-net",
                    "--foreground",
                    "--quiet",
                    "--ns-ifname",
                    "eth0",
                    "--address",
                    ADDRESS,
                    "--netmask",
                    PREFIX,
                    "--gateway",
                    GATEWAY,
                    // The gateway is not the host: the host's loopback stays out of reach,
                    // and nothing is forwarded from the container back to the host's ports.
                    "--no-map-gw",
                    "--tcp-ns",
                    "none",
                    "--udp-ns",
                    "none",
                ]
                .map(String::from)
                .to_vec();
                args.extend(["--tcp-ports".into(), spec(super::Protocol::Tcp)]);
                args.extend(["--udp-ports".into(), spec(super::Protocol::Udp)]);
                // pasta writes its pid here once the namespace is configured: our ready signal.
                args.extend(["--pid".into(), format!("/dev/fd/{READY_FD}")]);
                // Without --userns (a root container without a user namespace), pasta
                // stays in its own, as joining that one would fail.
                if self.target.user.is_some() {
                    args.extend(["--userns".into(), format!("/proc/self/fd/{USERNS_FD}")]);
                }
                args.extend(["--netns".into(), format!("/proc/self/fd/{NETNS_FD}"), "--no-netns-quit".into()]);
                args
            }
            Helper::Slirp4netns => {
                let mut args: Vec<String> = vec![
                    "--configure".into(),
                    "--mtu=65520".into(),
                    "--disable-host-loopback".into(),
                    format!("--cidr={CIDR}"),
                    format!("--ready-fd={READY_FD}"),
                    format!("--exit-fd={EXIT_FD}"),
                ];
                if !ports.is_empty() {
                    args.push(format!("--api-socket=/proc/self/fd/{STATE_DIR_FD}/{API_SOCKET}"));
                }
                args.push("--netns-type=path".into());
                if self.target.user.is_some() {
                    args.push(format!("--userns-path=/proc/self/fd/{USERNS_FD}"));
                }
                args.extend([format!("/proc/self/fd/{NETNS_FD}"), "eth0".into()]);
                args
            }
        }
    }

    /// Waits for the helper's ready signal; its log says why when it quits instead.
    fn wait_ready(&self, ready: &OwnedFd, init: &OwnedFd, child: &mut Child) -> Result<(), String> {
        let mut fds = [PollFd::new(ready.as_fd(), PollFlags::POLLIN), PollFd::new(init.as_fd(), PollFlags::POLLIN)];
        let timeout = PollTimeout::try_from(READY_TIMEOUT).unwrap_or(PollTimeout::MAX);
        match poll(&mut fds, timeout) {
            Ok(0) => return Err(format!("it did not configure the network within {} s", READY_TIMEOUT.as_secs())),
            Err(e) => return Err(format!("waiting for it: {e}")),
            Ok(_) => {}
        }
        if fds[1].any().unwrap_or(false) {
            return Err("the container's init exited while its network was being set up".into());
        }
        let mut byte = [0u8; 1];
        match nix::unistd::read(ready, &mut byte) {
            Ok(1) => Ok(()),
            _ => {
                let _ = child.wait();
                Err(self.failure_log())
            }
        }
    }

    /// What the helper said before it quit, less the noise of a host without syslog.
    fn failure_log(&self) -> String {
        let mut text = String::new();
        if let Ok(mut log) = self.state_dir.open_file(LOG_FILE, OFlag::O_RDONLY, Kind::Regular, "network helper log") {
            let _ = log.read_to_string(&mut text);
        }
        let lines: Vec<&str> =
            text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with("Failed to send")).collect();
        if lines.is_empty() {
            "it quit without saying why".into()
        } else {
            lines.join("; ")
        }
    }
}

/// A close-on-exec pipe above the descriptors the helper gets, so moving them into place
/// never overwrites one another.
fn high_pipe() -> Result<(OwnedFd, OwnedFd), String> {
    let (r, w) = pipe().map_err(|e| e.to_string())?;
    Ok((raise(r.as_fd())?, raise(w.as_fd())?))
}

/// A close-on-exec copy of `fd` above the descriptors the helper gets.
fn raise(fd: std::os::fd::BorrowedFd<'_>) -> Result<OwnedFd, String> {
    let raised = nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(10)).map_err(|e| format!("dup: {e}"))?;
    // SAFETY: fcntl just returned this new descriptor; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(raised) })
}

/// Closes everything the runtime had open (its stdio included, so whoever reads the
/// runtime's output sees it end) except `keep`.
fn close_inherited(keep: &[RawFd]) {
    if let Ok(null) = std::fs::OpenOptions::new().read(true).write(true).open("/dev/null") {
        for fd in 0..3 {
            // SAFETY: dup2 onto the standard descriptors; `null` stays valid throughout.
            unsafe { libc::dup2(null.as_raw_fd(), fd) };
        }
    }
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else { return };
    let open: Vec<RawFd> = entries.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect();
    for fd in open.into_iter().filter(|fd| *fd > 2 && !keep.contains(fd)) {
        // SAFETY: closing a descriptor this fresh process inherited and will not use;
        // the directory's own descriptor is already closed when read_dir is done.
        unsafe { libc::close(fd) };
    }
}

/// Blocks until the container's init or the helper exits.
fn wait_for_either(init: &OwnedFd, child: &Child) {
    let Ok(helper) = pidfd_open(child.id() as i32) else { return };
    let mut fds = [PollFd::new(init.as_fd(), PollFlags::POLLIN), PollFd::new(helper.as_fd(), PollFlags::POLLIN)];
    loop {
        match poll(&mut fds, PollTimeout::NONE) {
            Err(nix::errno::Errno::EINTR) => continue,
            _ => return,
        }
    }
}

/// SIGTERM, then SIGKILL if it lingers; reaped either way.
fn stop(child: &mut Child) {
    let pid = Pid::from_raw(child.id() as i32);
    let _ = kill(pid, Signal::SIGTERM);
    let deadline = std::time::Instant::now() + STOP_TIMEOUT;
    while std::time::Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Asks slirp4netns, through its API socket, to forward a host port.
fn slirp_forward(socket: &Path, port: &PortMapping) -> Result<(), String> {
    use std::io::Write;
    let request = serde_json::json!({
        "execute": "add_hostfwd",
        "arguments": {
            "proto": port.protocol.name(),
            "host_addr": port.host_ip.map_or_else(|| "0.0.0.0".to_string(), |ip| ip.to_string()),
            "host_port": port.host_port,
            "guest_port": port.container_port,
        }
    });
    let mut stream = std::os::unix::net::UnixStream::connect(socket).map_err(|e| e.to_string())?;
    stream.write_all(request.to_string().as_bytes()).map_err(|e| e.to_string())?;
    stream.shutdown(std::net::Shutdown::Write).map_err(|e| e.to_string())?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply).map_err(|e| e.to_string())?;
    let reply: serde_json::Value =
        serde_json::from_str(&reply).map_err(|e| format!("unreadable reply {reply:?}: {e}"))?;
    match reply.get("error") {
        None => Ok(()),
        Some(error) => Err(error.get("desc").and_then(|d| d.as_str()).unwrap_or("refused").to_string()),
    }
}
