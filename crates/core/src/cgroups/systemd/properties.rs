//! A container's resources as systemd unit properties (systemd.resource-control(5)), the
//! way runc converts them, so `systemctl show` tells the same limits as the cgroup files
//! the cgroupfs code writes after it.

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType, LinuxResources};

use super::SystemdError;
use crate::cgroups::{convert_shares_to_weight, v2::convert_blkio_weight};

/// systemd's `infinity` for limits (`USEC_INFINITY`, `CGROUP_LIMIT_MAX`).
pub const INFINITY: u64 = u64::MAX;
/// The kernel's default CFS period, 100 ms, for a quota given without one.
const DEFAULT_PERIOD: u64 = 100_000;

/// A property value, by its D-Bus type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `b`
    Bool(bool),
    /// `t`
    U64(u64),
    /// `s`
    Str(String),
    /// `au`
    U32s(Vec<u32>),
    /// `ay`
    Bytes(Vec<u8>),
    /// `a(ss)`: DeviceAllow's (path, permissions) pairs.
    Pairs(Vec<(String, String)>),
}

/// One `(sv)` of a unit's properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    pub name: &'static str,
    pub value: Value,
}

pub fn prop(name: &'static str, value: Value) -> Property {
    Property { name, value }
}

/// Which cgroup version's properties to write (v1: `MemoryLimit`, `CPUShares`,
/// `BlockIOWeight`; v2: `MemoryMax`, `CPUWeight`, `IOWeight`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    V1,
    V2,
}

/// What the conversion needs to know about the manager it talks to.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub flavor: Flavor,
    /// systemd's version: some properties are newer than others.
    pub version: u32,
    /// Whether to set the device policy (not for a user manager, which cannot enforce one).
    pub devices: bool,
}

/// The properties for `r`, and `r` as the cgroup files must then be written: the CPU
/// quota rounded up as systemd rounds it, so both say the same.
pub fn from_resources(r: &LinuxResources, target: Target) -> Result<(Vec<Property>, LinuxResources), SystemdError> {
    let mut props = Vec::new();
    let mut written = r.clone();
    if target.devices {
        if let Some(rules) = r.devices().as_ref().filter(|d| !d.is_empty()) {
            props.extend(device_properties(rules, target.version));
        }
    }
    if let Some(m) = r.memory() {
        let limit = m.limit().filter(|l| *l != 0);
        if let Some(l) = limit {
            let name = if target.flavor == Flavor::V2 { "MemoryMax" } else { "MemoryLimit" };
            props.push(prop(name, Value::U64(bytes(l))));
        }
        if target.flavor == Flavor::V2 {
            if let Some(low) = m.reservation().filter(|r| *r != 0) {
                props.push(prop("MemoryLow", Value::U64(bytes(low))));
            }
            if let Some(swap) = m.swap().filter(|s| *s != 0).and_then(|s| swap_max(limit, s)) {
                props.push(prop("MemorySwapMax", Value::U64(swap)));
            }
        }
    }
    if let Some(c) = r.cpu() {
        if let Some(shares) = c.shares().filter(|s| *s != 0) {
            props.push(match target.flavor {
                Flavor::V2 => prop("CPUWeight", Value::U64(convert_shares_to_weight(shares))),
                Flavor::V1 => prop("CPUShares", Value::U64(shares)),
            });
        }
        let (quota, period) = (c.quota().unwrap_or(0), c.period().unwrap_or(0));
        let (quota_props, rounded) = cpu_quota(quota, period, target.version);
        props.extend(quota_props);
        if rounded != quota {
            let mut cpu = c.clone();
            cpu.set_quota(Some(rounded));
            written.set_cpu(Some(cpu));
        }
        props.extend(cpuset(c.cpus().as_deref(), c.mems().as_deref(), target.version)?);
    }
    if let Some(p) = r.pids() {
        props.push(prop("TasksMax", Value::U64(tasks_max(p.limit()))));
    }
    if let Some(w) = r.block_io().as_ref().and_then(|b| b.weight()).filter(|w| *w != 0) {
        props.push(match target.flavor {
            Flavor::V2 => prop("IOWeight", Value::U64(convert_blkio_weight(w))),
            Flavor::V1 => prop("BlockIOWeight", Value::U64(u64::from(w))),
        });
    }
    if target.flavor == Flavor::V2 {
        if let Some(unified) = r.unified() {
            props.extend(unified_properties(unified, target.version)?);
        }
    }
    Ok((props, written))
}

/// A byte limit: negative means none.
fn bytes(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(INFINITY)
}

/// The spec's `swap` is memory plus swap; systemd's `MemorySwapMax` is swap alone. A value
/// the cgroup files refuse (below the limit, or without one) gets no property: the cgroup
/// code reports it.
fn swap_max(limit: Option<i64>, swap: i64) -> Option<u64> {
    match limit {
        _ if swap < 0 => Some(INFINITY),
        Some(l) if l > 0 && swap >= l => Some((swap - l) as u64),
        _ => None,
    }
}

/// `TasksMax`: negative is unlimited, and systemd refuses 0, which runc sends as 1.
fn tasks_max(limit: i64) -> u64 {
    match limit {
        l if l < 0 => INFINITY,
        0 => 1,
        l => l as u64,
    }
}

/// runc's `addCPUQuota`: `CPUQuotaPerSecUSec` (and `CPUQuotaPeriodUSec` from systemd 242).
/// systemd keeps the quota as a whole percentage of a CPU, so a quota between two is
/// rounded up to the next 10 ms per second; the quota to write to `cpu.max` is returned
/// rounded the same way.
pub fn cpu_quota(quota: i64, period: u64, version: u32) -> (Vec<Property>, i64) {
    let mut props = Vec::new();
    if period != 0 && version >= 242 {
        props.push(prop("CPUQuotaPeriodUSec", Value::U64(period)));
    }
    let mut quota_out = quota;
    if quota != 0 || period != 0 {
        let mut per_sec = INFINITY;
        if quota > 0 {
            let period = if period == 0 { DEFAULT_PERIOD } else { period };
            per_sec = (quota as u64).saturating_mul(1_000_000) / period;
            if per_sec % 10_000 != 0 {
                per_sec = (per_sec / 10_000 + 1) * 10_000;
                quota_out = (per_sec.saturating_mul(period) / 1_000_000) as i64;
            }
        }
        props.push(prop("CPUQuotaPerSecUSec", Value::U64(per_sec)));
    }
    (props, quota_out)
}

fn cpuset(cpus: Option<&str>, mems: Option<&str>, version: u32) -> Result<Vec<Property>, SystemdError> {
    let mut props = Vec::new();
    // AllowedCPUs/AllowedMemoryNodes exist from systemd 244; older ones get the cgroup files only.
    if version < 244 {
        return Ok(props);
    }
    for (name, list) in [("AllowedCPUs", cpus), ("AllowedMemoryNodes", mems)] {
        if let Some(list) = list.filter(|l| !l.trim().is_empty()) {
            props.push(prop(name, Value::Bytes(range_to_bits(list)?)));
        }
    }
    Ok(props)
}

/// A cpuset list (`0-2,7`) as systemd's bitmask: byte 0 holds CPUs 0..7, lowest bit first.
pub fn range_to_bits(list: &str) -> Result<Vec<u8>, SystemdError> {
    let invalid = || SystemdError::CpuList { list: list.to_string() };
    let mut bits: Vec<u8> = Vec::new();
    for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (start, end) = match item.split_once('-') {
            Some((a, b)) => {
                (a.trim().parse::<u32>().map_err(|_| invalid())?, b.trim().parse::<u32>().map_err(|_| invalid())?)
            }
            None => {
                let n = item.parse::<u32>().map_err(|_| invalid())?;
                (n, n)
            }
        };
        // The kernel has no more than a few thousand CPUs or nodes; a larger number is a typo.
        if start > end || end >= 1 << 16 {
            return Err(invalid());
        }
        for n in start..=end {
            let byte = (n / 8) as usize;
            if bits.len() <= byte {
                bits.resize(byte + 1, 0);
            }
            bits[byte] |= 1 << (n % 8);
        }
    }
    if bits.is_empty() {
        return Err(invalid());
    }
    Ok(bits)
}

/// runc's conversion of `linux.resources.unified` keys that have a unit property; the
/// others are written to the cgroup files only.
fn unified_properties(
    unified: &std::collections::HashMap<String, String>,
    version: u32,
) -> Result<Vec<Property>, SystemdError> {
    let mut props = Vec::new();
    let mut keys: Vec<&String> = unified.keys().collect();
    keys.sort();
    let idle = unified.get("cpu.idle").is_some_and(|v| v.trim() == "1") && version >= 252;
    for key in keys {
        let value = unified[key].trim();
        let invalid = || SystemdError::Unified { key: key.clone(), value: value.to_string() };
        let number = |v: &str| if v == "max" { Ok(INFINITY) } else { v.parse::<u64>().map_err(|_| invalid()) };
        match key.as_str() {
            // CPUWeight=0 is how systemd sets cpu.idle.
            "cpu.idle" if idle => props.push(prop("CPUWeight", Value::U64(0))),
            "cpu.weight" if !idle => props.push(prop("CPUWeight", Value::U64(number(value)?))),
            "cpu.max" => {
                let mut fields = value.split_whitespace();
                let quota = match fields.next() {
                    Some("max") => 0,
                    Some(q) => q.parse::<i64>().map_err(|_| invalid())?,
                    None => return Err(invalid()),
                };
                let period = fields.next().map(|p| p.parse::<u64>().map_err(|_| invalid())).transpose()?;
                if fields.next().is_some() {
                    return Err(invalid());
                }
                props.extend(cpu_quota(quota, period.unwrap_or(DEFAULT_PERIOD), version).0);
            }
            "cpuset.cpus" => props.extend(cpuset(Some(value), None, version)?),
            "cpuset.mems" => props.extend(cpuset(None, Some(value), version)?),
            "memory.high" | "memory.low" | "memory.min" | "memory.max" | "memory.swap.max" => {
                let name = match key.as_str() {
                    "memory.high" => "MemoryHigh",
                    "memory.low" => "MemoryLow",
                    "memory.min" => "MemoryMin",
                    "memory.max" => "MemoryMax",
                    _ => "MemorySwapMax",
                };
                props.push(prop(name, Value::U64(number(value)?)));
            }
            "pids.max" => props.push(prop("TasksMax", Value::U64(number(value)?.max(1)))),
            _ => {}
        }
    }
    Ok(props)
}

/// `DevicePolicy=strict` and the `DeviceAllow=` list the rules add up to, as runc
/// generates them: the list is emptied first, so an update replaces it.
///
/// The kernel enforces the exact rules through the cgroup code (the devices controller on
/// v1, our own eBPF program on v2, which must allow a device too); systemd's list only has
/// to let through everything they allow. Where systemd cannot say a rule (a `*:N` rule, a
/// deny carved out of an allow-all), its policy stays wider and the exact rules decide.
pub fn device_properties(rules: &[LinuxDeviceCgroup], version: u32) -> Vec<Property> {
    let allowed = emulate(rules);
    let Some(allowed) = allowed else {
        // Everything allowed (a privileged container): no policy at all.
        return vec![prop("DeviceAllow", Value::Pairs(Vec::new())), prop("DevicePolicy", Value::Str("auto".into()))];
    };
    let mut entries = Vec::new();
    for rule in allowed {
        let (group, dir) = match rule.typ {
            LinuxDeviceType::B => ("block", "/dev/block"),
            _ => ("char", "/dev/char"),
        };
        let path = match (rule.major, rule.minor) {
            (None, None) => format!("{group}-*"),
            // systemd has no `*:N` form.
            (None, Some(_)) => continue,
            // `char-5` needs systemd 240; older ones need the driver's name from
            // /proc/devices, which the exact rules in the cgroup make unnecessary.
            (Some(major), None) if version >= 240 => format!("{group}-{major}"),
            (Some(_), None) => continue,
            (Some(major), Some(minor)) => format!("{dir}/{major}:{minor}"),
        };
        entries.push((path, rule.access));
    }
    vec![
        prop("DeviceAllow", Value::Pairs(Vec::new())),
        prop("DevicePolicy", Value::Str("strict".into())),
        prop("DeviceAllow", Value::Pairs(entries)),
    ]
}

/// One allowed (type, major, minor) with its access, after the rules are played in order.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Allowed {
    typ: LinuxDeviceType,
    major: Option<i64>,
    minor: Option<i64>,
    access: String,
}

/// Plays the rules in order from deny-all, as the kernel's devices controller does; `None`
/// when the result allows every device. A deny that takes away part of an allow names the
/// same device exactly, or it is left to the exact rules (see [`device_properties`]).
fn emulate(rules: &[LinuxDeviceCgroup]) -> Option<Vec<Allowed>> {
    let mut allow_all = false;
    let mut allowed: Vec<Allowed> = Vec::new();
    for rule in rules {
        let typ = rule.typ().unwrap_or(LinuxDeviceType::A);
        let access = normalize_access(rule.access().as_deref().unwrap_or("rwm"));
        let wildcard = rule.major().is_none_or(|m| m < 0) && rule.minor().is_none_or(|m| m < 0);
        if typ == LinuxDeviceType::A && wildcard {
            // `a *:* …` resets everything: allow all, or deny all.
            allowed.clear();
            allow_all = rule.allow() && access == "rwm";
            continue;
        }
        if allow_all {
            // Denies carved out of allow-all are for the exact rules; allows change nothing.
            continue;
        }
        let types: &[LinuxDeviceType] = match typ {
            LinuxDeviceType::A => &[LinuxDeviceType::C, LinuxDeviceType::B],
            LinuxDeviceType::B => &[LinuxDeviceType::B],
            _ => &[LinuxDeviceType::C],
        };
        let major = rule.major().filter(|m| *m >= 0);
        let minor = rule.minor().filter(|m| *m >= 0);
        for typ in types {
            let existing = allowed.iter().position(|a| a.typ == *typ && a.major == major && a.minor == minor);
            match (rule.allow(), existing) {
                (true, Some(i)) => allowed[i].access = normalize_access(&format!("{}{access}", allowed[i].access)),
                (true, None) => allowed.push(Allowed { typ: *typ, major, minor, access: access.clone() }),
                (false, Some(i)) => {
                    let left: String = allowed[i].access.chars().filter(|c| !access.contains(*c)).collect();
                    if left.is_empty() {
                        allowed.remove(i);
                    } else {
                        allowed[i].access = left;
                    }
                }
                (false, None) => {}
            }
        }
    }
    (!allow_all).then_some(allowed)
}

/// The access letters in systemd's order (`rwm`), once each.
fn normalize_access(access: &str) -> String {
    "rwm".chars().filter(|c| access.contains(*c)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(json: &str) -> LinuxResources {
        serde_json::from_str(json).unwrap()
    }

    const V2: Target = Target { flavor: Flavor::V2, version: 252, devices: true };
    const V1: Target = Target { flavor: Flavor::V1, version: 252, devices: true };

    fn find<'a>(props: &'a [Property], name: &str) -> Vec<&'a Value> {
        props.iter().filter(|p| p.name == name).map(|p| &p.value).collect()
    }

    #[test]
    fn memory_pids_and_cpu_weight_on_v2() {
        let r = res(
            r#"{"memory":{"limit":52428800,"swap":104857600,"reservation":1048576},"pids":{"limit":20},"cpu":{"shares":1024}}"#,
        );
        let (props, _) = from_resources(&r, V2).unwrap();
        assert_eq!(find(&props, "MemoryMax"), [&Value::U64(52_428_800)]);
        assert_eq!(find(&props, "MemorySwapMax"), [&Value::U64(52_428_800)]);
        assert_eq!(find(&props, "MemoryLow"), [&Value::U64(1_048_576)]);
        assert_eq!(find(&props, "TasksMax"), [&Value::U64(20)]);
        assert_eq!(find(&props, "CPUWeight"), [&Value::U64(39)]);
    }

    #[test]
    fn v1_names_its_own_properties() {
        let r = res(r#"{"memory":{"limit":52428800,"swap":52428800},"cpu":{"shares":512},"blockIO":{"weight":500}}"#);
        let (props, _) = from_resources(&r, V1).unwrap();
        assert_eq!(find(&props, "MemoryLimit"), [&Value::U64(52_428_800)]);
        assert!(find(&props, "MemoryMax").is_empty() && find(&props, "MemorySwapMax").is_empty());
        assert_eq!(find(&props, "CPUShares"), [&Value::U64(512)]);
        assert_eq!(find(&props, "BlockIOWeight"), [&Value::U64(500)]);
        let (v2, _) = from_resources(&r, V2).unwrap();
        assert_eq!(find(&v2, "IOWeight"), [&Value::U64(convert_blkio_weight(500))]);
        assert_eq!(find(&v2, "MemorySwapMax"), [&Value::U64(0)], "no swap beyond the limit");
    }

    #[test]
    fn unlimited_values_are_infinity_and_zero_tasks_is_one() {
        let r = res(r#"{"memory":{"limit":-1,"swap":-1},"pids":{"limit":-1}}"#);
        let (props, _) = from_resources(&r, V2).unwrap();
        assert_eq!(find(&props, "MemoryMax"), [&Value::U64(INFINITY)]);
        assert_eq!(find(&props, "MemorySwapMax"), [&Value::U64(INFINITY)]);
        assert_eq!(find(&props, "TasksMax"), [&Value::U64(INFINITY)]);
        assert_eq!(tasks_max(0), 1);
    }

    #[test]
    fn cpu_quota_is_rounded_up_to_whole_percents_as_runc_does() {
        // 50000/100000 is exactly 50 %.
        let (props, quota) = cpu_quota(50_000, 100_000, 252);
        assert_eq!(quota, 50_000);
        assert_eq!(find(&props, "CPUQuotaPerSecUSec"), [&Value::U64(500_000)]);
        assert_eq!(find(&props, "CPUQuotaPeriodUSec"), [&Value::U64(100_000)]);
        // 12345/100000 is 12.345 %: systemd holds 13 %, and cpu.max must say the same.
        let (props, quota) = cpu_quota(12_345, 100_000, 252);
        assert_eq!(find(&props, "CPUQuotaPerSecUSec"), [&Value::U64(130_000)]);
        assert_eq!(quota, 13_000);
        // No period: the default one, and no period property.
        let (props, _) = cpu_quota(25_000, 0, 252);
        assert_eq!(find(&props, "CPUQuotaPerSecUSec"), [&Value::U64(250_000)]);
        assert!(find(&props, "CPUQuotaPeriodUSec").is_empty());
        // A period alone lifts the quota; systemd before 242 gets no period.
        let (props, _) = cpu_quota(-1, 50_000, 241);
        assert_eq!(props, vec![prop("CPUQuotaPerSecUSec", Value::U64(INFINITY))]);
        assert!(cpu_quota(0, 0, 252).0.is_empty());
        let r = res(r#"{"cpu":{"quota":12345,"period":100000}}"#);
        let (_, written) = from_resources(&r, V2).unwrap();
        assert_eq!(written.cpu().as_ref().unwrap().quota(), Some(13_000));
    }

    #[test]
    fn cpu_lists_become_little_endian_bitmasks() {
        assert_eq!(range_to_bits("0").unwrap(), vec![0x01]);
        assert_eq!(range_to_bits("0-2,7").unwrap(), vec![0x87]);
        assert_eq!(range_to_bits("1, 9-10").unwrap(), vec![0x02, 0x06]);
        assert_eq!(range_to_bits("8").unwrap(), vec![0x00, 0x01]);
        for bad in ["", ",", "a", "3-1", "1-", "70000"] {
            assert!(range_to_bits(bad).is_err(), "{bad}");
        }
        let r = res(r#"{"cpu":{"cpus":"0-1","mems":"0"}}"#);
        let (props, _) = from_resources(&r, V2).unwrap();
        assert_eq!(find(&props, "AllowedCPUs"), [&Value::Bytes(vec![3])]);
        assert_eq!(find(&props, "AllowedMemoryNodes"), [&Value::Bytes(vec![1])]);
        let old = Target { version: 243, ..V2 };
        assert!(find(&from_resources(&r, old).unwrap().0, "AllowedCPUs").is_empty());
    }

    #[test]
    fn unified_keys_with_a_property_are_converted() {
        let r = res(
            r#"{"unified":{"memory.high":"1000000","pids.max":"max","cpu.max":"max 50000","io.max":"8:0 rbps=1"}}"#,
        );
        let (props, _) = from_resources(&r, V2).unwrap();
        assert_eq!(find(&props, "MemoryHigh"), [&Value::U64(1_000_000)]);
        assert_eq!(find(&props, "TasksMax"), [&Value::U64(INFINITY)]);
        assert_eq!(find(&props, "CPUQuotaPerSecUSec"), [&Value::U64(INFINITY)]);
        assert_eq!(props.len(), 4, "{props:?}");
        assert!(from_resources(&res(r#"{"unified":{"memory.max":"lots"}}"#), V2).is_err());
    }

    fn rules(json: &str) -> Vec<LinuxDeviceCgroup> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn device_rules_become_a_strict_allow_list() {
        let r = rules(
            r#"[{"allow":false,"access":"rwm"},
                {"allow":true,"type":"c","major":1,"minor":3,"access":"rwm"},
                {"allow":true,"type":"c","major":136,"access":"rw"},
                {"allow":true,"type":"b","access":"m"},
                {"allow":true,"type":"c","minor":3,"access":"r"},
                {"allow":true,"type":"c","major":1,"minor":5,"access":"rwm"},
                {"allow":false,"type":"c","major":1,"minor":5,"access":"w"}]"#,
        );
        let props = device_properties(&r, 252);
        assert_eq!(props[0], prop("DeviceAllow", Value::Pairs(vec![])));
        assert_eq!(props[1], prop("DevicePolicy", Value::Str("strict".into())));
        let pairs = |v: &[(&str, &str)]| v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        assert_eq!(
            props[2],
            prop(
                "DeviceAllow",
                Value::Pairs(pairs(&[
                    ("/dev/char/1:3", "rwm"),
                    ("char-136", "rw"),
                    ("block-*", "m"),
                    ("/dev/char/1:5", "rm"),
                ]))
            )
        );
    }

    #[test]
    fn allow_all_has_no_device_policy() {
        let privileged = rules(r#"[{"allow":true,"access":"rwm"}]"#);
        assert_eq!(find(&device_properties(&privileged, 252), "DevicePolicy"), [&Value::Str("auto".into())]);
        let deny_after =
            rules(r#"[{"allow":true,"access":"rwm"},{"allow":false,"type":"c","major":1,"minor":3,"access":"rwm"}]"#);
        assert_eq!(find(&device_properties(&deny_after, 252), "DevicePolicy"), [&Value::Str("auto".into())]);
        let deny_all_last = rules(r#"[{"allow":true,"access":"rwm"},{"allow":false,"access":"rwm"}]"#);
        assert_eq!(find(&device_properties(&deny_all_last, 252), "DevicePolicy"), [&Value::Str("strict".into())]);
    }

    #[test]
    fn a_user_manager_gets_no_device_policy() {
        let r = res(r#"{"devices":[{"allow":false,"access":"rwm"}]}"#);
        let (props, _) = from_resources(&r, Target { devices: false, ..V2 }).unwrap();
        assert!(props.is_empty());
        assert!(!from_resources(&r, V2).unwrap().0.is_empty());
    }
}
