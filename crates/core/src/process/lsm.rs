//! Linux security modules: an AppArmor profile for the command (set for the next execve,
//! as runc does). SELinux labels are not supported; `create` warns when a config has them.

use std::path::Path;

use super::ProcessError;

/// Whether AppArmor is active on this host.
pub fn apparmor_enabled() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled").is_ok_and(|s| s.trim() == "Y")
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
