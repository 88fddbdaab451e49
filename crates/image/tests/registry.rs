//! Pulls from a real registry (Debian's docker-registry, distribution 2.8) on 127.0.0.1:
//! plain HTTP allowed by registries.conf, TLS with a CA made here, htpasswd Basic auth,
//! multi-platform indexes, two pulls of one image at once, and pulls killed with SIGKILL.

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Mutex;

use common::{image, index, layer, random_bytes, Packing, Registry, TestImage};
use tscontainer_image::pull::{Phase, Progress, PullOptions};
use tscontainer_image::registry::{pull_image, AuthFiles, ClientOptions, Credentials, RegistriesConf, RegistryClient};
use tscontainer_image::{Platform, Reference, Store};

/// A client that reads only the files given here (never the machine's).
fn client(dir: &Path, conf: &str, options: ClientOptions) -> RegistryClient {
    let conf_path = dir.join("registries.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let auth = dir.join("auth.json");
    RegistryClient::new(
        RegistriesConf::load_files(&[conf_path]).unwrap(),
        AuthFiles::new(vec![auth.clone()], auth),
        options,
    )
}

fn insecure(host: &str) -> String {
    format!("[[registry]]\nlocation = \"{host}\"\ninsecure = true\n")
}

fn small_image(tag: &str) -> TestImage {
    image(
        vec![
            layer(
                &[
                    ("etc/os-release", format!("ID={tag}\n").into_bytes()),
                    ("bin/hello", b"#!/bin/sh\necho hi\n".to_vec()),
                ],
                Packing::Gzip,
            ),
            layer(&[("usr/share/data", random_bytes(100_000))], Packing::Zstd),
            layer(&[("etc/extra", b"plain".to_vec())], Packing::Plain),
        ],
        "amd64",
    )
}

fn verify_pulled(store: &Store, reference: &str, img: &TestImage) {
    let record = store.image(reference).unwrap();
    assert_eq!(record.id, img.config_digest);
    assert_eq!(record.layers.len(), img.layers.len());
    for (l, expected) in record.layers.iter().zip(&img.layers) {
        assert_eq!(l.diff_id, expected.diff_id);
        assert!(store.has_blob(&l.digest), "blob {} is stored", l.digest);
        common::assert_layer_content(&store.layer_diff(&l.diff_id), expected);
    }
    assert_eq!(std::fs::read_dir(store.root().join("tmp")).unwrap().count(), 0, "no temporary is left");
}

#[test]
fn pulls_over_plain_http_where_registries_conf_allows_it_and_skips_present_layers() {
    let Some(registry) = Registry::start(false, false) else { return };
    let img = small_image("plain");
    let manifest_digest = registry.push("test/app", "v1", &img);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    let reference = Reference::parse(&format!("{}/test/app:v1", registry.host)).unwrap();

    // As podman (and unlike Docker's daemon), 127.0.0.1 is not insecure by itself.
    let strict = client(dir.path(), "", ClientOptions::default());
    let e = pull_image(&store, &strict, &reference, &PullOptions::default()).unwrap_err();
    assert!(matches!(e.code().as_str(), "tls" | "registry-unreachable"), "{e}: {}", e.code());

    let c = client(dir.path(), &insecure(&registry.host), ClientOptions::default());
    let events = Mutex::new(Vec::<Progress>::new());
    let progress = |p: &Progress| events.lock().unwrap().push(p.clone());
    let options = PullOptions { progress: Some(&progress), ..Default::default() };
    let pulled = pull_image(&store, &c, &reference, &options).unwrap();
    assert_eq!(pulled.digest, manifest_digest);
    assert_eq!(pulled.image.names, [reference.to_string()]);
    assert_eq!(pulled.image.digests, [format!("{}/test/app@{manifest_digest}", registry.host)]);
    assert_eq!(pulled.image.platform, "linux/amd64");
    verify_pulled(&store, &reference.to_string(), &img);
    let done: Vec<_> =
        events.lock().unwrap().iter().filter(|p| p.phase == Phase::Done).map(|p| p.layer.clone()).collect();
    assert_eq!(done.len(), 3, "one done event per layer");

    // Again, and by digest: nothing is fetched but the manifest and config.
    events.lock().unwrap().clear();
    let pinned = Reference::parse(&format!("{}/test/app@{manifest_digest}", registry.host)).unwrap();
    pull_image(&store, &c, &pinned, &options).unwrap();
    let phases: Vec<Phase> = events.lock().unwrap().iter().map(|p| p.phase).filter(|p| *p != Phase::Waiting).collect();
    assert_eq!(phases, [Phase::AlreadyExists; 3]);
    assert_eq!(store.images().unwrap().len(), 1);

    // A tag the registry does not have, and a digest it does not have.
    let missing = Reference::parse(&format!("{}/test/app:nope", registry.host)).unwrap();
    let e = pull_image(&store, &c, &missing, &options).unwrap_err();
    assert_eq!(e.code(), "manifest-unknown", "{e}");
    let wrong = Reference::parse(&format!("{}/test/app@sha256:{}", registry.host, "0".repeat(64))).unwrap();
    assert_eq!(pull_image(&store, &c, &wrong, &options).unwrap_err().code(), "manifest-unknown");
}

#[test]
fn chooses_the_platform_from_an_index() {
    let Some(registry) = Registry::start(false, false) else { return };
    let amd = small_image("amd");
    let arm = image(vec![layer(&[("etc/arch", b"arm64".to_vec())], Packing::Gzip)], "arm64");
    registry.push("multi", "amd-only", &amd);
    registry.push("multi", "arm-only", &arm);
    let idx = index(&[(&amd, "amd64", None), (&arm, "arm64", Some("v8"))]);
    let index_digest = registry.push_manifest("multi", "latest", common::OCI_INDEX, &idx);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    let c = client(dir.path(), &insecure(&registry.host), ClientOptions::default());
    let reference = Reference::parse(&format!("{}/multi", registry.host)).unwrap();

    let options = PullOptions { platform: Some("linux/arm64".parse::<Platform>().unwrap()), ..Default::default() };
    let pulled = pull_image(&store, &c, &reference, &options).unwrap();
    assert_eq!(pulled.digest, index_digest);
    assert_eq!(pulled.image.id, arm.config_digest);
    assert_eq!(pulled.image.manifest, arm.manifest_digest);
    assert_eq!(pulled.image.platform, "linux/arm64/v8");
    assert!(pulled.image.digests.contains(&format!("{}/multi@{index_digest}", registry.host)));
    assert!(store.has_blob(&index_digest) && store.has_blob(&arm.manifest_digest));

    let options = PullOptions { platform: Some("linux/s390x".parse::<Platform>().unwrap()), ..Default::default() };
    let e = pull_image(&store, &c, &reference, &options).unwrap_err();
    assert_eq!(e.code(), "no-matching-platform");
    assert_eq!(
        e.to_string(),
        format!("{reference}:latest has no image for linux/s390x (it has linux/amd64, linux/arm64/v8)")
    );

    // A single-platform image asked for another platform is refused too.
    let arm_only = Reference::parse(&format!("{}/multi:arm-only", registry.host)).unwrap();
    let options = PullOptions { platform: Some("linux/amd64".parse::<Platform>().unwrap()), ..Default::default() };
    assert_eq!(pull_image(&store, &c, &arm_only, &options).unwrap_err().code(), "no-matching-platform");
}

#[test]
fn tls_needs_the_ca_or_tls_verify_false() {
    let Some(registry) = Registry::start(true, false) else { return };
    let img = small_image("tls");
    registry.push("secure/app", "1", &img);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    let reference = Reference::parse(&format!("{}/secure/app:1", registry.host)).unwrap();

    let no_ca =
        client(dir.path(), "", ClientOptions { cert_dir: Some(dir.path().join("empty")), ..Default::default() });
    let e = pull_image(&store, &no_ca, &reference, &PullOptions::default()).unwrap_err();
    assert_eq!(e.code(), "tls", "{e}");

    let with_ca = client(dir.path(), "", ClientOptions { cert_dir: registry.cert_dir.clone(), ..Default::default() });
    pull_image(&store, &with_ca, &reference, &PullOptions::default()).unwrap();
    verify_pulled(&store, &reference.to_string(), &img);

    let other = Store::open(dir.path().join("store2")).unwrap();
    let unverified = client(
        dir.path(),
        "",
        ClientOptions { tls_verify: Some(false), cert_dir: Some(dir.path().join("empty")), ..Default::default() },
    );
    pull_image(&other, &unverified, &reference, &PullOptions::default()).unwrap();
}

#[test]
fn basic_auth_with_credentials_from_the_auth_file_and_login() {
    let Some(registry) = Registry::start(true, true) else { return };
    let img = small_image("auth");
    registry.push("private/app", "1", &img);
    let (user, password) = registry.credentials.clone().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    let reference = Reference::parse(&format!("{}/private/app:1", registry.host)).unwrap();
    let options = || ClientOptions { cert_dir: registry.cert_dir.clone(), ..Default::default() };

    let anonymous = client(dir.path(), "", options());
    let e = pull_image(&store, &anonymous, &reference, &PullOptions::default()).unwrap_err();
    assert_eq!(e.code(), "unauthorized");
    assert_eq!(
        e.to_string(),
        format!("registry {} requires authentication for private/app: log in first", registry.host)
    );

    let c = client(dir.path(), "", options());
    assert_eq!(pull_image(&store, &c, &reference, &PullOptions::default()).unwrap_err().code(), "unauthorized");
    let bad = Credentials { username: user.clone(), password: "wrong".into() };
    let e = c.login(&registry.host, &bad).unwrap_err();
    assert_eq!(e.code(), "unauthorized", "{e}");
    assert!(!dir.path().join("auth.json").exists(), "refused credentials are not stored");
    let wrong = client(dir.path(), "", ClientOptions { credentials: Some(bad), ..options() });
    let e = pull_image(&store, &wrong, &reference, &PullOptions::default()).unwrap_err();
    assert_eq!(e.to_string(), format!("registry {} refused the credentials for private/app", registry.host));

    // The same client, which already met the registry anonymously, uses them once logged in.
    c.login(&registry.host, &Credentials { username: user, password }).unwrap();
    let other = Store::open(dir.path().join("store-after-login")).unwrap();
    pull_image(&other, &c, &reference, &PullOptions::default()).unwrap();
    let auth: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("auth.json")).unwrap()).unwrap();
    assert!(auth["auths"][&registry.host]["auth"].is_string());
    // A new client reads the credentials login wrote.
    let after = client(dir.path(), "", options());
    pull_image(&store, &after, &reference, &PullOptions::default()).unwrap();
    verify_pulled(&store, &reference.to_string(), &img);
    after.logout(&registry.host).unwrap();
    assert_eq!(after.logout(&registry.host).unwrap_err().code(), "not-logged-in");
}

#[test]
fn a_registry_that_is_down_is_unreachable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let host = listener.local_addr().unwrap().to_string();
    drop(listener);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    let c = client(dir.path(), &insecure(&host), ClientOptions::default());
    let e = pull_image(&store, &c, &Reference::parse(&format!("{host}/x:1")).unwrap(), &PullOptions::default())
        .unwrap_err();
    assert_eq!(e.code(), "registry-unreachable");
    assert_eq!(e.to_string(), format!("cannot reach registry {host}"));
}

#[test]
fn a_canceled_pull_stops_and_keeps_no_layer() {
    let Some(registry) = Registry::start(false, false) else { return };
    let img = image(vec![layer(&[("big", random_bytes(4 << 20))], Packing::Plain)], "amd64");
    registry.push("cancel/app", "1", &img);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    let c = client(dir.path(), &insecure(&registry.host), ClientOptions::default());
    let cancel = AtomicBool::new(true);
    let options = PullOptions { cancel: Some(&cancel), ..Default::default() };
    let reference = Reference::parse(&format!("{}/cancel/app:1", registry.host)).unwrap();
    let e = pull_image(&store, &c, &reference, &options).unwrap_err();
    assert_eq!(e.code(), "canceled");
    assert!(!store.has_layer(&img.layers[0].diff_id));
    assert!(store.images().unwrap().is_empty());
    assert_eq!(std::fs::read_dir(store.root().join("tmp")).unwrap().count(), 0);
}

#[test]
fn two_pulls_of_one_image_at_once_both_succeed_with_one_copy() {
    let Some(registry) = Registry::start(false, false) else { return };
    let img = image(
        (0..4).map(|i| layer(&[(&format!("layer{i}/data") as &str, random_bytes(1 << 20))], Packing::Gzip)).collect(),
        "amd64",
    );
    registry.push("race/app", "1", &img);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    for round in 0..3 {
        let _ = std::fs::remove_dir_all(&root);
        let reference = Reference::parse(&format!("{}/race/app:1", registry.host)).unwrap();
        // Each pull its own client and store handle, as two processes would have. The clients
        // are made first: each writes the registries.conf it reads.
        let clients: Vec<_> =
            (0..2).map(|_| client(dir.path(), &insecure(&registry.host), ClientOptions::default())).collect();
        std::thread::scope(|s| {
            let pulls: Vec<_> = clients
                .iter()
                .map(|c| {
                    s.spawn(|| {
                        let store = Store::open(&root).unwrap();
                        pull_image(&store, c, &reference, &PullOptions::default())
                    })
                })
                .collect();
            for p in pulls {
                p.join().unwrap().unwrap_or_else(|e| panic!("round {round}: {}", tscontainer_core::error::chain(&e)));
            }
        });
        let store = Store::open(&root).unwrap();
        verify_pulled(&store, &reference.to_string(), &img);
        assert_eq!(store.images().unwrap().len(), 1);
        assert_eq!(std::fs::read_dir(root.join("layers")).unwrap().count(), 4, "each layer stored once");
    }
}

/// The child of `a_pull_killed_at_any_moment_leaves_nothing_half_done`: pulls the image in
/// the environment into the store in the environment. Runs only when that test starts it.
#[test]
#[ignore = "run by a_pull_killed_at_any_moment_leaves_nothing_half_done in a child process"]
fn child_pull() {
    let (Some(root), Some(reference), Some(conf)) = (
        std::env::var_os("TSC_CHILD_STORE"),
        std::env::var_os("TSC_CHILD_REFERENCE"),
        std::env::var_os("TSC_CHILD_CONF"),
    ) else {
        panic!("run only by its parent test");
    };
    let store = Store::open(PathBuf::from(root)).unwrap();
    let conf = RegistriesConf::load_files(&[PathBuf::from(conf)]).unwrap();
    let auth = PathBuf::from("/nonexistent/auth.json");
    let c = RegistryClient::new(conf, AuthFiles::new(vec![auth.clone()], auth), ClientOptions::default());
    let reference = Reference::parse(reference.to_str().unwrap()).unwrap();
    pull_image(&store, &c, &reference, &PullOptions::default()).unwrap();
}

#[test]
fn a_pull_killed_at_any_moment_leaves_nothing_half_done() {
    let Some(registry) = Registry::start(false, false) else { return };
    let mut layers: Vec<_> =
        (0..3).map(|i| layer(&[(&format!("l{i}/blob") as &str, random_bytes(1 << 20))], Packing::Gzip)).collect();
    let many: Vec<(String, Vec<u8>)> =
        (0..400).map(|i| (format!("many/d{}/f{i}", i % 20), format!("file {i}\n").into_bytes())).collect();
    let many: Vec<(&str, Vec<u8>)> = many.iter().map(|(p, c)| (p.as_str(), c.clone())).collect();
    layers.push(layer(&many, Packing::Gzip));
    let img = image(layers, "amd64");
    registry.push("kill/app", "1", &img);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let conf = dir.path().join("registries.conf");
    std::fs::write(&conf, insecure(&registry.host)).unwrap();
    let reference = format!("{}/kill/app:1", registry.host);
    let child = || {
        let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
        cmd.args(["--exact", "child_pull", "--ignored", "--test-threads=1"])
            .env("TSC_CHILD_STORE", &root)
            .env("TSC_CHILD_REFERENCE", &reference)
            .env("TSC_CHILD_CONF", &conf)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        cmd
    };
    // How long a whole pull takes here: kills land uniformly within it.
    let start = std::time::Instant::now();
    assert!(child().status().unwrap().success());
    let full = start.elapsed();
    eprintln!("# a whole pull in a child process: {full:?}");
    let mut seed = u64::from(std::process::id()) ^ full.as_nanos() as u64;
    let mut killed_mid_pull = 0;
    // Up to 60 attempts until 10 kills land during a pull: on a loaded machine a pull's
    // duration varies, and a delay drawn from one measured pull may outlast another.
    for attempt in 0..60 {
        if killed_mid_pull >= 10 {
            break;
        }
        let _ = std::fs::remove_dir_all(&root);
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = std::time::Duration::from_micros(seed % (full.as_micros() as u64).max(1));
        let mut proc = child().spawn().unwrap();
        std::thread::sleep(delay);
        let status = {
            let _ =
                nix::sys::signal::kill(nix::unistd::Pid::from_raw(proc.id() as i32), nix::sys::signal::Signal::SIGKILL);
            proc.wait().unwrap()
        };
        if !status.success() {
            killed_mid_pull += 1;
        }
        // What a later run sees: every layer that exists is whole, no temporary survives an
        // open, and an image is recorded only with all its layers.
        let store = Store::open(&root).unwrap();
        assert_eq!(std::fs::read_dir(root.join("tmp")).unwrap().count(), 0, "attempt {attempt}");
        for l in &img.layers {
            if store.has_layer(&l.diff_id) {
                common::assert_layer_content(&store.layer_diff(&l.diff_id), l);
                assert!(store.has_blob(&l.digest), "attempt {attempt}: a layer without its blob");
            }
        }
        for record in store.images().unwrap() {
            assert!(
                record.layers.iter().all(|l| store.has_layer(&l.diff_id)),
                "attempt {attempt}: image without layers"
            );
        }
        // The next pull completes, and its layers verify.
        assert!(child().status().unwrap().success(), "attempt {attempt}: the pull after a kill failed");
        verify_pulled(&store, &reference, &img);
    }
    assert!(killed_mid_pull >= 10, "only {killed_mid_pull} of 60 kills landed during a pull");
}
