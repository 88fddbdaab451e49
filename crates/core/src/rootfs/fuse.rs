//! The root overlay through fuse-overlayfs: where the kernel's overlayfs cannot be mounted in
//! the container's user namespace (before Linux 5.11, or over a filesystem it cannot stack
//! there), or where the config asks for it with [`MOUNT_PROGRAM_ANNOTATION`] (podman's
//! `mount_program`).
//!
//! The work is split so that DESIGN.md's invariants hold as for the kernel overlay:
//!
//! - the init asks the runtime for /dev/fuse (`OpenFuseDevice`). The runtime opens it in a
//!   short-lived child that joined the container's user namespace (the kernel takes a FUSE
//!   device only from a process of the user namespace that mounts it), outside the container's
//!   cgroup (whose device rules need not allow /dev/fuse; the container never gets it), and
//!   sends it back (`FuseDevice`);
//! - the init mounts `fuse` itself on the staging root with that device (FUSE is mountable in
//!   a user namespace since Linux 4.18). The mount is the container mount namespace's alone:
//!   the host's mount table never holds it;
//! - the init sends the mounted device back (`FuseMounted`); the runtime starts fuse-overlayfs on
//!   it as `/dev/fd/N` (libfuse ≥ 3.3 serves an already mounted descriptor given so) in the
//!   container's user namespace only, so ownership mapped into subordinate ids works, and in
//!   the host's mount and pid namespaces: no process of a container with a pid namespace of its
//!   own can see it (without one, it is seen but not traced: it holds every capability of the
//!   user namespace, which the container's processes lack unless given CAP_SYS_PTRACE), and it
//!   holds no reference to the container's mount namespace. The runtime answers `FuseServed` once fuse-overlayfs has daemonized (its first
//!   process exits 0 once the layers are open and the session is served), or fails the create
//!   with fuse-overlayfs's own message;
//! - when the container's mount namespace goes (its last process ended, killed, or a failed
//!   create undone), the FUSE superblock goes with it, the kernel aborts the connection, the
//!   daemon's read of the device fails with ENODEV and it exits. Nothing is left.

use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;
use oci_spec::runtime::{LinuxNamespaceType, Spec};

use super::overlay::RootOverlay;
use super::secure::fd_path;
use super::RootfsError;
use crate::channel::ChannelError;
use crate::spec::SpecError;
use crate::syscall::Syscall;

/// The config's request for fuse-overlayfs, with the program's absolute path.
pub const MOUNT_PROGRAM_ANNOTATION: &str = "io.tscontainer.overlay.mount-program";

/// The program's name, looked up in `PATH` for the automatic fallback.
const PROGRAM: &str = "fuse-overlayfs";

/// Where `PATH` is unset, where to look.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The FUSE device.
const DEVICE: &str = "/dev/fuse";

/// The mount's type and source, as mountinfo shows them (podman's fuse-overlayfs mounts show
/// the same).
const FSTYPE: &str = "fuse.fuse-overlayfs";
const SOURCE: &str = "fuse-overlayfs";

/// fuse-overlayfs, resolved by the runtime before the clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountProgram {
    pub path: PathBuf,
    /// The config asks for it: it is used without trying the kernel's overlayfs.
    pub requested: bool,
}

impl MountProgram {
    /// What the container may use: the annotation's program (checked: an absolute path to an
    /// executable file), else, for an overlay root in a user namespace, `fuse-overlayfs` from
    /// `PATH` as the fallback. None when the config has no overlay root (`overlay_root`), or
    /// nothing is found.
    ///
    /// The annotation is refused to a runtime that is root on the host (`host_root`): it would
    /// run the program it names with root's privileges on the config's word, and annotations
    /// reach a config from places hooks do not (a manager's `--annotation`, a pod's annotations
    /// passed through). For an ordinary user the program runs with that user's own privileges.
    pub fn for_spec(
        spec: &Spec,
        overlay_root: bool,
        user_namespace: bool,
        host_root: bool,
    ) -> Result<Option<Self>, SpecError> {
        if !overlay_root {
            if annotation(spec).is_some() {
                return Err(invalid("names a mount program, but mounts[0] is not an overlay on `/`"));
            }
            return Ok(None);
        }
        if let Some(given) = annotation(spec) {
            if host_root {
                return Err(invalid(format!(
                    "a runtime run by root does not run a program a config names; it falls back to {PROGRAM} from PATH by itself where the kernel refuses overlayfs in a user namespace"
                )));
            }
            return check_program(Path::new(given)).map(|path| Some(MountProgram { path, requested: true }));
        }
        if !user_namespace {
            // As root in the host's user namespace, the kernel's overlayfs always works.
            return Ok(None);
        }
        let path = std::env::var_os("PATH").filter(|p| !p.is_empty());
        let path = path.as_deref().unwrap_or(DEFAULT_PATH.as_ref());
        Ok(std::env::split_paths(path)
            .filter(|dir| dir.is_absolute())
            .map(|dir| dir.join(PROGRAM))
            .find(|p| is_executable(p))
            .map(|path| MountProgram { path, requested: false }))
    }
}

fn annotation(spec: &Spec) -> Option<&str> {
    spec.annotations().as_ref().and_then(|a| a.get(MOUNT_PROGRAM_ANNOTATION)).map(String::as_str)
}

fn invalid(reason: impl std::fmt::Display) -> SpecError {
    SpecError::invalid(format!("annotations[{MOUNT_PROGRAM_ANNOTATION}]"), reason.to_string())
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn check_program(given: &Path) -> Result<PathBuf, SpecError> {
    if !given.is_absolute() {
        return Err(invalid(format!("`{}` is not an absolute path", given.display())));
    }
    match std::fs::metadata(given) {
        Ok(_) if is_executable(given) => Ok(given.to_path_buf()),
        Ok(_) => Err(invalid(format!("`{}` is not an executable file", given.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(invalid(format!("`{}` does not exist", given.display())))
        }
        Err(e) => Err(invalid(format!("`{}`: {e}", given.display()))),
    }
}

/// The init's side: how it asks the runtime for the FUSE device and to serve the mount made
/// with it, and whether to use FUSE without trying the kernel's overlayfs first.
pub struct FuseServer<'a> {
    pub requested: bool,
    /// /dev/fuse, opened by the runtime in the container's user namespace.
    pub device: &'a dyn Fn() -> Result<OwnedFd, ChannelError>,
    /// Sends the mounted device back to the runtime and waits until fuse-overlayfs serves it.
    pub serve: &'a dyn Fn(OwnedFd) -> Result<(), ChannelError>,
}

/// The kernel's FUSE mount options: the daemon's device, a directory root, owned by the
/// namespace's root, open to every process of the container (`allow_other`; in a user
/// namespace it reaches only processes inside it), with the kernel checking permissions
/// from the modes fuse-overlayfs reports (`default_permissions`, as podman's mounts have).
fn mount_data(device: RawFd) -> String {
    format!("fd={device},rootmode=40000,user_id=0,group_id=0,allow_other,default_permissions")
}

/// Mounts FUSE on `root` (the staging root's descriptor) and has the runtime serve it with
/// fuse-overlayfs; returns once it is served.
pub(super) fn mount(
    overlay: &RootOverlay,
    root: BorrowedFd<'_>,
    server: &FuseServer<'_>,
    sys: &dyn Syscall,
) -> Result<(), RootfsError> {
    let device = (server.device)().map_err(RootfsError::FuseServer)?;
    let data = mount_data(device.as_raw_fd());
    sys.mount(Some(Path::new(SOURCE)), &fd_path(root), Some(FSTYPE), overlay.flags, Some(&data))
        .map_err(|source| RootfsError::Mount { what: "the root overlay with FUSE".into(), source })?;
    // The init keeps no copy: once the daemon has the only one, its exit aborts the mount.
    (server.serve)(device).map_err(RootfsError::FuseServer)
}

/// The daemon's options: the layers and the writable ones. The kernel overlay's own options
/// (`userxattr`, `index=off`, ...) mean nothing to fuse-overlayfs and are not passed.
fn daemon_options(overlay: &RootOverlay) -> String {
    let lowers: Vec<String> = overlay.lowers.iter().map(|l| l.display().to_string()).collect();
    let mut options = vec![format!("lowerdir={}", lowers.join(":"))];
    if let (Some(upper), Some(work)) = (&overlay.upper, &overlay.work) {
        options.push(format!("upperdir={}", upper.display()));
        options.push(format!("workdir={}", work.display()));
    }
    options.join(",")
}

/// The runtime's side: fuse-overlayfs for one container, ready to serve its root overlay.
pub struct Daemon {
    program: PathBuf,
    overlay: RootOverlay,
    /// The container's user namespace, which the device's opener and the daemon join; None
    /// when the container has none of its own (both then stay in the runtime's).
    user_namespace: Option<OwnedFd>,
}

impl Daemon {
    /// Opens the container's user namespace while the init may still be opened by the
    /// runtime (it stops being dumpable once told to proceed).
    pub fn prepare(program: &MountProgram, overlay: &RootOverlay, spec: &Spec, init: i32) -> Result<Self, RootfsError> {
        let namespaces = spec.linux().as_ref().and_then(|l| l.namespaces().as_ref());
        let user = namespaces.into_iter().flatten().find(|n| n.typ() == LinuxNamespaceType::User);
        let user_namespace = user
            .map(|n| match n.path() {
                Some(p) if !p.as_os_str().is_empty() => p.clone(),
                _ => PathBuf::from(format!("/proc/{init}/ns/user")),
            })
            .map(|path| {
                open(&path, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())
                    .map_err(|source| RootfsError::FuseUserNamespace { path, source })
            })
            .transpose()?;
        Ok(Daemon { program: program.path.clone(), overlay: overlay.clone(), user_namespace })
    }

    /// /dev/fuse, opened in the container's user namespace.
    pub fn open_device(&self) -> Result<OwnedFd, RootfsError> {
        let path = Path::new(DEVICE);
        let opened = match &self.user_namespace {
            Some(ns) => open_in_user_namespace(path, ns.as_fd()),
            None => open(path, OFlag::O_RDWR | OFlag::O_CLOEXEC, Mode::empty()),
        };
        opened.map_err(|source| RootfsError::FuseDevice { path: path.to_path_buf(), source })
    }

    /// Starts fuse-overlayfs on the mounted `device`, in the container's user namespace, and
    /// returns once it serves the mount (its first process exits 0 when the daemon is
    /// detached and serving; an error is fuse-overlayfs's own last line).
    pub fn serve(&self, device: OwnedFd) -> Result<(), RootfsError> {
        let raw = device.as_raw_fd();
        let userns = self.user_namespace.as_ref().map(AsRawFd::as_raw_fd);
        let mut command = Command::new(&self.program);
        command
            .arg("-o")
            .arg(daemon_options(&self.overlay))
            .arg(format!("/dev/fd/{raw}"))
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        // SAFETY: runs in the forked child before execve and makes only async-signal-safe
        // system calls (setns, setsid, fcntl, close_range) on descriptors the child owns.
        unsafe {
            command.pre_exec(move || {
                if let Some(ns) = userns {
                    if libc::setns(ns, libc::CLONE_NEWUSER) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                // Away from the caller's terminal and its job-control signals.
                libc::setsid();
                // The device is the one descriptor the daemon inherits: any other the runtime
                // left inheritable is closed at the execve (Linux 5.11; before, the runtime's
                // own are close-on-exec already).
                if libc::fcntl(raw, libc::F_SETFD, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                let (raw, cloexec) = (raw as libc::c_uint, libc::CLOSE_RANGE_CLOEXEC);
                libc::syscall(libc::SYS_close_range, 3 as libc::c_uint, raw.saturating_sub(1), cloexec);
                libc::syscall(libc::SYS_close_range, raw + 1, libc::c_uint::MAX, cloexec);
                Ok(())
            });
        }
        let start_err = |source| RootfsError::FuseDaemonStart { program: self.program.clone(), source };
        let mut child = command.spawn().map_err(start_err)?;
        drop(device);
        // Read to the end: the daemon's own stderr becomes /dev/null once it is detached.
        let mut stderr = String::new();
        if let Some(mut pipe) = child.stderr.take() {
            let _ = pipe.read_to_string(&mut stderr);
        }
        let status = child.wait().map_err(start_err)?;
        if status.success() {
            return Ok(());
        }
        let mut said =
            stderr.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with("unknown argument ignored"));
        let said = said.next_back().map_or_else(|| status.to_string(), str::to_string);
        Err(RootfsError::FuseDaemon { program: self.program.clone(), said })
    }
}

/// Opens `path` read-write in a child that joins `user_namespace` (a process cannot join
/// one while other threads share its memory, and joining would change the runtime's own
/// credentials for good), and receives the descriptor over a socket pair.
fn open_in_user_namespace(path: &Path, user_namespace: BorrowedFd<'_>) -> nix::Result<OwnedFd> {
    use nix::sys::socket::{recvmsg, socketpair, AddressFamily, ControlMessageOwned, MsgFlags, SockFlag, SockType};
    use nix::sys::wait::waitpid;
    let path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).map_err(|_| nix::errno::Errno::EINVAL)?;
    let (ours, theirs) = socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC)?;
    // Everything the child uses is made before the fork: after it, it only makes syscalls.
    // The payload: 0, or the errno of the failed step.
    let mut payload = [0u8; std::mem::size_of::<i32>()];
    let mut iov = libc::iovec { iov_base: payload.as_mut_ptr().cast(), iov_len: payload.len() };
    // SAFETY: CMSG_SPACE/CMSG_LEN compute sizes from a constant.
    let (space, len) = unsafe {
        (libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32), libc::CMSG_LEN(std::mem::size_of::<RawFd>() as u32))
    };
    let mut control = vec![0u64; (space as usize).div_ceil(8)];
    // SAFETY: an all-zero msghdr is a valid empty one.
    let mut message: libc::msghdr = unsafe { std::mem::zeroed() };
    message.msg_iov = &raw mut iov;
    message.msg_iovlen = 1;
    let (ns, sock) = (user_namespace.as_raw_fd(), theirs.as_raw_fd());
    // SAFETY: fork(2); the child below makes only async-signal-safe calls (setns, open,
    // sendmsg, _exit) on memory prepared before the fork, and never returns.
    match unsafe { nix::unistd::fork() }? {
        nix::unistd::ForkResult::Child => unsafe {
            let fd = if libc::setns(ns, libc::CLONE_NEWUSER) == 0 {
                libc::open(path.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC)
            } else {
                -1
            };
            if fd < 0 {
                std::ptr::write_unaligned(iov.iov_base.cast::<i32>(), *libc::__errno_location());
            } else {
                message.msg_control = control.as_mut_ptr().cast();
                message.msg_controllen = space as usize;
                let header = libc::CMSG_FIRSTHDR(&message);
                (*header).cmsg_level = libc::SOL_SOCKET;
                (*header).cmsg_type = libc::SCM_RIGHTS;
                (*header).cmsg_len = len as usize;
                std::ptr::write_unaligned(libc::CMSG_DATA(header).cast::<RawFd>(), fd);
            }
            libc::sendmsg(sock, &message, libc::MSG_NOSIGNAL);
            libc::_exit(0)
        },
        nix::unistd::ForkResult::Parent { child } => {
            drop(theirs);
            let mut got = [0u8; std::mem::size_of::<i32>()];
            let mut buffer = [std::io::IoSliceMut::new(&mut got)];
            let mut cmsg = nix::cmsg_space!([RawFd; 1]);
            let received = recvmsg::<()>(ours.as_raw_fd(), &mut buffer, Some(&mut cmsg), MsgFlags::MSG_CMSG_CLOEXEC)
                .map(|msg| {
                    let fds = msg.cmsgs().into_iter().flatten().find_map(|c| match c {
                        ControlMessageOwned::ScmRights(fds) => fds.first().copied(),
                        _ => None,
                    });
                    (msg.bytes, fds)
                });
            let _ = waitpid(child, None);
            let (bytes, fd) = received?;
            match fd {
                // SAFETY: the kernel just installed this descriptor for us; nothing else owns it.
                Some(fd) => Ok(unsafe { OwnedFd::from_raw_fd(fd) }),
                None if bytes == got.len() && i32::from_ne_bytes(got) != 0 => {
                    Err(nix::errno::Errno::from_raw(i32::from_ne_bytes(got)))
                }
                None => Err(nix::errno::Errno::EIO),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(annotation: Option<&str>, overlay: bool) -> Spec {
        let mut spec = crate::spec::default_spec().unwrap();
        if overlay {
            let m = serde_json::from_value(serde_json::json!({
                "destination": "/", "type": "overlay", "source": "overlay",
                "options": ["lowerdir=/l", "upperdir=/c/u", "workdir=/c/w"]
            }))
            .unwrap();
            spec.set_mounts(Some(vec![m]));
        }
        if let Some(a) = annotation {
            spec.set_annotations(Some([(MOUNT_PROGRAM_ANNOTATION.to_string(), a.to_string())].into()));
        }
        spec
    }

    #[test]
    fn the_annotation_names_an_absolute_executable_or_is_refused_in_one_sentence() {
        let dir = tempfile::tempdir().unwrap();
        let program = dir.path().join("fuse-overlayfs");
        std::fs::write(&program, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
        let given = program.display().to_string();
        let got = MountProgram::for_spec(&spec(Some(&given), true), true, false, false).unwrap();
        assert_eq!(got, Some(MountProgram { path: program.clone(), requested: true }));

        let err = |a: &str, overlay: bool| {
            MountProgram::for_spec(&spec(Some(a), overlay), overlay, true, false).unwrap_err().to_string()
        };
        let field = format!("invalid config: annotations[{MOUNT_PROGRAM_ANNOTATION}]");
        assert_eq!(err("fuse-overlayfs", true), format!("{field}: `fuse-overlayfs` is not an absolute path"));
        let missing = dir.path().join("missing").display().to_string();
        assert_eq!(err(&missing, true), format!("{field}: `{missing}` does not exist"));
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(err(&given, true), format!("{field}: `{given}` is not an executable file"));
        assert_eq!(
            err(&given, false),
            format!("{field}: names a mount program, but mounts[0] is not an overlay on `/`")
        );
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
        for user_namespace in [false, true] {
            let as_root = MountProgram::for_spec(&spec(Some(&given), true), true, user_namespace, true);
            assert_eq!(
                as_root.unwrap_err().to_string(),
                format!("{field}: a runtime run by root does not run a program a config names; it falls back to fuse-overlayfs from PATH by itself where the kernel refuses overlayfs in a user namespace")
            );
        }
    }

    #[test]
    fn the_fallback_is_looked_up_only_for_an_overlay_root_in_a_user_namespace() {
        assert_eq!(MountProgram::for_spec(&spec(None, false), false, true, false).unwrap(), None);
        assert_eq!(MountProgram::for_spec(&spec(None, true), true, false, true).unwrap(), None);
        // Whatever this host has installed, a found program is never a request.
        if let Some(found) = MountProgram::for_spec(&spec(None, true), true, true, true).unwrap() {
            assert!(!found.requested && found.path.ends_with(PROGRAM));
        }
    }

    #[test]
    fn the_daemon_gets_only_the_layers_and_the_writable_directories() {
        let m = serde_json::from_value(serde_json::json!({
            "destination": "/", "type": "overlay",
            "options": ["lowerdir=/l/top:/l/base", "upperdir=/c/u", "workdir=/c/w", "userxattr", "index=off"]
        }))
        .unwrap();
        let overlay = RootOverlay::parse(&m).unwrap();
        assert_eq!(daemon_options(&overlay), "lowerdir=/l/top:/l/base,upperdir=/c/u,workdir=/c/w");
        assert_eq!(mount_data(7), "fd=7,rootmode=40000,user_id=0,group_id=0,allow_other,default_permissions");
    }

    fn daemon(program: &Path, user_namespace: Option<OwnedFd>) -> Daemon {
        let m = serde_json::from_value(serde_json::json!({
            "destination": "/", "type": "overlay", "options": ["lowerdir=/l", "upperdir=/c/u", "workdir=/c/w"]
        }))
        .unwrap();
        Daemon { program: program.to_path_buf(), overlay: RootOverlay::parse(&m).unwrap(), user_namespace }
    }

    fn script(dir: &Path, body: &str) -> PathBuf {
        let path = dir.join("fuse-overlayfs");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[test]
    fn the_daemon_gets_the_device_as_dev_fd_n_and_its_failure_is_its_own_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let seen = dir.path().join("seen");
        // The device is open in the program, under the number its last argument names.
        let program = script(
            dir.path(),
            &format!(
                "echo \"$@\" >{seen}; n=${{3#/dev/fd/}}; readlink /proc/self/fd/$n >>{seen}; ls -A /proc/self/fd >>{seen}",
                seen = seen.display()
            ),
        );
        let device: OwnedFd = std::fs::File::open("/dev/null").unwrap().into();
        let raw = device.as_raw_fd();
        daemon(&program, None).serve(device).unwrap();
        let seen = std::fs::read_to_string(&seen).unwrap();
        let lines: Vec<&str> = seen.lines().collect();
        assert_eq!(lines[0], format!("-o lowerdir=/l,upperdir=/c/u,workdir=/c/w /dev/fd/{raw}"));
        assert_eq!(lines[1], "/dev/null");
        // stdin, stdout, stderr, the device and ls's own directory: nothing else of the runtime's.
        assert_eq!(lines[2..].len(), 5, "{seen}");

        let program = script(dir.path(), "echo 'unknown argument ignored: lazytime' >&2; echo 'fuse-overlayfs: cannot read lower dirs: No such file or directory' >&2; exit 1");
        let device: OwnedFd = std::fs::File::open("/dev/null").unwrap().into();
        let err = daemon(&program, None).serve(device).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "{} cannot serve the root overlay: fuse-overlayfs: cannot read lower dirs: No such file or directory",
                program.display()
            )
        );
        let device: OwnedFd = std::fs::File::open("/dev/null").unwrap().into();
        let err = daemon(Path::new("/nonexistent/fuse-overlayfs"), None).serve(device).unwrap_err();
        assert_eq!(
            crate::error::chain(&err),
            "cannot run /nonexistent/fuse-overlayfs for the root overlay: No such file or directory (os error 2)"
        );
    }

    #[test]
    fn the_device_is_opened_in_the_containers_user_namespace() {
        // A user namespace of a child's own (root may make one; elsewhere the test has none).
        let Ok(mut child) = Command::new("unshare").args(["--user", "sleep", "30"]).spawn() else { return };
        let ns_path = format!("/proc/{}/ns/user", child.id());
        let mut ns = None;
        for _ in 0..100 {
            let own = std::fs::read_link("/proc/self/ns/user").unwrap();
            if std::fs::read_link(&ns_path).is_ok_and(|n| n != own) {
                ns = open(ns_path.as_str(), OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty()).ok();
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let ns = ns.expect("the child's user namespace");
        let opened = open_in_user_namespace(Path::new("/dev/null"), ns.as_fd()).unwrap();
        assert_eq!(fd_path(opened.as_fd()).canonicalize().unwrap(), Path::new("/dev/null"));
        let err = open_in_user_namespace(Path::new("/nonexistent/fuse"), ns.as_fd()).unwrap_err();
        assert_eq!(err, nix::errno::Errno::ENOENT);
        let _ = child.kill();
        let _ = child.wait();
    }
}
