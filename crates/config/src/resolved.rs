//! The checked configuration portier runs with, and the named defaults of every key.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::ListenAddress;
use crate::error::ValueError;
use model::duration::GoDuration;

/// `[entryPoints]` absent: one entrypoint named `http`.
pub const DEFAULT_ENTRYPOINT_NAME: &str = "http";
/// `[entryPoints]` and `port` absent: listen on `:80`.
pub const DEFAULT_ENTRYPOINT_ADDRESS: &str = ":80";
/// `[web] address` / the `traefik` entrypoint of `[api]`.
pub const DEFAULT_WEB_ADDRESS: &str = ":8080";
/// `[api] entryPoint` and `[ping] entryPoint` when not given; when no entrypoint has this
/// name, the dashboard listens on [`DEFAULT_WEB_ADDRESS`] (Traefik creates it there).
pub const DEFAULT_API_ENTRYPOINT: &str = "traefik";
/// `[docker] endpoint`.
pub const DEFAULT_DOCKER_ENDPOINT: &str = "unix:///var/run/docker.sock";
/// `[respondingTimeouts] idleTimeout`.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(180);
/// `[forwardingTimeouts] dialTimeout`.
/// `[docker] swarmModeRefreshSeconds` default, as Traefik.
pub const DEFAULT_SWARM_REFRESH_SECONDS: u64 = 15;
pub const DEFAULT_DIAL_TIMEOUT: Duration = Duration::from_secs(30);
/// `[forwardingTimeouts] responseHeaderTimeout` default: nginx's 60 s (Traefik 1.x has none,
/// so an origin that accepts and never answers would hold its client forever).
pub const DEFAULT_RESPONSE_HEADER_TIMEOUT: Duration = Duration::from_secs(60);
/// `[respondingTimeouts] readHeaderTimeout`: a client must send its first request head this
/// soon after connecting, and each later one this soon after its first byte (slowloris guard).
pub const DEFAULT_READ_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// `[entryPoints.NAME] maxConnections`.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// `maxConnsPerHost`: requests in flight to one server.
pub const DEFAULT_MAX_CONNS_PER_HOST: usize = 1024;
/// `maxIdleConnsPerHost`.
pub const DEFAULT_MAX_IDLE_CONNS_PER_HOST: usize = 200;
/// `[retry] attempts`: portier retries by default (Traefik only with a `[retry]` section).
pub const DEFAULT_RETRY_ATTEMPTS: u32 = 3;
/// `[lifeCycle] graceTimeOut`.
pub const DEFAULT_GRACE_TIMEOUT: Duration = Duration::from_secs(10);

/// The checked static configuration portier runs with.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Config {
    /// The file it came from, if any (relative `[file] filename` resolves against its folder).
    pub config_file: Option<PathBuf>,
    pub entry_points: Vec<EntryPoint>,
    pub default_entry_points: Vec<String>,
    pub log_level: LogLevel,
    pub traefik_log_file: Option<PathBuf>,
    /// `[traefikLog] format`: text lines (`common`, the default) or one JSON object a line.
    pub traefik_log_format: LogFormat,
    pub web: Option<WebConfig>,
    /// `[ping] entryPoint`: `/ping` is answered on this entrypoint too.
    pub ping_entry_point: Option<String>,
    pub docker: Option<DockerConfig>,
    pub file: Option<FileProviderConfig>,
    pub responding_timeouts: RespondingTimeouts,
    pub forwarding_timeouts: ForwardingTimeouts,
    pub access_log: Option<AccessLogConfig>,
    pub max_idle_conns_per_host: usize,
    pub max_conns_per_host: usize,
    /// `insecureSkipVerify`: accept any certificate from `https://` servers.
    pub insecure_skip_verify: bool,
    /// `keepTrailingSlash`: `false` (default) answers `/a/` on `Path:/a` with a 301 to `/a`.
    pub keep_trailing_slash: bool,
    /// `rootCAs`: extra CAs (paths resolved, or inline PEM) for `https://` servers.
    pub root_cas: Vec<String>,
    pub grace_timeout: GoDuration,
    /// `[lifeCycle] requestAcceptGraceTimeout`: on SIGTERM, keep accepting requests this long
    /// (with `/ping` answering 503) before the drain starts.
    pub request_accept_grace_timeout: GoDuration,
    /// `providersThrottleDuration`: the least time between two applied configurations
    /// (Traefik's default is 2s; portier's is 0, applying each change at once).
    pub providers_throttle: GoDuration,
    pub acme: Option<AcmeSettings>,
    /// Further 2.x/3.x certificate resolvers (the first is `acme`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub acme_more: Vec<AcmeSettings>,
    /// Tries per request (first included), capped by the backend's server count.
    pub retry_attempts: u32,
    /// What a Traefik 2.x/3.x static configuration changes in reading dynamic configuration.
    #[serde(skip)]
    pub generation: crate::traefik_v2::Generation,
}

impl Config {
    /// Every ACME certificate resolver: `acme`, then the further 2.x/3.x ones.
    pub fn resolvers(&self) -> impl Iterator<Item = &AcmeSettings> {
        self.acme.iter().chain(&self.acme_more)
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntryPoint {
    pub name: String,
    pub address: ListenAddress,
    /// 0 means no limit.
    pub max_connections: usize,
    /// TLS on this entrypoint (`[entryPoints.NAME.tls]`).
    pub tls: Option<TlsConfig>,
    /// `[entryPoints.NAME.redirect]`: every request to another entrypoint, or those whose URL
    /// the regex rewrites.
    pub redirect: Option<model::redirect::Redirect>,
    /// Client-sent X-Forwarded-* headers are kept (and appended to) only from these peers.
    pub forwarded_headers: ForwardedHeaders,
    /// `compress = true`: responses are gzip- or brotli-encoded for clients that accept it.
    pub compress: bool,
    /// `[entryPoints.NAME.proxyProtocol]`: a PROXY header (v1 or v2) from these peers names
    /// the client.
    pub proxy_protocol: Option<ForwardedHeaders>,
    /// `[entryPoints.NAME.auth]` and `whiteList`: every request on the entrypoint, routed or
    /// not, is authenticated and checked (users files already merged in).
    pub middlewares: model::middleware::FrontendMiddlewares,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsConfig {
    pub min_version: TlsVersion,
    #[serde(skip)]
    pub certificates: Vec<CertSource>,
    #[serde(skip)]
    pub default_certificate: Option<CertSource>,
    pub sni_strict: bool,
    /// `cipherSuites`, as rustls names the suites to offer; `None`: rustls' defaults.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cipher_suites: Option<Vec<String>>,
    /// `clientCA`: client certificates are verified against these CAs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_ca: Option<ClientCa>,
}

impl TlsConfig {
    /// TLS with nothing of an entrypoint's own: the dynamic and ACME certificates (else a
    /// self-signed one), TLS 1.2 and up; what a plain entrypoint terminates TCP routers with.
    pub fn plain() -> TlsConfig {
        TlsConfig {
            min_version: TlsVersion::Tls12,
            certificates: Vec::new(),
            default_certificate: None,
            sni_strict: false,
            cipher_suites: None,
            client_ca: None,
        }
    }
}

/// The CAs client certificates must chain to (paths, resolved, or inline PEM) and whether a
/// client may connect without one.
#[derive(Debug, Clone, Serialize)]
pub struct ClientCa {
    #[serde(skip)]
    pub files: Vec<String>,
    pub optional: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TlsVersion {
    Tls12,
    Tls13,
}

/// A certificate and key, each a path or inline PEM (as Traefik 1.x accepts).
#[derive(Debug, Clone)]
pub struct CertSource {
    pub cert_file: String,
    pub key_file: String,
}

/// `[acme]`: automatic certificates for one TLS entrypoint.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AcmeSettings {
    /// The 2.x/3.x resolver's name: it orders for the routers that name it. `None` (1.x):
    /// for the Host rules of `entry_point`'s frontends (`onHostRule`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub email: Option<String>,
    /// A directory; one sub-directory per domain set.
    pub storage: PathBuf,
    pub entry_point: String,
    pub on_host_rule: bool,
    pub ca_server: String,
    /// Each set becomes one certificate (main name first).
    pub domains: Vec<Vec<String>>,
    /// `httpChallenge.entryPoint`: HTTP-01 answered there (`/.well-known/acme-challenge/`);
    /// `None`: TLS-ALPN-01 on the ACME entrypoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_challenge: Option<String>,
}

/// `[acme] caServer` default: Let's Encrypt **staging**; set the production URL explicitly.
pub const DEFAULT_ACME_CA: &str = "https://acme-staging-v02.api.letsencrypt.org/directory";

/// Which peers may send X-Forwarded-* headers that portier keeps.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ForwardedHeaders {
    /// `insecure = true` (Traefik 1.x's default): trust every peer.
    Insecure,
    /// Only these networks (the default: none); others have their X-Forwarded-* replaced.
    Trusted(Vec<IpNet>),
}

impl ForwardedHeaders {
    pub fn trusts(&self, ip: IpAddr) -> bool {
        match self {
            ForwardedHeaders::Insecure => true,
            ForwardedHeaders::Trusted(nets) => nets.iter().any(|n| n.contains(ip)),
        }
    }
}

/// An IP network written as `10.0.0.0/8` or a single address.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IpNet {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl IpNet {
    pub fn parse(text: &str) -> Result<IpNet, ValueError> {
        let (ip, prefix) = match text.split_once('/') {
            Some((ip, p)) => (ip, Some(p)),
            None => (text, None),
        };
        let addr: IpAddr = ip
            .trim()
            .parse()
            .map_err(|_| ValueError::IpNet(text.to_string()))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| ValueError::IpNetPrefix {
                    text: text.to_string(),
                    max,
                })?,
        };
        Ok(IpNet { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match (self.addr, ip) {
            (IpAddr::V4(_), IpAddr::V6(v6)) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            _ => ip,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

impl LogLevel {
    pub fn as_filter(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebConfig {
    /// Its own listener's address; with `entry_point`, that entrypoint's address.
    pub address: ListenAddress,
    /// `[api] entryPoint` naming a defined entrypoint: served there beside its routes (under
    /// `/api`, `/dashboard`, `/health`, `/metrics`, `/ping`), with no listener of its own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry_point: Option<String>,
    /// `[web] path`: every path under this prefix (`/test`); empty for none.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// `[api] dashboard` (default true): the page at `/dashboard/`; the API is always served.
    pub dashboard: bool,
    /// Checked `user:hash` entries (from `users` and `usersFile`); empty means no auth.
    #[serde(skip)]
    pub users: middleware::users::Users,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DockerConfig {
    pub endpoint: String,
    pub domain: String,
    pub watch: bool,
    pub exposed_by_default: bool,
    pub network: String,
    /// Global and `[docker]` constraints together; a container must satisfy all.
    pub constraints: Vec<Constraint>,
    /// `useBindPortIP`: route to the host IP and port a container port is published on.
    pub use_bind_port_ip: bool,
    /// `swarmMode`: read Swarm services and their tasks instead of containers.
    pub swarm_mode: bool,
    /// `swarmModeRefreshSeconds`: the full re-read of the swarm between events.
    pub swarm_refresh: Duration,
    /// Read containers as 2.x/3.x ones unless their labels are 1.x's (a 2.x/3.x static
    /// configuration), and the default rule template of that generation.
    pub labels_v2: bool,
    pub default_rule: Option<String>,
    /// `providers.docker.constraints` (2.x/3.x): which containers are routed, by label.
    #[serde(skip)]
    pub label_constraint: Option<model::rules::LabelConstraint>,
}

/// `tag==web*` (some tag matches) or `tag!=internal` (no tag matches); `*` is a wildcard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Constraint {
    pub negate: bool,
    pub pattern: String,
}

impl Constraint {
    pub fn parse(text: &str) -> Result<Constraint, ValueError> {
        let t = text.trim();
        let (negate, rest) = if let Some(r) = t.strip_prefix("tag==") {
            (false, r)
        } else if let Some(r) = t.strip_prefix("tag!=") {
            (true, r)
        } else {
            return Err(ValueError::ConstraintForm(text.to_string()));
        };
        if rest.is_empty() {
            return Err(ValueError::ConstraintEmpty(text.to_string()));
        }
        Ok(Constraint {
            negate,
            pattern: rest.to_string(),
        })
    }

    /// Whether a container with these tags passes.
    pub fn allows(&self, tags: &[&str]) -> bool {
        let any = tags.iter().any(|t| glob(&self.pattern, t));
        any != self.negate
    }
}

/// `*` matches any run of characters; everything else matches itself.
fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => {
            text.starts_with(head)
                && (0..=text.len() - head.len()).any(|i| {
                    text.is_char_boundary(head.len() + i) && glob(tail, &text[head.len() + i..])
                })
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum FileProviderConfig {
    /// `[frontends]`/`[backends]` written in traefik.toml itself.
    Inline,
    /// `[file] filename = "rules.toml"`, optionally watched.
    File { path: PathBuf, watch: bool },
    /// `[file] directory = "conf.d"`: every `*.toml` in it, optionally watched.
    Directory { path: PathBuf, watch: bool },
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RespondingTimeouts {
    pub read_header_timeout: GoDuration,
    pub read_timeout: GoDuration,
    pub write_timeout: GoDuration,
    pub idle_timeout: GoDuration,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ForwardingTimeouts {
    pub dial_timeout: GoDuration,
    /// Zero means "no limit", as in Traefik 1.x.
    pub response_header_timeout: GoDuration,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessLogConfig {
    /// `None` writes to standard output.
    pub file_path: Option<PathBuf>,
    pub format: AccessLogFormat,
    /// `[accessLog.filters]`: a line is written when it passes any of them.
    pub filters: Option<AccessLogFilters>,
    /// `[accessLog.fields]`.
    pub fields: AccessLogFields,
    /// Lines queued for the writer at most (`bufferingSize`; 0 takes the default).
    pub buffering_size: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum AccessLogFormat {
    Common,
    Json,
}

/// `[traefikLog] format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum LogFormat {
    Common,
    Json,
}

/// Traefik's access-log filters: with none set, every line is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessLogFilters {
    /// Inclusive ranges of downstream statuses.
    pub status_codes: Vec<(u16, u16)>,
    pub retry_attempts: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_duration: Option<GoDuration>,
}

impl AccessLogFilters {
    /// Whether a request with this outcome is logged (Traefik's `keepAccessLog`).
    pub fn keep(&self, status: u16, retries: u32, took: std::time::Duration) -> bool {
        if self.status_codes.is_empty() && !self.retry_attempts && self.min_duration.is_none() {
            return true;
        }
        self.status_codes
            .iter()
            .any(|(lo, hi)| (*lo..=*hi).contains(&status))
            || (self.retry_attempts && retries > 0)
            || self.min_duration.is_some_and(|m| took > m.0)
    }
}

/// What a header's value becomes in a JSON access-log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum HeaderMode {
    Keep,
    Drop,
    Redact,
}

/// `[accessLog.fields]`: which fields (Traefik's names) and headers a line carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessLogFields {
    pub default_keep: bool,
    /// Field name → kept.
    pub names: BTreeMap<String, bool>,
    pub headers_default: HeaderMode,
    /// Lower-case header name → mode.
    pub headers: BTreeMap<String, HeaderMode>,
}

impl Default for AccessLogFields {
    fn default() -> AccessLogFields {
        AccessLogFields {
            default_keep: true,
            names: BTreeMap::new(),
            headers_default: HeaderMode::Keep,
            headers: BTreeMap::new(),
        }
    }
}

impl AccessLogFields {
    pub fn keep(&self, field: &str) -> bool {
        self.names.get(field).copied().unwrap_or(self.default_keep)
    }

    /// The mode of a header, by its lower-case name.
    pub fn header(&self, lower_name: &str) -> HeaderMode {
        self.headers
            .get(lower_name)
            .copied()
            .unwrap_or(self.headers_default)
    }

    /// Whether any header can appear in a line (else none needs copying).
    pub fn any_header(&self) -> bool {
        self.headers_default != HeaderMode::Drop
            || self.headers.values().any(|m| *m != HeaderMode::Drop)
    }
}

/// The field names of Traefik 1.7's access log, each of which `[accessLog.fields.names]` may
/// keep or drop.
pub const ACCESS_LOG_FIELDS: [&str; 30] = [
    "StartUTC",
    "StartLocal",
    "Duration",
    "FrontendName",
    "BackendName",
    "BackendURL",
    "BackendAddr",
    "ClientAddr",
    "ClientHost",
    "ClientPort",
    "ClientUsername",
    "RequestAddr",
    "RequestHost",
    "RequestPort",
    "RequestMethod",
    "RequestPath",
    "RequestProtocol",
    "RequestLine",
    "RequestContentSize",
    "OriginDuration",
    "OriginContentSize",
    "OriginStatus",
    "OriginStatusLine",
    "DownstreamStatus",
    "DownstreamStatusLine",
    "DownstreamContentSize",
    "RequestCount",
    "GzipRatio",
    "Overhead",
    "RetryAttempts",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constraints_match_tags_with_globs() {
        let eq = Constraint::parse("tag==web*").expect("valid");
        assert!(eq.allows(&["api", "web-1"]));
        assert!(!eq.allows(&["api"]));
        assert!(!eq.allows(&[]));
        let ne = Constraint::parse("tag!=internal").expect("valid");
        assert!(ne.allows(&["web"]));
        assert!(ne.allows(&[]));
        assert!(!ne.allows(&["internal"]));
        assert!(Constraint::parse("label==x").is_err());
        assert!(Constraint::parse("tag==").is_err());
        assert!(glob("a*c*e", "abcde") && !glob("a*c", "abd"));
    }

    #[test]
    fn ip_networks_contain_their_addresses() {
        let net = IpNet::parse("10.1.0.0/16").expect("valid");
        assert!(net.contains("10.1.200.3".parse().expect("ip")));
        assert!(!net.contains("10.2.0.1".parse().expect("ip")));
        let one = IpNet::parse("127.0.0.1").expect("valid");
        assert!(one.contains("127.0.0.1".parse().expect("ip")));
        assert!(one.contains("::ffff:127.0.0.1".parse().expect("ip")));
        assert!(IpNet::parse("10.0.0.0/40").is_err());
        assert!(IpNet::parse("ten").is_err());
        let all = IpNet::parse("0.0.0.0/0").expect("valid");
        assert!(all.contains("8.8.8.8".parse().expect("ip")));
    }
}
