//! `tscontainer-runtime storage`: the image operations that write or remove unpacked layers,
//! for the TypeScript layer (hidden from `--help`, like runc's internal entries). An ordinary
//! user with subordinate ids needs them run inside a user namespace that maps those ids,
//! which Node cannot enter; root and other users may use them too (the same operations the
//! addon runs, with the same results). Output: one JSON object per line on stdout (see
//! `commands/storage`).
//!
//! `load` writes layers, so it is here; `save` only reads the store (the addon does it for
//! every user).

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// Image storage operations, inside the user's namespace when the user has subordinate ids
#[derive(Debug, Args)]
pub struct Storage {
    /// The store's root (default: $TSCONTAINER_STORAGE, else /var/lib/tscontainer for root,
    /// $XDG_DATA_HOME/tscontainer or ~/.local/share/tscontainer for a user)
    #[arg(long, value_name = "DIR")]
    pub storage_root: Option<PathBuf>,
    #[command(subcommand)]
    pub operation: StorageOperation,
}

#[derive(Debug, Subcommand)]
pub enum StorageOperation {
    Pull(StoragePull),
    Load(StorageLoad),
    RemoveImage(StorageRemoveImage),
    Prune(StoragePrune),
    RemoveContainer(StorageRemoveContainer),
}

/// Pull an image from its registry; progress and the result as JSON lines
#[derive(Debug, Args)]
pub struct StoragePull {
    /// The image reference (debian:12, HOST:PORT/NAME:TAG, NAME@sha256:...)
    pub reference: String,
    /// The platform to choose from a multi-platform image: OS/ARCH[/VARIANT]
    #[arg(long)]
    pub platform: Option<String>,
    /// false: plain HTTP and unverified TLS for every registry; true: never
    #[arg(long, value_name = "BOOL")]
    pub tls_verify: Option<bool>,
    /// The only directory searched for CA and client certificates
    #[arg(long, value_name = "DIR")]
    pub cert_dir: Option<PathBuf>,
    /// The only credentials file read
    #[arg(long, value_name = "FILE")]
    pub authfile: Option<PathBuf>,
}

/// Load the images of a docker-archive, an oci-archive or an OCI layout directory; progress
/// and the result as JSON lines
#[derive(Debug, Args)]
pub struct StorageLoad {
    /// The archive (a file or a directory; - for standard input)
    #[arg(short, long, value_name = "PATH")]
    pub input: PathBuf,
}

/// Remove an image (by name: that name, and the image with its last name; by id: the image)
#[derive(Debug, Args)]
pub struct StorageRemoveImage {
    pub image: String,
    /// Remove an image with several names by id, or one a container uses
    #[arg(short, long)]
    pub force: bool,
}

/// Remove dangling images (every image no container uses with --all) and unreferenced content
#[derive(Debug, Args)]
pub struct StoragePrune {
    #[arg(short, long)]
    pub all: bool,
}

/// Remove a container's writable layer
#[derive(Debug, Args)]
pub struct StorageRemoveContainer {
    pub id: String,
}
