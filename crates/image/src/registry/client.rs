//! A distribution-spec v2 client: ping `/v2/`, the Bearer token challenge (anonymous or with
//! credentials, tokens cached per scope until they expire) and Basic auth, manifests by tag or
//! digest with the Accept list of every format we read, blobs streamed (redirects followed
//! without the registry's Authorization header on another host), foreign-layer URLs.
//!
//! HTTP is ureq (blocking, no async runtime or thread of its own, rustls with ring): a pull
//! runs on the addon's worker threads, or in `tscontainer-runtime storage` (which must start
//! no thread before it enters a user namespace, and none of this does).
//!
//! Plain HTTP, and TLS without verification, only where allowed: a registry marked
//! `insecure` in registries.conf or `--tls-verify=false` (then HTTPS is tried first and HTTP
//! after it fails, as containers/image does). Like podman, and unlike Docker's daemon,
//! `localhost` and 127.0.0.0/8 are not insecure implicitly.

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use oci_spec::image::Descriptor;
use ureq::http::{Response, StatusCode};
use ureq::Body;

use super::auth::{AuthFiles, Credentials, Found};
use super::conf::RegistriesConf;
use crate::digest::Digest;
use crate::error::{BoxError, Error, Result};
use crate::manifest::{FetchedManifest, MANIFEST_ACCEPT, MANIFEST_LIMIT};
use crate::reference::{Reference, DOCKER_HUB};

/// Per-pull (or per-login) choices that override the configuration files.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// `--tls-verify`: `Some(false)` allows plain HTTP and unverified TLS for every registry,
    /// `Some(true)` forbids them even where registries.conf allows them.
    pub tls_verify: Option<bool>,
    /// `--cert-dir`: the only directory searched for CAs and client certificates.
    pub cert_dir: Option<PathBuf>,
    /// `--creds`: used instead of the auth files.
    pub credentials: Option<Credentials>,
}

pub struct RegistryClient {
    conf: RegistriesConf,
    auth: AuthFiles,
    options: ClientOptions,
    sessions: Mutex<HashMap<(String, bool), Arc<Session>>>,
}

#[derive(Debug, Clone)]
enum Challenge {
    None,
    Basic,
    Bearer { realm: String, service: Option<String> },
}

struct Session {
    host: String,
    /// `https://host` or `http://host`.
    base: String,
    agent: ureq::Agent,
    challenge: Challenge,
    credentials: Found,
    tokens: Mutex<HashMap<String, (String, Instant)>>,
}

fn api_host(domain: &str) -> &str {
    // Docker Hub's API lives on another name than its references use.
    if domain == DOCKER_HUB {
        "registry-1.docker.io"
    } else {
        domain
    }
}

/// TLS failures are their own kind: the fix (a CA in certs.d, --tls-verify=false) differs.
fn transport(registry: &str, e: ureq::Error) -> Error {
    let is_tls = match &e {
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) | ureq::Error::Pem(_) | ureq::Error::TlsRequired => true,
        ureq::Error::Io(io) => io.get_ref().is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some()),
        _ => false,
    };
    if is_tls {
        Error::Tls { registry: registry.to_string(), source: e.into() }
    } else {
        Error::RegistryUnreachable { registry: registry.to_string(), source: e.into() }
    }
}

/// `Bearer realm="...",service="...",scope="..."` (RFC 7235 auth-params, quoted or not).
fn parse_challenge(header: &str) -> Option<(String, HashMap<String, String>)> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    let mut params = HashMap::new();
    let mut s = rest.trim();
    while !s.is_empty() {
        let (key, after) = s.split_once('=')?;
        let key = key.trim().to_ascii_lowercase();
        let after = after.trim_start();
        let (value, remaining) = if let Some(quoted) = after.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, escaped)) = chars.next() {
                            value.push(escaped);
                        }
                    }
                    '"' => {
                        end = Some(i + 1);
                        break;
                    }
                    c => value.push(c),
                }
            }
            (value, &quoted[end?..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim().to_string(), &after[end..])
        };
        params.insert(key, value);
        s = remaining.trim_start().trim_start_matches(',').trim_start();
    }
    Some((scheme.to_ascii_lowercase(), params))
}

fn status_detail(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Errors {
        errors: Vec<ErrorEntry>,
    }
    #[derive(serde::Deserialize)]
    struct ErrorEntry {
        code: Option<String>,
        message: Option<String>,
    }
    let parsed: Errors = serde_json::from_slice(body).ok()?;
    let first = parsed.errors.into_iter().next()?;
    match (first.code, first.message) {
        (Some(c), Some(m)) => Some(format!("{c}: {m}")),
        (c, m) => c.or(m),
    }
}

impl RegistryClient {
    pub fn new(conf: RegistriesConf, auth: AuthFiles, options: ClientOptions) -> RegistryClient {
        RegistryClient { conf, auth, options, sessions: Mutex::new(HashMap::new()) }
    }

    /// A client configured from this process's registries.conf and auth files.
    pub fn from_env(options: ClientOptions) -> Result<RegistryClient> {
        Ok(RegistryClient::new(RegistriesConf::load()?, AuthFiles::from_env(), options))
    }

    pub fn registries(&self) -> &RegistriesConf {
        &self.conf
    }

    pub fn auth_files(&self) -> &AuthFiles {
        &self.auth
    }

    fn insecure(&self, endpoint_insecure: bool) -> bool {
        match self.options.tls_verify {
            Some(verify) => !verify,
            None => endpoint_insecure,
        }
    }

    fn agent(&self, host: &str, verify: bool, scheme: &str) -> Result<ureq::Agent> {
        let tls = super::certs::tls_config(host, self.options.cert_dir.as_deref(), verify)?;
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // Redirects are followed by `get` below, which knows whose credentials go where.
            .max_redirects(0)
            .proxy(proxy_for(scheme))
            .timeout_connect(Some(Duration::from_secs(30)))
            .timeout_recv_response(Some(Duration::from_secs(120)))
            .user_agent(concat!("tscontainer/", env!("CARGO_PKG_VERSION")))
            .tls_config(tls)
            .build();
        Ok(ureq::Agent::new_with_config(config))
    }

    /// Pings `domain`'s `/v2/` (HTTPS, then HTTP where insecure is allowed) and remembers how
    /// it authenticates.
    fn session(
        &self,
        domain: &str,
        endpoint_insecure: bool,
        credentials: Option<&Credentials>,
    ) -> Result<Arc<Session>> {
        let insecure = self.insecure(endpoint_insecure);
        let key = (domain.to_string(), insecure);
        if credentials.is_none() {
            if let Some(s) = self.sessions.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
                return Ok(s.clone());
            }
        }
        let host = api_host(domain);
        let found = match (credentials, &self.options.credentials) {
            (Some(c), _) | (None, Some(c)) => Found::Credentials(c.clone()),
            (None, None) => self.auth.lookup(domain)?,
        };
        let mut schemes = vec!["https"];
        if insecure {
            schemes.push("http");
        }
        let mut last_error = None;
        for scheme in schemes {
            let base = format!("{scheme}://{host}");
            let agent = self.agent(host, !insecure, scheme)?;
            match get(&agent, domain, &format!("{base}/v2/"), None, None) {
                Ok(response) => {
                    let challenge = match response.status() {
                        StatusCode::UNAUTHORIZED => {
                            let header =
                                response.headers().get("www-authenticate").and_then(|h| h.to_str().ok()).unwrap_or("");
                            match parse_challenge(header) {
                                Some((scheme, params)) if scheme == "bearer" => match params.get("realm") {
                                    Some(realm) => Challenge::Bearer {
                                        realm: realm.clone(),
                                        service: params.get("service").cloned(),
                                    },
                                    None => {
                                        return Err(Error::BadChallenge {
                                            registry: domain.to_string(),
                                            challenge: header.to_string(),
                                        })
                                    }
                                },
                                Some((scheme, _)) if scheme == "basic" => Challenge::Basic,
                                _ => {
                                    return Err(Error::BadChallenge {
                                        registry: domain.to_string(),
                                        challenge: header.to_string(),
                                    })
                                }
                            }
                        }
                        s if s.is_success() => Challenge::None,
                        s => {
                            return Err(Error::RegistryStatus {
                                registry: domain.to_string(),
                                what: "GET /v2/".into(),
                                status: s.as_u16(),
                                detail: None,
                            })
                        }
                    };
                    // A helper runs only for a registry that wants credentials, as it may
                    // be slow (a cloud's API) or ask the user (a locked keychain).
                    let found = match (found, &challenge) {
                        (Found::Helper(helper), Challenge::Basic | Challenge::Bearer { .. }) => {
                            match super::helper::credentials(&helper, domain)? {
                                Some(c) => Found::Credentials(c),
                                None => Found::None,
                            }
                        }
                        (found, _) => found,
                    };
                    let session = Arc::new(Session {
                        host: domain.to_string(),
                        base,
                        agent: agent.clone(),
                        challenge,
                        credentials: found,
                        tokens: Mutex::new(HashMap::new()),
                    });
                    if credentials.is_none() {
                        self.sessions.lock().unwrap_or_else(|p| p.into_inner()).insert(key, session.clone());
                    }
                    return Ok(session);
                }
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| Error::RegistryUnreachable {
            registry: domain.to_string(),
            source: "no scheme to try".into(),
        }))
    }

    /// Checks `credentials` against `registry` (`login`): they must get a token, or pass
    /// Basic auth on `/v2/`.
    pub fn check_login(&self, registry: &str, credentials: &Credentials) -> Result<()> {
        let domain = registry.split('/').next().unwrap_or(registry);
        let insecure = self.conf.is_insecure(domain);
        let session = self.session(domain, insecure, Some(credentials))?;
        match &session.challenge {
            Challenge::None => Ok(()),
            Challenge::Bearer { .. } => session.fetch_token("").map(|_| ()),
            Challenge::Basic => {
                let url = format!("{}/v2/", session.base);
                let response = get(&session.agent, domain, &url, None, Some(&basic(credentials)))?;
                match response.status() {
                    s if s.is_success() => Ok(()),
                    StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                        Err(Error::BadCredentials { registry: domain.to_string(), repository: "/v2/".into() })
                    }
                    s => Err(Error::RegistryStatus {
                        registry: domain.to_string(),
                        what: "GET /v2/".into(),
                        status: s.as_u16(),
                        detail: None,
                    }),
                }
            }
        }
    }

    /// `login`: checks the credentials, then records them as podman does.
    pub fn login(&self, registry: &str, credentials: &Credentials) -> Result<()> {
        self.check_login(registry, credentials)?;
        self.auth.store(registry, credentials)?;
        self.forget(registry);
        Ok(())
    }

    /// Drops what this client remembers of a registry's sessions, so that the next request
    /// reads the auth files again.
    fn forget(&self, registry: &str) {
        let domain = registry.split('/').next().unwrap_or(registry);
        self.sessions.lock().unwrap_or_else(|p| p.into_inner()).retain(|(d, _), _| d != domain);
    }

    /// `logout`: removes the recorded credentials.
    pub fn logout(&self, registry: &str) -> Result<()> {
        if self.auth.remove(registry)? {
            self.forget(registry);
            Ok(())
        } else {
            Err(Error::NotLoggedIn(registry.to_string()))
        }
    }

    /// A connection to the repository `reference` names, reached as `insecure` allows.
    pub fn repository(&self, reference: &Reference, insecure: bool) -> Result<Repository> {
        let session = self.session(reference.domain(), insecure, None)?;
        Ok(Repository { session, reference: reference.clone() })
    }
}

fn basic(c: &Credentials) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", c.username, c.password)))
}

/// The proxy for `scheme` as Go's `ProxyFromEnvironment` picks it, and so podman and Docker:
/// `HTTPS_PROXY` for HTTPS, `HTTP_PROXY` for HTTP (either case); hosts that `NO_PROXY` names,
/// and the loopback addresses, are reached directly.
fn proxy_for(scheme: &str) -> Option<ureq::Proxy> {
    let env = |names: [&str; 2]| names.iter().find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()));
    let url = env(if scheme == "https" { ["HTTPS_PROXY", "https_proxy"] } else { ["HTTP_PROXY", "http_proxy"] })?;
    let parsed = ureq::Proxy::new(&url).ok()?;
    let mut builder = ureq::Proxy::builder(parsed.protocol()).host(parsed.host()).port(parsed.port());
    if let Some(user) = parsed.username() {
        builder = builder.username(user);
    }
    if let Some(password) = parsed.password() {
        builder = builder.password(password);
    }
    let no_proxy = env(["NO_PROXY", "no_proxy"]).unwrap_or_default();
    for host in no_proxy.split(',').map(str::trim).filter(|h| !h.is_empty()).chain(["localhost", "127.0.0.1", "::1"]) {
        builder = builder.no_proxy(host);
    }
    builder.build().ok()
}

/// Percent-encodes a query value (RFC 3986 unreserved characters stay).
fn query_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `scheme://host[:port]` of a URL.
fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let end = url[after_scheme..].find(['/', '?', '#']).map_or(url.len(), |i| after_scheme + i);
    &url[..end]
}

/// A redirect's `Location` against the URL that answered it.
fn resolve(base: &str, location: &str) -> String {
    if location.starts_with("https://") || location.starts_with("http://") {
        location.to_string()
    } else if location.starts_with('/') {
        format!("{}{location}", origin(base))
    } else {
        let path_end = base.find(['?', '#']).unwrap_or(base.len());
        let dir = base[..path_end].rfind('/').filter(|&i| i >= origin(base).len()).map_or(base.len(), |i| i + 1);
        format!("{}{location}", &base[..dir])
    }
}

/// GET `url`, following up to 10 redirects here: `authorization` goes only to the origin
/// (scheme, host and port) it was given for, never to the storage a registry redirects a
/// blob to, nor to another port on the same host.
fn get(
    agent: &ureq::Agent,
    registry: &str,
    url: &str,
    accept: Option<&str>,
    authorization: Option<&str>,
) -> Result<Response<Body>> {
    let trusted = origin(url).to_string();
    let mut url = url.to_string();
    for _ in 0..=10 {
        let mut request = agent.get(&url);
        if let Some(accept) = accept {
            request = request.header("Accept", accept);
        }
        if let Some(authorization) = authorization.filter(|_| origin(&url) == trusted) {
            request = request.header("Authorization", authorization);
        }
        let response = request.call().map_err(|e| transport(registry, e))?;
        let location = response.headers().get("location").and_then(|l| l.to_str().ok());
        match location {
            Some(location) if response.status().is_redirection() => url = resolve(&url, location),
            _ => return Ok(response),
        }
    }
    Err(Error::Network { op: "fetch", what: url, source: "it redirects more than 10 times".into() })
}

impl Session {
    fn credentials(&self) -> Option<&Credentials> {
        match &self.credentials {
            Found::Credentials(c) => Some(c),
            _ => None,
        }
    }

    /// An access token for `scope` from the challenge's realm, with credentials when we have
    /// them. Tokens are cached per scope until shortly before they expire.
    fn fetch_token(&self, scope: &str) -> Result<String> {
        let Challenge::Bearer { realm, service } = &self.challenge else {
            return Err(Error::BadChallenge { registry: self.host.clone(), challenge: "no Bearer realm".into() });
        };
        if let Some((token, until)) = self.tokens.lock().unwrap_or_else(|p| p.into_inner()).get(scope) {
            if Instant::now() < *until {
                return Ok(token.clone());
            }
        }
        let mut url = realm.clone();
        let mut sep = if realm.contains('?') { '&' } else { '?' };
        for (key, value) in [("service", service.as_deref()), ("scope", Some(scope).filter(|s| !s.is_empty()))] {
            if let Some(value) = value {
                url = format!("{url}{sep}{key}={}", query_escape(value));
                sep = '&';
            }
        }
        let authorization = self.credentials().map(basic);
        let mut response = get(&self.agent, &self.host, &url, None, authorization.as_deref())?;
        let repository = scope.split(':').nth(1).unwrap_or("/v2/").to_string();
        match response.status() {
            s if s.is_success() => {}
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN if self.credentials().is_some() => {
                return Err(Error::BadCredentials { registry: self.host.clone(), repository })
            }
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => return Err(self.auth_required(repository)),
            s => {
                return Err(Error::RegistryStatus {
                    registry: self.host.clone(),
                    what: "the token request".into(),
                    status: s.as_u16(),
                    detail: None,
                })
            }
        }
        #[derive(serde::Deserialize)]
        struct TokenResponse {
            token: Option<String>,
            access_token: Option<String>,
            expires_in: Option<u64>,
        }
        let bytes = read_limited(response.body_mut().as_reader(), 1 << 20).map_err(|e| Error::Network {
            op: "read",
            what: format!("a token from {realm}"),
            source: e.into(),
        })?;
        let parsed: TokenResponse = serde_json::from_slice(&bytes)
            .map_err(|e| Error::InvalidContent { what: format!("the token from {realm}"), source: e.into() })?;
        let token = parsed.token.or(parsed.access_token).filter(|t| !t.is_empty()).ok_or_else(|| {
            Error::InvalidContent { what: format!("the token from {realm}"), source: "it has no token".into() }
        })?;
        // The spec's default lifetime is 60 s; keep a margin for the requests in flight.
        let lifetime = parsed.expires_in.unwrap_or(60).max(60);
        let until = Instant::now() + Duration::from_secs(lifetime.saturating_sub(10));
        self.tokens.lock().unwrap_or_else(|p| p.into_inner()).insert(scope.to_string(), (token.clone(), until));
        Ok(token)
    }

    fn auth_required(&self, repository: String) -> Error {
        Error::AuthenticationRequired { registry: self.host.clone(), repository }
    }

    /// GET `path` with the authorization this registry wants for `repository`; one retry
    /// with a fresh token when a cached one is refused.
    fn get(&self, path: &str, repository: &str, accept: Option<&str>) -> Result<Response<Body>> {
        let scope = format!("repository:{repository}:pull");
        for attempt in 0..2 {
            let authorization = match &self.challenge {
                Challenge::None => None,
                Challenge::Basic => self.credentials().map(basic),
                Challenge::Bearer { .. } => {
                    if attempt > 0 {
                        self.tokens.lock().unwrap_or_else(|p| p.into_inner()).remove(&scope);
                    }
                    Some(format!("Bearer {}", self.fetch_token(&scope)?))
                }
            };
            let url = format!("{}{path}", self.base);
            let response = get(&self.agent, &self.host, &url, accept, authorization.as_deref())?;
            match response.status() {
                StatusCode::UNAUTHORIZED if attempt == 0 && matches!(self.challenge, Challenge::Bearer { .. }) => {
                    continue
                }
                StatusCode::UNAUTHORIZED if self.credentials().is_some() => {
                    return Err(Error::BadCredentials {
                        registry: self.host.clone(),
                        repository: repository.to_string(),
                    })
                }
                StatusCode::UNAUTHORIZED => return Err(self.auth_required(repository.to_string())),
                StatusCode::FORBIDDEN => {
                    return Err(Error::Denied { registry: self.host.clone(), repository: repository.to_string() })
                }
                _ => return Ok(response),
            }
        }
        Err(self.auth_required(repository.to_string()))
    }
}

/// One repository on one registry endpoint.
pub struct Repository {
    session: Arc<Session>,
    reference: Reference,
}

fn read_limited(reader: impl Read, limit: u64) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader.take(limit + 1).read_to_end(&mut bytes)?;
    Ok(bytes)
}

impl Repository {
    pub fn reference(&self) -> &Reference {
        &self.reference
    }

    fn status_error(&self, what: String, mut response: Response<Body>) -> Error {
        let body = read_limited(response.body_mut().as_reader(), 64 << 10).unwrap_or_default();
        Error::RegistryStatus {
            registry: self.session.host.clone(),
            what,
            status: response.status().as_u16(),
            detail: status_detail(&body),
        }
    }

    /// The manifest `digest` names, or the reference's own tag or digest when `None`.
    pub fn manifest(&self, digest: Option<&Digest>) -> Result<FetchedManifest> {
        let pinned = digest.or(self.reference.digest());
        let by = match (pinned, self.reference.tag()) {
            (Some(d), _) => d.to_string(),
            (None, Some(tag)) => tag.to_string(),
            (None, None) => "latest".to_string(),
        };
        let repository = self.reference.repository();
        let path = format!("/v2/{repository}/manifests/{by}");
        let mut response = self.session.get(&path, repository, Some(&MANIFEST_ACCEPT.join(", ")))?;
        let shown = match pinned {
            Some(d) => self.reference.with_digest_only(d.clone()).to_string(),
            None => self.reference.to_string(),
        };
        match response.status() {
            s if s.is_success() => {}
            StatusCode::NOT_FOUND => return Err(Error::ManifestUnknown(shown)),
            _ => return Err(self.status_error(format!("the manifest of {shown}"), response)),
        }
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let media_type = header("content-type");
        let announced = header("docker-content-digest");
        if let Some(length) = header("content-length").and_then(|l| l.parse::<u64>().ok()) {
            if length > MANIFEST_LIMIT {
                return Err(Error::TooLarge { what: format!("the manifest of {shown}"), limit: MANIFEST_LIMIT });
            }
        }
        let bytes = read_limited(response.body_mut().as_reader(), MANIFEST_LIMIT).map_err(|e| Error::Network {
            op: "read",
            what: format!("the manifest of {shown}"),
            source: e.into(),
        })?;
        if bytes.len() as u64 > MANIFEST_LIMIT {
            return Err(Error::TooLarge { what: format!("the manifest of {shown}"), limit: MANIFEST_LIMIT });
        }
        let what = format!("the manifest of {shown}");
        let expected = match (pinned, announced.as_deref()) {
            (Some(d), _) => Some(d.clone()),
            (None, Some(a)) => Some(a.parse::<Digest>().map_err(|e| Error::InvalidContent {
                what: format!("the Docker-Content-Digest of {shown}"),
                source: e.into(),
            })?),
            (None, None) => None,
        };
        let digest = match expected {
            Some(expected) => {
                let actual = Digest::of(expected.algorithm(), &bytes);
                if actual != expected {
                    return Err(Error::DigestMismatch { what, expected, actual });
                }
                expected
            }
            None => Digest::sha256_of(&bytes),
        };
        Ok(FetchedManifest { bytes, media_type, digest })
    }

    /// A blob's content as a stream (not verified here: the caller hashes what it reads).
    /// A layer with `urls` (a foreign layer) is fetched from them first, without the
    /// registry's credentials, then from the registry.
    pub fn blob(&self, descriptor: &Descriptor) -> Result<Box<dyn Read + Send>> {
        let digest = Digest::try_from(descriptor.digest())?;
        let mut foreign_error = None;
        for url in descriptor.urls().iter().flatten() {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                continue;
            }
            match get(&self.session.agent, &self.session.host, url, None, None) {
                Ok(response) if response.status().is_success() => {
                    return Ok(Box::new(response.into_body().into_reader()))
                }
                Ok(response) => foreign_error = Some(format!("{url} answered {}", response.status().as_u16())),
                Err(e) => foreign_error = Some(format!("{url}: {e}")),
            }
        }
        let repository = self.reference.repository();
        let response = self.session.get(&format!("/v2/{repository}/blobs/{digest}"), repository, None)?;
        match response.status() {
            s if s.is_success() => Ok(Box::new(response.into_body().into_reader())),
            StatusCode::NOT_FOUND => match foreign_error {
                Some(e) => Err(Error::Network {
                    op: "fetch",
                    what: format!("foreign layer {digest}"),
                    source: BoxError::from(e),
                }),
                None => Err(Error::BlobUnknown { repository: self.reference.name(), digest }),
            },
            _ => Err(self.status_error(format!("blob {digest}"), response)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bearer_and_basic_challenges() {
        let (scheme, p) = parse_challenge(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/debian:pull""#,
        )
        .unwrap();
        assert_eq!(scheme, "bearer");
        assert_eq!(p["realm"], "https://auth.docker.io/token");
        assert_eq!(p["service"], "registry.docker.io");
        assert_eq!(p["scope"], "repository:library/debian:pull");
        let (scheme, p) = parse_challenge(r#"Basic realm="Registry Realm""#).unwrap();
        assert_eq!((scheme.as_str(), p["realm"].as_str()), ("basic", "Registry Realm"));
        let (_, p) = parse_challenge(r#"Bearer realm=http://x/t, service=svc, error="insufficient_scope""#).unwrap();
        assert_eq!(
            (p["realm"].as_str(), p["service"].as_str(), p["error"].as_str()),
            ("http://x/t", "svc", "insufficient_scope")
        );
        let (_, p) = parse_challenge(r#"Bearer realm="a\"b""#).unwrap();
        assert_eq!(p["realm"], "a\"b");
        assert!(parse_challenge(r#"Bearer realm="unterminated"#).is_none());
    }

    #[test]
    fn registry_error_bodies_become_details() {
        let body = br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{}}]}"#;
        assert_eq!(status_detail(body).as_deref(), Some("MANIFEST_UNKNOWN: manifest unknown"));
        assert_eq!(status_detail(b"<html>"), None);
    }

    #[test]
    fn redirects_resolve_against_the_url_that_answered() {
        assert_eq!(origin("https://r.io:5000/v2/x?y=1"), "https://r.io:5000");
        assert_eq!(origin("http://[::1]:5000"), "http://[::1]:5000");
        assert_eq!(resolve("https://r.io/v2/a/blobs/x", "https://s3.example/b?sig=1"), "https://s3.example/b?sig=1");
        assert_eq!(resolve("https://r.io/v2/a/blobs/x", "/storage/b"), "https://r.io/storage/b");
        assert_eq!(resolve("https://r.io/v2/a/blobs/x?q=1", "y"), "https://r.io/v2/a/blobs/y");
        assert_eq!(query_escape("repository:a/b:pull"), "repository%3Aa%2Fb%3Apull");
    }

    #[test]
    fn docker_hub_is_reached_at_its_api_host() {
        assert_eq!(api_host("docker.io"), "registry-1.docker.io");
        assert_eq!(api_host("127.0.0.1:5000"), "127.0.0.1:5000");
    }
}
