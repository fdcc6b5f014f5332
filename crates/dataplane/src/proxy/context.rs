//! What every request of an entrypoint shares: the upstream clients and settings (`Proxy`)
//! and the entrypoint's own view (`EntryPointContext`).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use control::upstream_tls;
use http::{Request, Response};
use hyper::body::Incoming;
use std::time::Duration;

use arc_swap::ArcSwap;
use http::HeaderValue;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use super::upstream_body;
use crate::accesslog::AccessLog;
use config::{Config, ForwardedHeaders};
use control::table::RoutingTable;

/// The largest response head a backend may send (status line and headers, like the request
/// side's limit); a larger one is answered 502.
const MAX_RESPONSE_HEAD_BYTES: usize = 32 * 1024;

/// Upstream keep-alive connections idle longer than this are closed.
const UPSTREAM_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// TCP keep-alive probes on upstream connections (Traefik: 30 s).
const UPSTREAM_TCP_KEEPALIVE: Duration = Duration::from_secs(30);

/// A TLS entrypoint's current rustls configurations, swapped when `tls.options` change.
pub type TlsSlot = Arc<arc_swap::ArcSwap<crate::tls::TlsChoice>>;

/// State shared by every entrypoint.
#[derive(Debug)]
pub struct Proxy {
    pub table: Arc<ArcSwap<RoutingTable>>,
    pub(super) client: Client<HttpConnector, upstream_body::UpstreamBody>,
    /// HTTP/2 with prior knowledge, for `h2c://` servers (gRPC).
    pub(super) h2c_client: Client<HttpConnector, upstream_body::UpstreamBody>,
    /// HTTP/1.1 over TLS, for `https://` servers.
    pub(super) https_client: Client<upstream_tls::HttpsConnector, upstream_body::UpstreamBody>,
    pub(super) response_header_timeout: Option<Duration>,
    pub(super) retry_attempts: usize,
    pub(super) server_name: HeaderValue,
    pub(super) access_log: Option<AccessLog>,
    pub stats: Arc<crate::stats::Stats>,
    /// The API and dashboard as a service (`api@internal`) for the routes that name it; set
    /// by the binary once the web application exists.
    pub internal_api: std::sync::OnceLock<Internal>,
    /// How TCP routes reach their servers.
    pub tcp: crate::l4::TcpForwarding,
}

impl Proxy {
    pub fn new(
        config: &Config,
        table: Arc<ArcSwap<RoutingTable>>,
        access_log: Option<AccessLog>,
        stats: Arc<crate::stats::Stats>,
        upstream_tls: Arc<rustls::ClientConfig>,
    ) -> Proxy {
        let mut http = HttpConnector::new();
        http.set_nodelay(true);
        http.set_keepalive(Some(UPSTREAM_TCP_KEEPALIVE));
        let dial = config.forwarding_timeouts.dial_timeout.0;
        http.set_connect_timeout((!dial.is_zero()).then_some(dial));
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(UPSTREAM_IDLE_TIMEOUT)
            .pool_max_idle_per_host(config.max_idle_conns_per_host)
            .http1_max_buf_size(MAX_RESPONSE_HEAD_BYTES)
            .build(http.clone());
        let h2c_client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(UPSTREAM_IDLE_TIMEOUT)
            .http2_only(true)
            .http2_max_header_list_size(MAX_RESPONSE_HEAD_BYTES as u32)
            .timer(TokioTimer::new())
            .build(http.clone());
        let tcp = crate::l4::TcpForwarding {
            dial_timeout: (!dial.is_zero()).then_some(dial),
            grace: config.grace_timeout.0,
            upstream_tls: Arc::clone(&upstream_tls),
        };
        let tls = upstream_tls::https_connector(http, &upstream_tls);
        let https_client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(UPSTREAM_IDLE_TIMEOUT)
            .pool_max_idle_per_host(config.max_idle_conns_per_host)
            .http1_max_buf_size(MAX_RESPONSE_HEAD_BYTES)
            .http2_max_header_list_size(MAX_RESPONSE_HEAD_BYTES as u32)
            .build(tls);
        let rht = config.forwarding_timeouts.response_header_timeout.0;
        Proxy {
            tcp,
            table,
            internal_api: std::sync::OnceLock::new(),
            client,
            h2c_client,
            https_client,
            response_header_timeout: (!rht.is_zero()).then_some(rht),
            retry_attempts: config.retry_attempts as usize,
            server_name: HeaderValue::from_str(&crate::hostname::hostname())
                .unwrap_or(HeaderValue::from_static("portier")),
            access_log,
            stats,
        }
    }
}

/// One entrypoint's view: its name and which peers' forwarded headers it trusts.
#[derive(Debug)]
pub struct EntryPointContext {
    pub name: String,
    /// Set on TLS entrypoints: the handshake runs before HTTP, with the configuration of the
    /// moment (`None` inside: TLS options that could not be built; handshakes are refused).
    pub tls: Option<TlsSlot>,
    /// What TCP routers that end TLS here use: the entrypoint's own on TLS entrypoints, the
    /// dynamic and ACME certificates on plain ones.
    pub tcp_tls: Option<TlsSlot>,
    /// `[entryPoints.NAME.redirect]`: every request is redirected there.
    pub redirect: Option<model::redirect::Redirect>,
    pub forwarded: ForwardedHeaders,
    /// `compress = true`: gzip or brotli for clients that accept it.
    pub compress: bool,
    /// `proxyProtocol`: the peers whose PROXY header is read.
    pub proxy_protocol: Option<ForwardedHeaders>,
    pub proxy: Arc<Proxy>,
    pub metrics: Arc<model::metrics::TrafficMetrics>,
    /// `[entryPoints.NAME.auth]` and `whiteList`, run on every request before routing; `Err`
    /// when they could not be compiled (every request answers 503).
    pub guards: Result<Option<Arc<control::guards::RouteGuards>>, String>,
    /// The dashboard and API served here beside the routes (`[api] entryPoint`); set once
    /// the dashboard is built, empty on other entrypoints.
    pub internal: Arc<OnceLock<Internal>>,
    /// On the `httpChallenge` entrypoint: ACME's HTTP-01 answers, before anything else.
    pub acme_http: Option<Arc<crate::acme::AcmeCerts>>,
}

/// A body of the dashboard and API (the binary's web application) answered on an entrypoint.
pub type InternalBody =
    http_body_util::combinators::UnsyncBoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;

/// The web application's answer to one request.
pub type InternalHandler = Arc<
    dyn Fn(Request<Incoming>) -> Pin<Box<dyn Future<Output = Response<InternalBody>> + Send>>
        + Send
        + Sync,
>;

/// The dashboard and API on an entrypoint: requests under `prefixes` (and `/` itself when
/// `root`) go to `handler` (after the entrypoint's own auth and allowlist), every other
/// request to the routes.
#[derive(Clone)]
pub struct Internal {
    pub prefixes: Vec<String>,
    pub root: bool,
    pub handler: InternalHandler,
}

impl std::fmt::Debug for Internal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Internal")
            .field("prefixes", &self.prefixes)
            .finish_non_exhaustive()
    }
}

impl Internal {
    /// Whether `path` is one of the web application's (`/api`, `/api/…`, …).
    pub fn claims(&self, path: &str) -> bool {
        (self.root && path == "/")
            || self.prefixes.iter().any(|p| {
                path.strip_prefix(p.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            })
    }
}
