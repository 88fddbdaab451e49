//! The state store: one directory per container under the state root, holding
//! `state.json` (written atomically: temp file, rename) and the exec fifo.

use std::collections::HashMap;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use oci_spec::runtime::Spec;
use serde::{Deserialize, Serialize};

use crate::cgroups::CgroupPath;
use crate::trusted::{Kind, TrustError, TrustedDir};

pub const STATE_FILE: &str = "state.json";
pub const EXEC_FIFO: &str = "exec.fifo";
/// Serializes changes to a container's state between runtime processes (a `start` and
/// the supervisor recording the exit, a `delete` and either).
const UPDATE_LOCK: &str = "state.lock";
/// The mount point the rootfs is bound to inside the container's mount namespace.
pub const ROOTFS_DIR: &str = "rootfs";
const MAX_ID_LEN: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("invalid container id `{id}`: {reason}")]
    InvalidId { id: String, reason: &'static str },
    #[error("container `{0}` does not exist")]
    NotFound(String),
    #[error("container `{0}` already exists")]
    Exists(String),
    #[error("cannot {op} {}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("corrupt state file {}", path.display())]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(transparent)]
    Untrusted(#[from] TrustError),
}

impl StateError {
    pub fn code(&self) -> crate::error::Code {
        use crate::error::Code;
        match self {
            StateError::InvalidId { .. } => Code::InvalidOption,
            StateError::NotFound(_) => Code::NotFound,
            StateError::Exists(_) => Code::AlreadyExists,
            StateError::Io { .. } | StateError::Corrupt { .. } => Code::Internal,
            StateError::Untrusted(e) => e.code(),
        }
    }
}

/// Where container state lives when no `--root` is given: `/run/tscontainer` for root,
/// `$XDG_RUNTIME_DIR/tscontainer` for anyone else (runc's convention; root inside a user
/// namespace, as under rootless podman, counts as someone else), and a per-user directory
/// under /tmp when that variable is unset.
pub fn default_root() -> PathBuf {
    let euid = nix::unistd::geteuid();
    if crate::userns::privileged() {
        return PathBuf::from("/run/tscontainer");
    }
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir).join("tscontainer"),
        None => PathBuf::from(format!("/tmp/tscontainer-{euid}")),
    }
}

/// Container ids become directory and cgroup names: letters, digits and `_.+-`, not `.`
/// or `..`, at most 200 characters (runc's rule, with a length bound).
pub fn validate_id(id: &str) -> Result<(), StateError> {
    let bad = |reason| Err(StateError::InvalidId { id: id.to_string(), reason });
    if id.is_empty() {
        return bad("it is empty");
    }
    if id.len() > MAX_ID_LEN {
        return bad("it is longer than 200 characters");
    }
    if id == "." || id == ".." {
        return bad("it must not be `.` or `..`");
    }
    if !id.chars().all(|c| c.is_ascii_alphanumeric() || "_.+-".contains(c)) {
        return bad("only letters, digits and `_.+-` are allowed");
    }
    Ok(())
}

/// The status the runtime-spec defines, plus `paused`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Creating,
    Created,
    Running,
    Stopped,
    Paused,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Stopped => "stopped",
            Status::Paused => "paused",
        })
    }
}

impl Status {
    pub fn can_start(self) -> bool {
        self == Status::Created
    }
    pub fn can_kill(self) -> bool {
        matches!(self, Status::Created | Status::Running | Status::Paused)
    }
    /// Only a stopped container, as the runtime-spec says (runc and crun also delete a created
    /// one without --force; containerd's shim relies on that only when it removes a task that
    /// never started, where `ctr task delete --force` does it here).
    pub fn can_delete(self) -> bool {
        self == Status::Stopped
    }
    /// A created container too, as runc: its init is frozen before it ever runs, and a
    /// resume leaves it created.
    pub fn can_pause(self) -> bool {
        matches!(self, Status::Created | Status::Running)
    }
    pub fn can_resume(self) -> bool {
        self == Status::Paused
    }
    pub fn can_exec(self) -> bool {
        matches!(self, Status::Created | Status::Running)
    }
}

/// What the runtime remembers about a container between invocations.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerState {
    pub oci_version: String,
    pub id: String,
    /// The last status the runtime recorded; the live status is derived from the process.
    pub status: Status,
    pub pid: Option<i32>,
    /// The init's start time in clock ticks, so a reused pid is never taken for it.
    pub pid_start_time: Option<u64>,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    /// RFC 3339, UTC.
    pub created: String,
    #[serde(default)]
    pub annotations: HashMap<String, String>,
    pub cgroup_path: CgroupPath,
    /// Parent cgroup directories this container's creation made, removed with it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cgroup_parents: Vec<PathBuf>,
    /// The systemd unit the container's cgroup belongs to (`--systemd-cgroup`);
    /// `cgroup_path` is then the unit's cgroup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub systemd: Option<crate::cgroups::systemd::Unit>,
    /// The config the container was created from, so later commands need no bundle.
    pub config: Spec,
    /// How the container's process ended, recorded by the runtime that supervised it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<ExitRecord>,
}

/// How a container's process ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExitRecord {
    /// The exit code, or 128 + the signal number when a signal killed it.
    pub exit_code: i32,
    /// The signal that killed it (`SIGKILL`), if one did.
    pub signal: Option<String>,
    /// The kernel's OOM killer killed a process of the container.
    pub oom_killed: bool,
    /// RFC 3339, UTC.
    pub finished: String,
}

impl ContainerState {
    /// The state a hook reads on stdin.
    pub fn hook_state(&self, status: &str) -> crate::hooks::HookState {
        crate::hooks::HookState {
            oci_version: self.oci_version.clone(),
            id: self.id.clone(),
            status: status.to_string(),
            pid: self.pid,
            bundle: self.bundle.display().to_string(),
            annotations: self.annotations.clone(),
        }
    }
}

/// The state root (`/run/tscontainer` for root) and the containers in it. Every access
/// goes through descriptors of the root and of the container's directory, each checked
/// once opened (see [`crate::trusted`]): state written by anyone but the caller is never
/// read, and its hooks never run.
#[derive(Debug, Clone)]
pub struct StateStore {
    root: PathBuf,
}

/// What the state root and the directories in it are called in errors.
const ROOT_WHAT: &str = "state directory";
const CONTAINER_WHAT: &str = "container state directory";

impl StateStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        StateStore { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The root, checked; `None` when it does not exist yet.
    fn open_root(&self) -> Result<Option<TrustedDir>, StateError> {
        match TrustedDir::open(&self.root, ROOT_WHAT) {
            Ok(dir) => Ok(Some(dir)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The root, created if need be: root's may be traversed by anyone (as runc's), a
    /// user's is that user's alone. One made by someone else first is refused.
    fn create_root(&self) -> Result<TrustedDir, StateError> {
        let mode = if nix::unistd::geteuid().is_root() { 0o711 } else { 0o700 };
        Ok(TrustedDir::create(&self.root, mode, mode, ROOT_WHAT)?)
    }

    /// A container's directory, checked.
    pub fn open(&self, id: &str) -> Result<ContainerDir, StateError> {
        validate_id(id)?;
        let root = self.open_root()?.ok_or_else(|| StateError::NotFound(id.to_string()))?;
        match root.open_dir(id, CONTAINER_WHAT) {
            Ok(dir) => Ok(ContainerDir { id: id.to_string(), dir }),
            Err(e) if e.is_not_found() => Err(StateError::NotFound(id.to_string())),
            Err(e) => Err(e.into()),
        }
    }

    /// Claims `id` by creating its directory; fails if another container holds it.
    pub fn create_dir(&self, id: &str) -> Result<ContainerDir, StateError> {
        validate_id(id)?;
        let root = self.create_root()?;
        // 0711: a container in a user namespace reaches its rootfs mount point below it
        // as a host uid other than the owner.
        match root.create_dir(id, 0o711, CONTAINER_WHAT) {
            Ok(dir) => Ok(ContainerDir { id: id.to_string(), dir }),
            Err(e) if e.is_already_existing() => Err(StateError::Exists(id.to_string())),
            Err(e) => Err(e.into()),
        }
    }

    /// Takes an exclusive lock on a container's directory for as long as the returned
    /// descriptor (and every copy of it) stays open: `create` holds it until it is done, so
    /// others can tell a container being created from one whose creator died.
    pub fn lock(&self, id: &str) -> Result<OwnedFd, StateError> {
        self.open(id)?.lock()
    }

    /// Whether a `create` is still working on this container.
    pub fn is_locked(&self, id: &str) -> bool {
        self.open(id).is_ok_and(|dir| dir.is_locked())
    }

    pub fn exists(&self, id: &str) -> bool {
        self.open(id).is_ok()
    }

    pub fn load(&self, id: &str) -> Result<ContainerState, StateError> {
        self.open(id)?.load()
    }

    /// Loads the container's state, lets `f` change it, and saves it, with no other
    /// runtime process changing or deleting it in between. Nothing is saved if `f` fails.
    pub fn update<T, E: From<StateError>>(
        &self,
        id: &str,
        f: impl FnOnce(&mut ContainerState) -> Result<T, E>,
    ) -> Result<T, E> {
        let dir = self.open(id)?;
        dir.with_update_lock(|| {
            // A delete that held the lock before us may have removed everything.
            let mut state = dir.load()?;
            let value = f(&mut state)?;
            dir.save(&state)?;
            Ok(value)
        })?
    }

    /// Writes `state.json` so a reader sees the old file or the new one, never a torn one.
    pub fn save(&self, state: &ContainerState) -> Result<(), StateError> {
        self.open(&state.id)?.save(state)
    }

    /// Removes a container's directory and everything in it; a missing one is fine. No
    /// update runs meanwhile (one waiting finds the container gone).
    pub fn remove(&self, id: &str) -> Result<(), StateError> {
        validate_id(id)?;
        let Some(root) = self.open_root()? else { return Ok(()) };
        let dir = match root.open_dir(id, CONTAINER_WHAT) {
            Ok(dir) => ContainerDir { id: id.to_string(), dir },
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        match dir.with_update_lock(|| root.remove_tree(id)) {
            Ok(result) => Ok(result?),
            // No directory (hence no lock file): nothing to remove.
            Err(StateError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Ids of every container directory, sorted.
    pub fn list(&self) -> Result<Vec<String>, StateError> {
        let Some(root) = self.open_root()? else { return Ok(Vec::new()) };
        let mut ids: Vec<String> = root
            .entries()?
            .into_iter()
            .filter(|id| validate_id(id).is_ok())
            .filter(|id| root.stat(id).is_some_and(|s| s.st_mode & libc::S_IFMT == libc::S_IFDIR))
            .collect();
        ids.sort();
        Ok(ids)
    }
}

/// One container's directory in the state root, held open and checked.
#[derive(Debug)]
pub struct ContainerDir {
    id: String,
    dir: TrustedDir,
}

impl ContainerDir {
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The directory itself, for files others keep in it (the network helper's).
    pub fn trusted(&self) -> &TrustedDir {
        &self.dir
    }

    /// See [`StateStore::lock`].
    pub fn lock(&self) -> Result<OwnedFd, StateError> {
        let fd = self.dir.reopen()?;
        // SAFETY: flock on a descriptor we own; it takes no pointers.
        let rc = unsafe { libc::flock(fd.as_raw_fd(), libc::LOCK_EX) };
        nix::errno::Errno::result(rc).map_err(|e| StateError::Io {
            op: "lock",
            path: self.path().to_path_buf(),
            source: e.into(),
        })?;
        Ok(fd)
    }

    fn is_locked(&self) -> bool {
        let Ok(fd) = self.dir.reopen() else { return false };
        // SAFETY: flock on a descriptor we own; it takes no pointers.
        let rc = unsafe { libc::flock(fd.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) };
        rc != 0 && nix::errno::Errno::last() == nix::errno::Errno::EWOULDBLOCK
    }

    pub fn load(&self) -> Result<ContainerState, StateError> {
        let path = self.dir.join(STATE_FILE);
        let file = match self.dir.open_file(STATE_FILE, OFlag::O_RDONLY, Kind::Regular, "state file") {
            Ok(f) => f,
            Err(e) if e.is_not_found() => return Err(StateError::NotFound(self.id.clone())),
            Err(e) => return Err(e.into()),
        };
        let mut text = Vec::new();
        std::io::Read::read_to_end(&mut &file, &mut text).map_err(|source| StateError::Io {
            op: "read",
            path: path.clone(),
            source,
        })?;
        serde_json::from_slice(&text).map_err(|source| StateError::Corrupt { path, source })
    }

    /// See [`StateStore::save`].
    pub fn save(&self, state: &ContainerState) -> Result<(), StateError> {
        let path = self.dir.join(STATE_FILE);
        let bytes = serde_json::to_vec(state).map_err(|source| StateError::Corrupt { path, source })?;
        Ok(self.dir.write_atomically(STATE_FILE, &bytes, 0o600, "state file")?)
    }

    /// Holds the container's update lock while `f` runs.
    fn with_update_lock<T>(&self, f: impl FnOnce() -> T) -> Result<T, StateError> {
        let file = match self.dir.open_or_create_file(UPDATE_LOCK, OFlag::O_WRONLY, 0o600, "state lock") {
            Ok(f) => f,
            Err(e) if e.is_not_found() => return Err(StateError::NotFound(self.id.clone())),
            Err(e) => return Err(e.into()),
        };
        // SAFETY: flock on a descriptor we own; it takes no pointers.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        nix::errno::Errno::result(rc).map_err(|e| StateError::Io {
            op: "lock",
            path: self.dir.join(UPDATE_LOCK),
            source: e.into(),
        })?;
        // The directory may have been removed while we waited for the lock.
        if self.dir.stat(".").is_none_or(|s| s.st_nlink == 0) {
            return Err(StateError::NotFound(self.id.clone()));
        }
        let result = f();
        drop(file);
        Ok(result)
    }

    /// Creates the exec fifo `start` writes to, private to the caller.
    pub fn make_exec_fifo(&self) -> Result<(), StateError> {
        nix::unistd::mkfifoat(self.dir.as_fd(), EXEC_FIFO, Mode::from_bits_truncate(0o600))
            .map_err(|e| StateError::Io { op: "create", path: self.dir.join(EXEC_FIFO), source: e.into() })
    }

    /// Opens the exec fifo with `flags`, checked to be ours.
    pub fn open_exec_fifo(&self, flags: OFlag) -> Result<OwnedFd, StateError> {
        Ok(self.dir.open_file(EXEC_FIFO, flags, Kind::Fifo, "exec fifo")?.into())
    }

    /// Whether the exec fifo is there: the container was created and not started yet.
    pub fn has_exec_fifo(&self) -> bool {
        self.dir.stat(EXEC_FIFO).is_some_and(|s| s.st_mode & libc::S_IFMT == libc::S_IFIFO)
    }

    pub fn remove_exec_fifo(&self) -> Result<(), StateError> {
        Ok(self.dir.remove_file(EXEC_FIFO)?)
    }

    /// Runs `f` under the update lock: what `start` does, so that two starts never both
    /// find the fifo.
    pub fn locked<T>(&self, f: impl FnOnce() -> T) -> Result<T, StateError> {
        self.with_update_lock(f)
    }
}

/// Formats seconds since the epoch as RFC 3339 UTC with nanoseconds, the way runc
/// and containerd print `created`.
pub fn rfc3339(time: std::time::SystemTime) -> String {
    let d = time.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:09}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_nanos()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked() {
        for ok in ["a", "web-1", "x_y.z+1", &"a".repeat(200)] {
            validate_id(ok).unwrap();
        }
        for bad in ["", ".", "..", "../x", "a/b", "with space", "ü", &"a".repeat(201)] {
            assert!(validate_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn status_guards() {
        assert!(Status::Created.can_start());
        assert!(!Status::Running.can_start());
        assert!(Status::Stopped.can_delete());
        assert!(!Status::Running.can_delete());
        assert!(!Status::Created.can_delete());
        assert!(!Status::Stopped.can_kill());
        assert!(Status::Paused.can_resume());
        assert!(Status::Created.can_pause() && Status::Running.can_pause() && !Status::Paused.can_pause());
    }

    fn state(id: &str) -> ContainerState {
        ContainerState {
            oci_version: "1.2.1".into(),
            id: id.into(),
            status: Status::Created,
            pid: Some(42),
            pid_start_time: Some(7),
            bundle: "/b".into(),
            rootfs: "/b/rootfs".into(),
            created: rfc3339(std::time::SystemTime::now()),
            annotations: HashMap::new(),
            cgroup_path: CgroupPath("/x".into()),
            cgroup_parents: Vec::new(),
            systemd: None,
            config: Spec::default(),
            exit: None,
        }
    }

    #[test]
    fn store_round_trips_and_claims_ids_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path().join("root"));
        store.create_dir("c1").unwrap();
        assert!(matches!(store.create_dir("c1"), Err(StateError::Exists(_))));
        assert!(matches!(store.load("c1"), Err(StateError::NotFound(_))));
        store.save(&state("c1")).unwrap();
        assert_eq!(store.load("c1").unwrap().pid, Some(42));
        assert!(std::fs::read_dir(store.open("c1").unwrap().path())
            .unwrap()
            .flatten()
            .all(|e| !e.file_name().to_string_lossy().ends_with(".tmp")));
        let pid = store.update("c1", |s| -> Result<_, StateError> {
            s.pid = Some(43);
            Ok(s.pid)
        });
        assert_eq!(pid.unwrap(), Some(43));
        assert_eq!(store.load("c1").unwrap().pid, Some(43));
        assert_eq!(store.list().unwrap(), vec!["c1"]);
        store.remove("c1").unwrap();
        store.remove("c1").unwrap();
        assert!(store.list().unwrap().is_empty());
        let gone = store.update("c1", |_| -> Result<(), StateError> { Ok(()) });
        assert!(matches!(gone, Err(StateError::NotFound(_))), "an update after a delete finds nothing");
    }

    #[test]
    fn a_torn_state_file_is_reported_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path());
        store.create_dir("c").unwrap();
        std::fs::write(store.open("c").unwrap().path().join(STATE_FILE), "{\"id\":").unwrap();
        assert!(matches!(store.load("c"), Err(StateError::Corrupt { .. })));
    }

    #[test]
    fn a_state_root_or_container_directory_others_may_write_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        std::fs::create_dir(&root).unwrap();
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o777)).unwrap();
        let store = StateStore::new(&root);
        let err = store.create_dir("c").unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "refusing state directory {}: other users may write to it (mode 0777); only its owner may",
                root.display()
            )
        );
        assert!(store.load("c").is_err() && store.list().is_err());
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o700)).unwrap();
        store.create_dir("c").unwrap();
        store.save(&state("c")).unwrap();
        let file = root.join("c").join(STATE_FILE);
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o646)).unwrap();
        assert!(matches!(store.load("c"), Err(StateError::Untrusted(_))), "a state file others may write is not read");
        std::fs::remove_file(&file).unwrap();
        std::os::unix::fs::symlink(tmp.path(), root.join("link")).unwrap();
        assert!(matches!(store.load("link"), Err(StateError::Untrusted(_))));
        assert_eq!(store.list().unwrap(), vec!["c"], "a symlink in the root is no container");
    }

    #[test]
    fn the_exec_fifo_is_private() {
        let tmp = tempfile::tempdir().unwrap();
        let store = StateStore::new(tmp.path().join("root"));
        let dir = store.create_dir("c").unwrap();
        assert!(!dir.has_exec_fifo());
        dir.make_exec_fifo().unwrap();
        assert!(dir.has_exec_fifo());
        let mode = std::fs::metadata(dir.path().join(EXEC_FIFO)).unwrap().permissions();
        assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777, 0o600);
        dir.open_exec_fifo(OFlag::O_RDWR).unwrap();
        dir.remove_exec_fifo().unwrap();
        assert!(!dir.has_exec_fifo());
    }

    #[test]
    fn rfc3339_dates() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::new(1_700_000_000, 5);
        assert_eq!(rfc3339(t), "2023-11-14T22:13:20.000000005Z");
        assert_eq!(rfc3339(std::time::UNIX_EPOCH), "1970-01-01T00:00:00.000000000Z");
    }
}
