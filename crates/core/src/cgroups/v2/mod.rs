//! The cgroup v2 backend: one directory in the unified hierarchy.

mod cpu;
mod devices;
mod io;
mod memory;

pub use devices::program as device_program;
pub(crate) use io::convert_blkio_weight;

use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;

use super::stats::{keyed, number, MemoryEntry, Stats, Throttling};
use super::{
    all_pids, create_dir_all, oom_kill_from, read_value, remove_dir, write_value, CgroupError, CgroupJoin, CgroupPath,
    ContainerView, FreezerState, Roots,
};
use crate::mountinfo::parse_proc_cgroup;

pub struct Manager {
    root: PathBuf,
    dir: PathBuf,
}

/// Turns on, in every ancestor's `cgroup.subtree_control` from `root` down to `dir`'s
/// parent, the controllers a container can use, so their interface files exist in `dir`.
pub(crate) fn enable_controllers(root: &Path, dir: &Path) -> Result<(), CgroupError> {
    let Ok(relative) = dir.strip_prefix(root) else {
        return Ok(());
    };
    let mut current = root.to_path_buf();
    for component in relative.components() {
        let wanted: Vec<String> = Manager::available(&current)
            .into_iter()
            .filter(|c| ["cpu", "cpuset", "memory", "pids", "io", "hugetlb", "rdma", "misc"].contains(&c.as_str()))
            .collect();
        let enabled = read_value(&current, "cgroup.subtree_control").unwrap_or_default();
        let missing: Vec<String> =
            wanted.iter().filter(|c| !enabled.split_whitespace().any(|e| e == *c)).cloned().collect();
        if !missing.is_empty() {
            let value: Vec<String> = missing.iter().map(|c| format!("+{c}")).collect();
            match write_value(&current, "cgroup.subtree_control", value.join(" ")) {
                // Above a subtree delegated to an unprivileged user, the controllers are
                // whatever the owner enabled; one a limit needs and lacks is reported when
                // the limit is applied (`require`).
                Err(CgroupError::Write { source, .. })
                    if source.kind() == std::io::ErrorKind::PermissionDenied && !crate::userns::privileged() => {}
                other => other?,
            }
        }
        current = current.join(component);
    }
    Ok(())
}

impl Manager {
    pub fn new(path: &CgroupPath, roots: &Roots) -> Result<Self, CgroupError> {
        let base = if path.is_absolute() {
            "/".to_string()
        } else {
            let p = roots.proc_self.join("cgroup");
            let text = std::fs::read_to_string(&p).map_err(|source| CgroupError::Read { path: p, source })?;
            parse_proc_cgroup(&text)
                .into_iter()
                .find(|c| c.hierarchy_id == 0)
                .map(|c| c.path)
                .ok_or_else(|| CgroupError::OwnCgroup { controller: "cgroup2".into() })?
        };
        let full = path.under(&base);
        let relative = full.strip_prefix("/").unwrap_or(&full);
        Ok(Manager { root: roots.cgroup.clone(), dir: roots.cgroup.join(relative) })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Controllers a child of `dir` can use.
    fn available(dir: &Path) -> Vec<String> {
        read_value(dir, "cgroup.controllers")
            .map(|s| s.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default()
    }

    fn require(&self, controller: &'static str, what: &'static str) -> Result<(), CgroupError> {
        if Self::available(&self.dir).iter().any(|c| c == controller) {
            Ok(())
        } else {
            Err(CgroupError::ControllerMissing { controller, what })
        }
    }
}

impl super::CgroupManager for Manager {
    fn create(&self) -> Result<Vec<PathBuf>, CgroupError> {
        let parents = create_dir_all(&self.dir)?;
        if let Err(e) = enable_controllers(&self.root, &self.dir) {
            let _ = self.remove();
            super::remove_created_parents(&parents);
            return Err(e);
        }
        Ok(parents)
    }

    fn apply(&self, r: &LinuxResources) -> Result<(), CgroupError> {
        if let Some(m) = r.memory() {
            self.require("memory", "memory limit")?;
            memory::apply(m, &self.dir)?;
        }
        if let Some(p) = r.pids() {
            self.require("pids", "pids limit")?;
            super::pids::apply(p, &self.dir)?;
        }
        if let Some(c) = r.cpu() {
            cpu::apply(c, &self.dir, |controller, what| self.require(controller, what))?;
        }
        if let Some(b) = r.block_io() {
            self.require("io", "block I/O limits")?;
            io::apply(b, &self.dir)?;
        }
        if let Some(limits) = r.hugepage_limits().as_ref().filter(|l| !l.is_empty()) {
            self.require("hugetlb", "huge page limits")?;
            super::hugetlb::apply(limits, &self.dir, super::hugetlb::Flavor::V2)?;
        }
        if let Some(limits) = r.rdma().as_ref().filter(|l| !l.is_empty()) {
            self.require("rdma", "RDMA limits")?;
            super::rdma::apply(limits, &self.dir)?;
        }
        if r.network()
            .as_ref()
            .is_some_and(|n| n.class_id().is_some() || n.priorities().as_ref().is_some_and(|p| !p.is_empty()))
        {
            return Err(CgroupError::Unsupported {
                what: "net_cls/net_prio network limits".into(),
                version: "v2 (they are v1 controllers)",
            });
        }
        if let Some(rules) = r.devices().as_ref().filter(|r| !r.is_empty()) {
            // Loading a program needs CAP_BPF or CAP_SYS_ADMIN, which an unprivileged user
            // lacks even in a delegated cgroup; its containers run in a user namespace,
            // where no device can be created and only the bind-mounted ones reached.
            if nix::unistd::geteuid().is_root() {
                devices::apply(rules, &self.dir)?;
            }
        }
        if let Some(unified) = r.unified() {
            for (key, value) in unified {
                if key.contains('/') || key.starts_with('.') {
                    return Err(CgroupError::Unsupported { what: format!("unified key `{key}`"), version: "v2" });
                }
                write_value(&self.dir, key, value)?;
            }
        }
        Ok(())
    }

    fn joiner(&self) -> Result<CgroupJoin, CgroupError> {
        let mut join = CgroupJoin::default();
        join.add_v2(&self.dir)?;
        Ok(join)
    }

    fn remove(&self) -> Result<(), CgroupError> {
        if !self.dir.exists() {
            return Ok(());
        }
        // Never in a cgroup that holds this runtime too: not the container's own. Then
        // cgroup.kill (5.14+) kills every process, frozen or not, in one write.
        let shared = super::holds_caller(&self.pids().unwrap_or_default());
        if !shared && write_value(&self.dir, "cgroup.kill", 1).is_err() {
            let _ = self.freeze(FreezerState::Thawed);
            for pid in self.pids().unwrap_or_default() {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
            }
        }
        // Children the container made for itself go first.
        let mut dirs = Vec::new();
        fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
            if let Ok(entries) = std::fs::read_dir(dir) {
                for e in entries.flatten() {
                    if e.file_type().is_ok_and(|t| t.is_dir()) {
                        collect(&e.path(), out);
                    }
                }
            }
            out.push(dir.to_path_buf());
        }
        collect(&self.dir, &mut dirs);
        for dir in dirs {
            remove_dir(&dir)?;
        }
        Ok(())
    }

    fn freeze(&self, state: FreezerState) -> Result<(), CgroupError> {
        let value = if state == FreezerState::Frozen { 1 } else { 0 };
        write_value(&self.dir, "cgroup.freeze", value)?;
        // The write returns before every task is frozen; cgroup.events says when it is.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while self.freezer_state()? != state {
            if std::time::Instant::now() > deadline {
                return Err(CgroupError::Unsupported {
                    what: "reaching the requested freezer state".into(),
                    version: "v2 (timed out)",
                });
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        Ok(())
    }

    fn freezer_state(&self) -> Result<FreezerState, CgroupError> {
        let events = read_value(&self.dir, "cgroup.events")?;
        let frozen = events.lines().any(|l| l.trim() == "frozen 1");
        Ok(if frozen { FreezerState::Frozen } else { FreezerState::Thawed })
    }

    fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        Ok(all_pids(&self.dir))
    }

    fn occupied(&self) -> Option<(PathBuf, usize)> {
        super::first_occupied([self.dir.as_path()])
    }

    fn oom_kill_count(&self) -> Result<u64, CgroupError> {
        Ok(oom_kill_from(&read_value(&self.dir, "memory.events")?))
    }

    fn stats(&self) -> Result<Stats, CgroupError> {
        let d = &self.dir;
        let mut s = Stats::default();
        let cpu = keyed(d, "cpu.stat");
        let usec = |k: &str| cpu.get(k).copied().unwrap_or(0) * 1000;
        s.cpu.usage.total = usec("usage_usec");
        s.cpu.usage.user = usec("user_usec");
        s.cpu.usage.kernel = usec("system_usec");
        s.cpu.throttling = Throttling {
            periods: cpu.get("nr_periods").copied().unwrap_or(0),
            throttled_periods: cpu.get("nr_throttled").copied().unwrap_or(0),
            throttled_time: usec("throttled_usec"),
        };
        let events = keyed(d, "memory.events");
        s.memory.usage = MemoryEntry {
            limit: number(d, "memory.max").unwrap_or(u64::MAX),
            usage: number(d, "memory.current").unwrap_or(0),
            max: number(d, "memory.peak").unwrap_or(0),
            failcnt: events.get("max").copied().unwrap_or(0),
        };
        s.memory.swap = MemoryEntry {
            limit: number(d, "memory.swap.max").unwrap_or(u64::MAX),
            usage: number(d, "memory.swap.current").unwrap_or(0),
            max: number(d, "memory.swap.peak").unwrap_or(0),
            failcnt: keyed(d, "memory.swap.events").get("max").copied().unwrap_or(0),
        };
        s.memory.raw = keyed(d, "memory.stat");
        s.memory.cache = s.memory.raw.get("file").copied().unwrap_or(0);
        s.pids.current = number(d, "pids.current").unwrap_or(0);
        s.pids.limit = number(d, "pids.max").filter(|l| *l != u64::MAX).unwrap_or(0);
        Ok(s)
    }

    fn container_view(&self) -> ContainerView {
        ContainerView::Unified { host_dir: self.dir.clone() }
    }

    fn exists(&self) -> bool {
        self.dir.exists()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::CgroupManager;

    fn fixture() -> (tempfile::TempDir, Roots) {
        let dir = tempfile::tempdir().unwrap();
        let cg = dir.path().join("cgroup");
        let proc_self = dir.path().join("proc");
        std::fs::create_dir_all(&cg).unwrap();
        std::fs::create_dir_all(&proc_self).unwrap();
        std::fs::write(proc_self.join("cgroup"), "0::/user.slice/session\n").unwrap();
        std::fs::write(cg.join("cgroup.controllers"), "cpuset cpu io memory hugetlb pids rdma misc\n").unwrap();
        std::fs::write(cg.join("cgroup.subtree_control"), "").unwrap();
        (dir, Roots { cgroup: cg, proc_self })
    }

    #[test]
    fn paths_resolve_against_root_or_own_cgroup() {
        let (_d, roots) = fixture();
        assert_eq!(Manager::new(&CgroupPath("/a".into()), &roots).unwrap().dir(), roots.cgroup.join("a"));
        assert_eq!(
            Manager::new(&CgroupPath("a".into()), &roots).unwrap().dir(),
            roots.cgroup.join("user.slice/session/a")
        );
    }

    #[test]
    fn create_enables_controllers_and_apply_writes_v2_files() {
        let (_d, roots) = fixture();
        let m = Manager::new(&CgroupPath("/tscontainer-x".into()), &roots).unwrap();
        m.create().unwrap();
        let enabled = std::fs::read_to_string(roots.cgroup.join("cgroup.subtree_control")).unwrap();
        assert_eq!(enabled, "+cpuset +cpu +io +memory +hugetlb +pids +rdma +misc");
        // A real kernel populates this file; the fixture stands in for it.
        std::fs::write(m.dir().join("cgroup.controllers"), "cpuset cpu io memory pids\n").unwrap();
        std::fs::write(m.dir().join("memory.swap.max"), "max\n").unwrap();
        let r: LinuxResources = serde_json::from_str(
            r#"{"memory":{"limit":52428800,"swap":52428800},"pids":{"limit":20},"cpu":{"quota":50000,"period":100000,"shares":1024}}"#,
        )
        .unwrap();
        m.apply(&r).unwrap();
        let read = |f: &str| std::fs::read_to_string(m.dir().join(f)).unwrap();
        assert_eq!(read("memory.max"), "52428800");
        assert_eq!(read("memory.swap.max"), "0");
        assert_eq!(read("pids.max"), "20");
        assert_eq!(read("cpu.max"), "50000 100000");
        assert_eq!(read("cpu.weight"), "39");
    }

    #[test]
    fn limits_without_their_controller_are_errors() {
        let (_d, roots) = fixture();
        let m = Manager::new(&CgroupPath("/x".into()), &roots).unwrap();
        m.create().unwrap();
        std::fs::write(m.dir().join("cgroup.controllers"), "cpu\n").unwrap();
        let r: LinuxResources = serde_json::from_str(r#"{"memory":{"limit":52428800}}"#).unwrap();
        assert!(m.apply(&r).unwrap_err().to_string().contains("memory cgroup controller is not available"));
    }
}
