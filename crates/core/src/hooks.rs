//! Lifecycle hooks: programs the config asks the runtime to run at fixed points, each
//! given the container's state on stdin. `prestart` and `createRuntime` run in the
//! runtime's namespaces during `create`, `createContainer` in the container's (before
//! pivot_root), `startContainer` in the container just before its command, `poststart`
//! after `start`, `poststop` after `delete`.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use oci_spec::runtime::{Hook, Hooks, Spec};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookKind {
    Prestart,
    CreateRuntime,
    CreateContainer,
    StartContainer,
    Poststart,
    Poststop,
}

impl HookKind {
    pub fn name(self) -> &'static str {
        match self {
            HookKind::Prestart => "prestart",
            HookKind::CreateRuntime => "createRuntime",
            HookKind::CreateContainer => "createContainer",
            HookKind::StartContainer => "startContainer",
            HookKind::Poststart => "poststart",
            HookKind::Poststop => "poststop",
        }
    }

    fn of(self, hooks: &Hooks) -> &[Hook] {
        let list = match self {
            HookKind::Prestart => hooks.prestart(),
            HookKind::CreateRuntime => hooks.create_runtime(),
            HookKind::CreateContainer => hooks.create_container(),
            HookKind::StartContainer => hooks.start_container(),
            HookKind::Poststart => hooks.poststart(),
            HookKind::Poststop => hooks.poststop(),
        };
        list.as_deref().unwrap_or_default()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("{kind} hook {path}: cannot run it: {source}")]
    Spawn {
        kind: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{kind} hook {path} failed: {status}{}", stderr_suffix(.stderr))]
    Failed { kind: &'static str, path: String, status: String, stderr: String },
    #[error("{kind} hook {path} timed out after {seconds}s")]
    Timeout { kind: &'static str, path: String, seconds: i64 },
    #[error("invalid {kind} hook #{index}: its path `{path}` is not absolute, as the runtime-spec requires")]
    RelativePath { kind: &'static str, index: usize, path: String },
}

fn stderr_suffix(stderr: &str) -> String {
    let trimmed = stderr.trim();
    if trimmed.is_empty() {
        String::new()
    } else {
        format!(": {trimmed}")
    }
}

/// The state a hook reads on stdin: the runtime-spec's state object.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HookState {
    pub oci_version: String,
    pub id: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    pub bundle: String,
    #[serde(skip_serializing_if = "std::collections::HashMap::is_empty")]
    pub annotations: std::collections::HashMap<String, String>,
}

const ALL_KINDS: [HookKind; 6] = [
    HookKind::Prestart,
    HookKind::CreateRuntime,
    HookKind::CreateContainer,
    HookKind::StartContainer,
    HookKind::Poststart,
    HookKind::Poststop,
];

/// Every hook's path is absolute, as the runtime-spec requires: a relative one would be
/// looked up through the runtime's own PATH (or its cwd), a program nobody chose. Checked at
/// `create`, so a config with one is refused before anything exists.
pub fn validate(spec: &Spec) -> Result<(), HookError> {
    let Some(hooks) = spec.hooks() else { return Ok(()) };
    for kind in ALL_KINDS {
        if let Some((index, hook)) = kind.of(hooks).iter().enumerate().find(|(_, h)| !h.path().is_absolute()) {
            return Err(relative(kind, index, hook));
        }
    }
    Ok(())
}

fn relative(kind: HookKind, index: usize, hook: &Hook) -> HookError {
    HookError::RelativePath { kind: kind.name(), index, path: hook.path().display().to_string() }
}

/// Whether the config has hooks of this kind.
pub fn has(spec: &Spec, kind: HookKind) -> bool {
    spec.hooks().as_ref().is_some_and(|h| !kind.of(h).is_empty())
}

/// Runs the config's hooks of one kind, in order, stopping at the first failure.
pub fn run(spec: &Spec, kind: HookKind, state: &HookState) -> Result<(), HookError> {
    let Some(hooks) = spec.hooks() else { return Ok(()) };
    let input = serde_json::to_vec(state).unwrap_or_default();
    for (index, hook) in kind.of(hooks).iter().enumerate() {
        run_one(hook, kind, index, &input)?;
    }
    Ok(())
}

/// Runs every hook of one kind even when some fail, returning the failures: poststart
/// and poststop hooks only warn, and the rest still run (runtime-spec, Lifecycle).
pub fn run_all(spec: &Spec, kind: HookKind, state: &HookState) -> Vec<String> {
    let Some(hooks) = spec.hooks() else { return Vec::new() };
    let input = serde_json::to_vec(state).unwrap_or_default();
    kind.of(hooks)
        .iter()
        .enumerate()
        .filter_map(|(index, hook)| run_one(hook, kind, index, &input).err())
        .map(|e| e.to_string())
        .collect()
}

fn run_one(hook: &Hook, kind: HookKind, index: usize, input: &[u8]) -> Result<(), HookError> {
    // Checked at create already; a state written before that check existed is not trusted
    // with a PATH lookup either.
    if !hook.path().is_absolute() {
        return Err(relative(kind, index, hook));
    }
    let path = hook.path().display().to_string();
    let args = hook.args().clone().unwrap_or_default();
    let mut command = Command::new(hook.path());
    // args[0] is the program's own name, as in execve(2); the path is what runs.
    if let Some((argv0, rest)) = args.split_first() {
        command.arg0(argv0).args(rest);
    }
    command.env_clear();
    for entry in hook.env().as_deref().unwrap_or_default() {
        if let Some((k, v)) = entry.split_once('=') {
            command.env(k, v);
        }
    }
    command.stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::piped());
    let mut child =
        command.spawn().map_err(|source| HookError::Spawn { kind: kind.name(), path: path.clone(), source })?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its state closes the pipe; that is its business.
        let _ = stdin.write_all(input);
    }
    let deadline = hook.timeout().filter(|t| *t > 0).map(|t| (t, Instant::now() + Duration::from_secs(t as u64)));
    let mut delay = Duration::from_micros(200);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(source) => return Err(HookError::Spawn { kind: kind.name(), path, source }),
        }
        if let Some((seconds, at)) = deadline {
            if Instant::now() > at {
                let _ = child.kill();
                let _ = child.wait();
                return Err(HookError::Timeout { kind: kind.name(), path, seconds });
            }
        }
        std::thread::sleep(delay);
        delay = (delay * 2).min(Duration::from_millis(20));
    };
    if status.success() {
        return Ok(());
    }
    let mut stderr = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut err, &mut stderr);
    }
    Err(HookError::Failed { kind: kind.name(), path, status: status.to_string(), stderr })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(hooks: &str) -> Spec {
        serde_json::from_str(&format!(r#"{{"ociVersion":"1.2.0","hooks":{hooks}}}"#)).unwrap()
    }

    fn state() -> HookState {
        HookState {
            oci_version: "1.2.0".into(),
            id: "c1".into(),
            status: "creating".into(),
            pid: Some(42),
            bundle: "/b".into(),
            annotations: Default::default(),
        }
    }

    #[test]
    fn hooks_get_the_state_on_stdin_args_and_env() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let s = spec(&format!(
            r#"{{"createRuntime":[{{"path":"/bin/sh","args":["sh","-c","cat > {0}; echo \"$0 $FOO\" >> {0}"],"env":["FOO=bar"]}}]}}"#,
            out.display()
        ));
        assert!(has(&s, HookKind::CreateRuntime) && !has(&s, HookKind::Poststop));
        run(&s, HookKind::CreateRuntime, &state()).unwrap();
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(
            text.starts_with(r#"{"ociVersion":"1.2.0","id":"c1","status":"creating","pid":42,"bundle":"/b"}"#),
            "{text}"
        );
        assert!(text.ends_with("sh bar\n"), "{text}");
    }

    #[test]
    fn a_failing_hook_says_why() {
        let s = spec(r#"{"poststop":[{"path":"/bin/sh","args":["sh","-c","echo nope >&2; exit 3"]}]}"#);
        let err = run(&s, HookKind::Poststop, &state()).unwrap_err().to_string();
        assert_eq!(err, "poststop hook /bin/sh failed: exit status: 3: nope");
    }

    #[test]
    fn warning_hooks_all_run_despite_failures() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let s = spec(&format!(
            r#"{{"poststart":[{{"path":"/bin/false"}},{{"path":"/bin/sh","args":["sh","-c","echo ran > {}"]}}]}}"#,
            out.display()
        ));
        let failures = run_all(&s, HookKind::Poststart, &state());
        assert_eq!(failures.len(), 1);
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "ran\n");
    }

    #[test]
    fn a_slow_hook_times_out() {
        let s = spec(r#"{"poststart":[{"path":"/bin/sleep","args":["sleep","5"],"timeout":1}]}"#);
        let err = run(&s, HookKind::Poststart, &state()).unwrap_err();
        assert!(matches!(err, HookError::Timeout { seconds: 1, .. }), "{err}");
    }

    #[test]
    fn a_relative_hook_path_is_refused_and_never_run() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("ran");
        let s = spec(&format!(
            r#"{{"prestart":[{{"path":"/bin/true"}}],"poststop":[{{"path":"/bin/true"}},{{"path":"sh","args":["sh","-c","echo > {}"]}}]}}"#,
            out.display()
        ));
        let err = validate(&s).unwrap_err().to_string();
        assert_eq!(err, "invalid poststop hook #1: its path `sh` is not absolute, as the runtime-spec requires");
        assert_eq!(run_all(&s, HookKind::Poststop, &state()), vec![err]);
        assert!(!out.exists());
        validate(&spec(r#"{"poststart":[{"path":"/usr/bin/env"}]}"#)).unwrap();
    }

    #[test]
    fn a_missing_hook_is_an_error() {
        let s = spec(r#"{"prestart":[{"path":"/nonexistent/hook"}]}"#);
        assert!(run(&s, HookKind::Prestart, &state())
            .unwrap_err()
            .to_string()
            .starts_with("prestart hook /nonexistent/hook: cannot run it"));
    }
}
