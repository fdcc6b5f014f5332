//! The provider output model: frontends, backends and servers as a provider sees them.
//!
//! Every provider (file, docker) produces one whole [`ProviderConfig`] per change and sends it to
//! the aggregator. The shapes and field names follow Traefik 1.x's JSON API, so the dashboard
//! can serialise them as they are.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

/// A provider's frontends or backends by name: a persistent map, so that a snapshot which
/// changes one item shares the rest with the previous snapshot, and comparing or diffing the
/// two (`imbl::OrdMap::diff`) costs what changed, not what is there.
pub type Items<T> = imbl::OrdMap<String, Arc<T>>;

/// Everything one provider currently declares, plus the errors it found while translating.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProviderConfig {
    pub frontends: Items<Frontend>,
    pub backends: Items<Backend>,
    /// Traefik 2.x/3.x routers, services and middlewares, lowered into frontends and backends
    /// by the aggregator.
    #[serde(skip_serializing_if = "crate::http::HttpConfig::is_empty")]
    pub http: crate::http::HttpConfig,
    /// Traefik 2.x/3.x TCP routers, services and middlewares.
    #[serde(skip_serializing_if = "crate::tcp::TcpConfig::is_empty")]
    pub tcp: crate::tcp::TcpConfig,
    /// Traefik 2.x/3.x UDP routers and services.
    #[serde(skip_serializing_if = "crate::tcp::UdpConfig::is_empty")]
    pub udp: crate::tcp::UdpConfig,
    /// Certificates a 2.x/3.x dynamic file declares (`tls.certificates`, the default store's
    /// `defaultCertificate`), served by every TLS entrypoint by SNI.
    #[serde(skip_serializing_if = "TlsSection::is_empty")]
    pub tls: TlsSection,
    /// Problems found in the provider's input (a bad label, an unknown key, a bad URL).
    /// The affected frontend or server is left out; everything else is kept.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProviderError>,
    /// Input portier reads but does not act on yet (a Traefik label or key it does not
    /// implement, an unknown key): everything else is served, and the operator sees these in
    /// the API, on the dashboard and in `portier check`. Never a protection (see `unenforced`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<ProviderError>,
}

/// `tls` of a dynamic configuration: certificates as PEM text, read by the provider.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsSection {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<TlsCertificate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_certificate: Option<TlsCertificate>,
    /// `tls.options.NAME`: `default` sets every TLS entrypoint's settings while it is
    /// defined; routers name the others (`tls.options`), chosen by the client's SNI.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, TlsOptions>,
}

impl TlsSection {
    pub fn is_empty(&self) -> bool {
        self.certificates.is_empty()
            && self.default_certificate.is_none()
            && self.options.is_empty()
    }
}

/// A TLS options set, checked when read: versions, rustls suite names, key-exchange groups,
/// client authentication with its CAs' PEM, SNI strictness, ALPN protocols.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsOptions {
    /// Where it is declared (`dynamic.yml:12:5`).
    pub source: String,
    /// TLS 1.3 only (`minVersion: VersionTLS13`); else 1.2 and 1.3.
    pub tls13_only: bool,
    /// TLS 1.2 only (`maxVersion: VersionTLS12`).
    pub tls12_only: bool,
    /// rustls suite names to offer (empty: rustls' defaults).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cipher_suites: Vec<String>,
    /// rustls key-exchange group names (`x25519`, `secp256r1`, `secp384r1`), in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub curves: Vec<String>,
    /// The client CAs' PEM (never shown) and whether a certificate is optional.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_auth: Option<TlsClientAuth>,
    pub sni_strict: bool,
    /// `alpnProtocols` (empty: `h2`, `http/1.1`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alpn_protocols: Vec<String>,
}

/// `clientAuth`: the CAs a client certificate must chain to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsClientAuth {
    #[serde(skip)]
    pub ca_pem: Vec<String>,
    /// `VerifyClientCertIfGiven`: a client may connect without one.
    pub optional: bool,
}

/// One certificate and its key, and where it was declared (`dynamic.yml:4:7`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsCertificate {
    pub source: String,
    #[serde(skip)]
    pub cert_pem: String,
    /// Never shown.
    #[serde(skip)]
    pub key_pem: String,
}

/// A routing entry: rules that select requests and the backend that serves them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Frontend {
    /// Where it is defined (`rules.toml:12:1`), for errors found when compiling it; `None`
    /// when it comes from labels.
    #[serde(skip)]
    pub source: Option<String>,
    /// Entrypoints this frontend is attached to; empty means `defaultEntryPoints`.
    pub entry_points: Vec<String>,
    pub backend: String,
    /// Routes are AND-ed: a request must match every one of them.
    pub routes: BTreeMap<String, Route>,
    pub pass_host_header: bool,
    /// Explicit priority; 0 means "the length of the rules".
    pub priority: i64,
    /// Send this frontend's requests to another entrypoint (e.g. http → https).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect: Option<FrontendRedirect>,
    /// Allowlist, headers, auth and rate limit, compiled once per table.
    #[serde(flatten)]
    pub middlewares: crate::middleware::FrontendMiddlewares,
    /// `errors.NAME`: answers whose status is in a page's ranges get that page's body,
    /// fetched from another backend.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub errors: BTreeMap<String, ErrorPage>,
    /// The grammar of its routes' rules: 1.x for frontends, 2.x or 3.x for lowered routers.
    #[serde(skip_serializing_if = "is_v1")]
    pub rule_syntax: crate::rules::Syntax,
    /// A lowered router's path middlewares, in its order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub path_rewrites: Vec<crate::rules::PathRewrite>,
    /// A lowered router's `compress` middleware: gzip or brotli for clients that accept it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compress: Option<crate::middleware::Compress>,
    /// A lowered router's `grpcWeb` middleware: its allowed origins (`*` for any).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grpc_web: Option<Vec<String>>,
    /// A lowered router's `contentType` middleware: a `Content-Type` sniffed from the body
    /// of answers that have none.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub content_type: bool,
    /// A lowered router's `retry.attempts`, instead of `[retry] attempts`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_attempts: Option<u32>,
    /// A lowered router's `retry.initialInterval`: the first wait between attempts (the
    /// waits grow to twice it by the last attempt, as Traefik's backoff).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_opt_duration"
    )]
    pub retry_interval: Option<std::time::Duration>,
    /// A lowered router's `tls.domains` for ACME to order, beside its rule's hosts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tls_domains: Vec<String>,
    /// A lowered router's `tls.certResolver`, when that resolver exists: it orders the
    /// certificates of the router's hosts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_resolver: Option<String>,
    /// A lowered router's `tls.options` set (`name@provider`; `None`: the default set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_options: Option<String>,
    /// A lowered router whose service is portier's own (`api@internal`, `noop@internal`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub internal: Option<InternalService>,
    /// Protections asked for that portier does not enforce yet, each naming where it was asked
    /// (`label traefik.frontend.auth.basic.users`). Non-empty: the frontend answers 503 to
    /// every request, so it is never served without them (and no lower route takes its traffic).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unenforced: Vec<String>,
}

fn is_v1(s: &crate::rules::Syntax) -> bool {
    *s == crate::rules::Syntax::V1
}

/// A service portier provides itself, as Traefik's `@internal` ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InternalService {
    /// `api@internal`: the API and dashboard.
    Api,
    /// `noop@internal`: 418, for routers whose middlewares answer (redirects).
    Noop,
    /// `ping@internal`: `OK` (503 while draining), as `/ping`.
    Ping,
    /// `prometheus@internal`: the metrics, as `/metrics`.
    Prometheus,
}

impl InternalService {
    /// `api@internal` → `Api`.
    pub fn parse(reference: &str) -> Option<InternalService> {
        match reference {
            "api@internal" => Some(InternalService::Api),
            "noop@internal" => Some(InternalService::Noop),
            "ping@internal" => Some(InternalService::Ping),
            "prometheus@internal" => Some(InternalService::Prometheus),
            _ => None,
        }
    }
}

/// A custom error page: for an answer whose status is in `status` (`500-599`, `404`), the body
/// (and headers) of `GET query` on `backend` (`{status}` in `query` becomes the status), with
/// the original status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ErrorPage {
    pub status: Vec<String>,
    /// The backend's name as the provider names it (`backend-error` for a Docker label
    /// `…backend=error`).
    pub backend: String,
    pub query: String,
}

/// Why a status range of an error page cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a status code or range (404, 500-599)")]
pub struct StatusRangeError(pub String);

impl ErrorPage {
    /// The status ranges, inclusive, as Traefik reads them (`404` is `404-404`).
    pub fn ranges(&self) -> Result<Vec<(u16, u16)>, StatusRangeError> {
        self.status
            .iter()
            .map(|block| {
                let bad = || StatusRangeError(block.clone());
                let code = |s: &str| {
                    s.trim()
                        .parse::<u16>()
                        .ok()
                        .filter(|c| (100..=999).contains(c))
                };
                let (lo, hi) = block.split_once('-').unwrap_or((block, block));
                match (code(lo), code(hi)) {
                    (Some(lo), Some(hi)) if lo <= hi => Ok((lo, hi)),
                    _ => Err(bad()),
                }
            })
            .collect()
    }

    /// The page's path for `status`: `/` + the query without its leading `/`, `{status}`
    /// replaced (Traefik's rule); `/` when there is no query.
    pub fn path(&self, status: u16) -> String {
        format!(
            "/{}",
            self.query
                .trim_start_matches('/')
                .replace("{status}", &status.to_string())
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
/// `redirect` as the provider read it (Traefik's shape): an entrypoint, or a regex and its
/// replacement; compiled into a `redirect::Redirect` with the table.
#[serde(rename_all = "camelCase")]
pub struct FrontendRedirect {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub entry_point: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub regex: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub replacement: String,
    pub permanent: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Route {
    pub rule: String,
}

/// A set of servers balanced by one load-balancing method.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Backend {
    /// Where it is defined (`rules.toml:12:1`), for errors found when compiling it; `None`
    /// when it comes from labels.
    #[serde(skip)]
    pub source: Option<String>,
    pub servers: BTreeMap<String, Server>,
    pub load_balancer: LoadBalancer,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
    /// `maxconn`: requests in flight per key, beyond which clients get 429.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_conn: Option<crate::middleware::MaxConn>,
    /// `responseForwarding.flushInterval`: how often a streamed answer is flushed at the
    /// latest. portier sends each chunk as it arrives, which meets any interval.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_opt_duration"
    )]
    pub flush_interval: Option<std::time::Duration>,
    /// `buffering`: request and response bodies read whole, with size limits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buffering: Option<crate::middleware::Buffering>,
    /// `circuitBreaker.expression`: when it holds, the backend is given a rest (503).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub circuit_breaker: Option<CircuitBreaker>,
    /// Protections asked for at backend level (connection limit, body limits) that portier does
    /// not enforce yet: every frontend of this backend answers 503.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unenforced: Vec<String>,
    /// Servers its provider keeps out of rotation (a paused container, one whose Docker
    /// health check is starting or failing, one stopping): shown, never sent traffic. Not in
    /// Traefik's shape; the API lists them beside `servers`.
    #[serde(skip)]
    pub held: BTreeMap<String, HeldServer>,
    /// Servers that do not take requests in turn with the others (a 2.x/3.x failover's
    /// fallback, a mirroring's mirrors); `None` for most backends.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<Box<ServerRoles>>,
}

impl Backend {
    /// The health check that probes server `name`: its role's, else the backend's.
    pub fn health_check_of(&self, name: &str) -> Option<&HealthCheck> {
        let Some(roles) = &self.roles else {
            return self.health_check.as_ref();
        };
        match roles.of.get(name) {
            None => self.health_check.as_ref(),
            Some(ServerRole::Fallback) => roles.fallback_health_check.as_ref(),
            Some(ServerRole::Mirror(i)) => roles.mirrors.get(*i)?.health_check.as_ref(),
        }
    }
}

/// What the servers of a 2.x/3.x `failover` or `mirroring` service are for; a server not
/// named in `of` is a main one (balanced as usual).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerRoles {
    pub of: BTreeMap<String, ServerRole>,
    /// The fallback service's health check (the main servers use the backend's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback_health_check: Option<HealthCheck>,
    /// `ServerRole::Mirror(i)` is `mirrors[i]`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mirrors: Vec<Mirror>,
    pub mirror_body: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_body_size: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ServerRole {
    /// Takes requests only while no main server is up.
    Fallback,
    /// Gets copies of a share of requests (the mirror's index).
    Mirror(usize),
}

/// One mirror: the service it was, the share of requests it is sent, its health check.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Mirror {
    pub service: String,
    pub percent: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
}

/// A server out of rotation by its provider's word, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeldServer {
    /// Where it would be reached, when its address can be told.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub state: HoldState,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<ServerOrigin>,
}

/// Why a provider holds a server out of rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HoldState {
    Paused,
    Starting,
    Unhealthy,
    Stopping,
}

impl HoldState {
    pub fn as_str(self) -> &'static str {
        match self {
            HoldState::Paused => "paused",
            HoldState::Starting => "starting",
            HoldState::Unhealthy => "unhealthy",
            HoldState::Stopping => "stopping",
        }
    }
}

/// An active health check: `GET path` on every server each `interval`; a status in
/// [200, 400) keeps the server in rotation, anything else takes it out until a check passes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheck {
    pub path: String,
    #[serde(serialize_with = "serialize_duration")]
    pub interval: std::time::Duration,
    /// Port to probe instead of the server's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Host header of the probe, instead of the server's address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Traefik 2.x/3.x's further options.
    #[serde(flatten)]
    pub options: HealthCheckOptions,
}

/// A health check's options beyond Traefik 1.7's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheckOptions {
    /// The longest wait for an answer (`None`: 5 s, or the interval when shorter).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_opt_duration"
    )]
    pub timeout: Option<std::time::Duration>,
    /// `http` or `https`, instead of the server's scheme.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    /// `GET` (the default) or another method, `HEAD` most often.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The one status that means healthy (`None`: any of 200–399).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// `followRedirects: false`: a redirect is the answer (by default it is followed).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub no_follow_redirects: bool,
    /// How often an unhealthy server is probed (`None`: the interval).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_opt_duration"
    )]
    pub unhealthy_interval: Option<std::time::Duration>,
}

/// `[healthcheck] interval`: how often servers are probed when a backend sets none.
pub const DEFAULT_HEALTHCHECK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);

pub(crate) fn serialize_duration<S: serde::Serializer>(
    d: &std::time::Duration,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::duration::format_duration(*d))
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Server {
    /// `scheme://host:port`, e.g. `http://172.17.0.3:80`.
    pub url: String,
    pub weight: i64,
    /// What the server is, for the operator (`None` for a server written in a file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<ServerOrigin>,
}

/// A server's source: a container, a swarm task (on a node), or a swarm service's virtual IP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerOrigin {
    pub kind: OriginKind,
    /// The container's name, the task's (`web.2`) or the service's.
    pub name: String,
    /// The swarm node a task runs on (its hostname).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OriginKind {
    Container,
    Task,
    Service,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoadBalancer {
    /// `wrr` (the only method so far; `drr` is accepted and balanced as `wrr`).
    pub method: String,
    /// Sticky sessions: a cookie names the server that answered first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stickiness: Option<Stickiness>,
}

impl Default for LoadBalancer {
    fn default() -> Self {
        LoadBalancer {
            method: "wrr".to_string(),
            stickiness: None,
        }
    }
}

pub(crate) fn serialize_opt_duration<S: serde::Serializer>(
    d: &Option<std::time::Duration>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_str(&crate::duration::format_duration(*d)),
        None => s.serialize_none(),
    }
}

/// `circuitBreaker`: Traefik's expression (`NetworkErrorRatio() > 0.5`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CircuitBreaker {
    pub expression: String,
    /// Traefik 2.x/3.x's periods and status.
    #[serde(flatten)]
    pub options: BreakerOptions,
}

/// `checkPeriod` (100 ms), `fallbackDuration` (10 s), `recoveryDuration` (10 s) and
/// `responseCode` (503) of a 2.x/3.x circuit breaker; `None`: Traefik's default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BreakerOptions {
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_opt_duration"
    )]
    pub check_period: Option<std::time::Duration>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_opt_duration"
    )]
    pub fallback_duration: Option<std::time::Duration>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_opt_duration"
    )]
    pub recovery_duration: Option<std::time::Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_code: Option<u16>,
}

/// `loadBalancer.stickiness`: the cookie's name (empty: Traefik's name derived from the
/// backend's) and its attributes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stickiness {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cookie_name: String,
    pub secure: bool,
    pub http_only: bool,
    /// `none`, `lax` or `strict` (any case); anything else sets no `SameSite`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub same_site: String,
    /// `Path` (`None`: `/`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// `Max-Age` in seconds (0: a session cookie; negative: `Max-Age=0`, as Go writes it).
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub max_age: i64,
}

fn is_zero_i64(n: &i64) -> bool {
    *n == 0
}

/// The deprecated `loadBalancer.sticky = true` without a `stickiness` table: Traefik's cookie.
pub const DEPRECATED_STICKY_COOKIE: &str = "_TRAEFIK_BACKEND";

/// A problem in a provider's input, named precisely enough to fix it: where (a container and
/// label, a file position, a compiled item) and what. Shown as `WHERE: WHAT`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// `container web-1 label traefik.port: value "x": not a port number (1-65535)`.
    #[error("container {container} label {label}: {message}")]
    Label {
        container: String,
        label: String,
        message: String,
    },
    /// `service whoami label traefik.port: required in swarm mode; service left out`.
    #[error("service {service} label {label}: {message}")]
    ServiceLabel {
        service: String,
        label: String,
        message: String,
    },
    /// `container web-1: has no IP address on any network; container left out`.
    #[error("container {container}: {message}")]
    Container { container: String, message: String },
    /// `file rules.toml:12:9 frontend f1 route r: rule "Hots:x": unknown matcher …`.
    #[error("file {}:{line}:{column} {item}: {message}", path.display())]
    FileAt {
        path: PathBuf,
        line: usize,
        column: usize,
        item: String,
        message: String,
    },
    /// `file rules.toml frontend f1: backend is required; frontend left out`, or the whole
    /// file when `item` is empty.
    #[error("file {}{}{item}: {message}", path.display(), if item.is_empty() { "" } else { " " })]
    File {
        path: PathBuf,
        item: String,
        message: String,
    },
    /// Found when compiling a provider's snapshot: `docker frontend f1: undefined backend "b"`,
    /// or with where the item is written: `file rules.toml:12:1 frontend f1: …`.
    #[error("{provider}{} {item}: {message}", .at.as_ref().map(|a| format!(" {a}")).unwrap_or_default())]
    Compile {
        provider: String,
        /// `rules.toml:12:1`, for items of the file provider.
        at: Option<String>,
        item: String,
        message: String,
    },
}

impl ProviderError {
    /// Where the problem is, as the API's `source` shows it.
    pub fn place(&self) -> String {
        let text = self.to_string();
        let message = self.message();
        text.strip_suffix(message)
            .and_then(|t| t.strip_suffix(": "))
            .unwrap_or(&text)
            .to_string()
    }

    /// What is wrong.
    pub fn message(&self) -> &str {
        match self {
            ProviderError::Label { message, .. }
            | ProviderError::ServiceLabel { message, .. }
            | ProviderError::Container { message, .. }
            | ProviderError::FileAt { message, .. }
            | ProviderError::File { message, .. }
            | ProviderError::Compile { message, .. } => message,
        }
    }

    /// Whether compiling `provider`'s snapshot found this (rather than the provider itself).
    pub fn is_compile_error_of(&self, provider: &str) -> bool {
        matches!(self, ProviderError::Compile { provider: p, .. } if p == provider)
    }
}

/// The API's shape: `{"source": WHERE, "message": WHAT}`.
impl Serialize for ProviderError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("ProviderError", 2)?;
        st.serialize_field("source", &self.place())?;
        st.serialize_field("message", self.message())?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_read_where_then_what_and_serialise_as_the_api_shows_them() {
        let cases = [
            (
                ProviderError::Label {
                    container: "web-1".into(),
                    label: "traefik.port".into(),
                    message: "value \"x\": not a port number".into(),
                },
                "container web-1 label traefik.port",
            ),
            (
                ProviderError::ServiceLabel {
                    service: "whoami".into(),
                    label: "traefik.port".into(),
                    message: "required in swarm mode".into(),
                },
                "service whoami label traefik.port",
            ),
            (
                ProviderError::Container {
                    container: "web-1".into(),
                    message: "has no IP address".into(),
                },
                "container web-1",
            ),
            (
                ProviderError::FileAt {
                    path: "rules.toml".into(),
                    line: 12,
                    column: 9,
                    item: "frontend f route r".into(),
                    message: "rule: bad".into(),
                },
                "file rules.toml:12:9 frontend f route r",
            ),
            (
                ProviderError::File {
                    path: "rules.toml".into(),
                    item: String::new(),
                    message: "cannot read".into(),
                },
                "file rules.toml",
            ),
            (
                ProviderError::Compile {
                    provider: "docker".into(),
                    at: None,
                    item: "frontend f".into(),
                    message: "undefined backend".into(),
                },
                "docker frontend f",
            ),
        ];
        for (e, place) in cases {
            assert_eq!(e.place(), place);
            assert_eq!(e.to_string(), format!("{place}: {}", e.message()));
            let json = serde_json::to_value(&e).expect("serialises");
            assert_eq!(json["source"], place);
            assert_eq!(json["message"], e.message());
        }
    }

    #[test]
    fn error_page_ranges_and_paths_follow_traefik() {
        let page = ErrorPage {
            status: vec!["500-599".into(), "404".into()],
            backend: "backend-error".into(),
            query: "{status}.html".into(),
        };
        assert_eq!(page.ranges(), Ok(vec![(500, 599), (404, 404)]));
        assert_eq!(page.path(503), "/503.html");
        for bad in ["5xx", "599-500", "", "1000"] {
            let p = ErrorPage {
                status: vec![bad.into()],
                ..ErrorPage::default()
            };
            assert_eq!(p.ranges(), Err(StatusRangeError(bad.into())), "{bad}");
        }
        assert_eq!(ErrorPage::default().path(500), "/");
    }
}
