//! The traefik.toml file as written: serde structs mirroring Traefik 1.x keys (camelCase).
//!
//! Every field is optional so that "absent" and "set" stay distinguishable when command-line
//! flags are layered on top; `crate::resolve` turns this into the checked [`super::Config`].

use std::collections::BTreeMap;

use serde::Deserialize;

use super::address::ListenAddress;
use model::duration::GoDuration;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileConfig {
    pub default_entry_points: Option<Vec<String>>,
    pub entry_points: Option<BTreeMap<String, EntryPointToml>>,
    /// Pre-1.0 global listen address; becomes the `http` entrypoint when no `[entryPoints]`.
    pub port: Option<ListenAddress>,
    pub log_level: Option<LogLevelToml>,
    pub debug: Option<bool>,
    pub web: Option<WebToml>,
    pub api: Option<ApiToml>,
    pub docker: Option<DockerToml>,
    pub file: Option<FileProviderToml>,
    pub responding_timeouts: Option<RespondingTimeoutsToml>,
    pub forwarding_timeouts: Option<ForwardingTimeoutsToml>,
    pub access_log: Option<AccessLogToml>,
    /// Deprecated spelling of `[accessLog] filePath`.
    pub access_logs_file: Option<String>,
    pub traefik_log: Option<TraefikLogToml>,
    pub max_idle_conns_per_host: Option<usize>,
    /// Requests in flight to one server at most (0: no limit); more wait for a free slot.
    pub max_conns_per_host: Option<usize>,
    /// Accept any certificate from `https://` servers.
    pub insecure_skip_verify: Option<bool>,
    /// Extra CAs (files or PEM) for `https://` servers.
    #[serde(rename = "rootCAs")]
    pub root_cas: Option<Vec<String>>,
    /// Global tag constraints (`["tag==api"]`), applied to the Docker provider.
    pub constraints: Option<Vec<String>>,
    pub life_cycle: Option<LifeCycleToml>,
    pub retry: Option<RetryToml>,
    pub acme: Option<AcmeToml>,
    /// Dynamic configuration read by `[file]` when it has no `filename`.
    pub frontends: Option<BTreeMap<String, FrontendToml>>,
    pub backends: Option<BTreeMap<String, BackendToml>>,
    /// Accepted for compatibility; portier never calls home.
    pub check_new_version: Option<bool>,
    pub send_anonymous_usage: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LogLevelToml {
    #[serde(alias = "debug", alias = "Debug")]
    Debug,
    #[serde(alias = "info", alias = "Info")]
    Info,
    #[serde(alias = "warn", alias = "Warn", alias = "WARNING", alias = "warning")]
    Warn,
    #[serde(alias = "error", alias = "Error")]
    Error,
    #[serde(alias = "fatal", alias = "Fatal")]
    Fatal,
    #[serde(alias = "panic", alias = "Panic")]
    Panic,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntryPointToml {
    pub address: Option<ListenAddress>,
    /// Open client connections at most; more wait in the listen backlog.
    pub max_connections: Option<usize>,
    pub tls: Option<TlsToml>,
    pub redirect: Option<RedirectToml>,
    pub forwarded_headers: Option<ForwardedHeadersToml>,
    /// gzip (or brotli) responses for clients that accept it.
    pub compress: Option<bool>,
    pub proxy_protocol: Option<ForwardedHeadersToml>,
    /// `[entryPoints.X.auth]` (basic or digest), read by `middlewares`.
    pub auth: Option<toml::Spanned<toml::Value>>,
    #[serde(rename = "whiteList", alias = "whitelist")]
    pub white_list: Option<toml::Spanned<toml::Value>>,
    #[serde(rename = "whitelistSourceRange", alias = "whiteListSourceRange")]
    pub whitelist_source_range: Option<toml::Spanned<toml::Value>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsToml {
    /// `VersionTLS12` (default) or `VersionTLS13`; 1.0 and 1.1 are never offered.
    pub min_version: Option<String>,
    pub certificates: Option<Vec<CertificateToml>>,
    pub default_certificate: Option<CertificateToml>,
    pub sni_strict: Option<bool>,
    /// Accepted for compatibility; rustls' safe defaults are always used.
    pub cipher_suites: Option<Vec<String>>,
    /// Client certificates (mTLS): the CAs that sign them, and whether one is required.
    #[serde(rename = "clientCA")]
    pub client_ca: Option<ClientCaToml>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ClientCaToml {
    /// Paths or inline PEM.
    pub files: Option<Vec<String>>,
    /// `true`: a client without a certificate is served too (one that shows a bad
    /// certificate never is).
    pub optional: Option<bool>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateToml {
    /// A path, or the PEM itself.
    pub cert_file: String,
    pub key_file: String,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RedirectToml {
    pub entry_point: Option<String>,
    pub permanent: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ForwardedHeadersToml {
    pub insecure: Option<bool>,
    #[serde(rename = "trustedIPs")]
    pub trusted_ips: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebToml {
    pub address: Option<ListenAddress>,
    pub read_only: Option<bool>,
    pub path: Option<String>,
    /// `["user:htpasswd-hash"]`: basic auth for the dashboard and API (not `/ping`).
    pub users: Option<Vec<String>>,
    pub users_file: Option<String>,
    /// Traefik 1.x spelling: `[web.auth.basic] users = [...]`.
    pub auth: Option<WebAuthToml>,
}

#[derive(Debug, Default, Deserialize)]
pub struct WebAuthToml {
    pub basic: Option<BasicAuthToml>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BasicAuthToml {
    pub users: Option<Vec<String>>,
    pub users_file: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiToml {
    pub entry_point: Option<String>,
    pub dashboard: Option<bool>,
    pub debug: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DockerToml {
    pub endpoint: Option<String>,
    pub domain: Option<String>,
    pub watch: Option<bool>,
    pub exposed_by_default: Option<bool>,
    pub network: Option<String>,
    #[serde(alias = "swarmmode")]
    pub swarm_mode: Option<bool>,
    pub use_bind_port_ip: Option<bool>,
    pub constraints: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileProviderToml {
    pub filename: Option<String>,
    pub directory: Option<String>,
    pub watch: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RespondingTimeoutsToml {
    pub read_header_timeout: Option<GoDuration>,
    pub read_timeout: Option<GoDuration>,
    pub write_timeout: Option<GoDuration>,
    pub idle_timeout: Option<GoDuration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ForwardingTimeoutsToml {
    pub dial_timeout: Option<GoDuration>,
    pub response_header_timeout: Option<GoDuration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessLogToml {
    pub file_path: Option<String>,
    pub format: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TraefikLogToml {
    pub file_path: Option<String>,
    pub format: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AcmeToml {
    pub email: Option<String>,
    pub storage: Option<String>,
    pub entry_point: Option<String>,
    pub on_host_rule: Option<bool>,
    pub ca_server: Option<String>,
    pub domains: Option<Vec<AcmeDomainToml>>,
    /// TLS-ALPN-01 is the challenge portier answers; the section is accepted as Traefik writes it.
    pub tls_challenge: Option<toml::Table>,
    pub acme_logging: Option<bool>,
    pub key_type: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct AcmeDomainToml {
    pub main: String,
    pub sans: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RetryToml {
    /// Tries per request in all, the first included.
    pub attempts: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LifeCycleToml {
    pub grace_time_out: Option<GoDuration>,
    pub request_accept_grace_timeout: Option<GoDuration>,
}

/// The dynamic part of a config file: `[frontends]` and `[backends]`.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct DynamicToml {
    pub frontends: Option<BTreeMap<String, FrontendToml>>,
    pub backends: Option<BTreeMap<String, BackendToml>>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FrontendToml {
    pub backend: Option<String>,
    pub entry_points: Option<Vec<String>>,
    pub pass_host_header: Option<bool>,
    pub priority: Option<i64>,
    pub routes: Option<BTreeMap<String, RouteToml>>,
    pub redirect: Option<RedirectToml>,
    pub errors: Option<BTreeMap<String, ErrorPageToml>>,
    /// Deprecated: `passTLSClientCert.pem`.
    #[serde(rename = "passTLSCert", alias = "passtlscert")]
    pub pass_tls_cert: Option<bool>,
    #[serde(rename = "passTLSClientCert", alias = "passtlsclientcert")]
    pub pass_tls_client_cert: Option<toml::Spanned<toml::Value>>,
    // Protections portier does not enforce yet: kept as raw values with their position, read
    // only to refuse the frontend (503) with an error there, never to serve it without them.
    pub auth: Option<toml::Spanned<toml::Value>>,
    #[serde(rename = "basicAuth", alias = "basicauth")]
    pub basic_auth: Option<toml::Spanned<toml::Value>>,
    #[serde(rename = "whiteList", alias = "whitelist")]
    pub white_list: Option<toml::Spanned<toml::Value>>,
    #[serde(rename = "whitelistSourceRange", alias = "whiteListSourceRange")]
    pub whitelist_source_range: Option<toml::Spanned<toml::Value>>,
    #[serde(rename = "ratelimit", alias = "rateLimit")]
    pub rate_limit: Option<toml::Spanned<toml::Value>>,
    pub headers: Option<toml::Spanned<toml::Value>>,
}

/// `[frontends.X.errors.NAME]`; spanned so that a bad page is reported where it is written.
#[derive(Debug, Clone, Deserialize)]
pub struct ErrorPageToml {
    pub status: Option<toml::Spanned<Vec<String>>>,
    pub backend: Option<toml::Spanned<String>>,
    pub query: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RouteToml {
    /// Spanned so that a bad rule is reported at its line and column.
    pub rule: toml::Spanned<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackendToml {
    pub servers: Option<BTreeMap<String, ServerToml>>,
    pub load_balancer: Option<LoadBalancerToml>,
    pub health_check: Option<HealthCheckToml>,
    #[serde(rename = "circuitBreaker", alias = "circuitbreaker")]
    pub circuit_breaker: Option<CircuitBreakerToml>,
    #[serde(rename = "responseForwarding", alias = "responseforwarding")]
    pub response_forwarding: Option<ResponseForwardingToml>,
    // Backend-level protections portier does not enforce yet (see `FrontendToml::auth`).
    #[serde(rename = "maxConn", alias = "maxconn")]
    pub max_conn: Option<toml::Spanned<toml::Value>>,
    pub buffering: Option<toml::Spanned<toml::Value>>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseForwardingToml {
    pub flush_interval: Option<GoDuration>,
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct CircuitBreakerToml {
    /// Spanned so that a bad expression is reported where it is written.
    pub expression: Option<toml::Spanned<String>>,
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct HealthCheckToml {
    pub path: Option<String>,
    pub interval: Option<GoDuration>,
    pub port: Option<u16>,
    pub hostname: Option<String>,
    pub scheme: Option<String>,
    pub headers: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerToml {
    pub url: toml::Spanned<String>,
    pub weight: Option<i64>,
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct LoadBalancerToml {
    pub method: Option<String>,
    /// Deprecated: `true` without `stickiness` means the cookie `_TRAEFIK_BACKEND`.
    pub sticky: Option<bool>,
    pub stickiness: Option<StickinessToml>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StickinessToml {
    pub cookie_name: Option<String>,
    pub secure: Option<bool>,
    pub http_only: Option<bool>,
    pub same_site: Option<String>,
}
