//! A container of an image (`tscontainer run IMAGE`, `run({ image })`): its directory in the
//! store and its spec, as Docker makes them.
//!
//! ```text
//! STORE/containers/ID/      one directory: the bundle and the container's storage
//!   container.json          the store's record (image, layers), so rmi and GC keep them
//!   upper/ work/            the overlay's writable layer
//!   rootfs/                 an empty directory: root.path; the overlay goes over it
//!   hosts hostname resolv.conf   bind-mounted on /etc, as Docker writes them
//!   config.json             the spec core builds, with mounts[0] the overlay on /
//! ```
//!
//! The overlay is mounts[0] with destination `/`: the runtime mounts it inside the
//! container's own mount namespace (crates/core/src/rootfs/overlay.rs), so the host's mount
//! table never holds it and it goes with the namespace however the container ends; nothing
//! here mounts anything. The image's config is applied as Docker applies it: Entrypoint and
//! Cmd (a given command replaces Cmd; `--entrypoint` replaces Entrypoint and, without a
//! command, clears Cmd), Env (the image's, then `-e` by name), WorkingDir (`-w` wins; the
//! runtime makes it when missing), User (`-u` wins; names from the image's /etc/passwd and
//! /etc/group through its layers), StopSignal, ExposedPorts, Volumes and Labels recorded as
//! annotations (OCI image-spec's conversion rules where it has one).

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use oci_spec::runtime::{Mount, Spec};
use tscontainer_core::error::Code;
use tscontainer_core::network::{Helper, HELPER_ANNOTATION};
use tscontainer_image::store::ContainerLayers;
use tscontainer_image::Store;
use tscontainer_run_options::{build_run_spec, resolve_user_in, Network, OptionError, RunOptions};

use crate::error::{HostError, Result};
use crate::spec::ImageForSpec;
use crate::view::ImageRunConfig;

/// OCI image-spec's annotation for a config's `StopSignal` (conversion.md); `stop` and the
/// API's abort read it.
pub const STOP_SIGNAL_ANNOTATION: &str = "org.opencontainers.image.stopSignal";
/// OCI image-spec's annotation for `ExposedPorts`, comma-separated.
pub const EXPOSED_PORTS_ANNOTATION: &str = "org.opencontainers.image.exposedPorts";
/// The image as the run named it, and its id.
pub const IMAGE_ANNOTATION: &str = "io.tscontainer.image";
pub const IMAGE_ID_ANNOTATION: &str = "io.tscontainer.image.id";
/// The image's `Volumes`, comma-separated (recorded; no volume is made for them).
pub const VOLUMES_ANNOTATION: &str = "io.tscontainer.image.volumes";

/// The environment variable that asks for fuse-overlayfs as the root overlay's mount program
/// (podman's storage.conf `mount_program`): its absolute path, passed to the runtime as
/// core's annotation. Unset or empty: the runtime decides (the kernel's overlayfs, or
/// fuse-overlayfs where the kernel refuses it in a user namespace).
pub const MOUNT_PROGRAM_ENV: &str = "TSCONTAINER_OVERLAY_MOUNT_PROGRAM";

/// What `run IMAGE` adds to run's options.
#[derive(Debug, Clone, Default)]
pub struct ImageRun {
    /// A reference, an id or an id prefix.
    pub image: String,
    /// `--entrypoint`: replaces the image's; `Some("")` clears it.
    pub entrypoint: Option<String>,
}

/// The process's arguments: Docker's rule for Entrypoint, Cmd, `--entrypoint` and a given
/// command. `no command specified` (Docker's words; a bad option, exit 125) when nothing is
/// left.
pub fn command(image: &ImageRunConfig, given: &[String], entrypoint: Option<&str>) -> Result<Vec<String>> {
    let entry: Vec<String> = match entrypoint {
        Some("") => Vec::new(),
        Some(e) => vec![e.to_string()],
        None => image.entrypoint.clone().unwrap_or_default(),
    };
    let cmd: Vec<String> = if !given.is_empty() {
        given.to_vec()
    } else if entrypoint.is_some() {
        Vec::new()
    } else {
        image.cmd.clone().unwrap_or_default()
    };
    let args: Vec<String> = entry.into_iter().chain(cmd).collect();
    if args.is_empty() {
        return Err(HostError::invalid_option("no command specified"));
    }
    Ok(args)
}

/// The image's variables, then the given ones (`-e` replaces a name the image sets).
/// Entries of the image without `=` set nothing, as with Docker.
pub fn environment(image: &ImageRunConfig, given: &[String]) -> Vec<String> {
    image.env.iter().flatten().filter(|e| e.contains('=')).cloned().chain(given.iter().cloned()).collect()
}

/// `/etc/hosts` as Docker writes it for a container of its own network namespace, with the
/// hostname on 127.0.1.1 (Debian's convention) as no address of the container is known
/// here; with the host's network, the host's file.
pub fn hosts_file(hostname: &str, network: Network, host_hosts: &str) -> String {
    if network == Network::Host {
        return host_hosts.to_string();
    }
    format!(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n127.0.1.1\t{hostname}\n"
    )
}

/// Whether a `nameserver` line names a loopback address (which, from another network
/// namespace, is the container's own loopback: nothing answers there).
fn loopback_nameserver(line: &str) -> bool {
    let mut words = line.split_whitespace();
    if words.next() != Some("nameserver") {
        return false;
    }
    words.next().and_then(|a| a.parse::<std::net::IpAddr>().ok()).is_some_and(|a| a.is_loopback())
}

/// `/etc/resolv.conf`: the host's, as Docker copies it. With a user-mode network helper the
/// host's loopback nameservers are unreachable and dropped (Docker's rule); slirp4netns's
/// own forwarder (the network's `.3`, which asks the host's resolvers) replaces them, where
/// Docker would fall back to public resolvers. pasta has no forwarder in our setup, so only
/// the host's other nameservers remain. `--net none` and `--net host` get the file as it is.
pub fn resolv_conf(host: &str, helper: Option<Helper>) -> String {
    let Some(helper) = helper else { return host.to_string() };
    let mut out: String = host.lines().filter(|l| !loopback_nameserver(l)).flat_map(|l| [l, "\n"]).collect();
    let has_nameserver = out.lines().any(|l| l.split_whitespace().next() == Some("nameserver"));
    if helper == Helper::Slirp4netns && !has_nameserver {
        out.push_str("nameserver 10.0.2.3\n");
    }
    out
}

/// The container's root: overlayfs of the image's layers (top first) under its own upper.
pub fn overlay_mount(lowerdirs: &[PathBuf], upper: &Path, work: &Path) -> Mount {
    let lower: Vec<String> = lowerdirs.iter().map(|p| p.display().to_string()).collect();
    let mut m = Mount::default();
    m.set_destination(PathBuf::from("/"))
        .set_typ(Some("overlay".into()))
        .set_source(Some("overlay".into()))
        .set_options(Some(vec![
            format!("lowerdir={}", lower.join(":")),
            format!("upperdir={}", upper.display()),
            format!("workdir={}", work.display()),
        ]));
    m
}

fn file_mount(source: PathBuf, destination: &str, read_only: bool) -> Mount {
    let mut m = Mount::default();
    let mode = if read_only { "ro" } else { "rw" };
    m.set_destination(PathBuf::from(destination))
        .set_typ(Some("bind".into()))
        .set_source(Some(source))
        .set_options(Some(vec!["rbind".into(), "rprivate".into(), mode.into()]));
    m
}

fn option_error(e: OptionError) -> HostError {
    HostError::new(e.code(), tscontainer_core::error::chain(&e))
}

fn spec_error(e: tscontainer_core::spec::SpecError) -> HostError {
    HostError::new(e.code(), tscontainer_core::error::chain(&e))
}

fn io_error(op: &str, path: &Path, e: std::io::Error) -> HostError {
    HostError::new(Code::Io, format!("cannot {op} {}: {e}", path.display()))
}

/// Writes a new file (never through a name already there).
fn write_new(path: &Path, mode: u32, content: &[u8]) -> Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| io_error("create", path, e))?;
    file.write_all(content).map_err(|e| io_error("write", path, e))
}

fn annotations(image: &ImageForSpec, given: &str, config: &ImageRunConfig) -> HashMap<String, String> {
    let mut out: HashMap<String, String> = config.labels.clone().unwrap_or_default().into_iter().collect();
    out.insert(IMAGE_ANNOTATION.into(), given.to_string());
    out.insert(IMAGE_ID_ANNOTATION.into(), image.image.id.to_string());
    if let Some(signal) = config.stop_signal.as_ref().filter(|s| !s.is_empty()) {
        out.insert(STOP_SIGNAL_ANNOTATION.into(), signal.clone());
    }
    let keys = |m: &Option<std::collections::BTreeMap<String, crate::view::EmptyObject>>| {
        m.as_ref().filter(|m| !m.is_empty()).map(|m| m.keys().cloned().collect::<Vec<_>>().join(","))
    };
    if let Some(ports) = keys(&config.exposed_ports) {
        out.insert(EXPOSED_PORTS_ANNOTATION.into(), ports);
    }
    if let Some(volumes) = keys(&config.volumes) {
        out.insert(VOLUMES_ANNOTATION.into(), volumes);
    }
    out
}

/// A container directory [`create_image_bundle`] made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageBundle {
    pub dir: PathBuf,
    /// The image's StopSignal, which `stop` and an abort send first.
    pub stop_signal: Option<String>,
}

/// Makes container `opts.id`'s directory in `store` over `run.image` and writes its
/// `config.json` there; returns the directory (the bundle). Nothing is left when it fails.
/// The image must be in the store (`image-not-known` otherwise: the caller pulls first).
pub fn create_image_bundle(store: &Store, mut opts: RunOptions, run: &ImageRun) -> Result<ImageBundle> {
    let image = ImageForSpec::open(store, &run.image)?;
    let config = image.run_config();
    opts.command = command(&config, &opts.command, run.entrypoint.as_deref())?;
    opts.env = environment(&config, &opts.env);
    if opts.workdir.as_deref().is_none_or(str::is_empty) {
        opts.workdir = config.working_dir.clone().filter(|w| !w.is_empty());
    }
    let user = image.user_spec(opts.user.as_deref());
    let resolved = resolve_user_in(user.as_deref(), &image.users()?, &image.groups()?).map_err(option_error)?;
    opts.resolved_user = Some(resolved);
    // The user's name, for messages about it: the image's own when -u gave none.
    if opts.user.as_deref().is_none_or(str::is_empty) {
        opts.user = config.user.clone().filter(|u| !u.is_empty());
    }
    let id = opts.id.clone();
    // By id: the name may move to another image meanwhile.
    let layers = store.create_container(&id, &image.image.id.to_string())?;
    let dir = store.root().join("containers").join(&id);
    let made = fill(&dir, opts, &image, run, &config, &layers);
    if made.is_err() {
        let _ = store.remove_container(&id);
    }
    let stop_signal = config.stop_signal.clone().filter(|s| !s.is_empty());
    made.map(|()| ImageBundle { dir, stop_signal })
}

fn fill(
    dir: &Path,
    mut opts: RunOptions,
    image: &ImageForSpec,
    run: &ImageRun,
    config: &ImageRunConfig,
    layers: &ContainerLayers,
) -> Result<()> {
    let rootfs = dir.join("rootfs");
    fs::DirBuilder::new().mode(0o755).create(&rootfs).map_err(|e| io_error("create", &rootfs, e))?;
    opts.rootfs = Some(rootfs);
    let network = opts.network.as_deref().map_or(Ok(Network::None), str::parse).map_err(option_error)?;
    let mut spec: Spec = build_run_spec(&opts).map_err(option_error)?;

    let mut mounts = spec.mounts().clone().unwrap_or_default();
    mounts.insert(0, overlay_mount(&layers.lowerdirs, &layers.upper, &layers.work));

    let hostname = spec.hostname().clone().unwrap_or_default();
    let helper =
        spec.annotations().as_ref().and_then(|a| a.get(HELPER_ANNOTATION)).and_then(|h| h.parse::<Helper>().ok());
    let host_file = |path: &str| fs::read_to_string(path).unwrap_or_default();
    let files = [
        ("hosts", "/etc/hosts", hosts_file(&hostname, network, &host_file("/etc/hosts"))),
        ("hostname", "/etc/hostname", format!("{hostname}\n")),
        ("resolv.conf", "/etc/resolv.conf", resolv_conf(&host_file("/etc/resolv.conf"), helper)),
    ];
    for (name, destination, content) in files {
        let path = dir.join(name);
        write_new(&path, 0o644, content.as_bytes())?;
        mounts.push(file_mount(path, destination, opts.read_only));
    }
    spec.set_mounts(Some(mounts));

    let mut all = spec.annotations().clone().unwrap_or_default();
    for (k, v) in annotations(image, &run.image, config) {
        all.entry(k).or_insert(v);
    }
    if let Some(program) = std::env::var_os(MOUNT_PROGRAM_ENV).filter(|p| !p.is_empty()) {
        let annotation = tscontainer_core::rootfs::fuse::MOUNT_PROGRAM_ANNOTATION;
        all.entry(annotation.into()).or_insert_with(|| program.to_string_lossy().into_owned());
    }
    spec.set_annotations(Some(all));
    tscontainer_core::spec::validate(&spec).map_err(spec_error)?;

    let json = serde_json::to_vec_pretty(&spec).map_err(|e| HostError::new(Code::InvalidConfig, e.to_string()))?;
    write_new(&dir.join(tscontainer_core::datadir::CONFIG_FILE), 0o600, &json)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(entrypoint: Option<&[&str]>, cmd: Option<&[&str]>) -> ImageRunConfig {
        let list = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        ImageRunConfig { entrypoint: entrypoint.map(list), cmd: cmd.map(list), ..ImageRunConfig::default() }
    }

    fn strings(l: &[&str]) -> Vec<String> {
        l.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn entrypoint_and_cmd_as_docker_combines_them() {
        let image = config(Some(&["/entry"]), Some(&["sh", "-c", "x"]));
        assert_eq!(command(&image, &[], None).unwrap(), strings(&["/entry", "sh", "-c", "x"]));
        assert_eq!(command(&image, &strings(&["ls"]), None).unwrap(), strings(&["/entry", "ls"]));
        // --entrypoint replaces the image's and clears its Cmd unless a command is given.
        assert_eq!(command(&image, &[], Some("/bin/true")).unwrap(), strings(&["/bin/true"]));
        assert_eq!(command(&image, &strings(&["-v"]), Some("/bin/env")).unwrap(), strings(&["/bin/env", "-v"]));
        assert_eq!(command(&image, &strings(&["id"]), Some("")).unwrap(), strings(&["id"]));
        let e = command(&image, &[], Some("")).unwrap_err();
        assert_eq!((e.code.as_str(), e.message.as_str()), ("invalid-option", "no command specified"));
        assert!(command(&config(None, None), &[], None).is_err());
        assert_eq!(command(&config(None, Some(&["sh"])), &[], None).unwrap(), strings(&["sh"]));
    }

    #[test]
    fn given_variables_follow_the_images() {
        let image = ImageRunConfig { env: Some(strings(&["PATH=/img", "A=1", "BARE"])), ..ImageRunConfig::default() };
        assert_eq!(environment(&image, &strings(&["A=2"])), strings(&["PATH=/img", "A=1", "A=2"]));
    }

    #[test]
    fn hosts_names_the_container_and_keeps_the_hosts_file_for_host_network() {
        let own = hosts_file("web", Network::None, "1.2.3.4 host\n");
        assert!(own.starts_with("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"), "{own}");
        assert!(own.ends_with("127.0.1.1\tweb\n"), "{own}");
        assert_eq!(hosts_file("web", Network::Host, "1.2.3.4 host\n"), "1.2.3.4 host\n");
    }

    #[test]
    fn loopback_nameservers_go_only_with_a_helper() {
        let host = "search lan\nnameserver 127.0.0.53\nnameserver ::1\noptions edns0\n";
        assert_eq!(resolv_conf(host, None), host);
        assert_eq!(resolv_conf(host, Some(Helper::Slirp4netns)), "search lan\noptions edns0\nnameserver 10.0.2.3\n");
        assert_eq!(resolv_conf(host, Some(Helper::Pasta)), "search lan\noptions edns0\n");
        let public = "nameserver 10.1.1.1\nnameserver 127.0.0.1\n";
        assert_eq!(resolv_conf(public, Some(Helper::Slirp4netns)), "nameserver 10.1.1.1\n");
    }

    #[test]
    fn the_overlay_is_the_first_mount_on_root() {
        let m =
            overlay_mount(&[PathBuf::from("/l/top"), PathBuf::from("/l/base")], Path::new("/c/u"), Path::new("/c/w"));
        assert_eq!(m.destination(), Path::new("/"));
        assert_eq!(m.typ().as_deref(), Some("overlay"));
        assert_eq!(
            m.options().clone().unwrap(),
            strings(&["lowerdir=/l/top:/l/base", "upperdir=/c/u", "workdir=/c/w"])
        );
    }
}
