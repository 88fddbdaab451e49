//! The real system calls.

use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags};
use nix::sched::CloneFlags;
use nix::sys::stat::{Mode, SFlag};
use nix::unistd::{Gid, Uid};

use super::fs_context::FsContext;
use super::{display_path, fd_display, CapabilitySets, FsParam, MountAttributes, SysResult, Syscall, SyscallError};

#[derive(Debug, Default, Clone, Copy)]
pub struct LinuxSyscall;

fn err(op: &'static str, target: &Path, errno: Errno) -> SyscallError {
    SyscallError::new(op, format!("`{}`", display_path(target).display()), errno)
}

fn fd_err(op: &'static str, fd: BorrowedFd<'_>, errno: Errno) -> SyscallError {
    SyscallError::new(op, format!("`{}`", fd_display(fd).display()), errno)
}

/// `struct __user_cap_header_struct` and `__user_cap_data_struct` from <linux/capability.h>.
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// A failed step of [`LinuxSyscall::mount_fs`], with the kernel's own words when it gave any.
fn fs_err(op: &'static str, what: String, errno: Errno, fs: Option<&FsContext>) -> SyscallError {
    let log = fs.map(FsContext::log).unwrap_or_default();
    let target = if log.is_empty() { what } else { format!("{what} ({})", log.join("; ")) };
    SyscallError::new(op, target, errno)
}

impl Syscall for LinuxSyscall {
    fn mount(
        &self,
        source: Option<&Path>,
        target: &Path,
        fstype: Option<&str>,
        flags: MsFlags,
        data: Option<&str>,
    ) -> SysResult {
        nix::mount::mount(source, target, fstype, flags, data).map_err(|e| err("mount", target, e))
    }

    fn umount2(&self, target: &Path, flags: MntFlags) -> SysResult {
        nix::mount::umount2(target, flags).map_err(|e| err("umount", target, e))
    }

    fn pivot_root(&self, new_root: &Path, put_old: &Path) -> SysResult {
        nix::unistd::pivot_root(new_root, put_old).map_err(|e| err("pivot_root", new_root, e))
    }

    fn clone_mount(&self, source: BorrowedFd<'_>, recursive: bool) -> SysResult<OwnedFd> {
        let mut flags = libc::OPEN_TREE_CLONE | libc::OPEN_TREE_CLOEXEC | libc::AT_EMPTY_PATH as libc::c_uint;
        if recursive {
            flags |= libc::AT_RECURSIVE as libc::c_uint;
        }
        // SAFETY: open_tree reads the NUL-terminated empty path and acts on `source` (a
        // descriptor we hold) because of AT_EMPTY_PATH; it returns a new descriptor.
        let fd = unsafe { libc::syscall(libc::SYS_open_tree, source.as_raw_fd(), c"".as_ptr(), flags) };
        let fd = Errno::result(fd).map_err(|e| fd_err("open_tree", source, e))?;
        // SAFETY: a descriptor open_tree just returned, owned by nobody else.
        Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
    }

    fn set_mount_attributes(&self, mount: BorrowedFd<'_>, recursive: bool, attributes: MountAttributes) -> SysResult {
        let attr = libc::mount_attr {
            attr_set: attributes.set,
            attr_clr: attributes.clear,
            propagation: attributes.propagation,
            userns_fd: 0,
        };
        let mut flags = libc::AT_EMPTY_PATH as libc::c_uint;
        if recursive {
            flags |= libc::AT_RECURSIVE as libc::c_uint;
        }
        // SAFETY: the path is an empty NUL-terminated string (AT_EMPTY_PATH: the call acts on
        // `mount`) and `attr` a `struct mount_attr` whose size is passed alongside; both
        // outlive the call.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_mount_setattr,
                mount.as_raw_fd(),
                c"".as_ptr(),
                flags,
                &attr as *const libc::mount_attr,
                std::mem::size_of::<libc::mount_attr>(),
            )
        };
        Errno::result(rc).map(drop).map_err(|e| fd_err("mount_setattr", mount, e))
    }

    fn move_mount(&self, mount: BorrowedFd<'_>, target: BorrowedFd<'_>) -> SysResult {
        let flags = libc::MOVE_MOUNT_F_EMPTY_PATH | libc::MOVE_MOUNT_T_EMPTY_PATH;
        // SAFETY: both paths are empty NUL-terminated strings: the call acts on the two
        // descriptors, which we hold for its duration.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_move_mount,
                mount.as_raw_fd(),
                c"".as_ptr(),
                target.as_raw_fd(),
                c"".as_ptr(),
                flags,
            )
        };
        Errno::result(rc).map(drop).map_err(|e| fd_err("move_mount", target, e))
    }

    fn new_mount(&self, fstype: &str, attributes: u64) -> SysResult<OwnedFd> {
        let fail = |op, e| SyscallError::new(op, format!("`{fstype}`"), e);
        let name = CString::new(fstype).map_err(|_| fail("fsopen", Errno::EINVAL))?;
        let context = FsContext::open(&name).map_err(|e| fail("fsopen", e))?;
        context.create().map_err(|e| fail("fsconfig", e))?;
        context.mount(attributes).map_err(|e| fail("fsmount", e))
    }

    fn mount_fs(&self, fstype: &str, params: &[FsParam], attrs: u64, target: BorrowedFd<'_>) -> SysResult<OwnedFd> {
        let name = CString::new(fstype).map_err(|_| fs_err("fsopen", fstype.to_string(), Errno::EINVAL, None))?;
        let fs = FsContext::open(&name).map_err(|e| fs_err("fsopen", fstype.to_string(), e, None))?;
        for param in params {
            let what = || format!("{fstype} `{param}`");
            let cstring = |s: &str| CString::new(s).map_err(|_| fs_err("fsconfig", what(), Errno::EINVAL, None));
            let set = match param {
                FsParam::Flag(key) => fs.set_flag(&cstring(key)?),
                FsParam::String(key, value) => fs.set_string(&cstring(key)?, &cstring(value)?),
            };
            set.map_err(|e| fs_err("fsconfig", what(), e, Some(&fs)))?;
        }
        fs.create().map_err(|e| fs_err("create", fstype.to_string(), e, Some(&fs)))?;
        let mnt = fs.mount(attrs).map_err(|e| fs_err("fsmount", fstype.to_string(), e, Some(&fs)))?;
        let empty = c"";
        // SAFETY: both paths are the empty NUL-terminated string, which with the *_EMPTY_PATH
        // flags makes move_mount act on the two descriptors themselves.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_move_mount,
                mnt.as_raw_fd(),
                empty.as_ptr(),
                target.as_raw_fd(),
                empty.as_ptr(),
                libc::MOVE_MOUNT_F_EMPTY_PATH | libc::MOVE_MOUNT_T_EMPTY_PATH,
            )
        };
        Errno::result(rc).map_err(|e| err("move_mount", &crate::rootfs::secure::fd_path(target), e))?;
        Ok(mnt)
    }

    fn unshare(&self, flags: CloneFlags) -> SysResult {
        nix::sched::unshare(flags).map_err(|e| SyscallError::new("unshare", format!("{flags:?}"), e))
    }

    fn setns(&self, fd: BorrowedFd<'_>, nstype: CloneFlags) -> SysResult {
        nix::sched::setns(fd, nstype).map_err(|e| SyscallError::new("setns", format!("{nstype:?}"), e))
    }

    fn sethostname(&self, name: &str) -> SysResult {
        nix::unistd::sethostname(name).map_err(|e| SyscallError::new("sethostname", format!("`{name}`"), e))
    }

    fn setdomainname(&self, name: &str) -> SysResult {
        // SAFETY: the pointer and length describe `name`, which outlives the call.
        let rc = unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) };
        Errno::result(rc).map(drop).map_err(|e| SyscallError::new("setdomainname", format!("`{name}`"), e))
    }

    fn mknod(&self, path: &Path, kind: SFlag, perm: Mode, dev: u64) -> SysResult {
        nix::sys::stat::mknod(path, kind, perm, dev).map_err(|e| err("mknod", path, e))
    }

    fn chown(&self, path: &Path, uid: Option<u32>, gid: Option<u32>) -> SysResult {
        nix::unistd::chown(path, uid.map(Uid::from_raw), gid.map(Gid::from_raw)).map_err(|e| err("chown", path, e))
    }

    fn symlink(&self, original: &Path, link: &Path) -> SysResult {
        std::os::unix::fs::symlink(original, link)
            .map_err(|e| err("symlink", link, Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))))
    }

    fn chdir(&self, path: &Path) -> SysResult {
        nix::unistd::chdir(path).map_err(|e| err("chdir", path, e))
    }

    fn fchdir(&self, dir: BorrowedFd<'_>) -> SysResult {
        nix::unistd::fchdir(dir).map_err(|e| SyscallError::new("fchdir", dir.as_raw_fd(), e))
    }

    fn chroot(&self, path: &Path) -> SysResult {
        nix::unistd::chroot(path).map_err(|e| err("chroot", path, e))
    }

    fn set_loopback_up(&self) -> SysResult {
        let fail = |e| SyscallError::new("bring up", "`lo`", e);
        let sock = nix::sys::socket::socket(
            nix::sys::socket::AddressFamily::Inet,
            nix::sys::socket::SockType::Datagram,
            nix::sys::socket::SockFlag::SOCK_CLOEXEC,
            None,
        )
        .map_err(fail)?;
        // SAFETY: `ifreq` is plain data; zero is a valid starting value.
        let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
        for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
            *dst = *src as libc::c_char;
        }
        // SAFETY: SIOCGIFFLAGS/SIOCSIFFLAGS read and write `req`, a valid ifreq naming
        // "lo", through a socket we own; the flags field is the active union member.
        unsafe {
            Errno::result(libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req)).map_err(fail)?;
            req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            Errno::result(libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req)).map_err(fail)?;
        }
        Ok(())
    }

    fn set_ids(&self, uid: u32, gid: u32) -> SysResult {
        let (u, g) = (Uid::from_raw(uid), Gid::from_raw(gid));
        nix::unistd::setresgid(g, g, g).map_err(|e| SyscallError::new("setresgid", gid, e))?;
        nix::unistd::setresuid(u, u, u).map_err(|e| SyscallError::new("setresuid", uid, e))
    }

    fn setgroups(&self, gids: &[u32]) -> SysResult {
        let groups: Vec<Gid> = gids.iter().copied().map(Gid::from_raw).collect();
        nix::unistd::setgroups(&groups).map_err(|e| SyscallError::new("setgroups", format!("{gids:?}"), e))
    }

    fn set_keep_capabilities(&self, keep: bool) -> SysResult {
        nix::sys::prctl::set_keepcaps(keep).map_err(|e| SyscallError::new("prctl", "PR_SET_KEEPCAPS", e))
    }

    fn drop_bounding_capability(&self, cap: u8) -> SysResult {
        // SAFETY: PR_CAPBSET_DROP takes a capability number and no pointers.
        let rc = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, libc::c_ulong::from(cap), 0, 0, 0) };
        Errno::result(rc).map(drop).map_err(|e| SyscallError::new("drop bounding capability", cap, e))
    }

    fn set_capabilities(&self, sets: CapabilitySets) -> SysResult {
        let mut header = CapHeader { version: LINUX_CAPABILITY_VERSION_3, pid: 0 };
        let split = |v: u64| [v as u32, (v >> 32) as u32];
        let (e, p, i) = (split(sets.effective), split(sets.permitted), split(sets.inheritable));
        let data = [
            CapData { effective: e[0], permitted: p[0], inheritable: i[0] },
            CapData { effective: e[1], permitted: p[1], inheritable: i[1] },
        ];
        // SAFETY: version 3 capset reads one header and two data structs, which is what
        // we pass; both live until the call returns.
        let rc = unsafe { libc::syscall(libc::SYS_capset, &mut header as *mut CapHeader, data.as_ptr()) };
        Errno::result(rc).map(drop).map_err(|e| SyscallError::new("capset", format!("{sets:?}"), e))
    }

    fn clear_ambient_capabilities(&self) -> SysResult {
        // SAFETY: PR_CAP_AMBIENT_CLEAR_ALL takes no pointers.
        let rc = unsafe { libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong, 0, 0, 0) };
        Errno::result(rc).map(drop).map_err(|e| SyscallError::new("clear ambient capabilities", "", e))
    }

    fn raise_ambient_capability(&self, cap: u8) -> SysResult {
        // SAFETY: PR_CAP_AMBIENT_RAISE takes a capability number and no pointers.
        let rc = unsafe {
            libc::prctl(
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
                libc::c_ulong::from(cap),
                0,
                0,
            )
        };
        Errno::result(rc).map(drop).map_err(|e| SyscallError::new("raise ambient capability", cap, e))
    }

    fn setrlimit(&self, resource: libc::c_int, soft: u64, hard: u64) -> SysResult {
        let limit = libc::rlimit { rlim_cur: soft, rlim_max: hard };
        // SAFETY: `limit` is a valid rlimit that outlives the call. The resource number comes
        // from the spec; the kernel rejects unknown ones with EINVAL.
        let rc = unsafe { libc::setrlimit(resource as libc::__rlimit_resource_t, &limit) };
        Errno::result(rc).map(drop).map_err(|e| SyscallError::new("setrlimit", resource, e))
    }

    fn set_no_new_privs(&self) -> SysResult {
        nix::sys::prctl::set_no_new_privs().map_err(|e| SyscallError::new("prctl", "PR_SET_NO_NEW_PRIVS", e))
    }

    fn load_seccomp(&self, filter: &crate::seccomp::Filter) -> SysResult {
        filter.load().map_err(|e| SyscallError::new("seccomp", "filter", e))
    }

    fn umask(&self, mask: u32) {
        nix::sys::stat::umask(Mode::from_bits_truncate(mask));
    }
}
