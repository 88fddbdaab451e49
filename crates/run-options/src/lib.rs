//! What `tscontainer run`'s flags and the Node API's run options mean, turned into a
//! runtime-spec config: Docker's semantics (its capability set and `--cap-add`/`--cap-drop`,
//! `--privileged`, `--security-opt`, users resolved in the rootfs, limits as text, volumes,
//! published ports), checked and parsed once here for every face.
//!
//! The Node addon uses this crate; `tscontainer-runtime` does not link it: the runtime runs
//! configs as they are written, whoever wrote them (DESIGN.md, "A run-options crate beside
//! core"). [`RunOptions`] is the one definition of a run's options: the addon takes it from
//! JavaScript through serde, and its TypeScript type is generated from it (see
//! `options.rs`).

mod error;
mod log;
mod options;
mod run;
mod security;
mod units;
mod user;

pub use error::OptionError;
pub use log::log_options;
pub use options::RunOptions;
pub use run::{build_run_spec, env_entry, Network, DEFAULT_PIDS_LIMIT};
pub use units::{parse_cpus, parse_memory, MIN_MEMORY};
pub use user::{resolve as resolve_user, resolve_in as resolve_user_in, ResolvedUser};
