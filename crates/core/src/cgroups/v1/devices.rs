//! devices (v1): the allowlist, written rule by rule in the spec's order.

use std::path::Path;

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

use crate::cgroups::{write_value, CgroupError};

/// A rule in the kernel's `type major:minor access` form.
pub(crate) fn rule_text(rule: &LinuxDeviceCgroup) -> String {
    let typ = match rule.typ().unwrap_or(LinuxDeviceType::A) {
        LinuxDeviceType::A => 'a',
        LinuxDeviceType::B => 'b',
        LinuxDeviceType::C | LinuxDeviceType::U => 'c',
        LinuxDeviceType::P => 'p',
    };
    let num = |n: Option<i64>| n.filter(|n| *n >= 0).map_or("*".to_string(), |n| n.to_string());
    let access = rule.access().as_deref().filter(|a| !a.is_empty()).unwrap_or("rwm");
    format!("{typ} {}:{} {access}", num(rule.major()), num(rule.minor()))
}

pub(super) fn apply(rules: &[LinuxDeviceCgroup], dir: &Path) -> Result<(), CgroupError> {
    for rule in rules {
        let file = if rule.allow() { "devices.allow" } else { "devices.deny" };
        write_value(dir, file, rule_text(rule))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_render_like_the_kernel_expects() {
        let r: LinuxDeviceCgroup = serde_json::from_str(r#"{"allow":false,"access":"rwm"}"#).unwrap();
        assert_eq!(rule_text(&r), "a *:* rwm");
        let r: LinuxDeviceCgroup =
            serde_json::from_str(r#"{"allow":true,"type":"c","major":136,"access":"rwm"}"#).unwrap();
        assert_eq!(rule_text(&r), "c 136:* rwm");
        let r: LinuxDeviceCgroup =
            serde_json::from_str(r#"{"allow":true,"type":"c","major":1,"minor":3,"access":"rw"}"#).unwrap();
        assert_eq!(rule_text(&r), "c 1:3 rw");
    }
}
