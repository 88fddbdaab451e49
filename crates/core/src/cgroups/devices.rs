//! The device allowlist the kernel enforces (devices cgroup on v1). Whatever the spec
//! says, a container may always use the devices the runtime-spec requires it to have,
//! and the devices its own config lists — otherwise it could not even open /dev/null.

use oci_spec::runtime::{LinuxDevice, LinuxDeviceCgroup, LinuxDeviceType};

fn allow(typ: LinuxDeviceType, major: Option<i64>, minor: Option<i64>, access: &str) -> LinuxDeviceCgroup {
    let mut rule = LinuxDeviceCgroup::default();
    rule.set_allow(true).set_typ(Some(typ)).set_major(major).set_minor(minor).set_access(Some(access.to_string()));
    rule
}

/// Devices every container may use (runc's list): creating nodes (`m`) of any kind, the
/// standard character devices, the console, ptys and tun.
fn required() -> Vec<LinuxDeviceCgroup> {
    use LinuxDeviceType::{B, C};
    vec![
        allow(C, None, None, "m"),
        allow(B, None, None, "m"),
        allow(C, Some(1), Some(3), "rwm"),
        allow(C, Some(1), Some(5), "rwm"),
        allow(C, Some(1), Some(7), "rwm"),
        allow(C, Some(1), Some(8), "rwm"),
        allow(C, Some(1), Some(9), "rwm"),
        allow(C, Some(5), Some(0), "rwm"),
        allow(C, Some(5), Some(1), "rwm"),
        allow(C, Some(5), Some(2), "rwm"),
        allow(C, Some(136), None, "rwm"),
        allow(C, Some(10), Some(200), "rwm"),
    ]
}

/// The spec's rules followed by allow rules for the required devices and the spec's own
/// devices; later rules win, so these cannot be denied by accident.
pub fn effective_rules(rules: &[LinuxDeviceCgroup], devices: &[LinuxDevice]) -> Vec<LinuxDeviceCgroup> {
    let mut all = rules.to_vec();
    all.extend(required());
    // FIFOs are not devices: the device controller has no rule type for them.
    all.extend(devices.iter().filter(|d| d.typ() != LinuxDeviceType::P).map(|d| {
        let typ = if d.typ() == LinuxDeviceType::U { LinuxDeviceType::C } else { d.typ() };
        allow(typ, Some(d.major()), Some(d.minor()), "rwm")
    }));
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deny_all_still_allows_the_required_devices_last() {
        let deny: Vec<LinuxDeviceCgroup> = serde_json::from_str(r#"[{"allow":false,"access":"rwm"}]"#).unwrap();
        let devices: Vec<LinuxDevice> =
            serde_json::from_str(r#"[{"path":"/dev/fuse","type":"c","major":10,"minor":229}]"#).unwrap();
        let rules = effective_rules(&deny, &devices);
        assert!(!rules[0].allow());
        let last = rules.last().unwrap();
        assert!(last.allow() && last.major() == Some(10) && last.minor() == Some(229));
        assert!(rules.iter().any(|r| r.allow() && r.major() == Some(1) && r.minor() == Some(3)));
    }
}
