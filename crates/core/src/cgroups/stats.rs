//! Resource usage of a container's cgroup, in the shape runc's `events` prints (and
//! containerd and podman read).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct CpuUsage {
    /// Nanoseconds.
    pub total: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu: Vec<u64>,
    pub kernel: u64,
    pub user: u64,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Throttling {
    pub periods: u64,
    pub throttled_periods: u64,
    /// Nanoseconds.
    pub throttled_time: u64,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Cpu {
    pub usage: CpuUsage,
    pub throttling: Throttling,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct MemoryEntry {
    /// Bytes; u64::MAX when unlimited.
    pub limit: u64,
    pub usage: u64,
    pub max: u64,
    pub failcnt: u64,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Memory {
    pub cache: u64,
    pub usage: MemoryEntry,
    pub swap: MemoryEntry,
    /// The kernel's own counters (memory.stat), by name.
    pub raw: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Pids {
    pub current: u64,
    /// 0 when unlimited.
    pub limit: u64,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Stats {
    pub cpu: Cpu,
    pub memory: Memory,
    pub pids: Pids,
}

/// cgroup v1 says "no limit" with a page-rounded i64::MAX (9223372036854771712); v2
/// says `max`. Both read as u64::MAX.
const UNLIMITED_FROM: u64 = 1 << 62;

/// Reads one number from a file; `max`, and v1's near-i64::MAX, read as u64::MAX.
pub(crate) fn number(dir: &Path, file: &str) -> Option<u64> {
    let text = std::fs::read_to_string(dir.join(file)).ok()?;
    let text = text.trim();
    if text == "max" {
        return Some(u64::MAX);
    }
    text.parse().ok().map(|n: u64| if n >= UNLIMITED_FROM { u64::MAX } else { n })
}

/// Reads a flat keyed file (`memory.stat`, `cpu.stat`).
pub(crate) fn keyed(dir: &Path, file: &str) -> BTreeMap<String, u64> {
    std::fs::read_to_string(dir.join(file))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_string(), v.trim().parse().ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_read_as_numbers_and_maps() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), "42\n").unwrap();
        std::fs::write(dir.path().join("b"), "max\n").unwrap();
        std::fs::write(dir.path().join("v1max"), "9223372036854771712\n").unwrap();
        assert_eq!(number(dir.path(), "v1max"), Some(u64::MAX));
        std::fs::write(dir.path().join("s"), "cache 10\nrss 20\n").unwrap();
        assert_eq!(number(dir.path(), "a"), Some(42));
        assert_eq!(number(dir.path(), "b"), Some(u64::MAX));
        assert_eq!(number(dir.path(), "missing"), None);
        assert_eq!(keyed(dir.path(), "s").get("rss"), Some(&20));
    }

    #[test]
    fn stats_serialize_like_runc_events() {
        let s = Stats { pids: Pids { current: 3, limit: 10 }, ..Default::default() };
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["pids"]["current"], 3);
        assert!(v["cpu"]["throttling"].get("throttledPeriods").is_some());
    }
}
