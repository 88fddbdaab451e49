//! The cgroup v1 backend: one directory per hierarchy. Also serves hybrid hosts, where the
//! controllers are on v1 and a cgroup2 mount carries the rest.

mod blkio;
mod cpu;
mod cpuset;
mod devices;
mod freezer;
mod memory;
mod net;

use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;

use super::stats::{keyed, number, MemoryEntry, Stats, Throttling};
use super::{
    all_pids, create_dir_all, hugetlb, oom_kill_from, rdma, read_value, remove_dir, write_value, CgroupError,
    CgroupJoin, CgroupPath, ContainerView, FreezerState, HierarchyView, Roots, Setup,
};
use crate::mountinfo::{parse_mountinfo, parse_proc_cgroup, OwnCgroup};

/// The v1 controllers the kernel knows; anything else in a cgroup mount's options is a
/// mount flag.
const CONTROLLERS: [&str; 14] = [
    "cpuset",
    "cpu",
    "cpuacct",
    "blkio",
    "memory",
    "devices",
    "freezer",
    "net_cls",
    "perf_event",
    "net_prio",
    "hugetlb",
    "pids",
    "rdma",
    "misc",
];

#[derive(Debug, Clone)]
struct Hierarchy {
    /// Controllers (and `name=...` for named hierarchies) on this mount.
    controllers: Vec<String>,
    mount_point: PathBuf,
    /// The container's cgroup directory in this hierarchy.
    dir: PathBuf,
}

impl Hierarchy {
    fn has(&self, controller: &str) -> bool {
        self.controllers.iter().any(|c| c == controller)
    }
}

pub struct Manager {
    hierarchies: Vec<Hierarchy>,
    /// On hybrid hosts, the container's directory in the cgroup2 mount, and that mount.
    unified: Option<PathBuf>,
    unified_root: Option<PathBuf>,
}

fn controllers_of(super_options: &str) -> Vec<String> {
    super_options.split(',').filter(|o| CONTROLLERS.contains(o) || o.starts_with("name=")).map(str::to_string).collect()
}

fn same_set(a: &str, b: &[String]) -> bool {
    let mut left: Vec<&str> = a.split(',').filter(|s| !s.is_empty()).collect();
    let mut right: Vec<&str> = b.iter().map(String::as_str).collect();
    left.sort_unstable();
    right.sort_unstable();
    left == right
}

/// The directory for `path` in a hierarchy mounted at `mount_point` whose mount shows the
/// filesystem from `mount_root` down (normally `/`).
fn dir_in(mount_point: &Path, mount_root: &str, path: &Path) -> PathBuf {
    let relative = path.strip_prefix(mount_root).unwrap_or(path);
    let relative = relative.strip_prefix("/").unwrap_or(relative);
    mount_point.join(relative)
}

fn own_base<'a>(own: &'a [OwnCgroup], controllers: &[String], path: &CgroupPath) -> Result<&'a str, CgroupError> {
    if path.is_absolute() {
        return Ok("/");
    }
    own.iter()
        .find(|c| same_set(&c.controllers, controllers))
        .map(|c| c.path.as_str())
        .ok_or_else(|| CgroupError::OwnCgroup { controller: controllers.join(",") })
}

impl Manager {
    pub fn new(path: &CgroupPath, roots: &Roots, setup: Setup) -> Result<Self, CgroupError> {
        let read = |name: &str| {
            let p = roots.proc_self.join(name);
            std::fs::read_to_string(&p).map_err(|source| CgroupError::Read { path: p, source })
        };
        let mounts = parse_mountinfo(&read("mountinfo")?);
        let own = parse_proc_cgroup(&read("cgroup")?);
        let mut hierarchies = Vec::new();
        let mut unified = None;
        let mut unified_root = None;
        for m in mounts.iter().filter(|m| m.mount_point.starts_with(&roots.cgroup)) {
            if m.fs_type == "cgroup" {
                let controllers = controllers_of(&m.super_options);
                if controllers.is_empty() {
                    continue;
                }
                let base = own_base(&own, &controllers, path)?;
                let dir = dir_in(&m.mount_point, &m.root, &path.under(base));
                hierarchies.push(Hierarchy { controllers, mount_point: m.mount_point.clone(), dir });
            } else if m.fs_type == "cgroup2" && setup == Setup::Hybrid {
                let base = if path.is_absolute() {
                    "/"
                } else {
                    own.iter().find(|c| c.hierarchy_id == 0).map(|c| c.path.as_str()).unwrap_or("/")
                };
                unified = Some(dir_in(&m.mount_point, &m.root, &path.under(base)));
                unified_root = Some(m.mount_point.clone());
            }
        }
        if hierarchies.is_empty() {
            return Err(CgroupError::NotMounted { path: roots.cgroup.clone() });
        }
        Ok(Manager { hierarchies, unified, unified_root })
    }

    fn dir_of(&self, controller: &'static str, what: &'static str) -> Result<&Path, CgroupError> {
        self.hierarchies
            .iter()
            .find(|h| h.has(controller))
            .map(|h| h.dir.as_path())
            .ok_or(CgroupError::ControllerMissing { controller, what })
    }

    /// The container's directory on the cgroup2 side of a hybrid host, if that side
    /// carries `controller`.
    fn unified_with(&self, controller: &str) -> Option<&Path> {
        let dir = self.unified.as_deref()?;
        let parent = dir.parent()?;
        let available = read_value(parent, "cgroup.controllers").unwrap_or_default();
        available.split_whitespace().any(|c| c == controller).then_some(dir)
    }

    fn create_into(&self, parents: &mut Vec<PathBuf>) -> Result<(), CgroupError> {
        for h in &self.hierarchies {
            parents.extend(create_dir_all(&h.dir)?);
            if h.has("cpuset") {
                cpuset::inherit_from_parents(&h.mount_point, &h.dir)?;
            }
        }
        if let (Some(dir), Some(root)) = (&self.unified, &self.unified_root) {
            parents.extend(create_dir_all(dir)?);
            // Whatever the cgroup2 side carries (hugetlb on this project's hosts) is for
            // the container to use too.
            super::v2::enable_controllers(root, dir)?;
        }
        Ok(())
    }

    /// Moves `pid` into the container's cgroup of every controller hierarchy: what the
    /// systemd driver does for the hierarchies systemd does not manage (cpuset, freezer,
    /// ...). Moving another process takes the kernel's migration lock, which the
    /// cgroupfs driver avoids (see join.rs); systemd's hierarchy is left to systemd.
    pub(crate) fn add_process(&self, pid: i32) -> Result<(), CgroupError> {
        for h in self.hierarchies.iter().filter(|h| !h.controllers.iter().any(|c| c.starts_with("name="))) {
            write_value(&h.dir, "cgroup.procs", pid)?;
        }
        Ok(())
    }

    fn dirs(&self) -> impl Iterator<Item = &Path> {
        self.hierarchies.iter().map(|h| h.dir.as_path()).chain(self.unified.as_deref())
    }
}

impl super::CgroupManager for Manager {
    fn create(&self) -> Result<Vec<PathBuf>, CgroupError> {
        let mut parents = Vec::new();
        if let Err(e) = self.create_into(&mut parents) {
            // Whatever was made before the failure goes again.
            let _ = self.remove();
            super::remove_created_parents(&parents);
            return Err(e);
        }
        Ok(parents)
    }

    fn apply(&self, r: &LinuxResources) -> Result<(), CgroupError> {
        if let Some(m) = r.memory() {
            memory::apply(m, self.dir_of("memory", "memory limit")?)?;
        }
        if let Some(p) = r.pids() {
            super::pids::apply(p, self.dir_of("pids", "pids limit")?)?;
        }
        if let Some(c) = r.cpu() {
            if cpu::needed(c) {
                cpu::apply(c, self.dir_of("cpu", "CPU limit")?)?;
            }
            if cpuset::needed(c) {
                cpuset::apply(c, self.dir_of("cpuset", "CPU set")?)?;
            }
        }
        if let Some(rules) = r.devices() {
            if !rules.is_empty() {
                devices::apply(rules, self.dir_of("devices", "device rules")?)?;
            }
        }
        if let Some(b) = r.block_io() {
            blkio::apply(b, self.dir_of("blkio", "block I/O limits")?)?;
        }
        if let Some(limits) = r.hugepage_limits().as_ref().filter(|l| !l.is_empty()) {
            // On hybrid hosts hugetlb is usually on the cgroup2 side.
            match (self.dir_of("hugetlb", "huge page limits"), self.unified_with("hugetlb")) {
                (Ok(dir), _) => hugetlb::apply(limits, dir, hugetlb::Flavor::V1)?,
                (Err(_), Some(dir)) => hugetlb::apply(limits, dir, hugetlb::Flavor::V2)?,
                (Err(e), None) => return Err(e),
            }
        }
        if let Some(n) = r.network() {
            if n.class_id().is_some() {
                net::apply_class(n, self.dir_of("net_cls", "network class id")?)?;
            }
            if n.priorities().as_ref().is_some_and(|p| !p.is_empty()) {
                net::apply_priorities(n, self.dir_of("net_prio", "network priorities")?)?;
            }
        }
        if let Some(limits) = r.rdma().as_ref().filter(|l| !l.is_empty()) {
            match (self.dir_of("rdma", "RDMA limits"), self.unified_with("rdma")) {
                (Ok(dir), _) | (Err(_), Some(dir)) => rdma::apply(limits, dir)?,
                (Err(e), None) => return Err(e),
            }
        }
        if let Some(unified) = r.unified().as_ref().filter(|u| !u.is_empty()) {
            // Only the controllers the cgroup2 side of a hybrid host carries can take these.
            let dir = self.unified.as_deref().ok_or(CgroupError::Unsupported {
                what: "linux.resources.unified".into(),
                version: "v1 (it needs cgroup v2)",
            })?;
            for (key, value) in unified {
                if key.contains('/') || key.starts_with('.') {
                    return Err(CgroupError::Unsupported { what: format!("unified key `{key}`"), version: "v2" });
                }
                write_value(dir, key, value)?;
            }
        }
        Ok(())
    }

    fn joiner(&self) -> Result<CgroupJoin, CgroupError> {
        let mut join = CgroupJoin::default();
        for h in &self.hierarchies {
            join.add_v1(&h.dir)?;
        }
        if let Some(unified) = &self.unified {
            join.add_v2(unified)?;
        }
        Ok(join)
    }

    fn remove(&self) -> Result<(), CgroupError> {
        // Stragglers would keep the directories busy: a frozen cgroup must thaw before
        // SIGKILL can take effect. Never in a cgroup that holds this runtime, too: that is
        // not the container's own.
        let leftover = self.pids().unwrap_or_default();
        if !leftover.is_empty() && !super::holds_caller(&leftover) {
            let _ = self.freeze(FreezerState::Thawed);
            for pid in leftover {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
            }
        }
        let mut first_error = None;
        for dir in self.dirs() {
            if let Err(e) = remove_dir(dir) {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    fn freeze(&self, state: FreezerState) -> Result<(), CgroupError> {
        freezer::set(self.dir_of("freezer", "pause")?, state)
    }

    fn freezer_state(&self) -> Result<FreezerState, CgroupError> {
        freezer::get(self.dir_of("freezer", "pause")?)
    }

    fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        let dir = self
            .hierarchies
            .iter()
            .find(|h| h.has("pids") || h.has("memory") || h.has("freezer"))
            .unwrap_or(&self.hierarchies[0])
            .dir
            .clone();
        if !dir.exists() {
            return Ok(Vec::new());
        }
        Ok(all_pids(&dir))
    }

    fn occupied(&self) -> Option<(PathBuf, usize)> {
        super::first_occupied(self.dirs())
    }

    fn oom_kill_count(&self) -> Result<u64, CgroupError> {
        let dir = self.dir_of("memory", "OOM count")?;
        Ok(oom_kill_from(&read_value(dir, "memory.oom_control")?))
    }

    fn stats(&self) -> Result<Stats, CgroupError> {
        let mut s = Stats::default();
        if let Ok(dir) = self.dir_of("cpuacct", "CPU usage") {
            s.cpu.usage.total = number(dir, "cpuacct.usage").unwrap_or(0);
            s.cpu.usage.percpu = read_value(dir, "cpuacct.usage_percpu")
                .map(|t| t.split_whitespace().filter_map(|n| n.parse().ok()).collect())
                .unwrap_or_default();
            // cpuacct.stat counts USER_HZ ticks.
            // SAFETY: sysconf has no preconditions.
            let hz = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).unwrap_or(100).max(1);
            let ticks = keyed(dir, "cpuacct.stat");
            s.cpu.usage.user = ticks.get("user").copied().unwrap_or(0) * 1_000_000_000 / hz;
            s.cpu.usage.kernel = ticks.get("system").copied().unwrap_or(0) * 1_000_000_000 / hz;
        }
        if let Ok(dir) = self.dir_of("cpu", "CPU throttling") {
            let stat = keyed(dir, "cpu.stat");
            s.cpu.throttling = Throttling {
                periods: stat.get("nr_periods").copied().unwrap_or(0),
                throttled_periods: stat.get("nr_throttled").copied().unwrap_or(0),
                throttled_time: stat.get("throttled_time").copied().unwrap_or(0),
            };
        }
        if let Ok(dir) = self.dir_of("memory", "memory usage") {
            let entry = |prefix: &str| MemoryEntry {
                limit: number(dir, &format!("{prefix}.limit_in_bytes")).unwrap_or(0),
                usage: number(dir, &format!("{prefix}.usage_in_bytes")).unwrap_or(0),
                max: number(dir, &format!("{prefix}.max_usage_in_bytes")).unwrap_or(0),
                failcnt: number(dir, &format!("{prefix}.failcnt")).unwrap_or(0),
            };
            s.memory.usage = entry("memory");
            s.memory.swap = entry("memory.memsw");
            s.memory.raw = keyed(dir, "memory.stat");
            s.memory.cache = s.memory.raw.get("cache").copied().unwrap_or(0);
        }
        if let Ok(dir) = self.dir_of("pids", "pids count") {
            s.pids.current = number(dir, "pids.current").unwrap_or(0);
            s.pids.limit = number(dir, "pids.max").filter(|l| *l != u64::MAX).unwrap_or(0);
        }
        Ok(s)
    }

    fn container_view(&self) -> ContainerView {
        let hierarchies = self
            .hierarchies
            .iter()
            .map(|h| {
                let name = h.mount_point.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                let named = h.controllers.iter().any(|c| c.starts_with("name="));
                let options = if named { format!("none,{}", h.controllers.join(",")) } else { h.controllers.join(",") };
                let links = if name.contains(',') { name.split(',').map(str::to_string).collect() } else { Vec::new() };
                HierarchyView { name, options, links, host_dir: h.dir.clone() }
            })
            .collect();
        ContainerView::Legacy { hierarchies, unified: self.unified.clone() }
    }

    fn exists(&self) -> bool {
        self.dirs().any(Path::exists)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::CgroupManager;

    /// A fake /proc/self and cgroup root laid out like this project's hybrid test hosts.
    fn fixture(relative_own: &str) -> (tempfile::TempDir, Roots) {
        let dir = tempfile::tempdir().unwrap();
        let cg = dir.path().join("cgroup");
        let proc_self = dir.path().join("proc");
        std::fs::create_dir_all(&proc_self).unwrap();
        let mut mountinfo = String::new();
        for (i, c) in ["cpu,cpuacct", "memory", "pids", "cpuset", "freezer"].iter().enumerate() {
            std::fs::create_dir_all(cg.join(c)).unwrap();
            mountinfo.push_str(&format!(
                "{} 1 0:{} / {} rw - cgroup cgroup rw,{}\n",
                40 + i,
                40 + i,
                cg.join(c).display(),
                c
            ));
        }
        std::fs::create_dir_all(cg.join("unified")).unwrap();
        mountinfo.push_str(&format!("50 1 0:50 / {} rw - cgroup2 cgroup2 rw\n", cg.join("unified").display()));
        std::fs::write(proc_self.join("mountinfo"), mountinfo).unwrap();
        std::fs::write(
            proc_self.join("cgroup"),
            format!("5:freezer:/\n4:cpuset:/\n3:pids:/\n2:memory:{relative_own}\n1:cpu,cpuacct:/\n0::/\n"),
        )
        .unwrap();
        std::fs::write(cg.join("cpuset/cpuset.cpus"), "0-1\n").unwrap();
        std::fs::write(cg.join("cpuset/cpuset.mems"), "0\n").unwrap();
        (dir, Roots { cgroup: cg, proc_self })
    }

    #[test]
    fn absolute_paths_land_under_each_hierarchy_root() {
        let (_d, roots) = fixture("/session");
        let m = Manager::new(&CgroupPath("/tscontainer-x".into()), &roots, Setup::Hybrid).unwrap();
        assert_eq!(m.dir_of("memory", "").unwrap(), roots.cgroup.join("memory/tscontainer-x"));
        assert_eq!(m.dir_of("cpuacct", "").unwrap(), roots.cgroup.join("cpu,cpuacct/tscontainer-x"));
        assert_eq!(m.unified.as_deref(), Some(roots.cgroup.join("unified/tscontainer-x").as_path()));
    }

    #[test]
    fn relative_paths_land_under_our_own_cgroup() {
        let (_d, roots) = fixture("/session");
        let m = Manager::new(&CgroupPath("ctr".into()), &roots, Setup::Legacy).unwrap();
        assert_eq!(m.dir_of("memory", "").unwrap(), roots.cgroup.join("memory/session/ctr"));
        assert_eq!(m.dir_of("pids", "").unwrap(), roots.cgroup.join("pids/ctr"));
        assert!(m.unified.is_none(), "a legacy host has no cgroup2 part");
    }

    #[test]
    fn create_copies_cpuset_from_the_parent_and_apply_writes_limits() {
        let (_d, roots) = fixture("/");
        let m = Manager::new(&CgroupPath("/a/b".into()), &roots, Setup::Hybrid).unwrap();
        m.create().unwrap();
        assert_eq!(std::fs::read_to_string(roots.cgroup.join("cpuset/a/b/cpuset.cpus")).unwrap(), "0-1");
        assert_eq!(std::fs::read_to_string(roots.cgroup.join("cpuset/a/cpuset.mems")).unwrap(), "0");

        let r: LinuxResources = serde_json::from_str(
            r#"{"memory":{"limit":52428800,"swap":52428800},"pids":{"limit":20},"cpu":{"quota":50000,"period":100000}}"#,
        )
        .unwrap();
        let mem = roots.cgroup.join("memory/a/b");
        std::fs::write(mem.join("memory.memsw.limit_in_bytes"), "").unwrap();
        m.apply(&r).unwrap();
        let read = |p: PathBuf| std::fs::read_to_string(p).unwrap();
        assert_eq!(read(mem.join("memory.limit_in_bytes")), "52428800");
        assert_eq!(read(mem.join("memory.memsw.limit_in_bytes")), "52428800");
        assert_eq!(read(roots.cgroup.join("pids/a/b/pids.max")), "20");
        assert_eq!(read(roots.cgroup.join("cpu,cpuacct/a/b/cpu.cfs_quota_us")), "50000");
        assert_eq!(read(roots.cgroup.join("cpu,cpuacct/a/b/cpu.cfs_period_us")), "100000");
    }

    #[test]
    fn a_missing_controller_is_an_error_not_a_dropped_limit() {
        let (_d, roots) = fixture("/");
        let mountinfo = std::fs::read_to_string(roots.proc_self.join("mountinfo")).unwrap();
        let without_pids: String =
            mountinfo.lines().filter(|l| !l.ends_with(",pids")).map(|l| format!("{l}\n")).collect();
        std::fs::write(roots.proc_self.join("mountinfo"), without_pids).unwrap();
        let m = Manager::new(&CgroupPath("/x".into()), &roots, Setup::Legacy).unwrap();
        let r: LinuxResources = serde_json::from_str(r#"{"pids":{"limit":5}}"#).unwrap();
        assert_eq!(
            m.apply(&r).unwrap_err().to_string(),
            "the pids cgroup controller is not available on this host, so the requested pids limit cannot be applied"
        );
    }

    #[test]
    fn the_container_sees_one_mount_per_hierarchy() {
        let (_d, roots) = fixture("/");
        let m = Manager::new(&CgroupPath("/x".into()), &roots, Setup::Hybrid).unwrap();
        let ContainerView::Legacy { hierarchies, unified } = m.container_view() else { panic!("v1 view expected") };
        let cpu = hierarchies.iter().find(|h| h.name == "cpu,cpuacct").unwrap();
        assert_eq!(cpu.options, "cpu,cpuacct");
        assert_eq!(cpu.links, vec!["cpu", "cpuacct"]);
        assert!(unified.is_some());
    }
}
