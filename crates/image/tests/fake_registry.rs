//! What a real registry will not do on request, served by a small HTTP server in the test:
//! the Bearer token challenge (anonymous and with credentials, tokens reused), blob
//! redirects to another host, foreign-layer URLs, wrong digests, wrong diff_ids, schema 1
//! and oversized manifests.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use common::{image, layer, random_bytes, FakeServer, Packing, Request, Response, TestImage};
use tscontainer_image::pull::PullOptions;
use tscontainer_image::registry::{pull_image, AuthFiles, ClientOptions, Credentials, RegistriesConf, RegistryClient};
use tscontainer_image::{Reference, Store};

fn client(dir: &Path, host: &str, options: ClientOptions) -> RegistryClient {
    let conf = dir.join("registries.conf");
    std::fs::write(&conf, format!("[[registry]]\nlocation = \"{host}\"\ninsecure = true\n")).unwrap();
    let auth = dir.join("auth.json");
    RegistryClient::new(RegistriesConf::load_files(&[conf]).unwrap(), AuthFiles::new(vec![auth.clone()], auth), options)
}

/// Content by path (`/v2/NAME/manifests/REF`, `/v2/NAME/blobs/DIGEST`).
#[derive(Default, Clone)]
struct Content {
    manifests: HashMap<String, (String, Vec<u8>)>,
    blobs: HashMap<String, Vec<u8>>,
}

impl Content {
    fn add(&mut self, name: &str, tag: &str, img: &TestImage) {
        let m = (common::OCI_MANIFEST.to_string(), img.manifest.clone());
        self.manifests.insert(format!("/v2/{name}/manifests/{tag}"), m.clone());
        self.manifests.insert(format!("/v2/{name}/manifests/{}", img.manifest_digest), m);
        self.blobs.insert(format!("/v2/{name}/blobs/{}", img.config_digest), img.config.clone());
        for l in &img.layers {
            self.blobs.insert(format!("/v2/{name}/blobs/{}", l.digest), l.blob.clone());
        }
    }

    fn serve(&self, request: &Request) -> Response {
        if let Some((media_type, body)) = self.manifests.get(&request.path) {
            return Response::new(200, body.clone()).header("Content-Type", media_type.clone());
        }
        if let Some(body) = self.blobs.get(&request.path) {
            return Response::new(200, body.clone());
        }
        Response::new(404, r#"{"errors":[{"code":"NOT_FOUND","message":"not here"}]}"#)
    }
}

fn anonymous_registry(content: Content) -> FakeServer {
    FakeServer::start(move |r| if r.path == "/v2/" { Response::new(200, "{}") } else { content.serve(r) })
}

fn store(dir: &Path) -> Store {
    Store::open(dir.join("store")).unwrap()
}

fn nothing_kept(store: &Store, img: &TestImage) {
    assert!(store.images().unwrap().is_empty(), "an image was recorded");
    for l in &img.layers {
        assert!(!store.has_layer(&l.diff_id), "layer {} was kept", l.diff_id);
        assert!(!store.has_blob(&l.digest), "blob {} was kept", l.digest);
    }
    assert_eq!(std::fs::read_dir(store.root().join("tmp")).unwrap().count(), 0);
}

#[test]
fn bearer_tokens_anonymous_and_with_credentials_are_fetched_once_per_scope() {
    let public = image(
        vec![layer(&[("a", b"1".to_vec())], Packing::Gzip), layer(&[("b", b"2".to_vec())], Packing::Gzip)],
        "amd64",
    );
    let private = image(vec![layer(&[("secret", b"s".to_vec())], Packing::Gzip)], "amd64");
    let mut content = Content::default();
    content.add("public/app", "1", &public);
    content.add("private/app", "1", &private);
    let token_server = FakeServer::start(|r| {
        let basic_ok = r.header("authorization") == Some("Basic dXNlcjpwYXNz"); // user:pass
        let scope_private = r.path.contains("private");
        match (scope_private, basic_ok, r.header("authorization").is_some()) {
            (_, false, true) => Response::new(401, "{}"),
            (true, true, _) => Response::new(200, r#"{"token":"private-token","expires_in":300}"#),
            _ => Response::new(200, r#"{"access_token":"anonymous-token"}"#),
        }
    });
    let realm = format!("{}/token", token_server.url());
    let registry = FakeServer::start(move |r| {
        let challenge = format!(r#"Bearer realm="{realm}",service="fake-registry""#);
        let auth = r.header("authorization").unwrap_or("");
        let allowed =
            if r.path.contains("/private/") { auth == "Bearer private-token" } else { auth.starts_with("Bearer ") };
        if r.path == "/v2/" || !allowed {
            return Response::new(401, "{}").header("WWW-Authenticate", challenge);
        }
        content.serve(r)
    });
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());

    let anonymous = client(dir.path(), &registry.addr, ClientOptions::default());
    pull_image(
        &store,
        &anonymous,
        &Reference::parse(&format!("{}/public/app:1", registry.addr)).unwrap(),
        &PullOptions::default(),
    )
    .unwrap();
    let tokens = token_server.requests();
    assert_eq!(tokens.len(), 1, "one token for the manifest, the config and both layers: {tokens:?}");
    assert!(
        tokens[0].path.contains("service=fake-registry")
            && tokens[0].path.contains("scope=repository%3Apublic%2Fapp%3Apull"),
        "{}",
        tokens[0].path
    );
    assert!(tokens[0].header("authorization").is_none());

    let private_ref = Reference::parse(&format!("{}/private/app:1", registry.addr)).unwrap();
    let e = pull_image(&store, &anonymous, &private_ref, &PullOptions::default()).unwrap_err();
    assert_eq!(e.code(), "unauthorized", "{e}");

    let wrong = client(
        dir.path(),
        &registry.addr,
        ClientOptions {
            credentials: Some(Credentials { username: "user".into(), password: "nope".into() }),
            ..Default::default()
        },
    );
    let e = pull_image(&store, &wrong, &private_ref, &PullOptions::default()).unwrap_err();
    assert_eq!(e.to_string(), format!("registry {} refused the credentials for private/app", registry.addr));

    let right = client(
        dir.path(),
        &registry.addr,
        ClientOptions {
            credentials: Some(Credentials { username: "user".into(), password: "pass".into() }),
            ..Default::default()
        },
    );
    pull_image(&store, &right, &private_ref, &PullOptions::default()).unwrap();
    assert!(store.has_layer(&private.layers[0].diff_id));
}

#[test]
fn redirected_blobs_and_foreign_layers_get_no_registry_credentials() {
    let redirected = layer(&[("r", random_bytes(1000))], Packing::Gzip);
    let foreign = layer(&[("f", random_bytes(1000))], Packing::Gzip);
    let mut img = image(vec![redirected.clone(), foreign.clone()], "amd64");
    let blob_host = {
        let (redirected, foreign) = (redirected.blob.clone(), foreign.blob.clone());
        FakeServer::start(move |r| match r.path.as_str() {
            "/redirected" => Response::new(200, redirected.clone()),
            "/foreign" => Response::new(200, foreign.clone()),
            _ => Response::new(404, ""),
        })
    };
    // The foreign layer's descriptor names a URL; the registry does not have the blob.
    let mut manifest: serde_json::Value = serde_json::from_slice(&img.manifest).unwrap();
    manifest["layers"][1]["mediaType"] = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip".into();
    manifest["layers"][1]["urls"] = serde_json::json!([format!("{}/foreign", blob_host.url())]);
    img.manifest = serde_json::to_vec(&manifest).unwrap();
    img.manifest_digest = tscontainer_image::Digest::sha256_of(&img.manifest);
    let mut content = Content::default();
    content.add("app", "1", &img);
    content.blobs.remove(&format!("/v2/app/blobs/{}", foreign.digest));
    let redirect_path = format!("/v2/app/blobs/{}", redirected.digest);
    let location = format!("{}/redirected", blob_host.url());
    let registry = FakeServer::start(move |r| {
        if r.header("authorization") != Some("Basic dTpw") {
            return Response::new(401, "{}").header("WWW-Authenticate", r#"Basic realm="fake""#);
        }
        if r.path == redirect_path {
            return Response::new(307, "").header("Location", location.clone());
        }
        content.serve(r)
    });
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let c = client(
        dir.path(),
        &registry.addr,
        ClientOptions {
            credentials: Some(Credentials { username: "u".into(), password: "p".into() }),
            ..Default::default()
        },
    );
    pull_image(&store, &c, &Reference::parse(&format!("{}/app:1", registry.addr)).unwrap(), &PullOptions::default())
        .unwrap();
    common::assert_layer_content(&store.layer_diff(&redirected.diff_id), &redirected);
    common::assert_layer_content(&store.layer_diff(&foreign.diff_id), &foreign);
    let seen = blob_host.requests();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen.iter().all(|r| r.header("authorization").is_none()), "credentials leaked to another host: {seen:?}");
}

#[test]
fn a_blob_with_the_wrong_digest_aborts_the_pull_naming_it_and_keeps_nothing() {
    let good = layer(&[("ok", random_bytes(50_000))], Packing::Gzip);
    let bad = layer(&[("bad", random_bytes(50_000))], Packing::Gzip);
    let img = image(vec![good.clone(), bad.clone()], "amd64");
    let mut content = Content::default();
    content.add("app", "1", &img);
    // Same size, other bytes: a valid gzip stream of another tar.
    let mut tampered = layer(&[("bad", random_bytes(50_000))], Packing::Gzip).blob;
    tampered.resize(bad.blob.len(), 0);
    content.blobs.insert(format!("/v2/app/blobs/{}", bad.digest), tampered);
    let registry = anonymous_registry(content);
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let c = client(dir.path(), &registry.addr, ClientOptions::default());
    let e = pull_image(
        &store,
        &c,
        &Reference::parse(&format!("{}/app:1", registry.addr)).unwrap(),
        &PullOptions::default(),
    )
    .unwrap_err();
    assert_eq!(e.code(), "digest-mismatch", "{e}");
    assert!(e.to_string().contains(&bad.digest.to_string()), "{e}");
    assert!(store.images().unwrap().is_empty());
    assert!(!store.has_layer(&bad.diff_id) && !store.has_blob(&bad.digest));
    assert_eq!(std::fs::read_dir(store.root().join("tmp")).unwrap().count(), 0);
}

#[test]
fn a_wrong_diff_id_a_short_blob_and_a_lying_manifest_digest_are_refused() {
    let l = layer(&[("x", random_bytes(10_000))], Packing::Gzip);
    let dir = tempfile::tempdir().unwrap();

    // The config says another diff_id.
    let mut img = image(vec![l.clone()], "amd64");
    let mut config: serde_json::Value = serde_json::from_slice(&img.config).unwrap();
    config["rootfs"]["diff_ids"][0] = format!("sha256:{}", "e".repeat(64)).into();
    img.config = serde_json::to_vec(&config).unwrap();
    let old_config = img.config_digest.to_string(); // the same length: the size stays right
    img.config_digest = tscontainer_image::Digest::sha256_of(&img.config);
    let manifest =
        String::from_utf8(img.manifest.clone()).unwrap().replace(&old_config, &img.config_digest.to_string());
    img.manifest = manifest.into_bytes();
    img.manifest_digest = tscontainer_image::Digest::sha256_of(&img.manifest);
    let mut content = Content::default();
    content.add("diffid", "1", &img);
    let registry = anonymous_registry(content);
    let store = Store::open(dir.path().join("a")).unwrap();
    let c = client(dir.path(), &registry.addr, ClientOptions::default());
    let e = pull_image(
        &store,
        &c,
        &Reference::parse(&format!("{}/diffid:1", registry.addr)).unwrap(),
        &PullOptions::default(),
    )
    .unwrap_err();
    assert_eq!(e.code(), "digest-mismatch", "{e}");
    assert_eq!(
        e.to_string(),
        format!(
            "layer {} unpacks to {}, not to the diff_id sha256:{} that the image's config gives",
            l.digest,
            l.diff_id,
            "e".repeat(64)
        )
    );
    nothing_kept(&store, &img);

    // The blob is shorter than its descriptor says.
    let img = image(vec![l.clone()], "amd64");
    let mut content = Content::default();
    content.add("short", "1", &img);
    content.blobs.insert(format!("/v2/short/blobs/{}", l.digest), l.blob[..l.blob.len() - 10].to_vec());
    let registry = anonymous_registry(content);
    let store = Store::open(dir.path().join("b")).unwrap();
    let c = client(dir.path(), &registry.addr, ClientOptions::default());
    let e = pull_image(
        &store,
        &c,
        &Reference::parse(&format!("{}/short:1", registry.addr)).unwrap(),
        &PullOptions::default(),
    )
    .unwrap_err();
    assert_eq!(e.code(), "digest-mismatch", "{e}");
    nothing_kept(&store, &img);

    // The registry announces a digest the manifest does not have.
    let img = image(vec![l.clone()], "amd64");
    let manifest = img.manifest.clone();
    let registry = FakeServer::start(move |r| match r.path.as_str() {
        "/v2/" => Response::new(200, "{}"),
        "/v2/lying/manifests/1" => Response::new(200, manifest.clone())
            .header("Content-Type", common::OCI_MANIFEST)
            .header("Docker-Content-Digest", format!("sha256:{}", "a".repeat(64))),
        _ => Response::new(404, ""),
    });
    let store = Store::open(dir.path().join("c")).unwrap();
    let c = client(dir.path(), &registry.addr, ClientOptions::default());
    let e = pull_image(
        &store,
        &c,
        &Reference::parse(&format!("{}/lying:1", registry.addr)).unwrap(),
        &PullOptions::default(),
    )
    .unwrap_err();
    assert_eq!(e.code(), "digest-mismatch", "{e}");
    nothing_kept(&store, &img);
}

#[test]
fn schema1_and_oversized_manifests_are_refused_in_one_sentence() {
    let schema1 =
        br#"{"schemaVersion":1,"name":"old","tag":"1","architecture":"amd64","fsLayers":[],"history":[]}"#.to_vec();
    let huge = Arc::new(vec![b' '; (4 << 20) + 1]);
    let registry = FakeServer::start(move |r| match r.path.as_str() {
        "/v2/" => Response::new(200, "{}"),
        "/v2/old/manifests/1" => Response::new(200, schema1.clone())
            .header("Content-Type", "application/vnd.docker.distribution.manifest.v1+prettyjws"),
        "/v2/huge/manifests/1" => Response::new(200, (*huge).clone()).header("Content-Type", common::OCI_MANIFEST),
        _ => Response::new(404, ""),
    });
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let c = client(dir.path(), &registry.addr, ClientOptions::default());
    let old = Reference::parse(&format!("{}/old:1", registry.addr)).unwrap();
    let e = pull_image(&store, &c, &old, &PullOptions::default()).unwrap_err();
    assert_eq!(e.code(), "unsupported-media-type");
    assert_eq!(
        e.to_string(),
        format!("{old} is a Docker schema 1 image, which is no longer supported: push it again with a current tool")
    );
    let accept = registry.requests().into_iter().find(|r| r.path == "/v2/old/manifests/1").unwrap();
    let accept = accept.header("accept").unwrap().to_string();
    assert!(accept.starts_with("application/vnd.oci.image.index.v1+json"), "{accept}");
    assert!(accept.contains("application/vnd.docker.distribution.manifest.v2+json"), "{accept}");

    let e = pull_image(
        &store,
        &c,
        &Reference::parse(&format!("{}/huge:1", registry.addr)).unwrap(),
        &PullOptions::default(),
    )
    .unwrap_err();
    assert_eq!(e.code(), "too-large", "{e}");
}
