//! Images for tscontainer (DESIGN.md, "Images and storage"): references, the registry
//! client, manifests, indexes and configs, the content store, layer unpacking, image
//! metadata, locks and garbage collection.
//!
//! This library creates no process and enters no namespace: the addon calls it from a
//! worker thread, and where ownership must be mapped into an ordinary user's subordinate
//! ids, the runtime calls its unpacker from inside that user's namespace.

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
