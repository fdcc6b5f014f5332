//! The immutable routing table: compiled frontends per entrypoint, indexed by exact host.
//!
//! Built by the aggregator, published through `ArcSwap`, read by every request without a lock.
//! Routes are ordered by priority (highest first), ties broken by frontend name then provider,
//! so the order never depends on hash iteration.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use http::uri::{Authority, Scheme};
use model::update::Protocol;

use crate::server::ServerState;
use crate::wrr::Wrr;
use model::dynamic::{ProviderConfig, ProviderError};
use model::rules::{RequestView, Rule};

/// Everything the data plane and the dashboard need, for one configuration generation.
#[derive(Debug, Default)]
pub struct RoutingTable {
    pub entry_points: HashMap<String, EntryPointRoutes>,
    /// The providers' snapshots this table was built from (for the API).
    pub providers: BTreeMap<String, Arc<ProviderConfig>>,
    /// Provider errors plus compile errors (bad rules, undefined backends).
    pub errors: Vec<ProviderError>,
    pub generation: u64,
    /// Runtime state of every server in this table, by (provider, backend, URL).
    pub servers: Arc<ServerIndex>,
}

impl RoutingTable {
    /// The route for a request arriving on `entry_point`, if any frontend matches.
    pub fn route(&self, entry_point: &str, req: &RequestView) -> Option<&Arc<CompiledRoute>> {
        self.entry_points.get(entry_point)?.route(req)
    }
}

/// Every compiled backend by provider and name, so each server's state can be found by
/// (provider, backend, URL). Publishing it costs one entry per backend, not per server.
#[derive(Debug, Default)]
pub struct ServerIndex {
    backends: HashMap<String, HashMap<String, Arc<BackendRuntime>>>,
}

impl ServerIndex {
    pub(crate) fn new(backends: HashMap<String, HashMap<String, Arc<BackendRuntime>>>) -> Self {
        ServerIndex { backends }
    }

    /// The state of the server `url` of `backend` from `provider`.
    pub fn get(
        &self,
        (provider, backend, url): &(String, String, String),
    ) -> Option<&Arc<ServerState>> {
        let b = self.backends.get(provider)?.get(backend)?;
        b.servers.iter().find(|s| s.url == *url).map(|s| &s.state)
    }

    /// Every server as ((provider, backend, URL), state), in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = ((&str, &str, &str), &Arc<ServerState>)> {
        self.backends.iter().flat_map(|(p, m)| {
            m.iter().flat_map(move |(b, rt)| {
                rt.servers
                    .iter()
                    .map(move |s| ((p.as_str(), b.as_str(), s.url.as_str()), &s.state))
            })
        })
    }

    pub fn len(&self) -> usize {
        self.backends
            .values()
            .flat_map(|m| m.values())
            .map(|b| b.servers.len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One entrypoint's routes, with an index from exact host to the routes that can match it.
#[derive(Debug, Default)]
pub struct EntryPointRoutes {
    routes: Vec<Arc<CompiledRoute>>,
    /// For each host named in a `Host` matcher: its routes plus the host-less ones, in order.
    by_host: HashMap<String, Box<[u32]>>,
    /// Routes without a `Host` matcher, in order (tried for every other host).
    no_host: Box<[u32]>,
}

impl EntryPointRoutes {
    /// Sorts `routes` by priority and builds the host index.
    pub fn new(mut routes: Vec<Arc<CompiledRoute>>) -> EntryPointRoutes {
        routes.sort_by(|a, b| {
            b.priority
                .cmp(&a.priority)
                .then_with(|| a.frontend.cmp(&b.frontend))
                .then_with(|| a.provider.cmp(&b.provider))
        });
        let mut by_host: HashMap<String, Vec<u32>> = HashMap::new();
        let mut no_host = Vec::new();
        for (i, r) in routes.iter().enumerate() {
            match r.rule.hosts() {
                Some(hosts) => {
                    for h in hosts {
                        by_host.entry(h.clone()).or_default().push(i as u32);
                    }
                }
                None => no_host.push(i as u32),
            }
        }
        let by_host = by_host
            .into_iter()
            .map(|(h, mut idx)| {
                idx.extend_from_slice(&no_host);
                idx.sort_unstable();
                idx.dedup();
                (h, idx.into_boxed_slice())
            })
            .collect();
        EntryPointRoutes {
            routes,
            by_host,
            no_host: no_host.into_boxed_slice(),
        }
    }

    pub fn route(&self, req: &RequestView) -> Option<&Arc<CompiledRoute>> {
        let candidates = self.by_host.get(req.host).unwrap_or(&self.no_host);
        candidates
            .iter()
            .map(|&i| &self.routes[i as usize])
            .find(|r| r.rule.matches(req))
    }

    pub fn routes(&self) -> &[Arc<CompiledRoute>] {
        &self.routes
    }
}

/// A frontend ready to serve: its merged rule and the backend it forwards to.
#[derive(Debug)]
pub struct CompiledRoute {
    pub frontend: String,
    pub provider: String,
    pub priority: i64,
    pub rule: Rule,
    pub pass_host_header: bool,
    pub backend: Arc<BackendRuntime>,
    /// Survives rebuilds: kept in the aggregator's registry by (provider, frontend).
    pub metrics: Arc<model::metrics::TrafficMetrics>,
    /// `redirect.entryPoint`: requests arriving elsewhere are redirected there.
    pub redirect: Option<config::Redirect>,
    /// The frontend or its backend asks for a protection portier does not enforce yet: every
    /// request is answered 503 (rule zero), never forwarded unprotected.
    pub unenforced: bool,
    /// Allowlist, headers, auth (with forward auth's client) and rate limit; `None` when the
    /// frontend has none, so a plain
    /// route pays nothing for them.
    pub guards: Option<Arc<crate::guards::RouteGuards>>,
    /// `errors.NAME`, in name order; empty for most routes.
    pub error_pages: Vec<ErrorPageRuntime>,
}

impl CompiledRoute {
    /// The first error page whose ranges hold `status`.
    pub fn error_page(&self, status: u16) -> Option<&ErrorPageRuntime> {
        self.error_pages.iter().find(|p| p.matches(status))
    }
}

/// A custom error page with its ranges read and its backend resolved.
#[derive(Debug)]
pub struct ErrorPageRuntime {
    pub ranges: Vec<(u16, u16)>,
    pub backend: Arc<BackendRuntime>,
    pub page: model::dynamic::ErrorPage,
}

impl ErrorPageRuntime {
    pub fn matches(&self, status: u16) -> bool {
        self.ranges
            .iter()
            .any(|&(lo, hi)| (lo..=hi).contains(&status))
    }
}

/// A backend's servers and its balancer. Shared by every frontend that names it.
#[derive(Debug)]
pub struct BackendRuntime {
    pub name: String,
    pub servers: Vec<ServerRuntime>,
    /// `maxconn`: requests in flight per key.
    pub max_conn: Option<MaxConnRuntime>,
    /// A protection of this backend could not be compiled: its frontends answer 503.
    pub refused: bool,
    /// `loadBalancer.stickiness`: the cookie that keeps a client on its server.
    pub sticky: Option<crate::sticky::StickyCookie>,
    /// `circuitBreaker`: 503 while tripped.
    pub breaker: Option<BreakerRuntime>,
    /// `buffering`: bodies read whole, with limits.
    pub buffering: Option<model::middleware::Buffering>,
    /// `buffering.retryExpression`: when to send a buffered request again.
    pub retry: Option<Arc<middleware::RetryCondition>>,
    wrr: Wrr,
}

/// A compiled circuit breaker and the expression it was compiled from (reused while equal).
#[derive(Debug, Clone)]
pub struct BreakerRuntime {
    pub expression: String,
    pub breaker: Arc<middleware::Breaker>,
}

/// A compiled connection limit and the settings it was compiled from (reused while equal).
#[derive(Debug, Clone)]
pub struct MaxConnRuntime {
    pub spec: model::middleware::MaxConn,
    pub limiter: Arc<middleware::ConnLimiter>,
}

impl BackendRuntime {
    pub fn new(name: String, servers: Vec<ServerRuntime>) -> BackendRuntime {
        let weights: Vec<u32> = servers.iter().map(|s| s.weight).collect();
        BackendRuntime {
            name,
            wrr: Wrr::new(&weights),
            servers,
            max_conn: None,
            refused: false,
            sticky: None,
            breaker: None,
            buffering: None,
            retry: None,
        }
    }

    /// The next healthy server by weighted round robin, skipping `tried` and servers in a
    /// cool-down; when every untried healthy server is cooling down, one of those is used
    /// rather than failing the request.
    pub fn pick_index(&self, tried: &[usize]) -> Option<usize> {
        let healthy = |i: usize| !tried.contains(&i) && self.servers[i].state.is_healthy();
        self.wrr
            .pick(|i| healthy(i) && !self.servers[i].state.is_ejected())
            .or_else(|| self.wrr.pick(healthy))
    }

    /// The server a sticky cookie in `headers` names, while it is healthy and not cooling
    /// down; else `None` (the caller picks by round robin and sets a new cookie).
    pub fn sticky_index(&self, headers: &http::HeaderMap) -> Option<usize> {
        let i = self.sticky.as_ref()?.server(headers)?;
        let s = &self.servers[i].state;
        (s.is_healthy() && !s.is_ejected()).then_some(i)
    }
}

#[derive(Debug)]
pub struct ServerRuntime {
    pub name: String,
    pub url: String,
    /// `https` for TLS servers, else `http` (h2c is HTTP/2 over plain TCP).
    pub scheme: Scheme,
    pub protocol: Protocol,
    pub authority: Authority,
    pub weight: u32,
    pub state: Arc<ServerState>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderMap, Method};
    use model::rules::parse;

    fn route(name: &str, rule: &str, priority: i64) -> Arc<CompiledRoute> {
        Arc::new(CompiledRoute {
            frontend: name.to_string(),
            provider: "file".to_string(),
            priority,
            rule: parse(rule).expect("parses"),
            pass_host_header: true,
            backend: Arc::new(BackendRuntime::new("b".into(), Vec::new())),
            metrics: Arc::default(),
            redirect: None,
            unenforced: false,
            guards: None,
            error_pages: Vec::new(),
        })
    }

    fn pick<'a>(t: &'a EntryPointRoutes, host: &str, path: &str) -> Option<&'a str> {
        let headers = HeaderMap::new();
        let req = RequestView {
            host,
            path,
            query: None,
            method: &Method::GET,
            headers: &headers,
        };
        t.route(&req).map(|r| r.frontend.as_str())
    }

    #[test]
    fn highest_priority_wins_and_hosts_are_indexed() {
        let t = EntryPointRoutes::new(vec![
            route("prefix", "PathPrefix:/foo,/bar", 20),
            route("strip", "PathPrefixStrip:/foobar", 23),
            route("host", "PathPrefix:/foo;Host:foo.com", 28),
            route("other", "Host:other.com", 14),
        ]);
        assert_eq!(pick(&t, "foo.com", "/foobar"), Some("host"));
        assert_eq!(pick(&t, "x.com", "/foobar"), Some("strip"));
        assert_eq!(pick(&t, "x.com", "/foo"), Some("prefix"));
        assert_eq!(
            pick(&t, "other.com", "/foo"),
            Some("prefix"),
            "prefix (20) outranks Host:other.com (14)"
        );
        assert_eq!(pick(&t, "other.com", "/zzz"), Some("other"));
        assert_eq!(pick(&t, "x.com", "/zzz"), None);
    }

    #[test]
    fn ties_are_broken_by_name() {
        let t = EntryPointRoutes::new(vec![
            route("b", "PathPrefix:/", 5),
            route("a", "PathPrefix:/", 5),
        ]);
        assert_eq!(pick(&t, "h", "/"), Some("a"));
        let t = EntryPointRoutes::new(vec![
            route("a", "PathPrefix:/", 5),
            route("b", "PathPrefix:/", 5),
        ]);
        assert_eq!(pick(&t, "h", "/"), Some("a"));
    }
}
