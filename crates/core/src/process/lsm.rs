//! Linux security modules: an AppArmor profile for the command (set for the next execve,
//! as runc does). SELinux labels are not supported; `create` and `exec` warn when a process
//! asks for one, or for an AppArmor profile on a host without AppArmor.

use std::path::Path;

use oci_spec::runtime::Process;

use super::ProcessError;

/// Whether AppArmor is active on this host.
pub fn apparmor_enabled() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled").is_ok_and(|s| s.trim() == "Y")
}

/// What of `process`'s security labels it does not get, for the log: an SELinux label
/// (not supported), an AppArmor profile where AppArmor is not enabled (runc fails there;
/// nothing could confine the process, so it runs, and says so).
pub fn lsm_warnings(process: &Process, apparmor: bool) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(profile) = process.apparmor_profile().as_deref().filter(|p| !p.is_empty() && !apparmor) {
        out.push(format!(
            "AppArmor is not enabled on this host, so the process runs without the AppArmor profile `{profile}`"
        ));
    }
    if let Some(label) = process.selinux_label().as_deref().filter(|l| !l.is_empty()) {
        out.push(format!("SELinux labels are not supported, so the process runs without the label `{label}`"));
    }
    out
}

/// Makes the next execve confine the process with `profile`.
pub fn set_apparmor_exec_profile(profile: &str) -> Result<(), ProcessError> {
    let value = format!("exec {profile}");
    // Linux 5.8 moved AppArmor's attributes into their own directory; older kernels only
    // have the shared one.
    let path = ["/proc/self/attr/apparmor/exec", "/proc/self/attr/exec"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.exists())
        .unwrap_or(Path::new("/proc/self/attr/exec"));
    std::fs::write(path, value).map_err(|source| ProcessError::Proc { path: path.to_path_buf(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_the_process_cannot_have_are_named() {
        let p: Process = serde_json::from_str(
            r#"{"cwd":"/","user":{"uid":0,"gid":0},"apparmorProfile":"docker-default","selinuxLabel":"system_u:system_r:container_t:s0"}"#,
        )
        .unwrap();
        let without = lsm_warnings(&p, false);
        assert_eq!(without.len(), 2);
        assert!(without[0].contains("`docker-default`"));
        assert!(without[1].contains("`system_u:system_r:container_t:s0`"));
        assert_eq!(lsm_warnings(&p, true).len(), 1, "with AppArmor the profile is applied");
        let plain: Process =
            serde_json::from_str(r#"{"cwd":"/","user":{"uid":0,"gid":0},"apparmorProfile":""}"#).unwrap();
        assert!(lsm_warnings(&plain, false).is_empty());
    }
}
