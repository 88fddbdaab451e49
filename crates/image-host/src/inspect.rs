//! `image inspect` in podman's shape, and an image's run defaults.

use std::collections::BTreeMap;

use oci_spec::image::ImageConfiguration;
use tscontainer_image::manifest::{CONFIG_LIMIT, MANIFEST_LIMIT, OCI_MANIFEST};
use tscontainer_image::Store;

use crate::error::Result;
use crate::view::{EmptyObject, HistoryEntry, ImageInspect, ImageRunConfig, InspectGraphDriver, InspectRootFs};

fn sorted<V: Clone>(map: &std::collections::HashMap<String, V>) -> BTreeMap<String, V> {
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn set(keys: &[String]) -> BTreeMap<String, EmptyObject> {
    keys.iter().map(|k| (k.clone(), EmptyObject {})).collect()
}

/// The config's `config` section: what a container of the image runs by default.
pub fn run_config(config: &ImageConfiguration) -> ImageRunConfig {
    let Some(c) = config.config() else { return ImageRunConfig::default() };
    ImageRunConfig {
        user: c.user().clone(),
        exposed_ports: c.exposed_ports().as_deref().map(set),
        env: c.env().clone(),
        entrypoint: c.entrypoint().clone(),
        cmd: c.cmd().clone(),
        volumes: c.volumes().as_deref().map(set),
        working_dir: c.working_dir().clone(),
        labels: c.labels().as_ref().map(sorted),
        stop_signal: c.stop_signal().clone(),
    }
}

/// What the image spec's types drop and podman shows: Docker's `comment` and
/// `docker_version`, and the manifest's media type and annotations.
#[derive(serde::Deserialize, Default)]
struct DockerExtras {
    #[serde(default)]
    comment: Option<String>,
    #[serde(default)]
    docker_version: Option<String>,
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ManifestHead {
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    annotations: Option<BTreeMap<String, String>>,
}

/// `image inspect SPEC` (a reference, an id or an id prefix).
pub fn inspect(store: &Store, spec: &str) -> Result<ImageInspect> {
    let image = store.image(spec)?;
    let what = format!("the config of image {}", image.id);
    let raw = store.read_blob(&image.id, CONFIG_LIMIT, &what)?;
    let invalid =
        |e: serde_json::Error| tscontainer_image::Error::InvalidContent { what: what.clone(), source: e.into() };
    let config: ImageConfiguration = serde_json::from_slice(&raw).map_err(invalid)?;
    let extras: DockerExtras = serde_json::from_slice(&raw).unwrap_or_default();
    let what = format!("the manifest of image {}", image.id);
    let manifest: ManifestHead = serde_json::from_slice(&store.read_blob(&image.manifest, MANIFEST_LIMIT, &what)?)
        .map_err(|e| tscontainer_image::Error::InvalidContent { what, source: e.into() })?;

    let lowerdirs: Vec<String> = image.lowerdirs(store).iter().map(|p| p.display().to_string()).collect();
    let mut data = BTreeMap::new();
    if let Some((upper, lower)) = lowerdirs.split_first() {
        data.insert("UpperDir".to_string(), upper.clone());
        if !lower.is_empty() {
            data.insert("LowerDir".to_string(), lower.join(":"));
        }
    }
    let run = run_config(&config);
    let history = config
        .history()
        .iter()
        .flatten()
        .map(|h| HistoryEntry {
            created: h.created().clone(),
            created_by: h.created_by().clone(),
            author: h.author().clone(),
            comment: h.comment().clone(),
            empty_layer: h.empty_layer(),
        })
        .collect();
    let size = i64::try_from(image.size).unwrap_or(i64::MAX);
    Ok(ImageInspect {
        id: image.id.hex().to_string(),
        digest: image.manifest.to_string(),
        repo_tags: image.names.clone(),
        repo_digests: image.digests.clone(),
        parent: String::new(),
        comment: extras.comment.unwrap_or_default(),
        created: config.created().clone(),
        version: extras.docker_version.unwrap_or_default(),
        author: config.author().clone().unwrap_or_default(),
        architecture: config.architecture().to_string(),
        os: config.os().to_string(),
        variant: config.variant().clone(),
        size,
        virtual_size: size,
        graph_driver: InspectGraphDriver { name: "overlay".into(), data },
        root_fs: InspectRootFs { r#type: config.rootfs().typ().clone(), layers: config.rootfs().diff_ids().clone() },
        labels: run.labels.clone(),
        annotations: manifest.annotations.unwrap_or_default(),
        manifest_type: manifest.media_type.unwrap_or_else(|| OCI_MANIFEST.to_string()),
        user: run.user.clone().unwrap_or_default(),
        config: run,
        history,
        names_history: Vec::new(),
    })
}
