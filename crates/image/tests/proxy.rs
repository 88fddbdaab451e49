//! HTTP_PROXY and NO_PROXY, as podman and Docker read them. Its own test binary: the proxy
//! variables are process-wide.

mod common;

use common::{image, layer, FakeServer, Packing, Response};
use tscontainer_image::pull::PullOptions;
use tscontainer_image::registry::{pull_image, AuthFiles, ClientOptions, RegistriesConf, RegistryClient};
use tscontainer_image::{Reference, Store};

#[test]
fn pulls_through_the_proxy_unless_no_proxy_names_the_registry() {
    let img = image(vec![layer(&[("via-proxy", b"yes".to_vec())], Packing::Gzip)], "amd64");
    let served = img.clone();
    // The proxy answers for a registry whose name does not resolve: only a request through
    // it (a CONNECT tunnel, or an absolute URI) can reach it.
    let proxy = FakeServer::start(move |r| {
        let path = r.path.strip_prefix("http://registry.invalid:5000").unwrap_or(&r.path);
        let blob = |d: &tscontainer_image::Digest, bytes: &[u8]| {
            (path == format!("/v2/app/blobs/{d}")).then(|| bytes.to_vec())
        };
        if path == "/v2/" {
            return Response::new(200, "{}");
        }
        if path == "/v2/app/manifests/1" {
            return Response::new(200, served.manifest.clone()).header("Content-Type", common::OCI_MANIFEST);
        }
        if let Some(b) = blob(&served.config_digest, &served.config) {
            return Response::new(200, b);
        }
        if let Some(b) = blob(&served.layers[0].digest, &served.layers[0].blob) {
            return Response::new(200, b);
        }
        Response::new(404, "")
    });
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("registries.conf");
    std::fs::write(&conf, "[[registry]]\nlocation = \"registry.invalid:5000\"\ninsecure = true\n").unwrap();
    let client = || {
        let auth = dir.path().join("auth.json");
        RegistryClient::new(
            RegistriesConf::load_files(std::slice::from_ref(&conf)).unwrap(),
            AuthFiles::new(vec![auth.clone()], auth),
            ClientOptions::default(),
        )
    };
    let reference = Reference::parse("registry.invalid:5000/app:1").unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();

    std::env::set_var("HTTP_PROXY", proxy.url());
    std::env::remove_var("NO_PROXY");
    std::env::remove_var("no_proxy");
    pull_image(&store, &client(), &reference, &PullOptions::default()).unwrap();
    assert!(store.has_layer(&img.layers[0].diff_id));
    let seen = proxy.requests();
    assert!(seen.iter().any(|r| r.method == "CONNECT" && r.path == "registry.invalid:5000"), "{seen:?}");
    assert!(seen.iter().any(|r| r.path.ends_with("/v2/app/manifests/1")), "{seen:?}");

    let other = Store::open(dir.path().join("store2")).unwrap();
    std::env::set_var("NO_PROXY", "example.com, registry.invalid");
    let e = pull_image(&other, &client(), &reference, &PullOptions::default()).unwrap_err();
    assert_eq!(e.code(), "registry-unreachable", "{e}");
    std::env::remove_var("HTTP_PROXY");
    std::env::remove_var("NO_PROXY");
}
