//! Image archives with the real tools: the fixtures of test/images (docker-archive and
//! oci-archive written by skopeo, `podman save` of one and two images, an OCI layout
//! directory, a multi-platform index) loaded and checked against what skopeo reads in them
//! (ids, configs, names) and what the `layers` image must unpack to (layers/expected.txt);
//! each format saved and read back by podman (load, inspect, run), by skopeo, and by a load
//! here (the same id); the blob a layer was unpacked from used when an image's own is
//! missing; and hostile archives, each refused in one sentence with nothing kept.
//!
//! Needs root (ownership as in the images, overlay mounts), skopeo, podman, node and
//! getfattr; skipped with the reason otherwise, failing instead under CI=true.

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use common::{image, layer, Packing, TestImage};
use tscontainer_image::archive::{self, Format, Loaded};
use tscontainer_image::digest::Digest;
use tscontainer_image::pull::PullOptions;
use tscontainer_image::{Platform, Store};

const NAME: &str = "localhost/tsfixture/busybox";
const CONFIGURED_OUTPUT: &str = "ran tester 1000 50 /srv/app hello from the image";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// The fixture images, built once (cached by build.sh across runs); `None` when a tool is
/// missing or this is not root.
fn fixtures() -> Option<&'static Path> {
    static BUILT: OnceLock<Option<PathBuf>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            if !nix::unistd::geteuid().is_root() {
                if std::env::var("CI").is_ok_and(|v| v == "true") {
                    panic!("the archive tests run as root, and CI=true");
                }
                eprintln!("# SKIPPED: the archive tests need root (ownership as in the images, overlay mounts)");
                return None;
            }
            for (binary, package) in
                [("skopeo", "skopeo"), ("podman", "podman"), ("node", "nodejs"), ("getfattr", "attr")]
            {
                if !common::require(binary, package) {
                    return None;
                }
            }
            let out = Command::new("bash")
                .arg(repo().join("test/images/build.sh"))
                .args(["busybox", "archives", "layers", "multiarch"])
                .output()
                .unwrap();
            assert!(out.status.success(), "build.sh: {}", String::from_utf8_lossy(&out.stderr));
            let dir = std::env::var_os("TS_IMAGE_CACHE")
                .map(PathBuf::from)
                .unwrap_or_else(|| repo().join("test/.work/images"));
            Some(dir)
        })
        .as_deref()
}

fn archive_fixture(name: &str) -> PathBuf {
    fixtures().unwrap().join("archives").join(name)
}

fn check(out: Output, what: &str) -> Vec<u8> {
    assert!(
        out.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// skopeo confined by test/images/lib/podman.sh (isolate.sh: its cache writes vanish).
fn skopeo(args: &[&str]) -> Output {
    Command::new("bash")
        .env("images_dir", repo().join("test/images"))
        .arg("-c")
        .arg(r#". "$images_dir/lib/podman.sh" && skopeo_isolated "$@""#)
        .arg("skopeo")
        .args(args)
        .output()
        .unwrap()
}

/// What skopeo reads in a source: the image id (its config's digest) and the config.
fn skopeo_image(source: &str, extra: &[&str]) -> (Digest, Vec<u8>) {
    let mut args = extra.to_vec();
    args.extend(["inspect", "--config", "--raw", source]);
    let config = check(skopeo(&args), &format!("skopeo inspect --config {source}"));
    (Digest::sha256_of(&config), config)
}

/// A cgroup parent of this test's (`/NAME` in every hierarchy), removed with what the
/// containers left in it.
struct CgroupParent(String);

impl CgroupParent {
    fn new() -> CgroupParent {
        CgroupParent(format!("/tsarchive-{}-{}", std::process::id(), rand_suffix()))
    }
}

impl Drop for CgroupParent {
    fn drop(&mut self) {
        for hierarchy in std::fs::read_dir("/sys/fs/cgroup").into_iter().flatten().flatten() {
            let dir = hierarchy.path().join(self.0.trim_start_matches('/'));
            if dir.is_dir() {
                let _ =
                    Command::new("find").arg(&dir).args(["-depth", "-type", "d", "-exec", "rmdir", "{}", "+"]).status();
            }
        }
    }
}

/// podman with a store, configuration and cgroup parent of its own (lib/podman.sh).
struct Podman {
    dir: tempfile::TempDir,
    cgroup: CgroupParent,
}

impl Podman {
    fn new() -> Podman {
        // Short (podman refuses a long run root) and lower-case (podman 4.3 names an image
        // loaded from a directory after its path).
        let dir = tempfile::Builder::new()
            .prefix("tspodman.")
            .rand_bytes(0)
            .suffix(&rand_suffix())
            .tempdir_in("/tmp")
            .unwrap();
        let out = Command::new("bash")
            .env("images_dir", repo().join("test/images"))
            .arg("-c")
            .arg(r#". "$images_dir/lib/podman.sh" && podman_private "$1""#)
            .arg("bash")
            .arg(dir.path())
            .output()
            .unwrap();
        check(out, "podman_private");
        Podman { dir, cgroup: CgroupParent::new() }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(self.dir.path().join("podman")).args(args).stdin(Stdio::null()).output().unwrap()
    }

    /// podman run with runc, no network, in this test's cgroup parent.
    fn run_container(&self, image: &str) -> Output {
        self.run(&["--runtime", "runc", "run", "--rm", "--network", "none", "--cgroup-parent", &self.cgroup.0, image])
    }
}

fn rand_suffix() -> String {
    let bytes = common::random_bytes(4);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn new_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    (dir, store)
}

fn load(store: &Store, path: &Path) -> Vec<Loaded> {
    archive::load(store, path, &PullOptions::default())
        .unwrap_or_else(|e| panic!("load {}: {}", path.display(), chain(&e)))
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        s = format!("{s}: {cause}");
        source = cause.source();
    }
    s
}

fn loaded(id: &Digest, names: &[&str]) -> Loaded {
    Loaded { id: id.clone(), names: names.iter().map(|n| n.to_string()).collect() }
}

/// Entries under a store directory.
fn count(store: &Store, dir: &str) -> usize {
    std::fs::read_dir(store.root().join(dir)).map(|d| d.count()).unwrap_or(0)
}

/// A store that a failed load left as it was: no image, blob, layer, lock or temporary.
fn assert_untouched(store: &Store) {
    assert!(store.images().unwrap().is_empty(), "no image is recorded");
    for dir in ["blobs/sha256", "layers", "locks", "tmp"] {
        assert_eq!(count(store, dir), 0, "{dir} is empty");
    }
}

/// What the unpacked layers of `image`, stacked by overlayfs, hold (test/images/lib/listing.mjs).
fn merged_listing(store: &Store, id: &Digest) -> String {
    let record = store.image(&id.to_string()).unwrap();
    let lower: Vec<String> = record.lowerdirs(store).iter().map(|p| p.display().to_string()).collect();
    let mnt = tempfile::tempdir().unwrap();
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(r#"mount -t overlay tsarchive -o "ro,lowerdir=$1" "$2" && exec node "$3" "$2""#)
        .arg("sh")
        .arg(lower.join(":"))
        .arg(mnt.path())
        .arg(repo().join("test/images/lib/listing.mjs"))
        .output()
        .unwrap();
    String::from_utf8(check(out, "overlay listing")).unwrap()
}

fn read_in_image(store: &Store, id: &Digest, path: &str) -> Vec<u8> {
    let record = store.image(&id.to_string()).unwrap();
    let dirs = record.lowerdirs(store);
    let dirs: Vec<&Path> = dirs.iter().map(PathBuf::as_path).collect();
    tscontainer_image::layer::open_in_layers(&dirs, path, 1 << 20)
        .unwrap()
        .unwrap_or_else(|| panic!("{path} is missing"))
}

#[test]
fn loads_every_fixture_archive_with_the_ids_configs_and_names_skopeo_reads() {
    let Some(images) = fixtures() else { return };
    let a = images.join("archives");
    let p = |f: &str| a.join(f).display().to_string();
    // (fixture, [(what skopeo reads for each image, its tags)])
    type Case<'a> = (&'a str, Vec<(String, Vec<&'a str>)>);
    let cases: Vec<Case> = vec![
        (
            "busybox.docker-archive.tar",
            vec![(format!("docker-archive:{}", p("busybox.docker-archive.tar")), vec!["latest"])],
        ),
        ("busybox.oci-archive.tar", vec![(format!("oci-archive:{}", p("busybox.oci-archive.tar")), vec!["latest"])]),
        (
            "podman-save.docker-archive.tar",
            vec![
                (format!("docker-archive:{}:@0", p("podman-save.docker-archive.tar")), vec!["latest"]),
                (format!("docker-archive:{}:@1", p("podman-save.docker-archive.tar")), vec!["configured"]),
            ],
        ),
        (
            "podman-save.oci-archive.tar",
            vec![(format!("oci-archive:{}", p("podman-save.oci-archive.tar")), vec!["configured"])],
        ),
        ("podman-save.oci-dir", vec![(format!("oci:{}", p("podman-save.oci-dir")), vec!["configured"])]),
    ];
    for (file, expected) in cases {
        let (_d, store) = new_store();
        let got = load(&store, &a.join(file));
        assert_eq!(got.len(), expected.len(), "{file}: {got:?}");
        for (l, (source, tags)) in got.iter().zip(&expected) {
            let (id, config) = skopeo_image(source, &[]);
            let tags: Vec<String> = tags.iter().map(|t| format!("{NAME}:{t}")).collect();
            assert_eq!(*l, Loaded { id: id.clone(), names: tags.clone() }, "{file}");
            let record = store.image(&tags[0]).unwrap();
            assert_eq!(record.id, id, "{file}: the name finds the image");
            assert!(record.digests.is_empty(), "{file}: a load records no repository digest (as docker load)");
            assert_eq!(std::fs::read(store.blob_path(&id)).unwrap(), config, "{file}: the config as skopeo reads it");
            assert_eq!(record.layers.len(), 1);
            assert_eq!(
                record.layers[0].diff_id.to_string(),
                serde_json::from_slice::<serde_json::Value>(&config).unwrap()["rootfs"]["diff_ids"][0]
            );
            let os_release = read_in_image(&store, &id, "/etc/os-release");
            assert!(String::from_utf8_lossy(&os_release).contains("ID=tscontainer-busybox"), "{file}");
            let diff = store.layer_diff(&record.layers[0].diff_id);
            let meta = std::fs::metadata(diff.join("srv/app")).unwrap();
            assert_eq!(std::os::unix::fs::MetadataExt::uid(&meta), 1000, "{file}: ownership as in the layer");
        }
        assert_eq!(count(&store, "tmp"), 0, "{file}: no temporary is left");
    }
}

#[test]
fn unpacks_the_layers_image_from_every_format_into_its_expected_tree() {
    let Some(images) = fixtures() else { return };
    let expected = std::fs::read_to_string(images.join("layers/expected.txt")).unwrap();
    let layout = images.join("layers/oci");
    let work = tempfile::tempdir().unwrap();
    let docker = work.path().join("layers.docker-archive.tar");
    let oci = work.path().join("layers.oci-archive.tar");
    let source = format!("oci:{}:latest", layout.display());
    let name = "localhost/tsfixture/layers:latest";
    check(skopeo(&["copy", "-q", &source, &format!("docker-archive:{}:{name}", docker.display())]), "skopeo copy");
    check(skopeo(&["copy", "-q", &source, &format!("oci-archive:{}:{name}", oci.display())]), "skopeo copy");
    let (id, _) = skopeo_image(&source, &[]);
    for (path, names) in [(&docker, vec![name]), (&oci, vec![name]), (&layout, vec![])] {
        let (_d, store) = new_store();
        assert_eq!(load(&store, path), [loaded(&id, &names)], "{}", path.display());
        assert_eq!(store.image(&id.to_string()).unwrap().layers.len(), 4);
        let listing = merged_listing(&store, &id);
        assert!(listing == expected, "{}: the tree differs from layers/expected.txt:\n{listing}", path.display());
    }
}

#[test]
fn loads_compressed_archives_and_streams() {
    let Some(_) = fixtures() else { return };
    let plain = std::fs::read(archive_fixture("podman-save.docker-archive.tar")).unwrap();
    let work = tempfile::tempdir().unwrap();
    let gz = work.path().join("a.tar.gz");
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(&plain).unwrap();
    std::fs::write(&gz, e.finish().unwrap()).unwrap();
    let zst = work.path().join("a.tar.zst");
    std::fs::write(&zst, zstd::encode_all(&plain[..], 3).unwrap()).unwrap();

    let (_d, reference) = new_store();
    let want = load(&reference, &archive_fixture("podman-save.docker-archive.tar"));
    assert_eq!(want.len(), 2);
    for path in [&gz, &zst] {
        let (_d, store) = new_store();
        assert_eq!(load(&store, path), want, "{}", path.display());
        assert_eq!(count(&store, "tmp"), 0, "the decompressed copy is removed");
    }
    let (_d, store) = new_store();
    let stream = std::fs::File::open(&gz).unwrap();
    assert_eq!(archive::load_reader(&store, stream, "standard input", &PullOptions::default()).unwrap(), want);
    // A pipe given as a path (`load -i /dev/stdin`): copied, then read.
    let (_d, store) = new_store();
    let mut child = Command::new("cat").arg(&zst).stdout(Stdio::piped()).spawn().unwrap();
    let fd = std::os::fd::AsRawFd::as_raw_fd(child.stdout.as_ref().unwrap());
    let got = archive::load(&store, Path::new(&format!("/proc/self/fd/{fd}")), &PullOptions::default()).unwrap();
    child.wait().unwrap();
    assert_eq!(got, want);
    assert_eq!(count(&store, "tmp"), 0);
}

#[test]
fn loads_the_platform_of_an_index_and_names_from_containerd_annotations() {
    let Some(images) = fixtures() else { return };
    let layout = images.join("multiarch/oci");
    let source = format!("oci:{}:latest", layout.display());
    let (host_id, _) = skopeo_image(&source, &[]);
    let (arm_id, _) = skopeo_image(&source, &["--override-arch", "arm64", "--override-variant", "v8"]);
    assert_ne!(host_id, arm_id);

    // The fixture's index.json lists each platform's image (`amd64`, `arm64`) and the index
    // (`latest`), all by bare tags: no repository, so dangling images; the index's is the
    // host's, one of the other two.
    let (amd_id, _) = skopeo_image(&format!("oci:{}:amd64", layout.display()), &[]);
    let (_d, store) = new_store();
    assert_eq!(load(&store, &layout), [loaded(&amd_id, &[]), loaded(&arm_id, &[])]);
    assert!(host_id == amd_id || host_id == arm_id);

    // The index alone, as containerd and Docker 25 write it: the full name in
    // io.containerd.image.name; podman's full ref.name on a second entry.
    let work = tempfile::tempdir().unwrap();
    let copy = work.path().join("layout");
    check(Command::new("cp").arg("-a").arg(&layout).arg(&copy).output().unwrap(), "cp");
    let index_path = copy.join("index.json");
    let mut index: serde_json::Value = serde_json::from_slice(&std::fs::read(&index_path).unwrap()).unwrap();
    let entries = index["manifests"].as_array_mut().unwrap();
    entries.retain(|e| e["annotations"]["org.opencontainers.image.ref.name"] == "latest");
    entries[0]["annotations"]["io.containerd.image.name"] = "docker.io/library/multi:1".into();
    let mut second = entries[0].clone();
    second["annotations"] = serde_json::json!({"org.opencontainers.image.ref.name": "example.com/multi:2"});
    entries.push(second);
    std::fs::write(&index_path, serde_json::to_vec(&index).unwrap()).unwrap();
    // Asked for arm64: the index gives arm64's image.
    let (_d, store) = new_store();
    let arm = PullOptions { platform: Some("linux/arm64/v8".parse::<Platform>().unwrap()), ..Default::default() };
    let got = archive::load(&store, &copy, &arm).unwrap();
    assert_eq!(got, [loaded(&arm_id, &["docker.io/library/multi:1", "example.com/multi:2"])]);
    assert_eq!(store.image(&arm_id.to_string()).unwrap().platform, "linux/arm64/v8");
    let (_d, store) = new_store();
    assert_eq!(load(&store, &copy), [loaded(&host_id, &["docker.io/library/multi:1", "example.com/multi:2"])]);
    assert_eq!(store.image("multi:1").unwrap().id, host_id, "Docker's short name finds it");
}

/// Loads the podman -m fixture (busybox:latest and :configured) into a new store.
fn store_with_both() -> (tempfile::TempDir, Store, Vec<Loaded>) {
    let (d, store) = new_store();
    let got = load(&store, &archive_fixture("podman-save.docker-archive.tar"));
    assert_eq!(got.len(), 2);
    (d, store, got)
}

#[test]
fn saves_every_format_that_podman_loads_and_runs_and_skopeo_reads() {
    let Some(_) = fixtures() else { return };
    let (_d, store, both) = store_with_both();
    let latest = format!("{NAME}:latest");
    let configured = format!("{NAME}:configured");
    let work = tempfile::tempdir().unwrap();
    for format in [Format::DockerArchive, Format::OciArchive, Format::OciDir] {
        let dest = work.path().join(format!("both.{format}"));
        archive::save(&store, &[&latest, &configured], &dest, format).unwrap();

        // Back into a new store: the same images under the same names.
        let (_d2, again) = new_store();
        assert_eq!(load(&again, &dest), both, "{format}: load after save");

        // skopeo reads each image, with the same id and config.
        for (i, image) in both.iter().enumerate() {
            let source = match format {
                Format::DockerArchive => format!("docker-archive:{}:@{i}", dest.display()),
                Format::OciArchive => format!("oci-archive:{}:{}", dest.display(), image.names[0]),
                Format::OciDir => format!("oci:{}:{}", dest.display(), image.names[0]),
            };
            let (id, config) = skopeo_image(&source, &[]);
            assert_eq!(id, image.id, "{format}: skopeo reads {source}");
            assert_eq!(config, std::fs::read(store.blob_path(&id)).unwrap());
        }

        // podman loads it: both images (podman 4.3 reads one image of an OCI layout at a
        // time, so the OCI formats are saved once more with one image each), their ids,
        // configs, and the configured one runs. podman 4.3 names an image loaded from a
        // directory after the directory's path, not after index.json: a path it can parse.
        let podman = Podman::new();
        let one = podman.dir.path().join(format!("configured-{}", format.as_str().replace('-', "")));
        let loaded_by_podman = if format == Format::DockerArchive {
            &dest
        } else {
            archive::save(&store, &[&configured], &one, format).unwrap();
            &one
        };
        let out = String::from_utf8(check(
            podman.run(&["load", "-i", &loaded_by_podman.display().to_string()]),
            "podman load",
        ))
        .unwrap();
        let podman_name =
            if format == Format::OciDir { format!("localhost{}", one.display()) } else { configured.clone() };
        assert!(out.contains(&format!("Loaded image: {podman_name}")), "{format}: podman load printed {out}");
        let inspect = check(podman.run(&["image", "inspect", &podman_name]), "podman image inspect");
        let inspect: serde_json::Value = serde_json::from_slice(&inspect).unwrap();
        assert_eq!(inspect[0]["Id"], both[1].id.hex(), "{format}: podman's id");
        assert_eq!(inspect[0]["Config"]["User"], "tester");
        assert_eq!(inspect[0]["Config"]["WorkingDir"], "/srv/app");
        assert_eq!(inspect[0]["Config"]["StopSignal"], "SIGUSR1");
        if format == Format::DockerArchive {
            let inspect =
                check(podman.run(&["image", "inspect", "--format", "{{.Id}}", &latest]), "podman image inspect");
            assert_eq!(String::from_utf8_lossy(&inspect).trim(), both[0].id.hex());
        }
        let run = podman.run_container(&podman_name);
        assert_eq!(String::from_utf8_lossy(&check(run, "podman run")).trim(), CONFIGURED_OUTPUT, "{format}");
    }
}

#[test]
fn a_save_is_the_same_bytes_each_time_and_round_trips_every_source() {
    let Some(_) = fixtures() else { return };
    let work = tempfile::tempdir().unwrap();
    for fixture in
        ["busybox.docker-archive.tar", "busybox.oci-archive.tar", "podman-save.oci-archive.tar", "podman-save.oci-dir"]
    {
        let (_d, store) = new_store();
        let got = load(&store, &archive_fixture(fixture));
        let name = got[0].names[0].clone();
        for format in [Format::DockerArchive, Format::OciArchive, Format::OciDir] {
            let dest = work.path().join(format!("{fixture}.{format}"));
            archive::save(&store, &[&name], &dest, format).unwrap();
            let (_d2, again) = new_store();
            assert_eq!(load(&again, &dest), got, "{fixture} saved as {format}");
            if format != Format::OciDir {
                let twice = work.path().join(format!("{fixture}.{format}.2"));
                archive::save(&store, &[&name], &twice, format).unwrap();
                assert!(
                    std::fs::read(&dest).unwrap() == std::fs::read(&twice).unwrap(),
                    "{fixture} as {format}: deterministic"
                );
                let mut streamed = Vec::new();
                archive::save_to_writer(&store, &[&name], &mut streamed, format).unwrap();
                assert!(streamed == std::fs::read(&dest).unwrap(), "{fixture} as {format}: the stream is the file");
            }
        }
        // Saved by id: no name, and it loads as a dangling image.
        let dest = work.path().join(format!("{fixture}.by-id"));
        archive::save(&store, &[&got[0].id.hex()[..12]], &dest, Format::DockerArchive).unwrap();
        let (_d2, again) = new_store();
        assert_eq!(load(&again, &dest), [loaded(&got[0].id, &[])]);
        assert!(again.images().unwrap()[0].is_dangling());
    }
    // An OCI layout of an image pulled in OCI form keeps its manifest, byte for byte.
    let (_d, store) = new_store();
    load(&store, &archive_fixture("busybox.oci-archive.tar"));
    let dest = work.path().join("kept");
    archive::save(&store, &[&format!("{NAME}:latest")], &dest, Format::OciDir).unwrap();
    let theirs = check(
        skopeo(&["inspect", "--raw", &format!("oci-archive:{}", archive_fixture("busybox.oci-archive.tar").display())]),
        "skopeo",
    );
    let ours = check(skopeo(&["inspect", "--raw", &format!("oci:{}:{NAME}:latest", dest.display())]), "skopeo");
    assert_eq!(ours, theirs);
}

/// Two OCI layouts with one image each whose single layer is the same tar, gzip in one and
/// zstd in the other (the second's config differs, so it is another image).
fn same_layer_two_compressions(dir: &Path) -> (TestImage, TestImage) {
    let files = [("etc/os-release", b"ID=twice\n".to_vec()), ("bin/tool", common::random_bytes(50_000))];
    let a = image(vec![layer(&files, Packing::Gzip)], "amd64");
    let b = image(vec![layer(&files, Packing::Zstd)], "arm64");
    assert_eq!(a.layers[0].diff_id, b.layers[0].diff_id);
    assert_ne!(a.layers[0].digest, b.layers[0].digest);
    for (img, name) in [(&a, "a"), (&b, "b")] {
        write_layout(&dir.join(name), img, &format!("example.com/twice/{name}:1"));
    }
    (a, b)
}

fn write_layout(dir: &Path, img: &TestImage, name: &str) {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    std::fs::write(blobs.join(img.config_digest.hex()), &img.config).unwrap();
    std::fs::write(blobs.join(img.manifest_digest.hex()), &img.manifest).unwrap();
    for l in &img.layers {
        std::fs::write(blobs.join(l.digest.hex()), &l.blob).unwrap();
    }
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [{
        "mediaType": common::OCI_MANIFEST, "digest": img.manifest_digest.to_string(), "size": img.manifest.len(),
        "annotations": {"org.opencontainers.image.ref.name": name},
    }]});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
}

#[test]
fn save_writes_the_blob_a_shared_layer_was_unpacked_from() {
    let Some(_) = fixtures() else { return };
    let work = tempfile::tempdir().unwrap();
    let (a, b) = same_layer_two_compressions(work.path());
    let (_d, store) = new_store();
    load(&store, &work.path().join("a"));
    assert_eq!(load(&store, &work.path().join("b")), [loaded(&b.config_digest, &["example.com/twice/b:1"])]);
    assert!(!store.has_blob(&b.layers[0].digest), "b's layer was present: its zstd blob was not fetched");

    let check_saves = |store: &Store| {
        for format in [Format::DockerArchive, Format::OciArchive] {
            let dest = work.path().join(format!("b.{format}"));
            archive::save(store, &["example.com/twice/b:1"], &dest, format).unwrap();
            let (_d2, again) = new_store();
            assert_eq!(load(&again, &dest), [loaded(&b.config_digest, &["example.com/twice/b:1"])], "{format}");
            let (id, _) = skopeo_image(
                &format!(
                    "{}:{}",
                    if format == Format::DockerArchive { "docker-archive" } else { "oci-archive" },
                    dest.display()
                ),
                &[],
            );
            assert_eq!(id, b.config_digest, "{format}: skopeo reads the same image");
        }
    };
    check_saves(&store);
    // Once a is gone, the blob its layer was unpacked from stays (layer.json names it).
    store.remove_image("example.com/twice/a:1", false).unwrap();
    assert!(store.has_blob(&a.layers[0].digest));
    check_saves(&store);
    // A layer without any blob: one sentence, nothing written.
    std::fs::remove_file(store.blob_path(&a.layers[0].digest)).unwrap();
    let dest = work.path().join("missing.tar");
    let e = archive::save(&store, &["example.com/twice/b:1"], &dest, Format::DockerArchive).unwrap_err();
    assert_eq!(e.code(), "blob-unknown");
    assert_eq!(
        e.to_string(),
        format!(
            "cannot save image example.com/twice/b:1: the store has no blob of its layer {} (remove the images that use that layer, then pull or load them again)",
            b.layers[0].diff_id
        )
    );
    assert!(!dest.exists());
}

#[test]
fn a_failed_save_leaves_the_destination_as_it_was() {
    let Some(_) = fixtures() else { return };
    let (_d, store) = new_store();
    let got = load(&store, &archive_fixture("busybox.oci-archive.tar"));
    let record = store.image(&got[0].id.to_string()).unwrap();
    let work = tempfile::tempdir().unwrap();
    let dest = work.path().join("out.tar");
    std::fs::write(&dest, "previous").unwrap();
    // A stored layer blob damaged after the pull: caught while it is copied.
    let blob = store.blob_path(&record.layers[0].digest);
    let mut bytes = std::fs::read(&blob).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&blob, &bytes).unwrap();
    for format in [Format::OciArchive, Format::DockerArchive] {
        let e = archive::save(&store, &[&got[0].names[0]], &dest, format).unwrap_err();
        assert!(
            matches!(e.code().as_str(), "digest-mismatch" | "corrupt-layer"),
            "{format}: {}: {}",
            e.code(),
            chain(&e)
        );
        assert_eq!(std::fs::read(&dest).unwrap(), b"previous", "{format}: the old file is kept");
        assert_eq!(std::fs::read_dir(work.path()).unwrap().count(), 1, "{format}: no temporary is left");
    }
    let dir = work.path().join("layout");
    let e = archive::save(&store, &[&got[0].names[0]], &dir, Format::OciDir).unwrap_err();
    assert_eq!(e.code(), "digest-mismatch", "{}", chain(&e));
    assert!(!dir.exists());
    assert_eq!(std::fs::read_dir(work.path()).unwrap().count(), 1, "no temporary directory is left");
    // An oci-dir is not written over a directory with something in it.
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("mine"), "x").unwrap();
    let (_d2, fresh) = new_store();
    load(&fresh, &archive_fixture("busybox.docker-archive.tar"));
    let e = archive::save(&fresh, &[&format!("{NAME}:latest")], &dir, Format::OciDir).unwrap_err();
    assert_eq!(e.code(), "io");
    assert_eq!(std::fs::read(dir.join("mine")).unwrap(), b"x");
    assert_eq!(archive::save(&fresh, &[], &dest, Format::OciArchive).unwrap_err().code(), "invalid-argument");
    let e = archive::save_to_writer(&fresh, &[&format!("{NAME}:latest")], std::io::sink(), Format::OciDir).unwrap_err();
    assert_eq!(e.to_string(), "an oci-dir is a directory, which cannot be written to a stream: give a path");
    assert_eq!(archive::save(&fresh, &["nothere:1"], &dest, Format::OciArchive).unwrap_err().code(), "image-not-known");
}

// ---- hostile archives -------------------------------------------------------------------

enum Member<'a> {
    File(&'a [u8]),
    Symlink(&'a str),
    Hardlink(&'a str),
}

fn tar_of(members: &[(&str, Member)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, member) in members {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_mtime(0);
        match member {
            Member::File(bytes) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(bytes.len() as u64);
                builder.append_data(&mut h, path, *bytes).unwrap();
            }
            Member::Symlink(target) | Member::Hardlink(target) => {
                let kind =
                    if matches!(member, Member::Symlink(_)) { tar::EntryType::Symlink } else { tar::EntryType::Link };
                h.set_entry_type(kind);
                h.set_size(0);
                builder.append_link(&mut h, path, target).unwrap();
            }
        }
    }
    builder.into_inner().unwrap()
}

/// A docker-archive of `img` (its layers' uncompressed tars), with `manifest` as manifest.json.
fn docker_archive(img: &TestImage, manifest: &serde_json::Value, extra: &[(&str, Member)]) -> Vec<u8> {
    let manifest = serde_json::to_vec(manifest).unwrap();
    let tars: Vec<(String, Vec<u8>)> =
        img.layers.iter().map(|l| (format!("{}.tar", l.diff_id.hex()), uncompressed(&l.blob))).collect();
    let config_name = format!("{}.json", img.config_digest.hex());
    let mut members: Vec<(&str, Member)> = tars.iter().map(|(n, b)| (n.as_str(), Member::File(b))).collect();
    members.push((&config_name, Member::File(&img.config)));
    members.push(("manifest.json", Member::File(&manifest)));
    for (path, m) in extra {
        members.push((
            path,
            match m {
                Member::File(b) => Member::File(b),
                Member::Symlink(t) => Member::Symlink(t),
                Member::Hardlink(t) => Member::Hardlink(t),
            },
        ));
    }
    tar_of(&members)
}

fn uncompressed(blob: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(blob).read_to_end(&mut out).unwrap();
    out
}

fn manifest_json(img: &TestImage, layers: &[&str]) -> serde_json::Value {
    serde_json::json!([{
        "Config": format!("{}.json", img.config_digest.hex()),
        "RepoTags": ["example.com/hostile:1"],
        "Layers": layers,
    }])
}

fn small_image() -> TestImage {
    image(vec![layer(&[("etc/hostname", b"small\n".to_vec())], Packing::Gzip)], "amd64")
}

/// Loads `bytes` as an archive into a new store: the error, after checking it is one line and
/// that the store was left untouched.
fn refused(bytes: &[u8]) -> tscontainer_image::Error {
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("hostile.tar");
    std::fs::write(&path, bytes).unwrap();
    refused_path(&path)
}

fn refused_path(path: &Path) -> tscontainer_image::Error {
    let (_d, store) = new_store();
    let e = archive::load(&store, path, &PullOptions::default()).unwrap_err();
    assert!(!chain(&e).contains('\n'), "one line: {}", chain(&e));
    assert_untouched(&store);
    e
}

#[test]
fn a_layer_path_outside_the_archive_is_refused() {
    let Some(_) = fixtures() else { return };
    let img = small_image();
    for outside in ["../../etc/passwd", "/etc/passwd", "a/../../x"] {
        let e = refused(&docker_archive(&img, &manifest_json(&img, &[outside]), &[]));
        assert_eq!(e.code(), "invalid-archive");
        assert!(
            e.to_string().ends_with(&format!("is not a valid image archive: {outside} is outside the archive")),
            "{e}"
        );
    }
    let e = refused(&docker_archive(&img, &manifest_json(&img, &["missing.tar"]), &[]));
    assert!(e.to_string().ends_with("manifest.json names the layer missing.tar, which it does not hold"), "{e}");
}

#[test]
fn links_out_of_the_archive_are_refused_and_links_inside_it_followed() {
    let Some(_) = fixtures() else { return };
    let img = small_image();
    let layer_tar = format!("{}.tar", img.layers[0].diff_id.hex());
    // A symlinked manifest.json, to a file of the machine, or through a relative path.
    for (target, shown) in [("/etc/passwd", "/etc/passwd"), ("../../../../etc/passwd", "../../../../etc/passwd")] {
        let bytes = tar_of(&[("manifest.json", Member::Symlink(target))]);
        let e = refused(&bytes);
        assert_eq!(e.code(), "invalid-archive");
        assert!(e.to_string().ends_with(&format!("manifest.json links to {shown}, outside the archive")), "{e}");
    }
    let bytes = tar_of(&[("manifest.json", Member::Hardlink("../x"))]);
    assert!(refused(&bytes).to_string().ends_with("manifest.json links to ../x, outside the archive"));
    // A chain of links that never ends.
    let bytes = tar_of(&[("manifest.json", Member::Symlink("a")), ("a", Member::Symlink("manifest.json"))]);
    assert!(refused(&bytes).to_string().contains("more than 16 links"));
    // A layer reached through links inside the archive (skopeo's ID/layer.tar) is read.
    let manifest = manifest_json(&img, &["id/layer.tar"]);
    let target = format!("../{layer_tar}");
    let bytes = docker_archive(&img, &manifest, &[("id/layer.tar", Member::Symlink(&target))]);
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("ok.tar"), &bytes).unwrap();
    let (_d, store) = new_store();
    assert_eq!(load(&store, &work.path().join("ok.tar")), [loaded(&img.config_digest, &["example.com/hostile:1"])]);

    // In a directory, no symlink is followed: index.json, a blob, a directory on the way.
    let layout = work.path().join("layout");
    write_layout(&layout, &img, "example.com/x:1");
    std::fs::rename(layout.join("index.json"), work.path().join("index.json")).unwrap();
    std::os::unix::fs::symlink(work.path().join("index.json"), layout.join("index.json")).unwrap();
    let e = refused_path(&layout);
    assert!(
        e.to_string()
            .ends_with("index.json is or passes through a symbolic link, which is not followed in an image layout"),
        "{e}"
    );
    std::fs::remove_file(layout.join("index.json")).unwrap();
    std::fs::rename(work.path().join("index.json"), layout.join("index.json")).unwrap();
    let config = layout.join("blobs/sha256").join(img.config_digest.hex());
    std::fs::rename(&config, work.path().join("config")).unwrap();
    std::os::unix::fs::symlink(work.path().join("config"), &config).unwrap();
    assert_eq!(refused_path(&layout).code(), "invalid-archive");
    std::fs::remove_file(&config).unwrap();
    std::fs::rename(work.path().join("config"), &config).unwrap();
    std::fs::rename(layout.join("blobs"), work.path().join("blobs")).unwrap();
    std::os::unix::fs::symlink(work.path().join("blobs"), layout.join("blobs")).unwrap();
    assert!(refused_path(&layout).to_string().contains("passes through a symbolic link"));
}

#[test]
fn a_layer_that_is_not_what_the_config_says_is_refused_with_nothing_kept() {
    let Some(_) = fixtures() else { return };
    let good = layer(&[("etc/good", b"good".to_vec())], Packing::Gzip);
    let evil = layer(&[("etc/evil", b"evil".to_vec())], Packing::Gzip);
    // The config promises `good`; the archive holds `evil` under good's name.
    let img = image(vec![good.clone()], "amd64");
    let swapped =
        TestImage { layers: vec![common::TestLayer { diff_id: good.diff_id.clone(), ..evil.clone() }], ..img.clone() };
    let layer_tar = format!("{}.tar", good.diff_id.hex());
    let e = refused(&docker_archive(&swapped, &manifest_json(&img, &[&layer_tar]), &[]));
    assert_eq!(e.code(), "digest-mismatch", "{}", chain(&e));
    assert!(e.to_string().contains(&good.diff_id.to_string()), "{e}");

    // Two layers, the second bad: the first, stored meanwhile, is removed again.
    let img2 = image(vec![evil.clone(), good.clone()], "amd64");
    let evil_tar = format!("{}.tar", evil.diff_id.hex());
    let manifest = manifest_json(&img2, &[&evil_tar, &layer_tar]);
    let tars = [uncompressed(&evil.blob), uncompressed(&evil.blob)];
    let config_name = format!("{}.json", img2.config_digest.hex());
    let manifest = serde_json::to_vec(&manifest).unwrap();
    let bytes = tar_of(&[
        (evil_tar.as_str(), Member::File(&tars[0])),
        (layer_tar.as_str(), Member::File(&tars[1])),
        (config_name.as_str(), Member::File(&img2.config)),
        ("manifest.json", Member::File(&manifest)),
    ]);
    assert_eq!(refused(&bytes).code(), "digest-mismatch");

    // An OCI layout whose layer blob was altered.
    let work = tempfile::tempdir().unwrap();
    let img3 = small_image();
    let layout = work.path().join("layout");
    write_layout(&layout, &img3, "example.com/x:1");
    let blob = layout.join("blobs/sha256").join(img3.layers[0].digest.hex());
    let mut bytes = std::fs::read(&blob).unwrap();
    let last = bytes.len() - 10;
    bytes[last] ^= 1;
    std::fs::write(&blob, &bytes).unwrap();
    let e = refused_path(&layout);
    assert!(matches!(e.code().as_str(), "digest-mismatch" | "corrupt-layer"), "{}: {}", e.code(), chain(&e));
    // ...and whose manifest was.
    write_layout(&layout, &img3, "example.com/x:1");
    let manifest = layout.join("blobs/sha256").join(img3.manifest_digest.hex());
    let mut bytes = std::fs::read(&manifest).unwrap();
    bytes.push(b' ');
    std::fs::write(&manifest, &bytes).unwrap();
    assert_eq!(refused_path(&layout).code(), "digest-mismatch");
}

#[test]
fn oversized_files_are_refused_before_they_are_read() {
    let Some(_) = fixtures() else { return };
    let img = small_image();
    let layer_tar = format!("{}.tar", img.layers[0].diff_id.hex());
    // A config over the 4 MiB limit.
    let mut big_config: serde_json::Value = serde_json::from_slice(&img.config).unwrap();
    big_config["padding"] = "x".repeat(4 << 20).into();
    let big = image(img.layers.clone(), "amd64");
    let big = TestImage {
        config: serde_json::to_vec(&big_config).unwrap(),
        config_digest: Digest::sha256_of(&serde_json::to_vec(&big_config).unwrap()),
        ..big
    };
    let e = refused(&docker_archive(&big, &manifest_json(&big, &[&layer_tar]), &[]));
    assert_eq!(e.code(), "too-large");
    assert!(e.to_string().starts_with(&format!("the config {}.json in ", big.config_digest.hex())), "{e}");
    // A manifest.json over the 4 MiB limit.
    let entry = manifest_json(&img, &[&layer_tar])[0].clone();
    let huge = serde_json::Value::Array(vec![entry; 40_000]);
    let e = refused(&docker_archive(&img, &huge, &[]));
    assert_eq!(e.code(), "too-large");
    assert!(e.to_string().starts_with("manifest.json of "), "{e}");
}

#[test]
fn malformed_archives_are_refused_in_one_sentence() {
    let Some(_) = fixtures() else { return };
    let img = small_image();
    let layer_tar = format!("{}.tar", img.layers[0].diff_id.hex());
    let good_manifest = manifest_json(&img, &[&layer_tar]);
    let manifest = serde_json::to_vec(&good_manifest).unwrap();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            b"this is not a tar archive, just some text that is long enough".repeat(20),
            "cannot read it as a tar archive",
        ),
        (
            tar_of(&[("hello", Member::File(b"x"))]),
            "it has neither manifest.json (a docker-archive) nor oci-layout (an OCI image layout)",
        ),
        (tar_of(&[("repositories", Member::File(b"{}"))]), "it is in the format of Docker before 1.10"),
        (
            tar_of(&[("manifest.json", Member::File(&manifest)), ("manifest.json", Member::File(&manifest))]),
            "it has two entries named manifest.json",
        ),
        (
            tar_of(&[("manifest.json", Member::File(b"{\"not\": \"a list\"}"))]),
            "its manifest.json is not a list of images",
        ),
        (tar_of(&[("manifest.json", Member::File(b"[]"))]), "it holds no image"),
        (
            docker_archive(
                &img,
                &serde_json::json!([{"Config": format!("{}.json", img.config_digest.hex()), "RepoTags": ["example.com/x"], "Layers": [layer_tar]}]),
                &[],
            ),
            "its RepoTags entry \"example.com/x\" is not a name with a tag",
        ),
        (
            docker_archive(
                &img,
                &serde_json::json!([{"Config": format!("{}.json", img.config_digest.hex()), "Layers": []}]),
                &[],
            ),
            "manifest.json lists 0 layers for the config",
        ),
        (
            tar_of(&[("oci-layout", Member::File(br#"{"imageLayoutVersion":"2.0.0"}"#))]),
            "it is an OCI layout of version 2.0.0, not 1.x",
        ),
        (
            tar_of(&[("oci-layout", Member::File(br#"{"imageLayoutVersion":"1.0.0"}"#))]),
            "it has oci-layout but no index.json",
        ),
    ];
    for (bytes, reason) in cases {
        let e = refused(&bytes);
        assert_eq!(e.code(), "invalid-archive", "{reason}: {e}");
        assert!(e.to_string().contains(reason), "{reason}: {e}");
    }
    // A truncated archive: its last layer's bytes are missing.
    let cut = tar_of(&[(layer_tar.as_str(), Member::File(&uncompressed(&img.layers[0].blob)))]);
    let truncated = &cut[..cut.len() - 2048];
    let e = refused(truncated);
    assert!(matches!(e.code().as_str(), "invalid-archive"), "{}", chain(&e));
}

#[test]
fn compressed_layers_in_a_docker_archive_keep_their_compression() {
    let Some(_) = fixtures() else { return };
    // Docker 25 writes blobs/sha256/HEX (the name gives the digest); other writers may put a
    // compressed tar anywhere (its digest is computed).
    let gz = layer(&[("etc/a", b"gzip layer".to_vec())], Packing::Gzip);
    let zst = layer(&[("etc/b", b"zstd layer".to_vec())], Packing::Zstd);
    let plain = layer(&[("etc/c", b"plain layer".to_vec())], Packing::Plain);
    let img = image(vec![gz.clone(), zst.clone(), plain.clone()], "amd64");
    let gz_path = format!("blobs/sha256/{}", gz.digest.hex());
    let manifest = serde_json::to_vec(&manifest_json(&img, &[&gz_path, "z/layer.tar", "c/layer.tar"])).unwrap();
    let config_name = format!("{}.json", img.config_digest.hex());
    let bytes = tar_of(&[
        (gz_path.as_str(), Member::File(&gz.blob)),
        ("z/layer.tar", Member::File(&zst.blob)),
        ("c/layer.tar", Member::File(&plain.blob)),
        (config_name.as_str(), Member::File(&img.config)),
        ("manifest.json", Member::File(&manifest)),
    ]);
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("c.tar"), bytes).unwrap();
    let (_d, store) = new_store();
    assert_eq!(load(&store, &work.path().join("c.tar")), [loaded(&img.config_digest, &["example.com/hostile:1"])]);
    let record = store.image("example.com/hostile:1").unwrap();
    let stored: Vec<(&Digest, &str)> = record.layers.iter().map(|l| (&l.digest, l.media_type.as_str())).collect();
    assert_eq!(
        stored,
        [
            (&gz.digest, "application/vnd.oci.image.layer.v1.tar+gzip"),
            (&zst.digest, "application/vnd.oci.image.layer.v1.tar+zstd"),
            (&plain.digest, "application/vnd.oci.image.layer.v1.tar"),
        ]
    );
    for (l, expected) in record.layers.iter().zip(&img.layers) {
        assert!(store.has_blob(&l.digest));
        common::assert_layer_content(&store.layer_diff(&l.diff_id), expected);
    }
    // Named by its digest but holding something else: refused.
    let bad = tar_of(&[
        (gz_path.as_str(), Member::File(&zst.blob)),
        ("z/layer.tar", Member::File(&zst.blob)),
        ("c/layer.tar", Member::File(&plain.blob)),
        (config_name.as_str(), Member::File(&img.config)),
        ("manifest.json", Member::File(&manifest)),
    ]);
    assert_eq!(refused(&bad).code(), "digest-mismatch");
}

// ---- Docker ------------------------------------------------------------------------------

/// A dockerd of its own (data-root, exec-root, pidfile and socket in a temporary directory,
/// no bridge and no iptables rules), inside isolate.sh so that what it writes in /var/lib and
/// /run goes away with it.
struct Dockerd {
    dir: tempfile::TempDir,
    child: std::process::Child,
}

impl Dockerd {
    fn start() -> Option<Dockerd> {
        if !common::require("dockerd", "docker.io") {
            return None;
        }
        let dir = tempfile::Builder::new().prefix("tsdocker.").tempdir_in("/tmp").unwrap();
        let d = dir.path();
        let log = std::fs::File::create(d.join("log")).unwrap();
        std::fs::write(d.join("daemon.json"), "{}").unwrap();
        let child = Command::new(repo().join("test/images/isolate.sh"))
            .arg("dockerd")
            .arg(format!("--data-root={}", d.join("data").display()))
            .arg(format!("--exec-root={}", d.join("exec").display()))
            .arg(format!("--pidfile={}", d.join("docker.pid").display()))
            .arg(format!("--host=unix://{}", d.join("docker.sock").display()))
            .args(["--bridge=none", "--iptables=false", "--ip6tables=false", "--ip-masq=false", "--storage-driver=vfs"])
            .arg(format!("--config-file={}", d.join("daemon.json").display()))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let docker = Dockerd { dir, child };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::time::Instant::now() < deadline {
            if docker.docker(&["version"]).status.success() {
                return Some(docker);
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        panic!("dockerd did not start: {}", std::fs::read_to_string(docker.dir.path().join("log")).unwrap_or_default());
    }

    fn docker(&self, args: &[&str]) -> Output {
        Command::new("docker")
            .arg(format!("--host=unix://{}", self.dir.path().join("docker.sock").display()))
            .args(args)
            .output()
            .unwrap()
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.child.wait();
    }
}

#[test]
fn docker_loads_our_docker_archive() {
    let Some(_) = fixtures() else { return };
    let Some(docker) = Dockerd::start() else { return };
    let (_d, store, both) = store_with_both();
    let work = tempfile::tempdir().unwrap();
    let dest = work.path().join("both.tar");
    archive::save(&store, &[&format!("{NAME}:latest"), &format!("{NAME}:configured")], &dest, Format::DockerArchive)
        .unwrap();
    let out =
        String::from_utf8(check(docker.docker(&["load", "-i", &dest.display().to_string()]), "docker load")).unwrap();
    assert!(
        out.contains(&format!("Loaded image: {NAME}:latest"))
            && out.contains(&format!("Loaded image: {NAME}:configured")),
        "{out}"
    );
    for (image, tag) in both.iter().zip(["latest", "configured"]) {
        let id = check(
            docker.docker(&["image", "inspect", "--format", "{{.Id}}", &format!("{NAME}:{tag}")]),
            "docker image inspect",
        );
        assert_eq!(String::from_utf8_lossy(&id).trim(), image.id.to_string(), "docker's id of {tag}");
    }
    let config = check(
        docker.docker(&[
            "image",
            "inspect",
            "--format",
            "{{.Config.User}} {{.Config.WorkingDir}} {{json .Config.Entrypoint}}",
            &format!("{NAME}:configured"),
        ]),
        "docker image inspect",
    );
    assert_eq!(String::from_utf8_lossy(&config).trim(), r#"tester /srv/app ["/usr/local/bin/entrypoint"]"#);
    let cgroup = CgroupParent::new();
    let run = docker.docker(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--cgroup-parent",
        &cgroup.0,
        &format!("{NAME}:configured"),
    ]);
    assert_eq!(String::from_utf8_lossy(&check(run, "docker run")).trim(), CONFIGURED_OUTPUT);
    // What docker saves loads here with the same ids.
    let theirs = work.path().join("theirs.tar");
    check(
        docker.docker(&[
            "save",
            "-o",
            &theirs.display().to_string(),
            &format!("{NAME}:latest"),
            &format!("{NAME}:configured"),
        ]),
        "docker save",
    );
    let (_d2, again) = new_store();
    let mut got = load(&again, &theirs);
    got.sort_by(|a, b| a.names.cmp(&b.names));
    let mut want = both.clone();
    want.sort_by(|a, b| a.names.cmp(&b.names));
    assert_eq!(got, want);
}
