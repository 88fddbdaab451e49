//! The operations end to end on a real store in a temporary directory, fed by an image
//! source in memory (gzip'ed tar layers, an OCI manifest and config): what each answers, in
//! both of its forms (the value and its JSON).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::atomic::AtomicBool;
use std::sync::Mutex;

use oci_spec::image::Descriptor;
use tscontainer_core::error::Code;
use tscontainer_image::digest::Digest;
use tscontainer_image::manifest::FetchedManifest;
use tscontainer_image::{ImageSource, Reference, Store};

use crate::inspect::inspect;
use crate::ops;
use crate::spec::ImageForSpec;
use crate::view::ProgressEvent;
use crate::Placement;

/// An image in memory: its manifest and its blobs by digest.
struct MemorySource {
    manifest: Vec<u8>,
    blobs: HashMap<String, Vec<u8>>,
}

impl ImageSource for MemorySource {
    fn manifest(&self, _digest: Option<&Digest>) -> tscontainer_image::Result<FetchedManifest> {
        Ok(FetchedManifest {
            bytes: self.manifest.clone(),
            media_type: Some("application/vnd.oci.image.manifest.v1+json".into()),
            digest: Digest::sha256_of(&self.manifest),
        })
    }

    fn blob(&self, descriptor: &Descriptor) -> tscontainer_image::Result<Box<dyn Read + Send>> {
        let bytes = self.blobs.get(&descriptor.digest().to_string()).cloned().unwrap_or_default();
        Ok(Box::new(std::io::Cursor::new(bytes)))
    }
}

/// A gzip'ed tar of `files` (path, content, uid), with their directories; and its diff_id.
fn layer(files: &[(&str, &str, u64)]) -> (Vec<u8>, Digest) {
    let mut tar = tar::Builder::new(Vec::new());
    let mut dirs = std::collections::BTreeSet::new();
    for (path, _, _) in files {
        let mut parent = std::path::Path::new(path).parent();
        while let Some(p) = parent.filter(|p| !p.as_os_str().is_empty()) {
            dirs.insert(p.to_path_buf());
            parent = p.parent();
        }
    }
    for dir in dirs {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_size(0);
        tar.append_data(&mut h, &dir, std::io::empty()).unwrap();
    }
    for (path, content, uid) in files {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_uid(*uid);
        h.set_size(content.len() as u64);
        tar.append_data(&mut h, path, content.as_bytes()).unwrap();
    }
    let plain = tar.into_inner().unwrap();
    let diff_id = Digest::sha256_of(&plain);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&plain).unwrap();
    (gz.finish().unwrap(), diff_id)
}

fn image(layers: &[Vec<(&str, &str, u64)>], user: &str) -> MemorySource {
    let mut blobs = HashMap::new();
    let mut descriptors = Vec::new();
    let mut diff_ids = Vec::new();
    for files in layers {
        let (blob, diff_id) = layer(files);
        let digest = Digest::sha256_of(&blob);
        descriptors.push(serde_json::json!({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": digest.to_string(), "size": blob.len()}));
        diff_ids.push(diff_id.to_string());
        blobs.insert(digest.to_string(), blob);
    }
    let config = serde_json::json!({
        "created": "2024-01-01T00:00:00Z", "architecture": "amd64", "os": "linux",
        "comment": "made by a test", "docker_version": "27.0.1",
        "config": {"User": user, "Env": ["PATH=/bin"], "Cmd": ["sh"], "ExposedPorts": {"8080/tcp": {}},
            "Labels": {"b": "2", "a": "1"}, "StopSignal": "SIGUSR1", "WorkingDir": "/srv"},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "test"}, {"empty_layer": true}]
    });
    let config = serde_json::to_vec(&config).unwrap();
    let config_digest = Digest::sha256_of(&config);
    let manifest = serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest.to_string(),
            "size": config.len()},
        "layers": descriptors, "annotations": {"org.example": "yes"}});
    blobs.insert(config_digest.to_string(), config);
    MemorySource { manifest: serde_json::to_vec(&manifest).unwrap(), blobs }
}

fn base() -> MemorySource {
    image(
        &[
            vec![
                ("etc/passwd", "root:x:0:0:root:/root:/bin/sh\ntester:x:1000:1000::/home/tester:/bin/sh\n", 0),
                ("etc/group", "root:x:0:\ntester:x:1000:\n", 0),
                ("srv/owned", "x", 1000),
            ],
            vec![("etc/group", "root:x:0:\ntester:x:1000:\nstaff:x:50:tester\n", 0)],
        ],
        "tester",
    )
}

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    // The options of an ordinary user without subordinate ids: these tests run as anyone.
    let store = Store::open_with(dir.path().join("store"), Placement::Caller.unpack_options()).unwrap();
    (dir, store)
}

fn pull(store: &Store, source: &MemorySource, name: &str) -> (crate::view::PulledImage, Vec<ProgressEvent>) {
    let events = Mutex::new(Vec::new());
    let report = |e: &ProgressEvent| events.lock().unwrap().push(e.clone());
    let pulled =
        ops::pull_from(store, source, &Reference::parse(name).unwrap(), &report, &AtomicBool::new(false)).unwrap();
    (pulled, events.into_inner().unwrap())
}

/// Each layer's phases, in order.
fn phases(events: &[ProgressEvent]) -> HashMap<String, Vec<String>> {
    let mut by_layer: HashMap<String, Vec<String>> = HashMap::new();
    for e in events {
        let phases = by_layer.entry(e.layer.clone()).or_default();
        if phases.last() != Some(&e.phase) {
            phases.push(e.phase.clone());
        }
    }
    by_layer
}

#[test]
fn a_pull_reports_each_layer_in_order_and_a_second_is_up_to_date() {
    let (_dir, store) = store();
    let source = base();
    let (pulled, events) = pull(&store, &source, "example.org/app:1");
    assert!(!pulled.up_to_date);
    assert_eq!(pulled.image.repo_tags, ["example.org/app:1"]);
    assert_eq!(pulled.image.created.as_deref(), Some("2024-01-01T00:00:00Z"));
    assert_eq!((pulled.image.containers, pulled.image.dangling), (0, false));
    let by_layer = phases(&events);
    assert_eq!(by_layer.len(), 2);
    for phases in by_layer.values() {
        assert_eq!(phases, &["waiting", "downloading", "extracting", "done"], "{events:?}");
    }
    for layer in by_layer.keys() {
        let done: Vec<i64> = events.iter().filter(|e| &e.layer == layer).map(|e| e.done).collect();
        assert!(done.windows(2).all(|w| w[0] <= w[1]), "bytes go back: {done:?}");
        let last = events.iter().rev().find(|e| &e.layer == layer).unwrap();
        assert_eq!(last.done, last.total);
    }

    let (again, events) = pull(&store, &source, "example.org/app:1");
    assert!(again.up_to_date);
    assert_eq!(again.image, pulled.image);
    for phases in phases(&events).values() {
        assert_eq!(phases, &["waiting", "already-exists"]);
    }
    let listed = ops::images(&store).unwrap();
    assert_eq!(listed, std::slice::from_ref(&pulled.image));
    // The JSON the runtime prints: camelCase, an absent field left out.
    let json = serde_json::to_value(&pulled).unwrap();
    assert_eq!(json["upToDate"], false);
    assert_eq!(json["image"]["repoDigests"][0], format!("example.org/app@{}", pulled.digest));
    let mut summary = pulled.image.clone();
    summary.created = None;
    assert!(serde_json::to_value(&summary).unwrap().get("created").is_none());
}

#[test]
fn a_canceled_pull_keeps_nothing() {
    let (_dir, store) = store();
    let canceled = AtomicBool::new(true);
    let e = ops::pull_from(&store, &base(), &Reference::parse("app").unwrap(), &|_| {}, &canceled).unwrap_err();
    assert_eq!(e.code, Code::Canceled);
    assert_eq!(e.message, "the pull was canceled");
    assert!(store.images().unwrap().is_empty());
    assert_eq!(std::fs::read_dir(store.root().join("layers")).unwrap().count(), 0);
    assert_eq!(std::fs::read_dir(store.root().join("tmp")).unwrap().count(), 0);
}

#[test]
fn inspect_has_podmans_shape() {
    let (_dir, store) = store();
    let (pulled, _) = pull(&store, &base(), "example.org/app:1");
    let view = inspect(&store, "example.org/app:1").unwrap();
    assert_eq!(format!("sha256:{}", view.id), pulled.image.id);
    assert_eq!(view.digest, pulled.image.digest);
    assert_eq!((view.comment.as_str(), view.version.as_str()), ("made by a test", "27.0.1"));
    assert_eq!((view.architecture.as_str(), view.os.as_str(), view.user.as_str()), ("amd64", "linux", "tester"));
    assert_eq!(view.manifest_type, "application/vnd.oci.image.manifest.v1+json");
    assert_eq!(view.annotations.get("org.example").map(String::as_str), Some("yes"));
    assert_eq!(view.root_fs.layers.len(), 2);
    assert_eq!(view.history.len(), 2);
    assert_eq!(view.history[1].empty_layer, Some(true));
    assert_eq!(view.graph_driver.data.len(), 2, "UpperDir and LowerDir: {:?}", view.graph_driver.data);
    let json = serde_json::to_value(&view).unwrap();
    for key in ["Id", "Digest", "RepoTags", "RepoDigests", "Created", "Config", "Architecture", "Os", "Size", "RootFS"]
    {
        assert!(json.get(key).is_some(), "no {key} in {json}");
    }
    assert!(json.get("Variant").is_none());
    assert_eq!(json["Config"]["ExposedPorts"], serde_json::json!({"8080/tcp": {}}));
    assert_eq!(json["Config"]["StopSignal"], "SIGUSR1");
    assert_eq!(json["Config"]["Labels"], serde_json::json!({"a": "1", "b": "2"}));
    assert!(json["Config"].get("Volumes").is_none(), "an unset field is absent: {json}");
    assert_eq!(json["History"][0]["created_by"], "test");
    assert_eq!(inspect(&store, "nothing").unwrap_err().code, Code::ImageNotKnown);
}

#[test]
fn users_are_read_from_the_union_of_the_layers() {
    let (_dir, store) = store();
    pull(&store, &base(), "app");
    let image = ImageForSpec::open(&store, "app").unwrap();
    // The image's own User, tester, with staff from the top layer's /etc/group, resolved as
    // the addon resolves it (resolveImageUser).
    let user = |given: Option<&str>| {
        let spec = image.user_spec(given);
        tscontainer_run_options::resolve_user_in(spec.as_deref(), &image.users().unwrap(), &image.groups().unwrap())
    };
    assert_eq!(image.user_spec(None).as_deref(), Some("tester"));
    assert_eq!(image.user_spec(Some("")).as_deref(), Some("tester"));
    let tester = user(None).unwrap();
    assert_eq!(
        (tester.uid, tester.gid, tester.additional_gids.clone(), tester.home.as_str()),
        (1000, 1000, vec![50], "/home/tester")
    );
    assert_eq!(user(Some("root")).unwrap().home, "/root");
    assert_eq!(user(Some("4242:4343")).unwrap().gid, 4343);
    let e = user(Some("nobody")).unwrap_err();
    assert_eq!(e.code(), Code::InvalidOption);
    assert!(e.to_string().contains("no user `nobody`"), "{e}");
    assert_eq!(image.run_config().working_dir.as_deref(), Some("/srv"));
    assert!(image.read_file("/etc/shadow").unwrap().is_none());
}

#[test]
fn tag_remove_prune_and_disk_usage() {
    let (_dir, store) = store();
    let (pulled, _) = pull(&store, &base(), "app:1");
    ops::tag(&store, "app:1", "app:2").unwrap();
    assert_eq!(ops::images(&store).unwrap()[0].repo_tags, ["docker.io/library/app:1", "docker.io/library/app:2"]);
    assert_eq!(ops::tag(&store, "nothing", "x").unwrap_err().code, Code::ImageNotKnown);
    assert_eq!(ops::tag(&store, "app:1", "bad name").unwrap_err().code, Code::InvalidReference);

    let removed = ops::remove_image(&store, "app:2", false).unwrap();
    assert_eq!((removed.untagged, removed.deleted), (vec!["docker.io/library/app:2".to_string()], None));
    let json = serde_json::to_value(ops::remove_image(&store, "app:1", false).unwrap()).unwrap();
    assert_eq!(json, serde_json::json!({"untagged": ["docker.io/library/app:1"], "deleted": pulled.image.id}));

    pull(&store, &base(), "app:1");
    let layers = ops::create_container_layers(&store, "c1", "app:1").unwrap();
    assert_eq!(layers.image_id, pulled.image.id);
    assert_eq!(layers.lowerdirs.len(), 2);
    assert_eq!(layers.config.user.as_deref(), Some("tester"));
    std::fs::write(std::path::Path::new(&layers.upper).join("new"), vec![0u8; 8192]).unwrap();
    assert_eq!(ops::images(&store).unwrap()[0].containers, 1);
    let df = ops::disk_usage(&store).unwrap();
    assert_eq!((df.images.total, df.images.active, df.containers.total), (1, 1, 1));
    assert_eq!(df.container_sizes[0].id, "c1");
    assert!(df.container_sizes[0].size >= 8192);
    assert_eq!(ops::remove_image(&store, "app:1", false).unwrap_err().code, Code::InUse);
    assert_eq!(ops::prune(&store, true).unwrap().images, Vec::<String>::new());
    assert_eq!(ops::create_container_layers(&store, "c1", "app:1").unwrap_err().code, Code::ContainerExists);
    ops::remove_container_layers(&store, "c1").unwrap();
    assert_eq!(ops::remove_container_layers(&store, "c1").unwrap_err().code, Code::ContainerNotKnown);
    let pruned = ops::prune(&store, true).unwrap();
    assert_eq!(pruned.images, std::slice::from_ref(&pulled.image.id));
    assert!(pruned.reclaimed > 0);
    assert!(ops::images(&store).unwrap().is_empty());
    assert_eq!(std::fs::read_dir(store.root().join("layers")).unwrap().count(), 0);
}

#[test]
fn a_platform_that_does_not_parse_is_its_own_error() {
    let (dir, store) = store();
    let conf = dir.path().join("registries.conf");
    std::fs::write(&conf, "").unwrap();
    std::env::set_var("TSCONTAINER_REGISTRIES_CONF", &conf);
    let client = crate::ops::RegistryOptions::default().client().unwrap();
    let e = ops::pull(&store, &client, "app", Some("linux"), &|_| {}, &AtomicBool::new(false)).unwrap_err();
    assert_eq!(e.code, Code::InvalidPlatform);
    let e = ops::pull(&store, &client, "Bad Name", None, &|_| {}, &AtomicBool::new(false)).unwrap_err();
    assert_eq!(e.code, Code::InvalidReference);
}

#[cfg(feature = "run-spec")]
#[test]
fn an_image_bundle_is_the_containers_directory_with_the_overlay_first_and_the_images_config() {
    let (_dir, store) = store();
    pull(&store, &base(), "app");
    let opts = |id: &str| tscontainer_run_options::RunOptions {
        id: id.into(),
        // root: the image's tester exists only where the caller has subordinate ids.
        user: Some("root".into()),
        env: vec!["A=from -e".into()],
        ..Default::default()
    };
    let run = crate::run_spec::ImageRun { image: "app".into(), entrypoint: None };
    let made = crate::run_spec::create_image_bundle(&store, opts("c1"), &run).unwrap();
    assert_eq!(made.dir, store.root().join("containers/c1"));
    assert_eq!(made.stop_signal.as_deref(), Some("SIGUSR1"));
    let mut names: Vec<String> =
        std::fs::read_dir(&made.dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["config.json", "container.json", "hostname", "hosts", "resolv.conf", "rootfs", "upper", "work"]);
    assert_eq!(std::fs::read_dir(made.dir.join("rootfs")).unwrap().count(), 0);
    let spec: oci_spec::runtime::Spec =
        serde_json::from_slice(&std::fs::read(made.dir.join("config.json")).unwrap()).unwrap();
    let mounts = spec.mounts().clone().unwrap();
    let layers = store.container_layers("c1").unwrap();
    assert_eq!(mounts[0], crate::run_spec::overlay_mount(&layers.lowerdirs, &layers.upper, &layers.work));
    assert_eq!(layers.lowerdirs.len(), 2);
    let etc: Vec<_> =
        mounts.iter().filter(|m| m.destination().starts_with("/etc")).map(|m| m.source().clone()).collect();
    assert_eq!(etc, ["hosts", "hostname", "resolv.conf"].map(|f| Some(made.dir.join(f))));
    let process = spec.process().clone().unwrap();
    assert_eq!(process.args().clone().unwrap(), ["sh"]);
    assert_eq!(process.cwd(), std::path::Path::new("/srv"));
    let env = process.env().clone().unwrap();
    assert!(env.contains(&"PATH=/bin".to_string()) && env.contains(&"A=from -e".to_string()), "{env:?}");
    let annotations = spec.annotations().clone().unwrap();
    assert_eq!(annotations.get(crate::run_spec::STOP_SIGNAL_ANNOTATION).map(String::as_str), Some("SIGUSR1"));
    assert_eq!(annotations.get(crate::run_spec::EXPOSED_PORTS_ANNOTATION).map(String::as_str), Some("8080/tcp"));
    assert_eq!(annotations.get("a").map(String::as_str), Some("1"));

    // A failure after the directory was made leaves nothing; one before it makes nothing.
    let bad = tscontainer_run_options::RunOptions { memory: Some("10Q".into()), ..opts("c2") };
    let e = crate::run_spec::create_image_bundle(&store, bad, &run).unwrap_err();
    assert_eq!(e.code, Code::InvalidOption);
    let cleared = crate::run_spec::ImageRun { image: "app".into(), entrypoint: Some(String::new()) };
    let e = crate::run_spec::create_image_bundle(&store, opts("c3"), &cleared).unwrap_err();
    assert_eq!(e.message, "no command specified");
    let e = crate::run_spec::create_image_bundle(
        &store,
        opts("c4"),
        &crate::run_spec::ImageRun { image: "missing".into(), entrypoint: None },
    )
    .unwrap_err();
    assert_eq!(e.code, Code::ImageNotKnown);
    assert_eq!(store.containers().unwrap().len(), 1);
    assert!(!store.root().join("containers/c2").exists());
}
