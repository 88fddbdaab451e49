//! Which namespaces a container gets new and which it joins by path.
//!
//! New namespaces are created by the `clone` that starts the init (the user namespace
//! first, so the others belong to it), except the cgroup namespace: that one is unshared
//! after the init has been moved into its cgroup, so the namespace's root is the
//! container's cgroup. Namespaces given by `path` are joined with `setns`: the pid
//! namespace by the runtime just before the clone (it only applies to children), every
//! other one by the init right after it.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::{open, OFlag};
use nix::sched::CloneFlags;
use nix::sys::stat::Mode;
use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::syscall::{Syscall, SyscallError};

#[derive(Debug, thiserror::Error)]
pub enum NamespaceError {
    #[error("cannot open the {kind} namespace {}", path.display())]
    Open {
        kind: &'static str,
        path: PathBuf,
        #[source]
        source: nix::Error,
    },
    #[error("cannot join the {kind} namespace {}", path.display())]
    Join {
        kind: &'static str,
        path: PathBuf,
        #[source]
        source: SyscallError,
    },
    #[error("cannot create the cgroup namespace")]
    Cgroup(#[source] SyscallError),
    #[error(transparent)]
    IdMap(#[from] crate::userns::IdMapError),
}

impl NamespaceError {
    pub fn code(&self) -> crate::error::Code {
        use crate::error::Code;
        match self {
            NamespaceError::Open { .. } | NamespaceError::Join { .. } | NamespaceError::Cgroup(_) => Code::Internal,
            NamespaceError::IdMap(e) => e.code(),
        }
    }
}

pub(crate) fn flag(t: LinuxNamespaceType) -> CloneFlags {
    match t {
        LinuxNamespaceType::Mount => CloneFlags::CLONE_NEWNS,
        LinuxNamespaceType::Cgroup => CloneFlags::CLONE_NEWCGROUP,
        LinuxNamespaceType::Uts => CloneFlags::CLONE_NEWUTS,
        LinuxNamespaceType::Ipc => CloneFlags::CLONE_NEWIPC,
        LinuxNamespaceType::User => CloneFlags::CLONE_NEWUSER,
        LinuxNamespaceType::Pid => CloneFlags::CLONE_NEWPID,
        LinuxNamespaceType::Network => CloneFlags::CLONE_NEWNET,
        // CLONE_NEWTIME is 0x80 (Linux 5.6); nix has no constant for it.
        LinuxNamespaceType::Time => CloneFlags::from_bits_retain(0x80),
    }
}

/// Namespaces a process cannot move itself into: setns only sets them for its children.
fn for_children(t: LinuxNamespaceType) -> bool {
    matches!(t, LinuxNamespaceType::Pid | LinuxNamespaceType::Time)
}

/// The namespace's file name under /proc/<pid>/ns.
fn proc_name(t: LinuxNamespaceType) -> &'static str {
    match t {
        LinuxNamespaceType::Mount => "mnt",
        LinuxNamespaceType::Network => "net",
        other => crate::spec::ns_name(other),
    }
}

/// The order namespaces are joined in: the user namespace first (the others may belong to
/// it), the mount namespace last (the paths of the others must still resolve).
const JOIN_ORDER: [LinuxNamespaceType; 7] = [
    LinuxNamespaceType::User,
    LinuxNamespaceType::Ipc,
    LinuxNamespaceType::Uts,
    LinuxNamespaceType::Network,
    LinuxNamespaceType::Cgroup,
    LinuxNamespaceType::Time,
    LinuxNamespaceType::Mount,
];

#[derive(Debug, Clone, Default)]
pub struct Namespaces {
    new: Vec<LinuxNamespaceType>,
    join: Vec<(LinuxNamespaceType, PathBuf)>,
}

impl Namespaces {
    pub fn from_spec(spec: &Spec) -> Self {
        let mut ns = Namespaces::default();
        for n in spec.linux().as_ref().and_then(|l| l.namespaces().as_ref()).into_iter().flatten() {
            match n.path() {
                Some(p) if !p.as_os_str().is_empty() => ns.join.push((n.typ(), p.clone())),
                _ => ns.new.push(n.typ()),
            }
        }
        ns.join.sort_by_key(|(t, _)| JOIN_ORDER.iter().position(|o| o == t).unwrap_or(usize::MAX));
        ns
    }

    /// The namespaces of a running container, to join for `exec`: every kind the
    /// container has of its own, through `/proc/<pid>/ns`.
    pub fn of_container(spec: &Spec, pid: i32) -> Self {
        let own = Self::from_spec(spec);
        let mut ns = Namespaces::default();
        for t in JOIN_ORDER.iter().copied().chain([LinuxNamespaceType::Pid]) {
            if own.is_private(t) {
                ns.join.push((t, PathBuf::from(format!("/proc/{pid}/ns/{}", proc_name(t)))));
            }
        }
        ns
    }

    pub fn is_new(&self, t: LinuxNamespaceType) -> bool {
        self.new.contains(&t)
    }

    /// The container has its own namespace of this kind, new or joined.
    pub fn is_private(&self, t: LinuxNamespaceType) -> bool {
        self.is_new(t) || self.join.iter().any(|(j, _)| *j == t)
    }

    /// Flags for the clone that starts the init: every new namespace but cgroup.
    pub fn clone_flags(&self) -> CloneFlags {
        self.new.iter().filter(|t| **t != LinuxNamespaceType::Cgroup).fold(CloneFlags::empty(), |acc, t| acc | flag(*t))
    }

    fn open(kind: LinuxNamespaceType, path: &Path) -> Result<OwnedFd, NamespaceError> {
        open(path, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty()).map_err(|source| NamespaceError::Open {
            kind: crate::spec::ns_name(kind),
            path: path.to_path_buf(),
            source,
        })
    }

    fn join_one(syscall: &dyn Syscall, kind: LinuxNamespaceType, path: &Path) -> Result<(), NamespaceError> {
        let fd = Self::open(kind, path)?;
        syscall.setns(fd.as_fd(), flag(kind)).map_err(|source| NamespaceError::Join {
            kind: crate::spec::ns_name(kind),
            path: path.to_path_buf(),
            source,
        })
    }

    /// In the runtime, before the clone: joined pid and time namespaces apply to
    /// children only.
    pub fn join_for_children(&self, syscall: &dyn Syscall) -> Result<(), NamespaceError> {
        for (kind, path) in self.join.iter().filter(|(t, _)| for_children(*t)) {
            Self::join_one(syscall, *kind, path)?;
        }
        Ok(())
    }

    /// In the init, right after the clone: every other joined namespace, in order.
    pub fn join(&self, syscall: &dyn Syscall) -> Result<(), NamespaceError> {
        for (kind, path) in self.join.iter().filter(|(t, _)| !for_children(*t)) {
            Self::join_one(syscall, *kind, path)?;
        }
        Ok(())
    }

    /// For an unprivileged runtime: joins the container's user namespace now, and returns
    /// the other namespaces to join. Entering the container's pid namespace (which happens in
    /// the runtime, for its children) needs privilege over the user namespace that owns it,
    /// which an unprivileged user has only from inside.
    pub fn enter_user_namespace_first(&self, syscall: &dyn Syscall) -> Result<Namespaces, NamespaceError> {
        let mut rest = self.clone();
        if let Some(i) = rest.join.iter().position(|(t, _)| *t == LinuxNamespaceType::User) {
            let (kind, path) = rest.join.remove(i);
            Self::join_one(syscall, kind, &path)?;
        }
        Ok(rest)
    }

    /// In the init, once it is in its cgroup: the new cgroup namespace.
    pub fn unshare_cgroup(&self, syscall: &dyn Syscall) -> Result<(), NamespaceError> {
        if self.is_new(LinuxNamespaceType::Cgroup) {
            syscall.unshare(CloneFlags::CLONE_NEWCGROUP).map_err(NamespaceError::Cgroup)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscall::{Call, FakeSyscall};

    fn spec(namespaces: &str) -> Spec {
        serde_json::from_str(&format!(r#"{{"ociVersion":"1.2.0","linux":{{"namespaces":{namespaces}}}}}"#)).unwrap()
    }

    #[test]
    fn new_namespaces_come_from_clone_except_cgroup() {
        let ns = Namespaces::from_spec(&spec(r#"[{"type":"pid"},{"type":"mount"},{"type":"cgroup"},{"type":"user"}]"#));
        let flags = ns.clone_flags();
        assert!(flags.contains(CloneFlags::CLONE_NEWPID | CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWUSER));
        assert!(!flags.contains(CloneFlags::CLONE_NEWCGROUP));
        let fake = FakeSyscall::new();
        ns.unshare_cgroup(&fake).unwrap();
        assert_eq!(fake.calls(), vec![Call::Unshare(CloneFlags::CLONE_NEWCGROUP)]);
    }

    #[test]
    fn joined_namespaces_are_entered_user_first_and_mount_last() {
        let me = std::process::id();
        let ns = Namespaces::from_spec(&spec(&format!(
            r#"[{{"type":"mount","path":"/proc/{me}/ns/mnt"}},{{"type":"network","path":"/proc/{me}/ns/net"}},{{"type":"user","path":"/proc/{me}/ns/user"}},{{"type":"pid","path":"/proc/{me}/ns/pid"}}]"#
        )));
        assert!(ns.clone_flags().is_empty());
        let fake = FakeSyscall::new();
        ns.join(&fake).unwrap();
        assert_eq!(
            fake.calls(),
            vec![
                Call::Setns(CloneFlags::CLONE_NEWUSER),
                Call::Setns(CloneFlags::CLONE_NEWNET),
                Call::Setns(CloneFlags::CLONE_NEWNS)
            ]
        );
        let fake = FakeSyscall::new();
        ns.join_for_children(&fake).unwrap();
        assert_eq!(fake.calls(), vec![Call::Setns(CloneFlags::CLONE_NEWPID)]);
    }

    #[test]
    fn exec_joins_every_namespace_the_container_has() {
        let me = std::process::id() as i32;
        let s = spec(r#"[{"type":"pid"},{"type":"mount"},{"type":"network"},{"type":"uts"}]"#);
        let ns = Namespaces::of_container(&s, me);
        assert!(ns.clone_flags().is_empty(), "exec creates no namespace");
        let fake = FakeSyscall::new();
        ns.join(&fake).unwrap();
        assert_eq!(
            fake.calls(),
            vec![
                Call::Setns(CloneFlags::CLONE_NEWUTS),
                Call::Setns(CloneFlags::CLONE_NEWNET),
                Call::Setns(CloneFlags::CLONE_NEWNS)
            ]
        );
        let fake = FakeSyscall::new();
        ns.join_for_children(&fake).unwrap();
        assert_eq!(fake.calls(), vec![Call::Setns(CloneFlags::CLONE_NEWPID)]);
    }

    #[test]
    fn an_unprivileged_exec_enters_the_user_namespace_before_the_pid_namespace() {
        let me = std::process::id() as i32;
        let s = spec(r#"[{"type":"user"},{"type":"pid"},{"type":"mount"}]"#);
        let fake = FakeSyscall::new();
        let rest = Namespaces::of_container(&s, me).enter_user_namespace_first(&fake).unwrap();
        assert_eq!(fake.calls(), vec![Call::Setns(CloneFlags::CLONE_NEWUSER)]);
        let fake = FakeSyscall::new();
        rest.join_for_children(&fake).unwrap();
        rest.join(&fake).unwrap();
        assert_eq!(fake.calls(), vec![Call::Setns(CloneFlags::CLONE_NEWPID), Call::Setns(CloneFlags::CLONE_NEWNS)]);
    }

    #[test]
    fn a_missing_namespace_path_names_the_file() {
        let ns = Namespaces::from_spec(&spec(r#"[{"type":"network","path":"/nonexistent/net"}]"#));
        let err = ns.join(&FakeSyscall::new()).unwrap_err().to_string();
        assert!(err.starts_with("cannot open the network namespace /nonexistent/net"), "{err}");
    }
}
