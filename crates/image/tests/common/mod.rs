//! Test helpers: a real registry (Debian's docker-registry) on a free 127.0.0.1 port, images
//! built here (tar layers, gzip or zstd, configs, manifests, indexes) and pushed over the
//! distribution API, and a tiny HTTP server for what a real registry will not do (a wrong
//! digest, schema 1, a Bearer token service, redirects).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tscontainer_image::digest::Digest;

/// Whether a prerequisite is missing: skip with the reason, or fail under CI (where
/// `.ci/run` installs it).
pub fn require(binary: &str, package: &str) -> bool {
    let found =
        std::env::var_os("PATH").map(|p| std::env::split_paths(&p).any(|d| d.join(binary).is_file())).unwrap_or(false);
    if !found {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{binary} is not installed (apt-get install {package}), and CI=true");
        }
        eprintln!("# SKIPPED: {binary} is not installed (apt-get install {package})");
    }
    found
}

pub struct Registry {
    pub dir: tempfile::TempDir,
    child: Child,
    pub host: String,
    pub tls: bool,
    /// A directory holding only the CA certificate (for `cert_dir`).
    pub cert_dir: Option<PathBuf>,
    pub credentials: Option<(String, String)>,
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
}

impl Registry {
    /// A registry with its own storage; `tls`: HTTPS with a CA made here; `auth`: htpasswd
    /// Basic auth for user `tester`. `None` (skipped) when docker-registry is missing.
    pub fn start(tls: bool, auth: bool) -> Option<Registry> {
        if !require("docker-registry", "docker-registry")
            || (tls && !require("openssl", "openssl"))
            || (auth && !require("htpasswd", "apache2-utils"))
        {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let mut config = format!(
            "version: 0.1\nlog: {{level: info, formatter: text}}\nstorage:\n  filesystem: {{rootdirectory: \"{}\"}}\n  maintenance: {{uploadpurging: {{enabled: false}}}}\nhttp:\n  addr: 127.0.0.1:0\n  secret: test-secret\n",
            d.join("storage").display()
        );
        let mut cert_dir = None;
        if tls {
            let t = d.join("tls");
            std::fs::create_dir(&t).unwrap();
            run(Command::new("openssl").current_dir(&t).args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=tscontainer test CA",
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ]));
            run(Command::new("openssl").current_dir(&t).args([
                "req",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-subj",
                "/CN=127.0.0.1",
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
            ]));
            std::fs::write(
                t.join("ext.cnf"),
                "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n",
            )
            .unwrap();
            run(Command::new("openssl").current_dir(&t).args([
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "1",
                "-extfile",
                "ext.cnf",
                "-out",
                "server.crt",
            ]));
            let certs = d.join("certs");
            std::fs::create_dir(&certs).unwrap();
            std::fs::copy(t.join("ca.crt"), certs.join("ca.crt")).unwrap();
            cert_dir = Some(certs);
            config += &format!(
                "  tls: {{certificate: \"{}\", key: \"{}\"}}\n",
                t.join("server.crt").display(),
                t.join("server.key").display()
            );
        }
        config +=
            "health: {storagedriver: {enabled: false}}\nvalidation: {manifests: {urls: {allow: [\"^https?://\"]}}}\n";
        let mut credentials = None;
        if auth {
            let password = format!("pw-{}", std::process::id());
            let out = Command::new("htpasswd").args(["-Bbn", "tester", &password]).output().unwrap();
            assert!(out.status.success());
            std::fs::write(d.join("htpasswd"), out.stdout).unwrap();
            config += &format!("auth: {{htpasswd: {{realm: test, path: \"{}\"}}}}\n", d.join("htpasswd").display());
            credentials = Some(("tester".to_string(), password));
        }
        std::fs::write(d.join("config.yml"), config).unwrap();
        let log = std::fs::File::create(d.join("registry.log")).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(d.join("config.yml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut registry = Registry { dir, child, host: String::new(), tls, cert_dir, credentials };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let log = std::fs::read_to_string(registry.dir.path().join("registry.log")).unwrap_or_default();
            if let Some(port) = log.split("listening on 127.0.0.1:").nth(1) {
                let port: String = port.chars().take_while(|c| c.is_ascii_digit()).collect();
                registry.host = format!("127.0.0.1:{port}");
                break;
            }
            if Instant::now() > deadline || registry.child.try_wait().unwrap().is_some() {
                panic!("docker-registry did not start: {log}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(registry)
    }

    pub fn url(&self) -> String {
        format!("{}://{}", if self.tls { "https" } else { "http" }, self.host)
    }

    /// An HTTP agent that trusts this registry's CA, for pushing.
    pub fn agent(&self) -> ureq::Agent {
        let mut tls = ureq::tls::TlsConfig::builder();
        if let Some(dir) = &self.cert_dir {
            let pem = std::fs::read(dir.join("ca.crt")).unwrap();
            let ca = ureq::tls::Certificate::from_pem(&pem).unwrap();
            tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&[ca]));
        }
        ureq::Agent::new_with_config(
            ureq::Agent::config_builder().http_status_as_error(false).tls_config(tls.build()).build(),
        )
    }

    fn auth_header(&self) -> Option<String> {
        use base64::Engine as _;
        self.credentials
            .as_ref()
            .map(|(u, p)| format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))))
    }

    /// Uploads a blob (monolithic upload) unless the registry has it.
    pub fn push_blob(&self, name: &str, bytes: &[u8]) -> Digest {
        let agent = self.agent();
        let digest = Digest::sha256_of(bytes);
        let auth = self.auth_header();
        let with_auth = |mut r: ureq::RequestBuilder<ureq::typestate::WithoutBody>| {
            if let Some(a) = &auth {
                r = r.header("Authorization", a);
            }
            r
        };
        let head = with_auth(agent.head(&format!("{}/v2/{name}/blobs/{digest}", self.url()))).call().unwrap();
        if head.status() == 200 {
            return digest;
        }
        let mut post = agent.post(&format!("{}/v2/{name}/blobs/uploads/", self.url()));
        if let Some(a) = &auth {
            post = post.header("Authorization", a);
        }
        let started = post.send_empty().unwrap();
        assert_eq!(started.status(), 202, "starting an upload");
        let location = started.headers().get("location").unwrap().to_str().unwrap().to_string();
        let location = if location.starts_with('/') { format!("{}{location}", self.url()) } else { location };
        let sep = if location.contains('?') { '&' } else { '?' };
        let mut put = agent.put(&format!("{location}{sep}digest={digest}"));
        if let Some(a) = &auth {
            put = put.header("Authorization", a);
        }
        let done = put.header("Content-Type", "application/octet-stream").send(bytes).unwrap();
        assert_eq!(done.status(), 201, "finishing an upload");
        digest
    }

    pub fn push_manifest(&self, name: &str, reference: &str, media_type: &str, bytes: &[u8]) -> Digest {
        let mut put = self.agent().put(&format!("{}/v2/{name}/manifests/{reference}", self.url()));
        if let Some(a) = self.auth_header() {
            put = put.header("Authorization", a);
        }
        let mut done = put.header("Content-Type", media_type).send(bytes).unwrap();
        let status = done.status();
        assert_eq!(status, 201, "pushing a manifest: {}", done.body_mut().read_to_string().unwrap_or_default());
        Digest::sha256_of(bytes)
    }

    /// Pushes every blob of `image` and its manifest under `tag`.
    pub fn push(&self, name: &str, tag: &str, image: &TestImage) -> Digest {
        for layer in &image.layers {
            self.push_blob(name, &layer.blob);
        }
        self.push_blob(name, &image.config);
        self.push_manifest(name, tag, OCI_MANIFEST, &image.manifest)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Packing {
    Gzip,
    Zstd,
    Plain,
}

#[derive(Clone)]
pub struct TestLayer {
    pub blob: Vec<u8>,
    pub digest: Digest,
    pub diff_id: Digest,
    pub media_type: &'static str,
    /// What the layer holds: (path, content) of each regular file.
    pub files: Vec<(String, Vec<u8>)>,
}

#[derive(Clone)]
pub struct TestImage {
    pub layers: Vec<TestLayer>,
    pub config: Vec<u8>,
    pub config_digest: Digest,
    pub manifest: Vec<u8>,
    pub manifest_digest: Digest,
}

/// A tar of regular files (directories made as needed), mode 0644, root-owned.
pub fn layer(files: &[(&str, Vec<u8>)], packing: Packing) -> TestLayer {
    let mut builder = tar::Builder::new(Vec::new());
    let mut dirs = std::collections::BTreeSet::new();
    for (path, _) in files {
        let mut p = Path::new(path).parent();
        while let Some(d) = p.filter(|d| !d.as_os_str().is_empty()) {
            dirs.insert(d.to_path_buf());
            p = d.parent();
        }
    }
    for d in &dirs {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_size(0);
        h.set_mtime(1_700_000_000);
        h.set_uid(0);
        h.set_gid(0);
        builder.append_data(&mut h, d, std::io::empty()).unwrap();
    }
    for (path, content) in files {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o644);
        h.set_size(content.len() as u64);
        h.set_mtime(1_700_000_000);
        h.set_uid(0);
        h.set_gid(0);
        builder.append_data(&mut h, path, &content[..]).unwrap();
    }
    let tar = builder.into_inner().unwrap();
    let diff_id = Digest::sha256_of(&tar);
    let (blob, media_type) = match packing {
        Packing::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(&tar).unwrap();
            (e.finish().unwrap(), "application/vnd.oci.image.layer.v1.tar+gzip")
        }
        Packing::Zstd => (zstd::encode_all(&tar[..], 1).unwrap(), "application/vnd.oci.image.layer.v1.tar+zstd"),
        Packing::Plain => (tar, "application/vnd.oci.image.layer.v1.tar"),
    };
    TestLayer {
        digest: Digest::sha256_of(&blob),
        blob,
        diff_id,
        media_type,
        files: files.iter().map(|(p, c)| (p.to_string(), c.clone())).collect(),
    }
}

pub fn image(layers: Vec<TestLayer>, arch: &str) -> TestImage {
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": arch,
        "os": "linux",
        "created": "2024-01-01T00:00:00Z",
        "config": {"Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": layers.iter().map(|l| l.diff_id.to_string()).collect::<Vec<_>>()},
    }))
    .unwrap();
    let config_digest = Digest::sha256_of(&config);
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest.to_string(), "size": config.len()},
        "layers": layers.iter().map(|l| serde_json::json!({
            "mediaType": l.media_type, "digest": l.digest.to_string(), "size": l.blob.len()
        })).collect::<Vec<_>>(),
    }))
    .unwrap();
    let manifest_digest = Digest::sha256_of(&manifest);
    TestImage { layers, config, config_digest, manifest, manifest_digest }
}

/// An index of `(image, architecture, variant)`.
pub fn index(entries: &[(&TestImage, &str, Option<&str>)]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": entries.iter().map(|(img, arch, variant)| {
            let mut platform = serde_json::json!({"os": "linux", "architecture": arch});
            if let Some(v) = variant {
                platform["variant"] = serde_json::json!(v);
            }
            serde_json::json!({
                "mediaType": OCI_MANIFEST,
                "digest": img.manifest_digest.to_string(),
                "size": img.manifest.len(),
                "platform": platform,
            })
        }).collect::<Vec<_>>(),
    }))
    .unwrap()
}

pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    std::fs::File::open("/dev/urandom").unwrap().read_exact(&mut v).unwrap();
    v
}

/// Checks that an unpacked layer directory holds exactly the layer's files.
pub fn assert_layer_content(dir: &Path, layer: &TestLayer) {
    for (path, content) in &layer.files {
        let got = std::fs::read(dir.join(path)).unwrap_or_else(|e| panic!("{}: {e}", dir.join(path).display()));
        assert!(got == *content, "{} differs from the layer's", dir.join(path).display());
    }
}

/// A request the fake server got.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Response {
        Response { status, headers: Vec::new(), body: body.into() }
    }

    pub fn header(mut self, k: &str, v: impl Into<String>) -> Response {
        self.headers.push((k.to_string(), v.into()));
        self
    }
}

/// A minimal HTTP/1.1 server on 127.0.0.1 (GET and HEAD, one request per connection).
pub struct FakeServer {
    pub addr: String,
    stop: Arc<AtomicBool>,
    pub requests: Arc<std::sync::Mutex<Vec<Request>>>,
}

impl FakeServer {
    pub fn start(handler: impl Fn(&Request) -> Response + Send + Sync + 'static) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(std::sync::Mutex::new(Vec::new()));
        let handler = Arc::new(handler);
        let (stop2, requests2) = (stop.clone(), requests.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let (handler, requests) = (handler.clone(), requests2.clone());
                std::thread::spawn(move || serve(stream, &*handler, &requests));
            }
        });
        FakeServer { addr, stop, requests }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(&self.addr);
    }
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" || h == "\n" {
            break;
        }
        if let Some((k, v)) = h.trim_end().split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    Some(Request { method, path, headers })
}

/// Serves one request; a CONNECT (the server as a proxy) is accepted and the request
/// tunnelled through it served in turn.
fn serve(stream: TcpStream, handler: &dyn Fn(&Request) -> Response, requests: &std::sync::Mutex<Vec<Request>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    let Some(mut request) = read_request(&mut reader) else { return };
    if request.method == "CONNECT" {
        requests.lock().unwrap().push(request);
        let _ = out.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
        let Some(tunnelled) = read_request(&mut reader) else { return };
        request = tunnelled;
    }
    requests.lock().unwrap().push(request.clone());
    let response = handler(&request);
    let mut head =
        format!("HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n", response.status, response.body.len());
    for (k, v) in &response.headers {
        head += &format!("{k}: {v}\r\n");
    }
    head += "\r\n";
    let _ = out.write_all(head.as_bytes());
    if request.method != "HEAD" {
        let _ = out.write_all(&response.body);
    }
}
