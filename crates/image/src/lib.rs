//! Images for tscontainer (DESIGN.md, "Images and storage"): references, the registry
//! client, manifests, indexes and configs, the content store, layer unpacking, image
//! metadata, locks and garbage collection.
//!
//! This library enters no namespace and starts no container's process; the one program it
//! may start is a registry's credential helper, which the user's auth file names
//! (registry/helper.rs), as Docker and podman start it. The addon calls it from a worker
//! thread, and where ownership must be mapped into an ordinary user's subordinate ids, the
//! runtime calls it from inside that user's namespace (`tscontainer-runtime storage`,
//! through `tscontainer-image-host`, which both hosts share).
//!
//! What the faces call:
//! - pull: [`registry::pull_image`]`(&store, &client, &reference, &PullOptions { platform,
//!   progress, cancel, unpacker, parallel })` with a [`registry::RegistryClient::from_env`]
//!   (registries.conf, auth files; `ClientOptions` for `--tls-verify`, `--cert-dir`, `--creds`);
//!   any other source implements [`ImageSource`] and goes through [`pull()`] (archives do,
//!   through `archive::load`). Progress events carry the layer digest, bytes and a [`Phase`].
//! - load/save: [`archive::load`]`(&store, path, &PullOptions)` (or [`archive::load_reader`]
//!   for standard input) gives each image's id and names ([`archive::Loaded`]);
//!   [`archive::save`]`(&store, &refs, dest, `[`archive::Format`]`)` (or
//!   [`archive::save_to_writer`] for standard output).
//! - login/logout: [`registry::RegistryClient::login`] and `logout`.
//! - images: [`Store::open`]`(`[`Store::default_root`]`())`, then `images`, `image(spec)` (a
//!   reference, an id or an id prefix), `image_config`, `tag`, `remove_image`, `prune`,
//!   `disk_usage`.
//! - a container's root: `create_container(id, image)` gives the upper, work and lower
//!   directories (top first) for overlayfs; `container_layers(id)`, `remove_container(id)`.
//! - errors: one [`Error`] with a stable [`Error::code`].

pub mod archive;
pub mod digest;
pub mod error;
pub mod layer;
pub mod manifest;
pub mod platform;
pub mod pull;
pub mod reference;
#[cfg(feature = "registry")]
pub mod registry;
pub mod store;

pub use digest::Digest;
pub use error::{Error, Result};
pub use platform::Platform;
pub use pull::{pull, ImageSource, InProcess, Phase, Progress, PullOptions, Pulled, Unpacker};
pub use reference::Reference;
pub use store::Store;
