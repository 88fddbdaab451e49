//! Finding the command the way Go's `exec.LookPath` (and so runc) does, before the init
//! waits for `start`, so "not found" is reported by `create`; then execve.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::unistd::{access, AccessFlags};

use super::{ExecError, ExecErrorKind};

fn describe(errno: Errno) -> String {
    let text = errno.desc();
    let mut chars = text.chars();
    chars.next().map(|c| c.to_lowercase().chain(chars).collect()).unwrap_or_default()
}

fn error(command: &str, kind: ExecErrorKind, reason: String) -> ExecError {
    ExecError { command: command.to_string(), reason, kind }
}

/// Ok if `path` is a regular file this process may execute.
fn check(path: &Path) -> Result<(), Errno> {
    let meta = std::fs::metadata(path).map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::ENOENT)))?;
    if meta.is_dir() || meta.permissions().mode() & 0o111 == 0 {
        return Err(Errno::EACCES);
    }
    access(path, AccessFlags::X_OK)
}

/// Resolves `command` against `PATH` from the container's environment; a command with a
/// slash is taken as a path.
pub fn find_executable(command: &str, env: &[String]) -> Result<PathBuf, ExecError> {
    if command.contains('/') {
        return match check(Path::new(command)) {
            Ok(()) => Ok(PathBuf::from(command)),
            Err(Errno::ENOENT) | Err(Errno::ENOTDIR) => {
                Err(error(command, ExecErrorKind::NotFound, describe(Errno::ENOENT)))
            }
            Err(e) => Err(error(command, ExecErrorKind::NotExecutable, describe(e))),
        };
    }
    // Without PATH in the environment, search the standard directories, as execvp(3)
    // and crun do (runc, through Go, would find nothing).
    let default = crate::spec::DEFAULT_PATH.trim_start_matches("PATH=");
    let path = env.iter().rev().find_map(|e| e.strip_prefix("PATH=")).unwrap_or(default);
    for dir in path.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let candidate = Path::new(dir).join(command);
        if check(&candidate).is_ok() {
            return Ok(candidate);
        }
    }
    Err(error(command, ExecErrorKind::NotFound, "executable file not found in $PATH".into()))
}

fn cstrings(items: &[String]) -> Result<Vec<CString>, Errno> {
    items.iter().map(|s| CString::new(s.as_bytes()).map_err(|_| Errno::EINVAL)).collect()
}

/// Replaces this process with the command; returns only on failure.
pub fn exec(command: &str, path: &Path, args: &[String], env: &[String]) -> ExecError {
    let errno = match (CString::new(path.as_os_str().as_bytes()), cstrings(args), cstrings(env)) {
        (Ok(p), Ok(a), Ok(e)) => match nix::unistd::execve(&p, &a, &e) {
            Err(errno) => errno,
            Ok(never) => match never {},
        },
        _ => Errno::EINVAL,
    };
    let kind = if errno == Errno::ENOENT { ExecErrorKind::NotFound } else { ExecErrorKind::NotExecutable };
    error(command, kind, describe(errno))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_lookup_matches_runc_wording() {
        let env = vec!["PATH=/nonexistent:/bin:/usr/bin".to_string()];
        assert!(find_executable("sh", &env).unwrap().ends_with("sh"));
        let err = find_executable("no-such-command-xyz", &env).unwrap_err();
        assert_eq!(err.to_string(), r#"exec: "no-such-command-xyz": executable file not found in $PATH"#);
        assert_eq!(err.kind, ExecErrorKind::NotFound);
    }

    #[test]
    fn without_path_the_standard_directories_are_searched() {
        assert!(find_executable("sh", &["HOME=/".to_string()]).is_ok());
    }

    #[test]
    fn paths_are_checked_directly() {
        let err = find_executable("/etc", &[]).unwrap_err();
        assert_eq!(err.to_string(), r#"exec: "/etc": permission denied"#);
        assert_eq!(err.kind.exit_code(), 126);
        let err = find_executable("/no/such/file", &[]).unwrap_err();
        assert_eq!(err.to_string(), r#"exec: "/no/such/file": no such file or directory"#);
        assert_eq!(err.kind.exit_code(), 127);
        assert!(find_executable("/etc/passwd", &[]).is_err(), "a file without x bits is not executable");
    }
}
