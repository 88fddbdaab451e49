//! `update`: runc's flags (or a resources JSON) onto `tscontainer_core::container::update`.

use std::io::Read;

use anyhow::Context as _;
use tscontainer_core::container;
use tscontainer_core::oci_spec::runtime::{LinuxPids, LinuxResources};
use tscontainer_core::spec::parse_size;

use super::Context;
use crate::cli::Update;

fn size(what: &'static str, text: &str) -> anyhow::Result<i64> {
    if text == "-1" {
        return Ok(-1);
    }
    Ok(parse_size(what, text)?)
}

fn resources(args: &Update) -> anyhow::Result<LinuxResources> {
    let mut r: LinuxResources = match &args.resources {
        Some(path) => {
            let mut text = Vec::new();
            if path.as_os_str() == "-" {
                std::io::stdin().read_to_end(&mut text).context("cannot read resources from stdin")?;
            } else {
                text = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            }
            serde_json::from_slice(&text).context("the resources are not valid linux.resources JSON")?
        }
        None => LinuxResources::default(),
    };
    if args.memory.is_some() || args.memory_swap.is_some() || args.memory_reservation.is_some() {
        let mut m = r.memory().unwrap_or_default();
        if let Some(v) = &args.memory {
            m.set_limit(Some(size("memory limit", v)?));
        }
        if let Some(v) = &args.memory_swap {
            m.set_swap(Some(size("memory+swap limit", v)?));
        }
        if let Some(v) = &args.memory_reservation {
            m.set_reservation(Some(size("memory reservation", v)?));
        }
        r.set_memory(Some(m));
    }
    let cpu_given = args.cpu_share.is_some()
        || args.cpu_period.is_some()
        || args.cpu_quota.is_some()
        || args.cpu_rt_period.is_some()
        || args.cpu_rt_runtime.is_some()
        || args.cpuset_cpus.is_some()
        || args.cpuset_mems.is_some();
    if cpu_given {
        let mut c = r.cpu().clone().unwrap_or_default();
        if args.cpu_share.is_some() {
            c.set_shares(args.cpu_share);
        }
        if args.cpu_period.is_some() {
            c.set_period(args.cpu_period);
        }
        if args.cpu_quota.is_some() {
            c.set_quota(args.cpu_quota);
        }
        if args.cpu_rt_period.is_some() {
            c.set_realtime_period(args.cpu_rt_period);
        }
        if args.cpu_rt_runtime.is_some() {
            c.set_realtime_runtime(args.cpu_rt_runtime);
        }
        if args.cpuset_cpus.is_some() {
            c.set_cpus(args.cpuset_cpus.clone());
        }
        if args.cpuset_mems.is_some() {
            c.set_mems(args.cpuset_mems.clone());
        }
        r.set_cpu(Some(c));
    }
    if let Some(limit) = args.pids_limit {
        let mut p = LinuxPids::default();
        p.set_limit(limit);
        r.set_pids(Some(p));
    }
    if let Some(weight) = args.blkio_weight {
        let mut b = r.block_io().clone().unwrap_or_default();
        b.set_weight(Some(weight));
        r.set_block_io(Some(b));
    }
    Ok(r)
}

pub fn run(ctx: &Context, args: Update) -> anyhow::Result<i32> {
    // runc refuses these too wherever resctrl is not enabled; this runtime has no Intel RDT.
    if args.l3_cache_schema.is_some() {
        anyhow::bail!("--l3-cache-schema: Intel RDT (resctrl) cache allocation is not supported by this runtime");
    }
    if args.mem_bw_schema.is_some() {
        anyhow::bail!(
            "--mem-bw-schema: Intel RDT (resctrl) memory bandwidth allocation is not supported by this runtime"
        );
    }
    let r = resources(&args)?;
    container::update(&ctx.store, &args.id, &r, &ctx.roots)?;
    Ok(0)
}
