//! The container library behind tscontainer.
//!
//! Everything that touches the kernel for a container lives here, split by concern:
//! [`spec`] (config.json: loading, validation, the defaults `tscontainer run` builds),
//! [`namespaces`], [`cgroups`], [`rootfs`], [`process`] (what happens to the container's
//! process between clone and execve), [`state`] (the on-disk store) and [`container`]
//! (the lifecycle verbs). Every mutating system call goes through [`syscall::Syscall`], so
//! unit tests can record the calls a step makes and inject failures.
//!
//! This crate never starts threads: `create` clones the container's init from the calling
//! process, which must be single-threaded (see DESIGN.md, invariant 1).

pub mod bundle;
pub mod cgroups;
pub mod channel;
pub mod container;
pub mod datadir;
pub mod error;
pub mod features;
pub mod hooks;
pub mod init;
pub mod mountinfo;
pub mod namespaces;
pub mod network;
pub mod output;
pub mod passwd;
pub mod proc;
pub mod process;
pub mod rootfs;
pub mod seccomp;
pub mod signal;
pub mod spec;
pub mod state;
pub mod syscall;
pub mod trusted;
pub mod userns;

/// Callers build and read specs with the same `oci-spec` version this library uses.
pub use oci_spec;

pub use error::{Error, Result};
