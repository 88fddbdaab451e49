//! What the image operations answer, as JavaScript and JSON see it. Each type is defined once:
//! the runtime prints it with serde, the addon (feature `napi`) hands it to JavaScript as a
//! napi-rs object, whose TypeScript declaration napi-rs writes into `native/index.d.cts`. Field
//! names agree by construction: camelCase on both sides (serde's `rename_all` and napi-rs's
//! own conversion), and where podman's JSON has other names (`image inspect`'s `Id`,
//! `RepoTags`, ...) each field names itself to both. An optional field that is absent is left
//! out on both sides (not `null`), so `JSON.parse` of the runtime's line and the addon's
//! object are deep-equal.
//!
//! Numbers are `i64`: byte counts and sizes stay below 2^53, where JavaScript numbers are
//! exact.

use std::collections::BTreeMap;

#[cfg(feature = "napi")]
use napi_derive::napi;
use serde::Serialize;

/// One layer's state during a pull: what `onProgress` receives, and what the runtime prints
/// as `{"progress": ...}`. Per layer, phases come in order: `waiting`, then `downloading`
/// (repeated, `done` growing), `extracting`, `done`; or `waiting` then `already-exists`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "napi", napi(object, object_from_js = false))]
#[serde(rename_all = "camelCase")]
pub struct ProgressEvent {
    /// The image the layer is fetched for: the full reference pulled from
    /// (`docker.io/library/debian:12`), or the image's name in an archive being loaded.
    pub image: String,
    /// The layer blob's digest (what Docker and podman show).
    pub layer: String,
    #[cfg_attr(
        feature = "napi",
        napi(ts_type = "'waiting' | 'downloading' | 'extracting' | 'done' | 'already-exists'")
    )]
    pub phase: String,
    /// Compressed bytes received.
    pub done: i64,
    /// The blob's size.
    pub total: i64,
}

/// An image in the store, as `images` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "napi", napi(object, object_from_js = false))]
#[serde(rename_all = "camelCase")]
pub struct ImageSummary {
    /// `sha256:HEX` of its config.
    pub id: String,
    /// Full names with a tag: `docker.io/library/debian:12`.
    pub repo_tags: Vec<String>,
    /// `NAME@sha256:...`: the digests it was pulled by.
    pub repo_digests: Vec<String>,
    /// The digest of its (platform's) manifest.
    pub digest: String,
    /// The config's `created` (RFC 3339), when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// When it was stored (RFC 3339, UTC).
    pub stored: String,
    /// Bytes of its unpacked layers.
    pub size: i64,
    /// `os/arch[/variant]`.
    pub platform: String,
    /// Containers whose root is made of it.
    pub containers: i64,
    /// Neither a name nor a digest refers to it (`image prune` removes it).
    pub dangling: bool,
    /// The config's labels, when it has any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
}

/// What `pull` stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "napi", napi(object, object_from_js = false))]
#[serde(rename_all = "camelCase")]
pub struct PulledImage {
    pub image: ImageSummary,
    /// The digest of what the reference named (the index, for a multi-platform image): the
    /// `Digest:` line Docker prints.
    pub digest: String,
    /// The reference already named this image before the pull (Docker's "Image is up to
    /// date"), so nothing new was stored.
    pub up_to_date: bool,
    /// The full reference it was stored under (`docker.io/library/debian:12` for `debian:12`;
    /// for a short name, the registry that answered): Docker's last line.
    pub reference: String,
}

/// What `removeImage` did: podman's `Untagged:` and `Deleted:` lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "napi", napi(object, object_from_js = false))]
#[serde(rename_all = "camelCase")]
pub struct RemovedImage {
    /// The names removed.
    pub untagged: Vec<String>,
    /// The image's id, when the image itself went (not only one of its names).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted: Option<String>,
}

/// One image a load stored: podman's `Loaded image: NAME` line per name, or
/// `Loaded image: sha256:ID` for an image the archive does not name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "napi", napi(object, object_from_js = false))]
#[serde(rename_all = "camelCase")]
pub struct LoadedImage {
    /// `sha256:HEX` of its config.
    pub id: String,
    /// Its names from the archive, full references with a tag; empty when it has none.
    pub names: Vec<String>,
}

/// What `pruneImages` removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "napi", napi(object, object_from_js = false))]
#[serde(rename_all = "camelCase")]
pub struct PrunedImages {
    /// Ids of the images removed.
    pub images: Vec<String>,
    /// Bytes freed on disk.
    pub reclaimed: i64,
}

/// One line of `system df`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "napi", napi(object, object_from_js = false))]
#[serde(rename_all = "camelCase")]
pub struct UsageLine {
    pub total: i64,
    /// Images: used by a container; containers: left to the caller (it knows which run);
    /// layers: used by an image or a container.
    pub active: i64,
    /// Bytes on disk.
    pub size: i64,
    pub reclaimable: i64,
}

/// A container's writable layer and its size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "napi", napi(object, object_from_js = false))]
#[serde(rename_all = "camelCase")]
pub struct ContainerSize {
    pub id: String,
    pub size: i64,
}

/// `system df`: the store's use of the disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "napi", napi(object, object_from_js = false))]
#[serde(rename_all = "camelCase")]
pub struct DiskUsage {
    /// Sizes are the images' unique unpacked layers.
    pub images: UsageLine,
    /// The containers' writable layers.
    pub containers: UsageLine,
    pub container_sizes: Vec<ContainerSize>,
    /// Unpacked layers on disk.
    pub layers: UsageLine,
    /// Blobs on disk (compressed layers, manifests, configs).
    pub blobs: UsageLine,
}

/// An empty JSON object: the values of `ExposedPorts` and `Volumes` (Go's
/// `map[string]struct{}`), `{"8080/tcp": {}}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "napi", napi(object, object_from_js = false))]
pub struct EmptyObject {}

/// The run defaults of an image (its config's `config`), with the image spec's (and podman's)
/// names; only what the image sets is present.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "napi", napi(object, object_from_js = false))]
#[serde(rename_all = "PascalCase")]
pub struct ImageRunConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "napi", napi(js_name = "User"))]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "napi", napi(js_name = "ExposedPorts"))]
    pub exposed_ports: Option<BTreeMap<String, EmptyObject>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "napi", napi(js_name = "Env"))]
    pub env: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "napi", napi(js_name = "Entrypoint"))]
    pub entrypoint: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "napi", napi(js_name = "Cmd"))]
    pub cmd: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "napi", napi(js_name = "Volumes"))]
    pub volumes: Option<BTreeMap<String, EmptyObject>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "napi", napi(js_name = "WorkingDir"))]
    pub working_dir: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "napi", napi(js_name = "Labels"))]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "napi", napi(js_name = "StopSignal"))]
    pub stop_signal: Option<String>,
}

/// `RootFS` of `image inspect`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "napi", napi(object, object_from_js = false))]
#[serde(rename_all = "PascalCase")]
pub struct InspectRootFs {
    /// `layers`.
    #[cfg_attr(feature = "napi", napi(js_name = "Type"))]
    pub r#type: String,
    /// The diff_ids, bottom first.
    #[cfg_attr(feature = "napi", napi(js_name = "Layers"))]
    pub layers: Vec<String>,
}

/// `GraphDriver` of `image inspect`: where the unpacked layers are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "napi", napi(object, object_from_js = false))]
#[serde(rename_all = "PascalCase")]
pub struct InspectGraphDriver {
    /// `overlay`.
    #[cfg_attr(feature = "napi", napi(js_name = "Name"))]
    pub name: String,
    /// `UpperDir` (the top layer) and `LowerDir` (the ones below it, top first, `:`-joined),
    /// as podman shows an image's.
    #[cfg_attr(feature = "napi", napi(js_name = "Data"))]
    pub data: BTreeMap<String, String>,
}

/// One entry of an image's history, with the image spec's names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "napi", napi(object, object_from_js = false))]
pub struct HistoryEntry {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "napi", napi(js_name = "created_by"))]
    pub created_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "napi", napi(js_name = "empty_layer"))]
    pub empty_layer: Option<bool>,
}

/// `image inspect`, in podman's shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "napi", napi(object, object_from_js = false))]
#[serde(rename_all = "PascalCase")]
pub struct ImageInspect {
    /// The config's digest without `sha256:`, as podman shows it.
    #[cfg_attr(feature = "napi", napi(js_name = "Id"))]
    pub id: String,
    /// The manifest's digest.
    #[cfg_attr(feature = "napi", napi(js_name = "Digest"))]
    pub digest: String,
    #[cfg_attr(feature = "napi", napi(js_name = "RepoTags"))]
    pub repo_tags: Vec<String>,
    #[cfg_attr(feature = "napi", napi(js_name = "RepoDigests"))]
    pub repo_digests: Vec<String>,
    /// Always empty: pulled images have no parent.
    #[cfg_attr(feature = "napi", napi(js_name = "Parent"))]
    pub parent: String,
    #[cfg_attr(feature = "napi", napi(js_name = "Comment"))]
    pub comment: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "napi", napi(js_name = "Created"))]
    pub created: Option<String>,
    #[cfg_attr(feature = "napi", napi(js_name = "Config"))]
    pub config: ImageRunConfig,
    /// The Docker version that built it, when its config says.
    #[cfg_attr(feature = "napi", napi(js_name = "Version"))]
    pub version: String,
    #[cfg_attr(feature = "napi", napi(js_name = "Author"))]
    pub author: String,
    #[cfg_attr(feature = "napi", napi(js_name = "Architecture"))]
    pub architecture: String,
    #[cfg_attr(feature = "napi", napi(js_name = "Os"))]
    pub os: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "napi", napi(js_name = "Variant"))]
    pub variant: Option<String>,
    /// Bytes of the unpacked layers.
    #[cfg_attr(feature = "napi", napi(js_name = "Size"))]
    pub size: i64,
    #[cfg_attr(feature = "napi", napi(js_name = "VirtualSize"))]
    pub virtual_size: i64,
    #[cfg_attr(feature = "napi", napi(js_name = "GraphDriver"))]
    pub graph_driver: InspectGraphDriver,
    #[serde(rename = "RootFS")]
    #[cfg_attr(feature = "napi", napi(js_name = "RootFS"))]
    pub root_fs: InspectRootFs,
    /// The config's labels (as `Config.Labels`), when it has any.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "napi", napi(js_name = "Labels"))]
    pub labels: Option<BTreeMap<String, String>>,
    /// The manifest's annotations.
    #[cfg_attr(feature = "napi", napi(js_name = "Annotations"))]
    pub annotations: BTreeMap<String, String>,
    /// The manifest's media type (OCI or Docker schema 2).
    #[cfg_attr(feature = "napi", napi(js_name = "ManifestType"))]
    pub manifest_type: String,
    /// The config's `User` (as `Config.User`), or empty.
    #[cfg_attr(feature = "napi", napi(js_name = "User"))]
    pub user: String,
    #[cfg_attr(feature = "napi", napi(js_name = "History"))]
    pub history: Vec<HistoryEntry>,
    /// Names the image had before (podman's); this store does not keep them: empty.
    #[cfg_attr(feature = "napi", napi(js_name = "NamesHistory"))]
    pub names_history: Vec<String>,
}

/// A container's root, ready for an overlay mount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "napi", napi(object, object_from_js = false))]
#[serde(rename_all = "camelCase")]
pub struct ContainerLayers {
    /// The container's own writable directory (overlayfs `upperdir`).
    pub upper: String,
    /// overlayfs's `workdir`, on the same file system.
    pub work: String,
    /// The image's unpacked layers, top first (`lowerdir=` order).
    pub lowerdirs: Vec<String>,
    /// The id of the image it was made from.
    pub image_id: String,
    /// That image's run defaults.
    pub config: ImageRunConfig,
}

/// `--user` resolved against an image's `/etc/passwd` and `/etc/group`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "napi", napi(object, object_from_js = false))]
#[serde(rename_all = "camelCase")]
pub struct ImageUser {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups from `/etc/group` membership.
    pub additional_gids: Vec<u32>,
    /// The user's home directory (`/` when it has none).
    pub home: String,
}

/// Which native host runs the image operations for this caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "napi", napi(object, object_from_js = false))]
#[serde(rename_all = "camelCase")]
pub struct ImageHostInfo {
    /// `addon`: every operation runs in the addon. `runtime`: pull, removals and prune run in
    /// `tscontainer-runtime storage` (an ordinary user with subordinate ids: unpacked files
    /// belong to the mapped ids, which only a process in the user's namespace can make and
    /// remove); the other operations run in the addon.
    #[cfg_attr(feature = "napi", napi(ts_type = "'addon' | 'runtime'"))]
    pub host: String,
    /// Who owns unpacked files: `as-in-tar` (root; the mapped ids in the runtime host) or
    /// `caller` (an ordinary user without subordinate ids).
    #[cfg_attr(feature = "napi", napi(ts_type = "'as-in-tar' | 'caller'"))]
    pub ownership: String,
    /// Why, in one sentence.
    pub reason: String,
}
