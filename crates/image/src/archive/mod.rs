//! Image archives: [`load`] reads a docker-archive (`docker save`, `podman save`, `skopeo
//! copy docker-archive:`), an oci-archive or an OCI image layout directory into the store
//! through the pull pipeline; [`save`] writes stored images in any of the three [`Format`]s.
//!
//! - `docker`: the docker-archive (manifest.json, RepoTags, layer tars).
//! - `oci`: OCI image layouts (oci-layout, index.json, blobs), in a directory or a tar.
//! - `files`: an archive's members by path (a tar indexed in place, or a directory), confined.
//! - `names`: the names archives give images, normalized.
//! - `load`, `save`: the two operations.

mod docker;
mod files;
mod load;
mod names;
mod oci;
mod save;

pub use load::{load, load_reader, Loaded};
pub use save::{save, save_to_writer, Format, UnknownFormat};

use crate::layer::Compression;

/// The OCI media type of a layer blob compressed as its first bytes say (`None`: a tar).
fn layer_media_type(compression: Option<Compression>) -> &'static str {
    match compression {
        None | Some(Compression::None) => "application/vnd.oci.image.layer.v1.tar",
        Some(Compression::Gzip) => "application/vnd.oci.image.layer.v1.tar+gzip",
        Some(Compression::Zstd) => "application/vnd.oci.image.layer.v1.tar+zstd",
    }
}
