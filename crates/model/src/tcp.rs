//! Traefik 2.x / 3.x's layer-4 model as providers declare it: TCP routers (by TLS server
//! name, client IP, or everything), TCP services and middlewares, UDP routers and services.
//! The compiler turns them into each entrypoint's TCP and UDP routes (`control::l4`).

use std::time::Duration;

use serde::Serialize;

use crate::dynamic::Items;
use crate::http::TlsDomain;
use crate::rules::Syntax;

/// A provider's `tcp` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TcpConfig {
    pub routers: Items<TcpRouter>,
    pub services: Items<TcpService>,
    pub middlewares: Items<TcpMiddleware>,
}

impl TcpConfig {
    pub fn is_empty(&self) -> bool {
        self.routers.is_empty() && self.services.is_empty() && self.middlewares.is_empty()
    }
}

/// A TCP router: connections its rule selects, on its entrypoints, go through its
/// middlewares to its service.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TcpRouter {
    /// Where it is declared (`container db-1`, `dynamic.yml:4:5`).
    #[serde(skip)]
    pub source: Option<String>,
    /// Empty: every entrypoint that is not UDP.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entry_points: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub middlewares: Vec<String>,
    pub service: String,
    pub rule: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_syntax: Option<Syntax>,
    /// 0: the length of the rule.
    #[serde(skip_serializing_if = "is_zero")]
    pub priority: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<TcpRouterTls>,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// `tls`: the router takes TLS connections only, terminated by portier (then forwarded in
/// clear) or passed through untouched (`passthrough`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TcpRouterTls {
    pub passthrough: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cert_resolver: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub options: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub domains: Vec<TlsDomain>,
}

/// A TCP service.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum TcpService {
    LoadBalancer(TcpLoadBalancer),
    /// Connections shared between services by weight.
    Weighted(Vec<WeightedName>),
}

/// `weighted.services[]`: a service's name and weight (default 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WeightedName {
    pub name: String,
    pub weight: u32,
}

/// `loadBalancer`: servers in weighted round robin (all weight 1, as Traefik's TCP servers).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TcpLoadBalancer {
    pub servers: Vec<TcpServer>,
    /// `proxyProtocol.version` (1 or 2): a PROXY header naming the client is sent first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy_protocol: Option<u8>,
    /// `terminationDelay`: once one side has closed its writing half, the other gets this long
    /// to finish before the connection is closed (`None`: Traefik's 100 ms; zero: no wait
    /// bound, as Traefik's negative value).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::dynamic::serialize_opt_duration"
    )]
    pub termination_delay: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check: Option<TcpHealthCheck>,
}

/// A server: `host:port`, reached in clear or over TLS (`tls`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TcpServer {
    pub address: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub tls: bool,
}

/// `healthCheck`: a server is up while a connection to it (at `port` when set) opens within
/// `timeout`, and, with `send`, its answer contains `expect`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TcpHealthCheck {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub send: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub expect: String,
    #[serde(serialize_with = "crate::dynamic::serialize_duration")]
    pub interval: Duration,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::dynamic::serialize_opt_duration"
    )]
    pub unhealthy_interval: Option<Duration>,
    #[serde(serialize_with = "crate::dynamic::serialize_duration")]
    pub timeout: Duration,
}

/// A TCP middleware.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum TcpMiddleware {
    /// `ipAllowList.sourceRange` (2.x: `ipWhiteList`): other clients' connections are closed.
    IpAllowList(Vec<String>),
    /// `inFlightConn.amount`: at most this many connections per client IP; more are closed.
    InFlightConn(u64),
}

/// A provider's `udp` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UdpConfig {
    pub routers: Items<UdpRouter>,
    pub services: Items<UdpService>,
}

impl UdpConfig {
    pub fn is_empty(&self) -> bool {
        self.routers.is_empty() && self.services.is_empty()
    }
}

/// A UDP router: every datagram on its entrypoints goes to its service (UDP has no rule).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UdpRouter {
    #[serde(skip)]
    pub source: Option<String>,
    /// Empty: every UDP entrypoint.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entry_points: Vec<String>,
    pub service: String,
}

/// A UDP service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum UdpService {
    /// Server addresses (`host:port`).
    LoadBalancer(Vec<String>),
    Weighted(Vec<WeightedName>),
}
