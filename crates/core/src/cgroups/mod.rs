//! cgroups behind one trait: [`CgroupManager`], with a cgroup v1 backend (also used on
//! hybrid hosts, where the controllers live on v1) and a cgroup v2 backend. Which one runs
//! is decided by [`detect`] from the filesystem at the cgroup root, never assumed.

mod devices;
mod fs;
mod hugetlb;
mod join;
mod pids;
mod rdma;
pub mod stats;
pub mod systemd;
pub mod v1;
pub mod v2;

use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;
use serde::{Deserialize, Serialize};

pub use devices::effective_rules as effective_device_rules;
pub use fs::{read_value, write_value};
pub use join::{CgroupJoin, PendingJoin};

pub const DEFAULT_CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// How the host's cgroup filesystems are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Setup {
    /// cgroup v2 mounted at the root: every controller on one hierarchy.
    Unified,
    /// cgroup v1 only: one hierarchy per controller (or co-mounted group).
    Legacy,
    /// cgroup v1 controllers plus a cgroup2 mount (usually at `unified/`) that carries
    /// whatever controllers v1 does not use.
    Hybrid,
}

#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("cannot detect the cgroup layout at {}: {source}", path.display())]
    Detect {
        path: PathBuf,
        #[source]
        source: nix::Error,
    },
    #[error("no cgroup filesystem is mounted at {}", path.display())]
    NotMounted { path: PathBuf },
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write `{value}` to {}: {source}", path.display())]
    Write {
        path: PathBuf,
        value: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot create cgroup {}: {source}", path.display())]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot remove cgroup {}: {source}", path.display())]
    Remove {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the {controller} cgroup controller is not available on this host, so the requested {what} cannot be applied"
    )]
    ControllerMissing { controller: &'static str, what: &'static str },
    #[error("{what} is not supported with cgroup {version}")]
    Unsupported { what: String, version: &'static str },
    #[error("{what} is not available on this host")]
    Unavailable { what: String },
    #[error("cannot restrict devices in cgroup {}: {reason}", path.display())]
    DeviceProgram { path: PathBuf, reason: String },
    #[error("cannot find this process's {controller} cgroup in /proc/self/cgroup")]
    OwnCgroup { controller: String },
    #[error("container's cgroup {} is not empty: {count} process(es) found in {}; a container needs a cgroup of its own", path.display(), dir.display())]
    Occupied { path: PathBuf, dir: PathBuf, count: usize },
}

/// Whether a cgroup's processes may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FreezerState {
    Frozen,
    Thawed,
}

/// What the container's `/sys/fs/cgroup` shows, decided from the host layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ContainerView {
    /// One cgroup2 mount.
    Unified { host_dir: PathBuf },
    /// A tmpfs with one mount per v1 hierarchy, and the cgroup2 mount on hybrid hosts.
    Legacy { hierarchies: Vec<HierarchyView>, unified: Option<PathBuf> },
}

/// One v1 hierarchy as the container sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HierarchyView {
    /// The directory name under /sys/fs/cgroup (`memory`, `cpu,cpuacct`, `systemd`).
    pub name: String,
    /// The mount options that select this hierarchy (`memory`, `cpu,cpuacct`, `none,name=systemd`).
    pub options: String,
    /// Links for co-mounted controllers (`cpu` and `cpuacct` pointing at `cpu,cpuacct`).
    pub links: Vec<String>,
    /// The container's cgroup directory on the host, for bind-mounting without a cgroup namespace.
    pub host_dir: PathBuf,
}

/// One interface for every cgroup backend.
pub trait CgroupManager {
    /// Creates the container's cgroup directories; returns the parent directories it had
    /// to create on the way (deepest last), which the container's deletion removes too.
    fn create(&self) -> Result<Vec<PathBuf>, CgroupError>;
    /// Writes the limits in `resources`; a limit this host cannot apply is an error.
    fn apply(&self, resources: &LinuxResources) -> Result<(), CgroupError>;
    /// Opens what a process about to be cloned needs to be born in, or move itself into,
    /// the container's cgroup (see [`CgroupJoin`]).
    fn joiner(&self) -> Result<CgroupJoin, CgroupError>;
    /// Removes the container's cgroup directories; absent ones are fine.
    fn remove(&self) -> Result<(), CgroupError>;
    fn freeze(&self, state: FreezerState) -> Result<(), CgroupError>;
    fn freezer_state(&self) -> Result<FreezerState, CgroupError>;
    /// Processes in the container's cgroup.
    fn pids(&self) -> Result<Vec<i32>, CgroupError>;
    /// The first of the container's cgroup directories, in any hierarchy, that exists and
    /// holds processes (in it or below), with how many: a cgroup that is not the
    /// container's own, which `create` refuses.
    fn occupied(&self) -> Option<(PathBuf, usize)>;
    /// How many times the OOM killer killed a process in this cgroup.
    fn oom_kill_count(&self) -> Result<u64, CgroupError>;
    /// Current resource usage.
    fn stats(&self) -> Result<stats::Stats, CgroupError>;
    fn container_view(&self) -> ContainerView;
    /// Whether the cgroup directories exist.
    fn exists(&self) -> bool;
}

/// Finds the cgroup layout under `root` (normally `/sys/fs/cgroup`) from filesystem magic.
pub fn detect(root: &Path) -> Result<Setup, CgroupError> {
    use nix::sys::statfs::{statfs, CGROUP2_SUPER_MAGIC, TMPFS_MAGIC};
    let fs = statfs(root).map_err(|source| CgroupError::Detect { path: root.to_path_buf(), source })?;
    if fs.filesystem_type() == CGROUP2_SUPER_MAGIC {
        return Ok(Setup::Unified);
    }
    if fs.filesystem_type() != TMPFS_MAGIC {
        return Err(CgroupError::NotMounted { path: root.to_path_buf() });
    }
    let unified = root.join("unified");
    match statfs(&unified) {
        Ok(u) if u.filesystem_type() == CGROUP2_SUPER_MAGIC => Ok(Setup::Hybrid),
        _ => Ok(Setup::Legacy),
    }
}

/// Where a container's cgroup goes, as the spec's `cgroupsPath` says: absolute paths are
/// under each hierarchy's root, relative ones under the runtime's own cgroup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CgroupPath(pub PathBuf);

impl CgroupPath {
    /// runc's default when the spec gives none: `/<id>`.
    pub fn from_spec(path: Option<&Path>, id: &str) -> Self {
        match path {
            Some(p) if !p.as_os_str().is_empty() => CgroupPath(p.to_path_buf()),
            _ => CgroupPath(PathBuf::from("/").join(id)),
        }
    }

    pub fn is_absolute(&self) -> bool {
        self.0.is_absolute()
    }

    /// The path below a hierarchy whose root is `base` (the runtime's own cgroup there for
    /// relative paths, `/` for absolute ones).
    pub(crate) fn under(&self, base: &str) -> PathBuf {
        if self.is_absolute() {
            self.0.clone()
        } else {
            Path::new(base).join(&self.0)
        }
    }
}

/// The manager for this host, chosen at run time.
pub enum AnyManager {
    V1(v1::Manager),
    V2(v2::Manager),
}

/// Where to look for the cgroup filesystems and this process's own cgroups; tests point
/// both at fixtures.
#[derive(Debug, Clone)]
pub struct Roots {
    pub cgroup: PathBuf,
    pub proc_self: PathBuf,
}

impl Default for Roots {
    fn default() -> Self {
        Roots { cgroup: PathBuf::from(DEFAULT_CGROUP_ROOT), proc_self: PathBuf::from("/proc/self") }
    }
}

/// Builds the manager for `path` on this host.
pub fn manager(path: &CgroupPath, roots: &Roots) -> Result<AnyManager, CgroupError> {
    Ok(match detect(&roots.cgroup)? {
        Setup::Unified => AnyManager::V2(v2::Manager::new(path, roots)?),
        setup @ (Setup::Legacy | Setup::Hybrid) => AnyManager::V1(v1::Manager::new(path, roots, setup)?),
    })
}

impl AnyManager {
    /// Puts `pid`, which systemd placed in the container's scope, in the cgroups systemd
    /// does not manage: the v1 hierarchies besides its own. On v2 the scope is all.
    pub(crate) fn add_process(&self, pid: i32) -> Result<(), CgroupError> {
        match self {
            AnyManager::V1(m) => m.add_process(pid),
            AnyManager::V2(_) => Ok(()),
        }
    }
}

macro_rules! dispatch {
    ($self:ident, $m:ident => $e:expr) => {
        match $self {
            AnyManager::V1($m) => $e,
            AnyManager::V2($m) => $e,
        }
    };
}

impl CgroupManager for AnyManager {
    fn create(&self) -> Result<Vec<PathBuf>, CgroupError> {
        dispatch!(self, m => m.create())
    }
    fn apply(&self, resources: &LinuxResources) -> Result<(), CgroupError> {
        dispatch!(self, m => m.apply(resources))
    }
    fn joiner(&self) -> Result<CgroupJoin, CgroupError> {
        dispatch!(self, m => m.joiner())
    }
    fn remove(&self) -> Result<(), CgroupError> {
        dispatch!(self, m => m.remove())
    }
    fn freeze(&self, state: FreezerState) -> Result<(), CgroupError> {
        dispatch!(self, m => m.freeze(state))
    }
    fn freezer_state(&self) -> Result<FreezerState, CgroupError> {
        dispatch!(self, m => m.freezer_state())
    }
    fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        dispatch!(self, m => m.pids())
    }
    fn occupied(&self) -> Option<(PathBuf, usize)> {
        dispatch!(self, m => m.occupied())
    }
    fn oom_kill_count(&self) -> Result<u64, CgroupError> {
        dispatch!(self, m => m.oom_kill_count())
    }
    fn stats(&self) -> Result<stats::Stats, CgroupError> {
        dispatch!(self, m => m.stats())
    }
    fn container_view(&self) -> ContainerView {
        dispatch!(self, m => m.container_view())
    }
    fn exists(&self) -> bool {
        dispatch!(self, m => m.exists())
    }
}

/// cgroup v1 `cpu.shares` (2..262144, default 1024) to cgroup v2 `cpu.weight`
/// (1..10000, default 100), with the mapping runc and crun use.
pub fn convert_shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    1 + ((shares.clamp(2, 262_144) - 2) * 9999) / 262_142
}

/// Reads the `oom_kill` counter from a flat keyed file (`memory.events`, `memory.oom_control`).
pub(crate) fn oom_kill_from(text: &str) -> u64 {
    text.lines().find_map(|l| l.strip_prefix("oom_kill ").and_then(|v| v.trim().parse().ok())).unwrap_or(0)
}

/// Parses a `cgroup.procs` file.
pub(crate) fn parse_pids(text: &str) -> Vec<i32> {
    text.lines().filter_map(|l| l.trim().parse().ok()).collect()
}

/// Every process in the cgroup at `dir` and in the cgroups the container made below it,
/// sorted.
pub(crate) fn all_pids(dir: &Path) -> Vec<i32> {
    fn collect(dir: &Path, out: &mut Vec<i32>) {
        out.extend(std::fs::read_to_string(dir.join("cgroup.procs")).map(|t| parse_pids(&t)).unwrap_or_default());
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                collect(&entry.path(), out);
            }
        }
    }
    let mut pids = Vec::new();
    collect(dir, &mut pids);
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// Whether `pids` (the processes of a cgroup tree) include this process: the tree is the
/// caller's own cgroup or one above it (`/`, `.`), whose processes are never the
/// container's to signal.
pub fn holds_caller(pids: &[i32]) -> bool {
    pids.contains(&(std::process::id() as i32))
}

/// The first of `dirs` that holds processes, with how many.
pub(crate) fn first_occupied<'a>(dirs: impl IntoIterator<Item = &'a Path>) -> Option<(PathBuf, usize)> {
    dirs.into_iter().filter(|d| d.exists()).find_map(|d| {
        let n = all_pids(d).len();
        (n > 0).then(|| (d.to_path_buf(), n))
    })
}

/// Creates `dir` and any missing parents, returning the parents it created (deepest last).
pub(crate) fn create_dir_all(dir: &Path) -> Result<Vec<PathBuf>, CgroupError> {
    let mut missing: Vec<&Path> = dir.ancestors().skip(1).take_while(|p| !p.exists()).collect();
    missing.reverse();
    std::fs::create_dir_all(dir).map_err(|source| CgroupError::Create { path: dir.to_path_buf(), source })?;
    Ok(missing.into_iter().map(Path::to_path_buf).collect())
}

/// Removes parent directories a container's creation made, deepest first, unless
/// another container has moved in since (then the directory is not empty).
pub fn remove_created_parents(dirs: &[PathBuf]) {
    for dir in dirs.iter().rev() {
        let _ = std::fs::remove_dir(dir);
    }
}

/// Removes a cgroup directory, waiting briefly for exiting processes to leave it; a
/// directory that is already gone is not an error.
pub(crate) fn remove_dir(dir: &Path) -> Result<(), CgroupError> {
    // Cgroups the container made below its own (systemd in a container, a nested runtime)
    // go first, deepest first, as runc removes them: a cgroup with children cannot be removed.
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                remove_dir(&entry.path())?;
            }
        }
    }
    let mut delay = std::time::Duration::from_millis(1);
    for _ in 0..12 {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                std::thread::sleep(delay);
                delay = (delay * 2).min(std::time::Duration::from_millis(200));
            }
            Err(source) => return Err(CgroupError::Remove { path: dir.to_path_buf(), source }),
        }
    }
    std::fs::remove_dir(dir)
        .or_else(|e| if e.kind() == std::io::ErrorKind::NotFound { Ok(()) } else { Err(e) })
        .map_err(|source| CgroupError::Remove { path: dir.to_path_buf(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cgroup_is_removed_with_the_cgroups_below_it() {
        // Plain directories stand in for cgroups: what matters is the order of the rmdirs.
        let root = tempfile::tempdir().unwrap();
        let container = root.path().join("container");
        std::fs::create_dir_all(container.join("made-inside/deeper")).unwrap();
        std::fs::create_dir_all(container.join("another")).unwrap();
        remove_dir(&container).unwrap();
        assert!(!container.exists());
        remove_dir(&container).unwrap();
    }

    #[test]
    fn shares_map_onto_weights() {
        assert_eq!(convert_shares_to_weight(0), 0);
        assert_eq!(convert_shares_to_weight(2), 1);
        assert_eq!(convert_shares_to_weight(262_144), 10_000);
        assert_eq!(convert_shares_to_weight(1024), 39);
    }

    #[test]
    fn oom_kill_counter_is_read() {
        assert_eq!(oom_kill_from("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n"), 3);
        assert_eq!(oom_kill_from("low 0\nhigh 0\nmax 2\noom 1\noom_kill 1\noom_group_kill 0\n"), 1);
        assert_eq!(oom_kill_from(""), 0);
    }

    #[test]
    fn paths_follow_the_spec() {
        assert_eq!(CgroupPath::from_spec(None, "abc").0, PathBuf::from("/abc"));
        let rel = CgroupPath::from_spec(Some(Path::new("a/b")), "x");
        assert_eq!(rel.under("/user.slice"), PathBuf::from("/user.slice/a/b"));
        let abs = CgroupPath::from_spec(Some(Path::new("/a/b")), "x");
        assert_eq!(abs.under("/user.slice"), PathBuf::from("/a/b"));
    }

    #[test]
    fn this_host_has_a_cgroup_layout() {
        // Whatever the machine, detection answers without panicking.
        let _ = detect(Path::new(DEFAULT_CGROUP_ROOT));
        assert!(detect(Path::new("/proc")).is_err());
    }
}
