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
    #[serde(alias = "defaultentrypoints")]
    pub default_entry_points: Option<Vec<String>>,
    #[serde(alias = "entrypoints")]
    pub entry_points: Option<BTreeMap<String, EntryPointToml>>,
    /// Pre-1.0 global listen address; becomes the `http` entrypoint when no `[entryPoints]`.
    pub port: Option<ListenAddress>,
    #[serde(alias = "loglevel")]
    pub log_level: Option<LogLevelToml>,
    pub debug: Option<bool>,
    pub web: Option<WebToml>,
    pub api: Option<ApiToml>,
    pub ping: Option<PingToml>,
    pub docker: Option<DockerToml>,
    pub file: Option<FileProviderToml>,
    #[serde(alias = "respondingtimeouts")]
    pub responding_timeouts: Option<RespondingTimeoutsToml>,
    #[serde(alias = "forwardingtimeouts")]
    pub forwarding_timeouts: Option<ForwardingTimeoutsToml>,
    #[serde(alias = "accesslog")]
    pub access_log: Option<AccessLogToml>,
    /// Deprecated spelling of `[accessLog] filePath`.
    #[serde(alias = "accesslogsfile")]
    pub access_logs_file: Option<String>,
    #[serde(alias = "traefiklog")]
    pub traefik_log: Option<TraefikLogToml>,
    #[serde(alias = "maxidleconnsperhost")]
    pub max_idle_conns_per_host: Option<usize>,
    /// Requests in flight to one server at most (0: no limit); more wait for a free slot.
    #[serde(alias = "maxconnsperhost")]
    pub max_conns_per_host: Option<usize>,
    /// Accept any certificate from `https://` servers.
    #[serde(alias = "insecureskipverify")]
    pub insecure_skip_verify: Option<bool>,
    /// Extra CAs (files or PEM) for `https://` servers.
    #[serde(rename = "rootCAs")]
    #[serde(alias = "rootcas")]
    pub root_cas: Option<Vec<String>>,
    /// Global tag constraints (`["tag==api"]`), applied to the Docker provider.
    pub constraints: Option<Vec<String>>,
    #[serde(alias = "lifecycle")]
    pub life_cycle: Option<LifeCycleToml>,
    pub retry: Option<RetryToml>,
    pub acme: Option<AcmeToml>,
    /// Dynamic configuration read by `[file]` when it has no `filename`.
    pub frontends: Option<BTreeMap<String, FrontendToml>>,
    pub backends: Option<BTreeMap<String, BackendToml>>,
    /// `false` (default): `Path:/a` answers `/a/` with a 301 to `/a` (and the other way).
    #[serde(alias = "keeptrailingslash")]
    pub keep_trailing_slash: Option<bool>,
    /// Accepted for compatibility; portier never calls home.
    #[serde(alias = "checknewversion")]
    pub check_new_version: Option<bool>,
    #[serde(alias = "sendanonymoususage")]
    pub send_anonymous_usage: Option<bool>,
    /// Deprecated in Traefik 1.7: `[lifeCycle] graceTimeOut` when that is not set.
    #[serde(
        rename = "graceTimeOut",
        alias = "gracetimeout",
        alias = "graceTimeout"
    )]
    pub grace_time_out: Option<GoDuration>,
    /// Deprecated: `[respondingTimeouts] idleTimeout` when that is not set.
    #[serde(alias = "idletimeout")]
    pub idle_timeout: Option<GoDuration>,
    /// Deprecated: `[traefikLog] filePath` when that is not set.
    #[serde(alias = "traefiklogsfile")]
    pub traefik_logs_file: Option<String>,
    /// `[metrics.prometheus]`: `/metrics` is always served; options are refused.
    pub metrics: Option<WebMetricsToml>,
    /// Least time between two applied configurations.
    #[serde(alias = "providersthrottleduration")]
    pub providers_throttle_duration: Option<GoDuration>,
    /// Set when the file or flags were written for Traefik 2.x/3.x (`crate::traefik_v2`).
    #[serde(skip)]
    pub generation: crate::traefik_v2::Generation,
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
    #[serde(alias = "maxconnections")]
    pub max_connections: Option<usize>,
    pub tls: Option<TlsToml>,
    pub redirect: Option<RedirectToml>,
    #[serde(alias = "forwardedheaders")]
    pub forwarded_headers: Option<ForwardedHeadersToml>,
    /// gzip (or brotli) responses for clients that accept it.
    pub compress: Option<bool>,
    #[serde(alias = "proxyprotocol")]
    pub proxy_protocol: Option<ForwardedHeadersToml>,
    /// `[entryPoints.X.auth]` (basic or digest), read by `middlewares`.
    pub auth: Option<toml::Spanned<toml::Value>>,
    #[serde(rename = "whiteList", alias = "whitelist")]
    pub white_list: Option<toml::Spanned<toml::Value>>,
    #[serde(rename = "whitelistSourceRange", alias = "whiteListSourceRange")]
    #[serde(alias = "whitelistsourcerange")]
    pub whitelist_source_range: Option<toml::Spanned<toml::Value>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsToml {
    /// `VersionTLS12` (default) or `VersionTLS13`; 1.0 and 1.1 are never offered.
    #[serde(alias = "minversion")]
    pub min_version: Option<String>,
    pub certificates: Option<Vec<CertificateToml>>,
    #[serde(alias = "defaultcertificate")]
    pub default_certificate: Option<CertificateToml>,
    #[serde(alias = "snistrict")]
    pub sni_strict: Option<bool>,
    /// Go's suite names, read by `cipher_suites`.
    #[serde(alias = "ciphersuites")]
    pub cipher_suites: Option<Vec<String>>,
    /// Client certificates (mTLS): the CAs that sign them, and whether one is required.
    #[serde(rename = "clientCA")]
    #[serde(alias = "clientca")]
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
    #[serde(alias = "certfile")]
    pub cert_file: String,
    #[serde(alias = "keyfile")]
    pub key_file: String,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RedirectToml {
    #[serde(alias = "entrypoint")]
    pub entry_point: Option<String>,
    /// Over the full URL (`scheme://host/path?query`), RE2 syntax.
    pub regex: Option<String>,
    /// `$1`-style groups of `regex`.
    pub replacement: Option<String>,
    pub permanent: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ForwardedHeadersToml {
    pub insecure: Option<bool>,
    #[serde(rename = "trustedIPs")]
    #[serde(alias = "trustedips")]
    pub trusted_ips: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebToml {
    pub address: Option<ListenAddress>,
    #[serde(alias = "readonly")]
    pub read_only: Option<bool>,
    pub path: Option<String>,
    /// `["user:htpasswd-hash"]`: basic auth for the dashboard and API (not `/ping`).
    pub users: Option<Vec<String>>,
    #[serde(alias = "usersfile")]
    pub users_file: Option<String>,
    /// Traefik 1.x spelling: `[web.auth.basic] users = [...]`.
    pub auth: Option<WebAuthToml>,
    /// `[web.metrics.prometheus]`: `/metrics` is always served; options are refused.
    pub metrics: Option<WebMetricsToml>,
}

#[derive(Debug, Default, Deserialize)]
pub struct WebMetricsToml {
    pub prometheus: Option<toml::Table>,
}

#[derive(Debug, Default, Deserialize)]
pub struct WebAuthToml {
    pub basic: Option<BasicAuthToml>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BasicAuthToml {
    pub users: Option<Vec<String>>,
    #[serde(alias = "usersfile")]
    pub users_file: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiToml {
    #[serde(alias = "entrypoint")]
    pub entry_point: Option<String>,
    pub dashboard: Option<bool>,
    pub debug: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PingToml {
    #[serde(alias = "entrypoint")]
    pub entry_point: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DockerToml {
    pub endpoint: Option<String>,
    pub domain: Option<String>,
    pub watch: Option<bool>,
    #[serde(alias = "exposedbydefault")]
    pub exposed_by_default: Option<bool>,
    pub network: Option<String>,
    #[serde(alias = "swarmmode")]
    pub swarm_mode: Option<bool>,
    #[serde(alias = "swarmmoderefreshseconds")]
    pub swarm_mode_refresh_seconds: Option<u64>,
    #[serde(
        rename = "useBindPortIP",
        alias = "usebindportip",
        alias = "useBindPortIp"
    )]
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
    #[serde(alias = "readheadertimeout")]
    pub read_header_timeout: Option<GoDuration>,
    #[serde(alias = "readtimeout")]
    pub read_timeout: Option<GoDuration>,
    #[serde(alias = "writetimeout")]
    pub write_timeout: Option<GoDuration>,
    #[serde(alias = "idletimeout")]
    pub idle_timeout: Option<GoDuration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ForwardingTimeoutsToml {
    #[serde(alias = "dialtimeout")]
    pub dial_timeout: Option<GoDuration>,
    #[serde(alias = "responseheadertimeout")]
    pub response_header_timeout: Option<GoDuration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessLogToml {
    #[serde(alias = "filepath")]
    pub file_path: Option<String>,
    pub format: Option<String>,
    /// Keep only the lines that pass one of these (Traefik's `[accessLog.filters]`).
    pub filters: Option<AccessLogFiltersToml>,
    /// Which fields and headers a JSON line carries (`[accessLog.fields]`).
    pub fields: Option<AccessLogFieldsToml>,
    /// Lines waiting for the writer before new ones are dropped (counted and warned).
    #[serde(alias = "bufferingsize")]
    pub buffering_size: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessLogFiltersToml {
    /// `"200"`, `"400-404"`.
    #[serde(alias = "statuscodes")]
    pub status_codes: Option<Vec<String>>,
    #[serde(alias = "retryattempts")]
    pub retry_attempts: Option<bool>,
    #[serde(alias = "minduration")]
    pub min_duration: Option<GoDuration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessLogFieldsToml {
    /// `keep` (default) or `drop`.
    #[serde(alias = "defaultmode")]
    pub default_mode: Option<String>,
    pub names: Option<BTreeMap<String, String>>,
    pub headers: Option<AccessLogHeadersToml>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessLogHeadersToml {
    /// `keep` (default), `drop` or `redact`.
    #[serde(alias = "defaultmode")]
    pub default_mode: Option<String>,
    pub names: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TraefikLogToml {
    #[serde(alias = "filepath")]
    pub file_path: Option<String>,
    pub format: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AcmeToml {
    pub email: Option<String>,
    pub storage: Option<String>,
    #[serde(alias = "entrypoint")]
    pub entry_point: Option<String>,
    #[serde(alias = "onhostrule")]
    pub on_host_rule: Option<bool>,
    #[serde(alias = "caserver")]
    pub ca_server: Option<String>,
    pub domains: Option<Vec<AcmeDomainToml>>,
    /// TLS-ALPN-01 is the challenge portier answers; the section is accepted as Traefik writes it.
    #[serde(alias = "tlschallenge")]
    pub tls_challenge: Option<toml::Table>,
    /// Traefik's HTTP-01 and DNS-01 sections: read so they can be warned about or refused.
    #[serde(alias = "httpchallenge")]
    pub http_challenge: Option<toml::Table>,
    #[serde(alias = "dnschallenge")]
    pub dns_challenge: Option<toml::Table>,
    #[serde(alias = "acmelogging")]
    pub acme_logging: Option<bool>,
    #[serde(alias = "keytype")]
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
    #[serde(alias = "gracetimeout")]
    pub grace_time_out: Option<GoDuration>,
    #[serde(alias = "requestacceptgracetimeout")]
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
    #[serde(alias = "entrypoints")]
    pub entry_points: Option<Vec<String>>,
    #[serde(alias = "passhostheader")]
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
    #[serde(alias = "whitelistsourcerange")]
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
    #[serde(alias = "loadbalancer")]
    pub load_balancer: Option<LoadBalancerToml>,
    #[serde(alias = "healthcheck")]
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
    #[serde(alias = "flushinterval")]
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
    #[serde(alias = "cookiename")]
    pub cookie_name: Option<String>,
    pub secure: Option<bool>,
    #[serde(alias = "httponly")]
    pub http_only: Option<bool>,
    #[serde(alias = "samesite")]
    pub same_site: Option<String>,
}
