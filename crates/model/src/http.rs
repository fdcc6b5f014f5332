//! Traefik 2.x / 3.x's dynamic model as providers declare it: routers → middlewares →
//! services. The aggregator lowers every provider's routers, with the middlewares and services
//! they name (`name@provider` across providers), into the frontends and backends the compiler
//! builds (`control::lower`); the API shows them as declared.

use serde::Serialize;

use crate::dynamic::{Backend, Items};
use crate::middleware::{Auth, Headers, PassTlsClientCert, RateLimit, WhiteList};
use crate::rules::Syntax;

/// A provider's `http` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HttpConfig {
    pub routers: Items<Router>,
    pub services: Items<Service>,
    pub middlewares: Items<Middleware>,
}

impl HttpConfig {
    pub fn is_empty(&self) -> bool {
        self.routers.is_empty() && self.services.is_empty() && self.middlewares.is_empty()
    }
}

/// A router: requests its rule selects, on its entrypoints, go through its middlewares, in
/// order, to its service.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Router {
    /// Where it is declared (`container web-1`, `dynamic.yml:4:5`), for errors found when it
    /// is lowered.
    #[serde(skip)]
    pub source: Option<String>,
    /// Empty: every entrypoint (Traefik's default).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entry_points: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub middlewares: Vec<String>,
    pub service: String,
    pub rule: String,
    /// `ruleSyntax`; `None`: the default (3.x).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_syntax: Option<Syntax>,
    /// 0: the length of the rule.
    #[serde(skip_serializing_if = "is_zero")]
    pub priority: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<RouterTls>,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// `tls`: the router serves HTTPS requests only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouterTls {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cert_resolver: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub options: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub domains: Vec<TlsDomain>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TlsDomain {
    pub main: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sans: Vec<String>,
}

/// A service: where a router's requests go.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Service {
    LoadBalancer(Box<LoadBalancerService>),
    /// `weighted`: requests shared between services by weight (canaries, blue/green).
    Weighted(WeightedService),
    /// `failover`: requests go to `service` while it has a server up, else to `fallback`.
    Failover(FailoverService),
    /// `mirroring`: requests go to `service`; a share of them is copied to each mirror,
    /// whose answers are dropped.
    Mirroring(MirroringService),
}

/// `failover.service` and `failover.fallback` (service names; `name@provider` too).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FailoverService {
    pub service: String,
    pub fallback: String,
}

/// `mirroring`: the main `service`, the `mirrors` with the percentage of requests each gets,
/// `mirrorBody` (default true: the body is copied too) and `maxBodySize` (bytes; `None`:
/// no limit; a longer body is not mirrored at all).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MirroringService {
    pub service: String,
    pub mirrors: Vec<MirrorChild>,
    pub mirror_body: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_body_size: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MirrorChild {
    pub name: String,
    pub percent: u32,
}

/// `weighted.services` (name, weight) and an optional sticky cookie.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WeightedService {
    pub services: Vec<WeightedChild>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sticky: Option<crate::dynamic::Stickiness>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WeightedChild {
    pub name: String,
    pub weight: u32,
}

/// `loadBalancer`: servers balanced by weighted round robin, with the backend's health check
/// and sticky cookie; `passHostHeader` (default true) is the service's in 2.x.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadBalancerService {
    #[serde(flatten)]
    pub backend: Backend,
    pub pass_host_header: bool,
}

/// A middleware, as its type and options (Traefik's names in the API).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Middleware {
    AddPrefix {
        prefix: String,
    },
    StripPrefix {
        prefixes: Vec<String>,
    },
    #[serde(rename_all = "camelCase")]
    StripPrefixRegex {
        regex: Vec<String>,
    },
    ReplacePath {
        path: String,
    },
    ReplacePathRegex {
        regex: String,
        replacement: String,
    },
    /// `ipAllowList` (and 2.x's `ipWhiteList`).
    #[serde(rename = "ipAllowList")]
    IpAllowList(WhiteList),
    Headers(Box<Headers>),
    RateLimit(RateLimit),
    RedirectScheme {
        scheme: String,
        #[serde(skip_serializing_if = "String::is_empty")]
        port: String,
        permanent: bool,
    },
    RedirectRegex {
        regex: String,
        replacement: String,
        permanent: bool,
    },
    Chain {
        middlewares: Vec<String>,
    },
    #[serde(rename = "passTLSClientCert")]
    PassTlsClientCert(PassTlsClientCert),
    /// Run on the router's own copy of its service's servers (see `control::lower`).
    Buffering(crate::middleware::Buffering),
    CircuitBreaker(crate::dynamic::CircuitBreaker),
    InFlightReq(crate::middleware::MaxConn),
    /// `compress`: gzip or brotli for clients that accept it.
    Compress(crate::middleware::Compress),
    /// `contentType`: a `Content-Type` sniffed from the body when the server sends none;
    /// Traefik's deprecated `autoDetect: false` turns it off.
    #[serde(rename_all = "camelCase")]
    ContentType {
        auto_detect: bool,
    },
    /// `grpcWeb`: gRPC-Web requests of browsers turned into gRPC for the (HTTP/2) service,
    /// answers back into gRPC-Web; CORS for `allowOrigins`.
    #[serde(rename_all = "camelCase")]
    GrpcWeb {
        allow_origins: Vec<String>,
    },
    #[serde(rename_all = "camelCase")]
    Retry {
        attempts: u32,
        #[serde(
            skip_serializing_if = "Option::is_none",
            serialize_with = "crate::dynamic::serialize_opt_duration"
        )]
        initial_interval: Option<std::time::Duration>,
    },
    Errors {
        status: Vec<String>,
        service: String,
        query: String,
    },
    /// `basicAuth`, `digestAuth`, `forwardAuth` (`kind` says which).
    #[serde(untagged)]
    Auth(Box<AuthMiddleware>),
}

/// An authentication middleware: the v1 model's `Auth`, shown under its 2.x type name.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthMiddleware(pub Auth);

impl Serialize for AuthMiddleware {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let name = match self.0.kind {
            crate::middleware::AuthKind::Basic(_) => "basicAuth",
            crate::middleware::AuthKind::Digest(_) => "digestAuth",
            crate::middleware::AuthKind::Forward(_) => "forwardAuth",
            crate::middleware::AuthKind::Jwt(_) => "jwtAuth",
        };
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry(name, &self.0)?;
        m.end()
    }
}

impl Middleware {
    /// The type's name as Traefik writes it (`stripPrefix`).
    pub fn type_name(&self) -> &'static str {
        match self {
            Middleware::AddPrefix { .. } => "addPrefix",
            Middleware::StripPrefix { .. } => "stripPrefix",
            Middleware::StripPrefixRegex { .. } => "stripPrefixRegex",
            Middleware::ReplacePath { .. } => "replacePath",
            Middleware::ReplacePathRegex { .. } => "replacePathRegex",
            Middleware::Auth(a) => match a.0.kind {
                crate::middleware::AuthKind::Basic(_) => "basicAuth",
                crate::middleware::AuthKind::Digest(_) => "digestAuth",
                crate::middleware::AuthKind::Forward(_) => "forwardAuth",
                crate::middleware::AuthKind::Jwt(_) => "jwtAuth",
            },
            Middleware::IpAllowList(_) => "ipAllowList",
            Middleware::Headers(_) => "headers",
            Middleware::RateLimit(_) => "rateLimit",
            Middleware::RedirectScheme { .. } => "redirectScheme",
            Middleware::RedirectRegex { .. } => "redirectRegex",
            Middleware::Chain { .. } => "chain",
            Middleware::PassTlsClientCert(_) => "passTLSClientCert",
            Middleware::Buffering(_) => "buffering",
            Middleware::CircuitBreaker(_) => "circuitBreaker",
            Middleware::InFlightReq(_) => "inFlightReq",
            Middleware::Compress(_) => "compress",
            Middleware::ContentType { .. } => "contentType",
            Middleware::GrpcWeb { .. } => "grpcWeb",
            Middleware::Retry { .. } => "retry",
            Middleware::Errors { .. } => "errors",
        }
    }
}
