//! The options of a run: the one definition every face fills. The addon takes this struct
//! from JavaScript through serde (camelCase, unknown fields refused), and its TypeScript type,
//! `RunSpecOptions`, is generated from it (`ts/api/generated/run-spec-options.ts`, written by
//! this crate's tests with ts-rs and checked by them to be current), so the API's table that
//! fills it is compile-checked against this shape. An option is one field here; then the TS
//! type is regenerated (`TSCONTAINER_WRITE_BINDINGS=1 cargo test -p tscontainer-run-options`).

use std::path::PathBuf;

use serde::Deserialize;

/// What a run asks for, as text where the user typed text: parsing and checking happen in
/// `build_run_spec`, once, for every front end.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(test, derive(ts_rs::TS), ts(rename = "RunSpecOptions", optional_fields))]
pub struct RunOptions {
    /// The container id; also the hostname unless `hostname` is set.
    pub id: String,
    /// The command and its arguments.
    pub command: Vec<String>,
    /// A directory to use as the root filesystem; without it, a read-only view of the host's
    /// root with its own /proc, /dev and /tmp.
    pub rootfs: Option<PathBuf>,
    pub hostname: Option<String>,
    /// A memory limit: `50M`, `1g`, bytes.
    pub memory: Option<String>,
    /// The most processes (default 2048 where a limit can apply); 0 or -1: unlimited.
    pub pids_limit: Option<i64>,
    /// CPUs as a decimal: `0.5`, `2`.
    pub cpus: Option<String>,
    /// `KEY=VALUE`, or `KEY` to copy the variable from this process's environment.
    #[serde(default)]
    #[cfg_attr(test, ts(as = "Option<Vec<String>>"))]
    pub env: Vec<String>,
    pub workdir: Option<String>,
    /// `uid[:gid]` or `name[:group]`, resolved in the rootfs's /etc/passwd and /etc/group.
    pub user: Option<String>,
    /// The user already resolved elsewhere (against an image's databases, read from its
    /// layers before its root exists); `user` then only names it in messages. Not an option
    /// JavaScript gives: set by the image bundle's builder.
    #[serde(skip)]
    #[cfg_attr(test, ts(skip))]
    pub resolved_user: Option<crate::user::ResolvedUser>,
    /// `none` (default), `host`, `pasta` or `slirp4netns`.
    pub network: Option<String>,
    /// Published ports, `[host-ip:]host-port:container-port[/tcp|udp]`.
    #[serde(default)]
    #[cfg_attr(test, ts(as = "Option<Vec<String>>"))]
    pub publish: Vec<String>,
    /// Bind mounts, `host:container[:ro|rw]`.
    #[serde(default)]
    #[cfg_attr(test, ts(as = "Option<Vec<String>>"))]
    pub volumes: Vec<String>,
    /// A read-only root filesystem.
    #[serde(default)]
    #[cfg_attr(test, ts(as = "Option<bool>"))]
    pub read_only: bool,
    /// A terminal for the container's process.
    #[serde(default)]
    #[cfg_attr(test, ts(as = "Option<bool>"))]
    pub tty: bool,
    /// Capabilities added to Docker's default set (`NET_ADMIN`, `CAP_NET_ADMIN`, `ALL`).
    #[serde(default)]
    #[cfg_attr(test, ts(as = "Option<Vec<String>>"))]
    pub cap_add: Vec<String>,
    /// Capabilities dropped from it.
    #[serde(default)]
    #[cfg_attr(test, ts(as = "Option<Vec<String>>"))]
    pub cap_drop: Vec<String>,
    /// Every capability and device, no seccomp filter, nothing masked.
    #[serde(default)]
    #[cfg_attr(test, ts(as = "Option<bool>"))]
    pub privileged: bool,
    /// Docker's `--security-opt`: `seccomp=FILE|unconfined`, `no-new-privileges[=BOOL]`,
    /// `systempaths=unconfined`.
    #[serde(default)]
    #[cfg_attr(test, ts(as = "Option<Vec<String>>"))]
    pub security_opt: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use ts_rs::TS;

    /// Where the TypeScript type lives, from this crate's directory.
    const BINDING: &str = "../../ts/api/generated/run-spec-options.ts";

    fn binding() -> String {
        let config = ts_rs::Config::new().with_large_int("number");
        RunOptions::export_to_string(&config).expect("RunOptions has a TypeScript type")
    }

    /// The checked-in TypeScript type is the one this struct makes: a field added here and not
    /// regenerated fails this test (and `TSCONTAINER_WRITE_BINDINGS=1` rewrites the file).
    #[test]
    fn the_typescript_type_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(BINDING);
        let generated = binding();
        if std::env::var_os("TSCONTAINER_WRITE_BINDINGS").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            checked_in == generated,
            "{} is not what RunOptions makes; regenerate it: TSCONTAINER_WRITE_BINDINGS=1 cargo test -p tscontainer-run-options",
            path.display()
        );
    }

    #[test]
    fn options_come_in_camel_case_and_unknown_ones_are_refused() {
        let options: RunOptions = serde_json::from_value(serde_json::json!({
            "id": "c1", "command": ["sh"], "pidsLimit": 20, "readOnly": true, "capAdd": ["NET_ADMIN"]
        }))
        .unwrap();
        assert_eq!((options.pids_limit, options.read_only, options.cap_add.len()), (Some(20), true, 1));
        assert!(options.env.is_empty() && !options.tty);
        let err = serde_json::from_value::<RunOptions>(serde_json::json!({"id": "c1", "command": [], "image": "x"}))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("unknown field `image`"), "{err}");
    }
}
