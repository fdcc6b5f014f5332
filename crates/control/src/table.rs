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
use model::rules::{RequestView, Rule, toggle_slash};

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
    /// `keepTrailingSlash = false` (Traefik's default): a `Path` rule meets the other
    /// spelling of its path too, answered 301 ([`RouteMatch::slash`]).
    pub strict_slash: bool,
    /// Certificates from dynamic configuration, rebuilt only when they change.
    pub certs: Arc<crate::certs::CertStore>,
    /// The TLS options sets in use: the default, and per entrypoint the hosts whose routers
    /// name a set (the same `Arc` while unchanged, so the data plane rebuilds only on a
    /// change).
    pub tls_policy: Arc<crate::tls_policy::TlsPolicy>,
    /// TCP routes per entrypoint and UDP routes per UDP entrypoint.
    pub l4: Arc<crate::l4::L4Table>,
}

/// The route a request meets, and the path to redirect it to when it meets the route only
/// with its trailing slash toggled.
#[derive(Debug)]
pub struct RouteMatch<'a> {
    pub route: &'a Arc<CompiledRoute>,
    pub slash: Option<String>,
}

impl RoutingTable {
    /// The route for a request arriving on `entry_point`, if any frontend matches.
    pub fn route(&self, entry_point: &str, req: &RequestView) -> Option<RouteMatch<'_>> {
        self.entry_points
            .get(entry_point)?
            .route_slash(req, self.strict_slash)
    }
}

/// Every compiled backend by provider and name, so each server's state can be found by
/// (provider, backend, URL). Persistent maps: a generation that changes one backend copies a
/// path of the tree, not the index.
#[derive(Debug, Default, Clone)]
pub struct ServerIndex {
    backends: imbl::HashMap<String, imbl::HashMap<String, Arc<BackendRuntime>>>,
}

impl ServerIndex {
    pub(crate) fn insert(&mut self, provider: &str, backend: &str, rt: Arc<BackendRuntime>) {
        self.backends
            .entry(provider.to_string())
            .or_default()
            .insert(backend.to_string(), rt);
    }

    pub(crate) fn remove(&mut self, provider: &str, backend: &str) {
        if let Some(m) = self.backends.get_mut(provider) {
            m.remove(backend);
            if m.is_empty() {
                self.backends.remove(provider);
            }
        }
    }

    /// The state of the server `url` of `backend` from `provider`.
    pub fn get(
        &self,
        (provider, backend, url): &(String, String, String),
    ) -> Option<&Arc<ServerState>> {
        let b = self.backends.get(provider)?.get(backend)?;
        b.servers.iter().find(|s| s.url == *url).map(|s| &s.state)
    }

    /// The compiled backend `backend` of `provider`.
    pub fn backend(&self, provider: &str, backend: &str) -> Option<&Arc<BackendRuntime>> {
        self.backends.get(provider)?.get(backend)
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

/// Routes in the order they are tried.
type Routes = Arc<[Arc<CompiledRoute>]>;

/// One entrypoint's routes, with an index from exact host to the routes that can match it.
///
/// Persistent: the compiler keeps one per entrypoint and patches it route by route
/// ([`insert`](Self::insert), [`remove`](Self::remove)); publishing a table clones it in
/// constant time, so a change to one frontend among thousands costs microseconds.
#[derive(Debug, Default, Clone)]
pub struct EntryPointRoutes {
    /// Every route, in order.
    routes: imbl::OrdMap<RouteOrder, Arc<CompiledRoute>>,
    /// For each host named in a `Host` matcher: the routes that name it, in order.
    by_host: imbl::HashMap<String, Routes>,
    /// Routes without a `Host` matcher, in order (tried for every host, merged in order).
    no_host: Routes,
}

/// The order routes are tried in: priority (highest first), then frontend name, then provider,
/// so it never depends on hash iteration.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct RouteOrder {
    priority: std::cmp::Reverse<i64>,
    frontend: String,
    provider: String,
}

impl RouteOrder {
    fn of(r: &CompiledRoute) -> RouteOrder {
        RouteOrder {
            priority: std::cmp::Reverse(r.priority),
            frontend: r.frontend.clone(),
            provider: r.provider.clone(),
        }
    }
}

/// Whether `a` is tried before `b` (the order of [`RouteOrder`], without allocating).
fn tried_before(a: &CompiledRoute, b: &CompiledRoute) -> bool {
    (std::cmp::Reverse(a.priority), &a.frontend, &a.provider)
        < (std::cmp::Reverse(b.priority), &b.frontend, &b.provider)
}

/// Two ordered route lists, walked as one.
struct Merged<'a> {
    a: std::iter::Peekable<std::slice::Iter<'a, Arc<CompiledRoute>>>,
    b: std::iter::Peekable<std::slice::Iter<'a, Arc<CompiledRoute>>>,
}

impl<'a> Iterator for Merged<'a> {
    type Item = &'a Arc<CompiledRoute>;

    fn next(&mut self) -> Option<Self::Item> {
        match (self.a.peek(), self.b.peek()) {
            (Some(x), Some(y)) if tried_before(y, x) => self.b.next(),
            (Some(_), _) => self.a.next(),
            (None, _) => self.b.next(),
        }
    }
}

fn same_frontend(a: &CompiledRoute, b: &CompiledRoute) -> bool {
    a.frontend == b.frontend && a.provider == b.provider
}

/// `list` with `route` in its place (replacing the route of the same frontend).
fn with_route(list: &[Arc<CompiledRoute>], route: &Arc<CompiledRoute>) -> Routes {
    let mut v: Vec<Arc<CompiledRoute>> = list
        .iter()
        .filter(|r| !same_frontend(r, route))
        .cloned()
        .collect();
    let at = v.partition_point(|r| tried_before(r, route));
    v.insert(at, Arc::clone(route));
    v.into()
}

/// `list` without the route of `route`'s frontend.
fn without_route(list: &[Arc<CompiledRoute>], route: &CompiledRoute) -> Routes {
    list.iter()
        .filter(|r| !same_frontend(r, route))
        .cloned()
        .collect()
}

impl EntryPointRoutes {
    /// The routes of `routes`, sorted and indexed.
    pub fn new(routes: Vec<Arc<CompiledRoute>>) -> EntryPointRoutes {
        let mut out = EntryPointRoutes::default();
        for r in routes {
            out.insert(r);
        }
        out
    }

    /// Adds `route` (replacing the route of the same frontend and provider, if any).
    pub(crate) fn insert(&mut self, route: Arc<CompiledRoute>) {
        if let Some(old) = self.routes.get(&RouteOrder::of(&route)).cloned() {
            self.remove(&old);
        }
        match route.rule.hosts() {
            Some(hosts) => {
                for h in hosts {
                    let list = self.by_host.get(h).map(|l| &l[..]).unwrap_or(&[]);
                    let list = with_route(list, &route);
                    self.by_host.insert(h.clone(), list);
                }
            }
            None => self.no_host = with_route(&self.no_host, &route),
        }
        self.routes.insert(RouteOrder::of(&route), route);
    }

    /// Removes `route` (found by its frontend, provider and priority).
    pub(crate) fn remove(&mut self, route: &CompiledRoute) {
        if self.routes.remove(&RouteOrder::of(route)).is_none() {
            return;
        }
        match route.rule.hosts() {
            Some(hosts) => {
                for h in hosts {
                    let Some(list) = self.by_host.get(h) else {
                        continue;
                    };
                    let list = without_route(list, route);
                    if list.is_empty() {
                        self.by_host.remove(h);
                    } else {
                        self.by_host.insert(h.clone(), list);
                    }
                }
            }
            None => self.no_host = without_route(&self.no_host, route),
        }
    }

    /// The first route, in order, whose rule matches the request exactly.
    pub fn route(&self, req: &RequestView) -> Option<&Arc<CompiledRoute>> {
        self.route_slash(req, false).map(|r| r.route)
    }

    /// The first route, in order, that the request meets (with `strict_slash`, a `Path` rule
    /// meets the other spelling of its path): the host's routes and the host-less ones, merged.
    pub fn route_slash(&self, req: &RequestView, strict_slash: bool) -> Option<RouteMatch<'_>> {
        let hosted: &[Arc<CompiledRoute>] = self.by_host.get(req.host).map_or(&[], |l| &l[..]);
        let anyhost: &[Arc<CompiledRoute>] = &self.no_host;
        let merged = Merged {
            a: hosted.iter().peekable(),
            b: anyhost.iter().peekable(),
        };
        // The other spelling of the path, made at most once per request, only when needed.
        let mut toggled: Option<Option<String>> = None;
        for route in merged {
            if route.rule.matches(req) {
                return Some(RouteMatch { route, slash: None });
            }
            if !strict_slash || !route.rule.has_path() {
                continue;
            }
            let other = toggled.get_or_insert_with(|| toggle_slash(req.path));
            if let Some(other) = other
                .as_deref()
                .filter(|o| route.rule.matches_toggled(req, o))
            {
                let slash = Some(other.to_string());
                return Some(RouteMatch { route, slash });
            }
        }
        None
    }

    /// Every route, in the order they are tried.
    pub fn routes(&self) -> impl Iterator<Item = &Arc<CompiledRoute>> {
        self.routes.values()
    }

    pub fn len(&self) -> usize {
        self.routes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
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
    pub redirect: Option<model::redirect::Redirect>,
    /// The frontend or its backend asks for a protection portier does not enforce yet: every
    /// request is answered 503 (rule zero), never forwarded unprotected.
    pub unenforced: bool,
    /// Allowlist, headers, auth (with forward auth's client) and rate limit; `None` when the
    /// frontend has none, so a plain
    /// route pays nothing for them.
    pub guards: Option<Arc<crate::guards::RouteGuards>>,
    /// `errors.NAME`, in name order; empty for most routes.
    pub error_pages: Vec<ErrorPageRuntime>,
    /// A 2.x/3.x `compress` middleware: answers compressed as on a `compress` entrypoint.
    pub compress: Option<Arc<model::middleware::Compress>>,
    /// A 2.x/3.x `contentType` middleware: answers without a `Content-Type` get one sniffed
    /// from their first bytes.
    pub content_type: bool,
    /// A 2.x/3.x `grpcWeb` middleware: its allowed origins.
    pub grpc_web: Option<Arc<Vec<String>>>,
    /// A 2.x/3.x `retry.initialInterval`: the first wait before a retry.
    pub retry_interval: Option<std::time::Duration>,
    /// A 2.x/3.x `retry.attempts`, instead of `[retry] attempts`.
    pub retry_attempts: Option<usize>,
    /// A 2.x/3.x router's `tls.domains`, ordered by ACME beside its rule's hosts.
    pub tls_domains: Vec<String>,
    /// A 2.x/3.x router's `tls.options` set (`name@provider`), for the SNI of its hosts.
    pub tls_options: Option<String>,
    /// A 2.x/3.x router's certificate resolver (it orders its hosts' certificates).
    pub cert_resolver: Option<String>,
    /// The route's service is portier's own (`api@internal`: the API and dashboard;
    /// `noop@internal`: 418), answered after its middlewares.
    pub internal: Option<model::dynamic::InternalService>,
}

impl CompiledRoute {
    /// A plain route of provider `file` with `rule` and nothing else, for tests.
    #[cfg(test)]
    pub(crate) fn for_test(name: &str, rule: Rule) -> CompiledRoute {
        CompiledRoute {
            frontend: name.to_string(),
            provider: "file".to_string(),
            priority: 0,
            rule,
            pass_host_header: true,
            backend: Arc::new(BackendRuntime::new("b".into(), Vec::new())),
            metrics: Arc::default(),
            redirect: None,
            unenforced: false,
            guards: None,
            error_pages: Vec::new(),
            compress: None,
            content_type: false,
            grpc_web: None,
            retry_interval: None,
            retry_attempts: None,
            tls_domains: Vec::new(),
            tls_options: None,
            cert_resolver: None,
            internal: None,
        }
    }

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
    /// A 2.x/3.x mirroring service's mirrors: copies of a share of requests go there.
    pub mirroring: Option<MirroringRuntime>,
    /// The main servers (all of them, unless some have another role).
    main: Group,
    /// A 2.x/3.x failover's fallback servers: used while no main server is usable.
    fallback: Option<Group>,
}

/// Some of a backend's servers (indexes into `servers`) with their own balancer.
#[derive(Debug)]
struct Group {
    members: Box<[usize]>,
    wrr: Wrr,
}

impl Group {
    fn new(members: Vec<usize>, servers: &[ServerRuntime]) -> Group {
        let weights: Vec<u32> = members.iter().map(|&i| servers[i].weight).collect();
        Group {
            wrr: Wrr::new(&weights),
            members: members.into_boxed_slice(),
        }
    }

    fn pick(&self, usable: impl Fn(usize) -> bool) -> Option<usize> {
        (self.wrr.pick(|k| usable(self.members[k]))).map(|k| self.members[k])
    }

    /// A usable server that is not cooling down, else a usable one that is.
    fn pick_fresh(
        &self,
        servers: &[ServerRuntime],
        usable: impl Fn(usize) -> bool,
    ) -> Option<usize> {
        self.pick(|i| usable(i) && !servers[i].state.is_ejected())
            .or_else(|| self.pick(usable))
    }
}

/// The mirrors of a mirroring service, and how many requests each was sent (Traefik's
/// count: mirror `m` gets request n when `m.sent × 100 < n × m.percent`).
#[derive(Debug)]
pub struct MirroringRuntime {
    mirrors: Vec<MirrorRuntime>,
    total: std::sync::atomic::AtomicU64,
    /// `mirrorBody`: copies carry the body (read whole first).
    pub mirror_body: bool,
    /// `maxBodySize`: a longer body is not mirrored.
    pub max_body_size: Option<u64>,
}

#[derive(Debug)]
struct MirrorRuntime {
    group: Group,
    percent: u64,
    sent: std::sync::atomic::AtomicU64,
}

impl MirroringRuntime {
    /// For one request: a server of each mirror whose turn it is (a mirror with no usable
    /// server is skipped); empty for most requests of a low percentage.
    pub fn targets(&self, servers: &[ServerRuntime]) -> Vec<usize> {
        use std::sync::atomic::Ordering;
        let total = self.total.fetch_add(1, Ordering::Relaxed) + 1;
        let mut out = Vec::new();
        for m in &self.mirrors {
            let due = m
                .sent
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |sent| {
                    (sent * 100 < total * m.percent).then_some(sent + 1)
                })
                .is_ok();
            if due {
                let healthy = |i: usize| servers[i].state.is_healthy();
                out.extend(m.group.pick_fresh(servers, healthy));
            }
        }
        out
    }
}

/// A compiled circuit breaker and the expression it was compiled from (reused while equal).
#[derive(Debug, Clone)]
pub struct BreakerRuntime {
    pub spec: model::dynamic::CircuitBreaker,
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
        BackendRuntime::with_roles(name, servers, None)
    }

    /// A backend whose servers may have roles (`ServerRoles::of`, by server name): fallback
    /// servers form their own group, mirrors theirs; the rest are the main servers.
    pub fn with_roles(
        name: String,
        servers: Vec<ServerRuntime>,
        roles: Option<&model::dynamic::ServerRoles>,
    ) -> BackendRuntime {
        use model::dynamic::ServerRole;
        let role = |s: &ServerRuntime| roles.and_then(|r| r.of.get(&s.name)).copied();
        let members = |want: Option<ServerRole>| -> Vec<usize> {
            (0..servers.len())
                .filter(|&i| role(&servers[i]) == want)
                .collect()
        };
        let main = Group::new(members(None), &servers);
        let fallback = (roles.is_some_and(|r| r.of.values().any(|v| *v == ServerRole::Fallback)))
            .then(|| Group::new(members(Some(ServerRole::Fallback)), &servers));
        let mirroring = roles
            .filter(|r| !r.mirrors.is_empty())
            .map(|r| MirroringRuntime {
                mirrors: (r.mirrors.iter().enumerate())
                    .map(|(i, m)| MirrorRuntime {
                        group: Group::new(members(Some(ServerRole::Mirror(i))), &servers),
                        percent: u64::from(m.percent.min(100)),
                        sent: Default::default(),
                    })
                    .collect(),
                total: Default::default(),
                mirror_body: r.mirror_body,
                max_body_size: r.max_body_size,
            });
        BackendRuntime {
            name,
            main,
            fallback,
            mirroring,
            servers,
            max_conn: None,
            refused: false,
            sticky: None,
            breaker: None,
            buffering: None,
            retry: None,
        }
    }

    /// The next healthy main server by weighted round robin, skipping `tried` and servers
    /// in a cool-down; when every untried healthy server is cooling down, one of those is used
    /// rather than failing the request. Without a usable main server, a fallback server.
    pub fn pick_index(&self, tried: &[usize]) -> Option<usize> {
        let healthy = |i: usize| !tried.contains(&i) && self.servers[i].state.is_healthy();
        (self.main.pick_fresh(&self.servers, healthy))
            .or_else(|| (self.fallback.as_ref()).and_then(|g| g.pick_fresh(&self.servers, healthy)))
    }

    /// The number of servers requests may go to (mirrors are not among them).
    pub fn serving(&self) -> usize {
        self.main.members.len() + self.fallback.as_ref().map_or(0, |g| g.members.len())
    }

    /// The server a sticky cookie in `headers` names, while it is healthy and not cooling
    /// down (and, for a fallback server, while no main server is up); else `None` (the caller
    /// picks by round robin and sets a new cookie).
    pub fn sticky_index(&self, headers: &http::HeaderMap) -> Option<usize> {
        let i = self.sticky.as_ref()?.server(headers)?;
        let s = &self.servers[i].state;
        let usable = s.is_healthy() && !s.is_ejected();
        let main = self.main.members.contains(&i);
        let fallback_due = !main
            && self
                .fallback
                .as_ref()
                .is_some_and(|g| g.members.contains(&i))
            && !(self.main.members.iter()).any(|&m| self.servers[m].state.is_healthy());
        (usable && (main || fallback_due)).then_some(i)
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
            priority,
            ..CompiledRoute::for_test(name, parse(rule).expect("parses"))
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
            client_ip: None,
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

    fn server(name: &str) -> ServerRuntime {
        ServerRuntime {
            name: name.into(),
            url: format!("http://{name}:80"),
            scheme: Scheme::HTTP,
            protocol: Protocol::Http1,
            authority: format!("{name}:80").parse().expect("authority"),
            weight: 1,
            state: Arc::new(ServerState::with_limit(0)),
        }
    }

    #[test]
    fn fallback_servers_serve_only_while_no_main_server_is_up_and_mirrors_take_their_share() {
        use model::dynamic::{Mirror, ServerRole, ServerRoles};
        let roles = ServerRoles {
            of: [
                ("fb".to_string(), ServerRole::Fallback),
                ("copy".to_string(), ServerRole::Mirror(0)),
            ]
            .into(),
            mirrors: vec![Mirror {
                service: "copy".into(),
                percent: 25,
                health_check: None,
            }],
            ..Default::default()
        };
        let b = BackendRuntime::with_roles(
            "b".into(),
            vec![server("a"), server("fb"), server("copy")],
            Some(&roles),
        );
        let name = |i: Option<usize>| i.map(|i| b.servers[i].name.as_str());
        assert_eq!(b.serving(), 2, "mirrors are not served");
        for _ in 0..4 {
            assert_eq!(name(b.pick_index(&[])), Some("a"));
        }
        // Tried (a failed connect) or down: the fallback takes the request.
        assert_eq!(name(b.pick_index(&[0])), Some("fb"));
        b.servers[0].state.set_healthy(false);
        assert_eq!(name(b.pick_index(&[])), Some("fb"));
        b.servers[1].state.set_healthy(false);
        assert_eq!(b.pick_index(&[]), None);
        b.servers[0].state.set_healthy(true);
        assert_eq!(name(b.pick_index(&[])), Some("a"));
        // 25%: requests 1, 5, 9, … are copied (Traefik's count).
        let m = b.mirroring.as_ref().expect("mirroring");
        let copied: Vec<usize> = (1..=12)
            .filter(|_| !m.targets(&b.servers).is_empty())
            .collect();
        assert_eq!(copied, [1, 5, 9]);
        assert_eq!(
            m.targets(&b.servers),
            [2],
            "the 13th, to the mirror's server"
        );
    }
}
