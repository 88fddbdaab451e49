//! `update`: new resource limits for a container that exists, written to its cgroup and
//! remembered in its state.

use oci_spec::runtime::{LinuxCpu, LinuxMemory, LinuxResources};

use super::{live_status, ContainerError};
use crate::cgroups::systemd::Systemd;
use crate::cgroups::{self, CgroupManager, Roots};
use crate::state::{StateStore, Status};
use crate::Error;

fn merge_memory(old: Option<LinuxMemory>, new: &LinuxMemory) -> LinuxMemory {
    let mut m = old.unwrap_or_default();
    let old_limit = m.limit();
    if let Some(v) = new.limit() {
        m.set_limit(Some(v));
        // A container created without swap (swap == limit) keeps having none.
        if new.swap().is_none() && old_limit.is_some() && m.swap() == old_limit {
            m.set_swap(Some(v));
        }
    }
    if let Some(v) = new.swap() {
        m.set_swap(Some(v));
    }
    if let Some(v) = new.reservation() {
        m.set_reservation(Some(v));
    }
    if let Some(v) = new.kernel_tcp() {
        m.set_kernel_tcp(Some(v));
    }
    if let Some(v) = new.swappiness() {
        m.set_swappiness(Some(v));
    }
    m
}

fn merge_cpu(old: Option<LinuxCpu>, new: &LinuxCpu) -> LinuxCpu {
    let mut c = old.unwrap_or_default();
    if new.shares().is_some() {
        c.set_shares(new.shares());
    }
    if new.quota().is_some() {
        c.set_quota(new.quota());
    }
    if new.period().is_some() {
        c.set_period(new.period());
    }
    if new.realtime_runtime().is_some() {
        c.set_realtime_runtime(new.realtime_runtime());
    }
    if new.realtime_period().is_some() {
        c.set_realtime_period(new.realtime_period());
    }
    if new.cpus().is_some() {
        c.set_cpus(new.cpus().clone());
    }
    if new.mems().is_some() {
        c.set_mems(new.mems().clone());
    }
    c
}

/// The container's resources with `update` laid over them: what is given replaces,
/// what is not stays.
pub fn merge(old: &LinuxResources, update: &LinuxResources) -> LinuxResources {
    let mut r = old.clone();
    if let Some(m) = update.memory() {
        r.set_memory(Some(merge_memory(*old.memory(), m)));
    }
    if let Some(c) = update.cpu() {
        r.set_cpu(Some(merge_cpu(old.cpu().clone(), c)));
    }
    if update.pids().is_some() {
        r.set_pids(*update.pids());
    }
    if update.block_io().is_some() {
        r.set_block_io(update.block_io().clone());
    }
    if update.hugepage_limits().is_some() {
        r.set_hugepage_limits(update.hugepage_limits().clone());
    }
    if let Some(u) = update.unified() {
        let mut all = old.unified().clone().unwrap_or_default();
        all.extend(u.clone());
        r.set_unified(Some(all));
    }
    r
}

pub fn update(store: &StateStore, id: &str, resources: &LinuxResources, roots: &Roots) -> Result<(), Error> {
    store.update(id, |state| {
        let status = live_status(store, state, roots);
        if status == Status::Stopped {
            return Err(ContainerError::InvalidStatus { id: id.to_string(), status, action: "update" }.into());
        }
        let mut linux = state.config.linux().clone().unwrap_or_default();
        let old = linux.resources().clone().unwrap_or_default();
        let merged = merge(&old, resources);
        // Only what changed is written, with the merged values (a new memory limit carries
        // the swap limit it needs along).
        let mut delta = LinuxResources::default();
        delta.set_memory(resources.memory().as_ref().and(*merged.memory()));
        delta.set_cpu(resources.cpu().as_ref().and(merged.cpu().clone()));
        delta.set_pids(resources.pids().as_ref().and(*merged.pids()));
        delta.set_block_io(resources.block_io().clone());
        delta.set_hugepage_limits(resources.hugepage_limits().clone());
        delta.set_unified(resources.unified().clone());
        let cgroup = cgroups::manager(&state.cgroup_path, roots)?;
        // systemd first, as runc does: it rounds the CPU quota, which the files then say too.
        let delta = match &state.systemd {
            Some(unit) => Systemd::connect(unit, &roots.cgroup)?.update(&delta)?,
            None => delta,
        };
        cgroup.apply(&delta)?;
        linux.set_resources(Some(merged));
        state.config.set_linux(Some(linux));
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(json: &str) -> LinuxResources {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn updates_replace_only_what_they_name() {
        let old = res(
            r#"{"memory":{"limit":100,"swap":100,"reservation":50},"cpu":{"quota":1000,"period":100000},"pids":{"limit":5}}"#,
        );
        let new = merge(&old, &res(r#"{"memory":{"limit":200},"cpu":{"quota":2000}}"#));
        let m = new.memory().unwrap();
        assert_eq!((m.limit(), m.swap(), m.reservation()), (Some(200), Some(200), Some(50)));
        let c = new.cpu().as_ref().unwrap();
        assert_eq!((c.quota(), c.period()), (Some(2000), Some(100000)));
        assert_eq!(new.pids().unwrap().limit(), 5);
    }

    #[test]
    fn an_explicit_swap_wins() {
        let old = res(r#"{"memory":{"limit":100,"swap":100}}"#);
        let new = merge(&old, &res(r#"{"memory":{"limit":200,"swap":400}}"#));
        assert_eq!(new.memory().unwrap().swap(), Some(400));
    }
}
