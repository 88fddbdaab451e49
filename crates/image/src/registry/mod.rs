//! Registries: configuration (registries.conf, certs.d), credentials (auth.json), the HTTP
//! client, and pulling from a registry. Behind the `registry` feature.

pub mod auth;
pub mod certs;
pub mod client;
pub mod conf;
pub mod helper;

use std::io::Read;
use std::sync::Mutex;

use oci_spec::image::Descriptor;

pub use auth::{AuthFiles, Credentials, Found};
pub use client::{ClientOptions, RegistryClient, Repository};
pub use conf::{Endpoint, RegistriesConf};

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::manifest::FetchedManifest;
use crate::pull::{pull, ImageSource, PullOptions, Pulled};
use crate::reference::Reference;
use crate::store::Store;

/// Whether this process is root on the host: uid 0 in the initial user namespace. Root
/// inside a user namespace (the runtime hosting an ordinary user's pull in the user's
/// namespace, a rootless podman's) stands in for that user, whose files (certs.d, auth.json)
/// are the ones to read.
pub(crate) fn host_root() -> bool {
    nix::unistd::geteuid().is_root()
        && std::fs::read_to_string("/proc/self/uid_map").is_ok_and(|map| {
            let fields: Vec<&str> = map.split_whitespace().collect();
            fields == ["0", "0", "4294967295"]
        })
}

/// A repository on a registry as an image source. The top manifest, fetched once to choose
/// the endpoint, is not fetched again.
pub struct RegistrySource {
    repository: Repository,
    top: Mutex<Option<FetchedManifest>>,
}

impl RegistrySource {
    pub fn new(repository: Repository) -> RegistrySource {
        RegistrySource { repository, top: Mutex::new(None) }
    }
}

impl ImageSource for RegistrySource {
    fn manifest(&self, digest: Option<&Digest>) -> Result<FetchedManifest> {
        if digest.is_some() {
            return self.repository.manifest(digest);
        }
        let mut top = self.top.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(m) = top.as_ref() {
            return Ok(m.clone());
        }
        let m = self.repository.manifest(None)?;
        *top = Some(m.clone());
        Ok(m)
    }

    fn blob(&self, descriptor: &Descriptor) -> Result<Box<dyn Read + Send>> {
        self.repository.blob(descriptor)
    }
}

/// Failures after which the next mirror or search registry is tried: this place does not
/// have the image, or cannot be reached or used. Anything else (a bad image, a full disk,
/// cancellation) stops the pull.
fn try_next(e: &Error) -> bool {
    matches!(
        e,
        Error::ManifestUnknown(_)
            | Error::RegistryUnreachable { .. }
            | Error::Tls { .. }
            | Error::AuthenticationRequired { .. }
            | Error::BadCredentials { .. }
            | Error::Denied { .. }
            | Error::CredentialHelper { .. }
            | Error::RegistryStatus { .. }
            | Error::BadChallenge { .. }
    )
}

/// `pull REF`: resolves a short name through registries.conf (aliases, search registries),
/// tries each candidate's mirrors and then its location until one has the manifest, and
/// pulls from there into `store`, recording the image under the candidate's name. The error
/// of the last place tried is reported when none has it.
pub fn pull_image(
    store: &Store,
    client: &RegistryClient,
    reference: &Reference,
    options: &PullOptions,
) -> Result<Pulled> {
    let reference = reference.clone().with_default_tag();
    let mut last_error = None;
    for candidate in client.registries().candidates(&reference)? {
        for endpoint in client.registries().endpoints(&candidate)? {
            let attempt = client.repository(&endpoint.reference, endpoint.insecure).and_then(|repository| {
                let source = RegistrySource::new(repository);
                source.manifest(None)?;
                Ok(source)
            });
            match attempt {
                Ok(source) => return pull(store, &source, &candidate, options),
                Err(e) if try_next(&e) => last_error = Some(e),
                Err(e) => return Err(e),
            }
        }
    }
    Err(last_error.unwrap_or_else(|| Error::ManifestUnknown(reference.to_string())))
}
