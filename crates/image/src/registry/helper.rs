//! Docker's credential helpers: the programs `docker-credential-NAME` that the auth files
//! name (`credHelpers` per registry, `credsStore` for the rest) and that keep credentials in
//! a keychain or fetch them from a cloud (`ecr-login`, `gcloud`, `pass`, `secretservice`).
//!
//! The protocol (docker-credential-helpers' `get`): the program is run with the argument
//! `get`, the server's name on standard input, and answers with
//! `{"ServerURL": ..., "Username": ..., "Secret": ...}` on standard output, or fails with
//! "credentials not found in native keychain" when it has none. Docker Hub's name there is
//! `https://index.docker.io/v1/`, the one `docker login` stores it under; any other registry
//! is its `host[:port]`.
//!
//! A helper is run only for a registry that asks for credentials, found by name on PATH
//! (never a path from the file); what it prints on standard error goes to ours, as Docker's
//! does, since a helper may ask there (a keychain's passphrase).

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};
use crate::reference::DOCKER_HUB;

use super::auth::Credentials;

/// The most of a helper's answer that is read: credentials are a few hundred bytes.
const ANSWER_LIMIT: u64 = 1 << 20;

/// Docker's `credentials.errCredentialsNotFoundMessage`, printed by every helper built on
/// docker-credential-helpers when it has nothing for the server.
const NOT_FOUND: &str = "credentials not found in native keychain";

/// Docker's marker for an identity token (an OAuth2 refresh token) in place of a user name.
const IDENTITY_TOKEN: &str = "<token>";

/// The credentials `docker-credential-<helper>` has for `registry` (`host[:port]`, Docker
/// Hub as `docker.io`), or None when it has none.
pub fn credentials(helper: &str, registry: &str) -> Result<Option<Credentials>> {
    let failed =
        |why: String| Error::CredentialHelper { helper: helper.to_string(), registry: registry.to_string(), why };
    // A name from a file the user writes, but still only a name: never a path to run.
    if helper.is_empty() || helper.contains('/') || helper.starts_with('.') {
        return Err(failed("it is not a helper's name".into()));
    }
    let program = format!("docker-credential-{helper}");
    let path = find_on_path(&program, std::env::var_os("PATH").as_deref())
        .ok_or_else(|| failed(format!("{program} is not on PATH")))?;
    get(&path, server(registry)).map_err(failed)
}

/// The server name a helper keeps `registry`'s credentials under.
fn server(registry: &str) -> &str {
    if registry == DOCKER_HUB {
        "https://index.docker.io/v1/"
    } else {
        registry
    }
}

/// The first executable `name` in the directories of `path` (a PATH value).
fn find_on_path(name: &str, path: Option<&OsStr>) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = path.filter(|p| !p.is_empty()).unwrap_or(OsStr::new("/usr/local/bin:/usr/bin:/bin"));
    std::env::split_paths(path).filter(|dir| dir.is_absolute()).map(|dir| dir.join(name)).find(|candidate| {
        std::fs::metadata(candidate).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

/// Runs `program get` for `server`; the reason as one sentence when it gives nothing usable.
fn get(program: &Path, server: &str) -> std::result::Result<Option<Credentials>, String> {
    use std::io::Read;
    let mut child = Command::new(program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("it could not be started: {e}"))?;
    // A helper that exits without reading its input closes the pipe: its answer says why.
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(server.as_bytes());
    }
    let mut answer = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        stdout.take(ANSWER_LIMIT).read_to_end(&mut answer).map_err(|e| format!("its answer could not be read: {e}"))?;
    }
    let status = child.wait().map_err(|e| format!("it could not be waited for: {e}"))?;
    let text = String::from_utf8_lossy(&answer);
    if !status.success() {
        if text.trim() == NOT_FOUND {
            return Ok(None);
        }
        let said = text.lines().map(str::trim).find(|l| !l.is_empty());
        return Err(match said {
            Some(line) => format!("it failed ({status}): {line}"),
            None => format!("it failed ({status})"),
        });
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Answer {
        username: String,
        secret: String,
    }
    let parsed: Answer =
        serde_json::from_slice(&answer).map_err(|e| format!("its answer is not the protocol's JSON: {e}"))?;
    if parsed.username == IDENTITY_TOKEN {
        return Err("it gave an identity token, which tscontainer cannot use: log in with tscontainer login".into());
    }
    if parsed.username.is_empty() && parsed.secret.is_empty() {
        return Ok(None);
    }
    Ok(Some(Credentials { username: parsed.username, password: parsed.secret }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// `get`, again while the script is busy: another test's child, forked while this test
    /// wrote the script, holds it open for writing until that child execs (ETXTBSY).
    fn get(program: &Path, server: &str) -> std::result::Result<Option<Credentials>, String> {
        for _ in 0..100 {
            match super::get(program, server) {
                Err(why) if why.contains("os error 26") => std::thread::sleep(std::time::Duration::from_millis(10)),
                done => return done,
            }
        }
        super::get(program, server)
    }

    /// An executable shell script `docker-credential-NAME` in `dir`.
    fn helper(dir: &Path, name: &str, body: &str) -> PathBuf {
        let path = dir.join(format!("docker-credential-{name}"));
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[test]
    fn reads_the_answer_for_the_server_it_was_given() {
        let dir = tempfile::tempdir().unwrap();
        // Answers with what it read, so the test sees the server name and the argument.
        let p = helper(
            dir.path(),
            "echo",
            r#"server=$(cat); printf '{"ServerURL":"%s","Username":"%s","Secret":"s3cret"}' "$server" "$1""#,
        );
        let c = get(&p, server("docker.io")).unwrap().unwrap();
        assert_eq!(c, Credentials { username: "get".into(), password: "s3cret".into() });
        let q = helper(dir.path(), "host", r#"printf '{"Username":"%s","Secret":"x"}' "$(cat)""#);
        assert_eq!(get(&q, server("127.0.0.1:5000")).unwrap().unwrap().username, "127.0.0.1:5000");
        assert_eq!(server("docker.io"), "https://index.docker.io/v1/");
    }

    #[test]
    fn nothing_stored_is_no_credentials_and_a_failure_is_one_sentence() {
        let dir = tempfile::tempdir().unwrap();
        let none =
            helper(dir.path(), "none", "cat >/dev/null; echo 'credentials not found in native keychain'; exit 1");
        assert_eq!(get(&none, "r.io").unwrap(), None);
        let empty = helper(dir.path(), "empty", r#"echo '{"Username":"","Secret":""}'"#);
        assert_eq!(get(&empty, "r.io").unwrap(), None);
        let broken = helper(dir.path(), "broken", "echo 'keychain is locked'; exit 3");
        let why = get(&broken, "r.io").unwrap_err();
        assert!(why.contains("keychain is locked") && why.contains('3'), "{why}");
        let garbage = helper(dir.path(), "garbage", "echo hello");
        assert!(get(&garbage, "r.io").unwrap_err().contains("not the protocol's JSON"));
        let token = helper(dir.path(), "token", r#"echo '{"Username":"<token>","Secret":"refresh"}'"#);
        assert!(get(&token, "r.io").unwrap_err().contains("identity token"));
        let silent = helper(dir.path(), "silent", "exit 0");
        assert!(get(&silent, "r.io").is_err());
    }

    #[test]
    fn only_a_name_is_run_and_only_from_path() {
        let dir = tempfile::tempdir().unwrap();
        let found = helper(dir.path(), "here", "exit 0");
        let other = tempfile::tempdir().unwrap();
        let path = std::env::join_paths([other.path(), dir.path()]).unwrap();
        assert_eq!(find_on_path("docker-credential-here", Some(&path)), Some(found.clone()));
        assert_eq!(find_on_path("docker-credential-missing", Some(&path)), None);
        // Not executable: not a candidate.
        std::fs::set_permissions(&found, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(find_on_path("docker-credential-here", Some(&path)), None);
        // A relative PATH entry is skipped, as it would depend on the working directory.
        assert_eq!(find_on_path("docker-credential-here", Some(OsStr::new("."))), None);
        for bad in ["", "../../bin/sh", "a/b", ".hidden"] {
            let e = credentials(bad, "r.io").unwrap_err();
            assert_eq!(e.code(), "credential-helper", "{bad}");
        }
    }
}
