//! The image operations as tscontainer's two native hosts run them (DESIGN.md, "Images and
//! storage"): the addon, on libuv's thread pool inside Node, and `tscontainer-runtime
//! storage`, a process that can enter an ordinary user's user namespace (which Node cannot:
//! invariant 1). Both call the same functions here and answer with the same types, so a
//! result is the same object whichever host produced it:
//!
//! - [`placement`]: who owns unpacked files for this caller, and so which host pulls and
//!   removes ([`Placement::detect`], [`Placement::info`]); where the store is.
//! - [`ops`]: pull (from a registry, or from any [`tscontainer_image::ImageSource`] for
//!   `load`), images, remove, prune, tag, disk usage, login, logout, a container's layers.
//! - [`inspect`]: `image inspect` in podman's shape.
//! - [`spec`]: what a spec builder reads from an image (run defaults, `--user NAME`).
//! - [`run_spec`]: a container of an image: its directory in the store and its spec.
//! - [`view`]: the result types (serde for the runtime's JSON, napi-rs objects for the
//!   addon with the feature `napi`).
//! - [`error`]: a code of the workspace's vocabulary (`tscontainer_core::error::Code`) and
//!   one sentence.

pub mod error;
pub mod inspect;
pub mod ops;
pub mod placement;
#[cfg(feature = "run-spec")]
pub mod run_spec;
pub mod spec;
pub mod view;

#[cfg(test)]
mod tests;

pub use error::{HostError, Result};
pub use placement::{open_store, storage_root, Placement};
