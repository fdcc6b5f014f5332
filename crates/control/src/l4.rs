//! Layer 4: every provider's TCP and UDP routers, services and middlewares compiled into each
//! entrypoint's TCP routes and each UDP entrypoint's route, once per change of them. Runtime
//! state outlives tables by name: a server's health, open connections and whether it has left
//! (its connections then drain), a router's counters, an `inFlightConn` middleware's counts.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ipnet::IpNet;
use model::dynamic::{ProviderConfig, ProviderError};
use model::rules::{ConnView, Syntax, TcpRule};
use model::tcp::{
    TcpConfig, TcpHealthCheck, TcpMiddleware, TcpRouter, TcpService, UdpConfig, UdpService,
};
use serde::Serialize;
use tokio::sync::Notify;

use crate::wrr::Wrr;

/// Nested weighted services deeper than this are refused (a loop, most likely).
const MAX_DEPTH: usize = 8;

/// What the data plane reads: the TCP routes of each entrypoint, the route of each UDP
/// entrypoint, and every router and service as compiled, for the API.
#[derive(Debug, Default)]
pub struct L4Table {
    pub tcp: HashMap<String, Arc<TcpRoutes>>,
    pub udp: HashMap<String, Arc<UdpRoute>>,
    pub routers: Vec<RouterView>,
    pub services: Vec<ServiceView>,
}

/// One entrypoint's TCP routes, in the order they are tried.
#[derive(Debug, Default)]
pub struct TcpRoutes {
    pub routes: Vec<Arc<TcpRoute>>,
}

impl TcpRoutes {
    /// Whether some route takes TLS connections (terminated or passed through).
    pub fn any_tls(&self) -> bool {
        self.routes.iter().any(|r| r.tls != TlsMode::Plain)
    }

    /// The first route for a connection: TLS ones (with what the ClientHello said) meet TLS
    /// routes, others plain routes; a route with a specific rule before a catch-all.
    pub fn pick(&self, view: &ConnView, tls: bool) -> Option<&Arc<TcpRoute>> {
        self.routes
            .iter()
            .filter(|r| (r.tls != TlsMode::Plain) == tls)
            .find(|r| r.rule.matches(view))
    }

    /// A plain route taking the connection without reading from it: the rule needs nothing
    /// the client sends (a server-first protocol, such as SMTP, would wait forever).
    pub fn pick_unread(&self, client: IpAddr) -> Option<&Arc<TcpRoute>> {
        let view = ConnView {
            sni: None,
            client,
            alpn: &[],
        };
        self.routes
            .iter()
            .filter(|r| r.tls == TlsMode::Plain)
            .find(|r| r.rule.matches(&view))
    }
}

/// How a route treats TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum TlsMode {
    /// Plain TCP (``HostSNI(`*`)`` or `ClientIP`).
    Plain,
    /// TLS ended by portier, bytes forwarded in clear.
    Terminate,
    /// TLS forwarded untouched, routed by the ClientHello's server name.
    Passthrough,
}

/// A TCP router compiled.
#[derive(Debug)]
pub struct TcpRoute {
    /// `router@provider`.
    pub name: String,
    pub rule: TcpRule,
    pub priority: i64,
    pub tls: TlsMode,
    /// A middleware or TLS setting that cannot be honoured: connections are closed (never
    /// served without it), and this says why.
    pub refusal: Option<String>,
    /// `ipAllowList` ranges, every one of which the client must be in (one set per
    /// middleware); empty: any client.
    pub allow: Vec<Vec<IpNet>>,
    /// `inFlightConn` limits.
    pub in_flight: Vec<Arc<InFlight>>,
    pub service: Arc<TcpBalancer>,
    pub stats: Arc<L4Stats>,
    /// Termination: the `tls.options` set (`name@provider`) for the rule's server names.
    pub tls_options: Option<String>,
    /// Termination: `tls.certResolver`, which orders certificates for the rule's server names
    /// and `tls.domains`.
    pub cert_resolver: Option<String>,
    pub tls_domains: Vec<String>,
}

impl TcpRoute {
    /// Whether every allowlist admits `client`.
    pub fn allows(&self, client: IpAddr) -> bool {
        self.allow
            .iter()
            .all(|ranges| ranges.iter().any(|n| n.contains(&client)))
    }
}

/// `inFlightConn`: open connections per client IP, at most `amount`.
#[derive(Debug)]
pub struct InFlight {
    pub amount: u64,
    open: Mutex<HashMap<IpAddr, u64>>,
}

impl InFlight {
    fn new(amount: u64) -> InFlight {
        InFlight {
            amount,
            open: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a connection from `ip` in, unless it has `amount` open already.
    pub fn enter(self: &Arc<Self>, ip: IpAddr) -> Option<InFlightGuard> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(ip).or_insert(0);
        if *n >= self.amount {
            return None;
        }
        *n += 1;
        Some(InFlightGuard {
            of: Arc::clone(self),
            ip,
        })
    }
}

/// One counted connection; dropping it counts it out.
#[derive(Debug)]
pub struct InFlightGuard {
    of: Arc<InFlight>,
    ip: IpAddr,
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        let mut open = self.of.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// A router's counters (TCP: connections; UDP: sessions), kept across tables.
#[derive(Debug, Default)]
pub struct L4Stats {
    pub open: AtomicU64,
    pub total: AtomicU64,
    /// Closed by a middleware, a refusal, or for want of a server.
    pub refused: AtomicU64,
    /// From clients to servers.
    pub bytes_in: AtomicU64,
    /// From servers to clients.
    pub bytes_out: AtomicU64,
}

impl Serialize for L4Stats {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("L4Stats", 5)?;
        st.serialize_field("open", &self.open.load(Ordering::Relaxed))?;
        st.serialize_field("total", &self.total.load(Ordering::Relaxed))?;
        st.serialize_field("refused", &self.refused.load(Ordering::Relaxed))?;
        st.serialize_field("bytesIn", &self.bytes_in.load(Ordering::Relaxed))?;
        st.serialize_field("bytesOut", &self.bytes_out.load(Ordering::Relaxed))?;
        st.end()
    }
}

/// A TCP service's servers in weighted round robin, and how to reach them.
#[derive(Debug)]
pub struct TcpBalancer {
    /// `service@provider`.
    pub name: String,
    pub servers: Vec<Arc<L4Server>>,
    wrr: Wrr,
    pub proxy_protocol: Option<u8>,
    /// `None`: no bound.
    pub termination_delay: Option<Duration>,
    pub health_check: Option<TcpHealthCheck>,
}

impl TcpBalancer {
    /// The next server that is up.
    pub fn pick(&self) -> Option<&Arc<L4Server>> {
        let i = self
            .wrr
            .pick(|i| self.servers[i].up.load(Ordering::Relaxed))?;
        self.servers.get(i)
    }
}

/// A server of a TCP or UDP service; the same `Arc` across tables while it is declared.
#[derive(Debug)]
pub struct L4Server {
    pub address: String,
    /// TLS towards the server (`servers[].tls`).
    pub tls: bool,
    /// Down while its health check fails.
    pub up: AtomicBool,
    pub open: AtomicU64,
    leaving: AtomicBool,
    left: Notify,
}

impl L4Server {
    fn new(address: &str, tls: bool) -> L4Server {
        L4Server {
            address: address.to_string(),
            tls,
            up: AtomicBool::new(true),
            open: AtomicU64::new(0),
            leaving: AtomicBool::new(false),
            left: Notify::new(),
        }
    }

    /// Resolves once the server is no longer declared (its connections then drain).
    pub async fn left(&self) {
        loop {
            let notified = self.left.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.leaving.load(Ordering::SeqCst) {
                return;
            }
            notified.await;
        }
    }

    fn leave(&self) {
        self.leaving.store(true, Ordering::SeqCst);
        self.left.notify_waiters();
    }
}

/// A UDP entrypoint's router and its servers.
#[derive(Debug)]
pub struct UdpRoute {
    pub name: String,
    pub servers: Vec<Arc<L4Server>>,
    wrr: Wrr,
    pub stats: Arc<L4Stats>,
}

impl UdpRoute {
    pub fn pick(&self) -> Option<&Arc<L4Server>> {
        let i = self
            .wrr
            .pick(|i| self.servers[i].up.load(Ordering::Relaxed))?;
        self.servers.get(i)
    }
}

/// A router as the API shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouterView {
    pub name: String,
    pub provider: String,
    /// `tcp` or `udp`.
    pub kind: &'static str,
    pub entry_points: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub rule: String,
    pub service: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsMode>,
    /// `enabled`, or `disabled` with the error (a refused route closes its connections).
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub stats: Arc<L4Stats>,
}

/// A service as the API shows it: its servers with their state of the moment.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceView {
    pub name: String,
    pub kind: &'static str,
    pub servers: Vec<Arc<L4Server>>,
}

impl Serialize for L4Server {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("L4Server", 3)?;
        st.serialize_field("address", &self.address)?;
        let status = if self.leaving.load(Ordering::Relaxed) {
            "draining"
        } else if self.up.load(Ordering::Relaxed) {
            "up"
        } else {
            "down"
        };
        st.serialize_field("status", status)?;
        st.serialize_field("open", &self.open.load(Ordering::Relaxed))?;
        st.end()
    }
}

/// The entrypoints routers are served on.
#[derive(Debug, Clone, Default)]
pub struct L4Settings {
    /// TCP entrypoints (every non-UDP one) and whether each serves TLS.
    pub tcp_entry_points: Vec<(String, bool)>,
    /// Where a TCP router without `entryPoints` is served.
    pub default_entry_points: Vec<String>,
    pub udp_entry_points: Vec<String>,
    pub default_rule_syntax: Syntax,
    /// The certificate resolvers' names (`tls.certResolver` names one).
    pub resolvers: Vec<String>,
}

/// State kept between compiles.
#[derive(Debug, Default)]
pub struct L4Registry {
    inputs: BTreeMap<String, (TcpConfig, UdpConfig)>,
    /// The TLS options sets defined (`name@provider`), which routers' refusals depend on.
    options: BTreeSet<String>,
    servers: HashMap<(String, String, bool), Arc<L4Server>>,
    stats: HashMap<String, Arc<L4Stats>>,
    in_flight: HashMap<(String, String), Arc<InFlight>>,
    last: Arc<L4Table>,
    errors: Vec<ProviderError>,
}

impl L4Registry {
    /// Every server currently declared, with the health check of its service (for the
    /// checker).
    pub fn checked(table: &L4Table) -> Vec<(Arc<L4Server>, TcpHealthCheck)> {
        let mut out: Vec<(Arc<L4Server>, TcpHealthCheck)> = Vec::new();
        for routes in table.tcp.values() {
            for r in &routes.routes {
                let Some(hc) = &r.service.health_check else {
                    continue;
                };
                for s in &r.service.servers {
                    if !out.iter().any(|(x, _)| Arc::ptr_eq(x, s)) {
                        out.push((Arc::clone(s), hc.clone()));
                    }
                }
            }
        }
        out
    }
}

/// Compiles the layer-4 routes when some provider's TCP or UDP section changed; otherwise the
/// last table is reused. Errors are appended to `errors`.
pub fn compile(
    providers: &BTreeMap<String, Arc<ProviderConfig>>,
    settings: &L4Settings,
    reg: &mut L4Registry,
    errors: &mut Vec<ProviderError>,
) -> Arc<L4Table> {
    let inputs: BTreeMap<String, (TcpConfig, UdpConfig)> = providers
        .iter()
        .filter(|(_, c)| !c.tcp.is_empty() || !c.udp.is_empty())
        .map(|(n, c)| (n.clone(), (c.tcp.clone(), c.udp.clone())))
        .collect();
    let options: BTreeSet<String> = (providers.iter())
        .flat_map(|(p, c)| c.tls.options.keys().map(move |n| format!("{n}@{p}")))
        .collect();
    let changed = inputs != reg.inputs || options != reg.options;
    if changed || reg.inputs.is_empty() && !inputs.is_empty() {
        let mut b = Build {
            options: &options,
            inputs: &inputs,
            settings,
            reg,
            errors: Vec::new(),
            servers_now: HashMap::new(),
        };
        let table = b.table();
        let (new_errors, now) = (b.errors, b.servers_now);
        for (key, s) in &reg.servers {
            if !now.contains_key(key) {
                s.leave();
            }
        }
        reg.servers = now;
        reg.stats.retain(|name, _| {
            table
                .routers
                .iter()
                .any(|r| format!("{}@{}", r.name, r.provider) == *name)
        });
        reg.last = Arc::new(table);
        reg.errors = new_errors;
        reg.inputs = inputs;
        reg.options = options;
    }
    errors.extend(reg.errors.iter().cloned());
    Arc::clone(&reg.last)
}

struct Build<'a> {
    options: &'a BTreeSet<String>,
    inputs: &'a BTreeMap<String, (TcpConfig, UdpConfig)>,
    settings: &'a L4Settings,
    reg: &'a mut L4Registry,
    errors: Vec<ProviderError>,
    servers_now: HashMap<(String, String, bool), Arc<L4Server>>,
}

fn error(provider: &str, item: &str, message: String) -> ProviderError {
    ProviderError::Compile {
        provider: provider.to_string(),
        at: None,
        item: item.to_string(),
        message,
    }
}

/// `name@provider`, or a bare name in `default`'s provider.
fn split_ref<'n>(reference: &'n str, default: &'n str) -> (&'n str, &'n str) {
    match reference.rsplit_once('@') {
        Some((name, provider)) => (name, provider),
        None => (reference, default),
    }
}

impl Build<'_> {
    fn table(&mut self) -> L4Table {
        let mut table = L4Table::default();
        let mut by_ep: HashMap<String, Vec<Arc<TcpRoute>>> = HashMap::new();
        let mut services_seen: BTreeMap<String, Arc<TcpBalancer>> = BTreeMap::new();
        for (pname, (tcp, _)) in self.inputs {
            for (rname, r) in &tcp.routers {
                let (route, eps) = self.tcp_route(pname, rname, r, &mut services_seen);
                table.routers.push(RouterView {
                    name: rname.clone(),
                    provider: pname.clone(),
                    kind: "tcp",
                    entry_points: eps.clone(),
                    rule: r.rule.clone(),
                    service: r.service.clone(),
                    tls: route.as_ref().map(|x| x.tls),
                    status: if route.as_ref().is_some_and(|x| x.refusal.is_none()) {
                        "enabled"
                    } else {
                        "disabled"
                    },
                    error: match &route {
                        Some(x) => x.refusal.clone(),
                        None => self.errors.last().map(|e| e.message().to_string()),
                    },
                    stats: route
                        .as_ref()
                        .map_or_else(Arc::default, |x| Arc::clone(&x.stats)),
                });
                if let Some(route) = route {
                    for ep in eps {
                        by_ep.entry(ep).or_default().push(Arc::clone(&route));
                    }
                }
            }
        }
        for (ep, mut routes) in by_ep {
            routes.sort_by(|a, b| {
                (a.rule.is_catch_all(), -a.priority, &a.name).cmp(&(
                    b.rule.is_catch_all(),
                    -b.priority,
                    &b.name,
                ))
            });
            table.tcp.insert(ep, Arc::new(TcpRoutes { routes }));
        }
        for (_, b) in services_seen {
            table.services.push(view_of(&b.name, "tcp", &b.servers));
        }
        self.udp(&mut table);
        table
    }

    fn stats(&mut self, full: &str) -> Arc<L4Stats> {
        Arc::clone(self.reg.stats.entry(full.to_string()).or_default())
    }

    /// One TCP router: its route (`None` when it cannot be served at all) and entrypoints.
    fn tcp_route(
        &mut self,
        pname: &str,
        rname: &str,
        r: &TcpRouter,
        services: &mut BTreeMap<String, Arc<TcpBalancer>>,
    ) -> (Option<Arc<TcpRoute>>, Vec<String>) {
        let item = format!("TCP router {rname}");
        let at = |e: ProviderError| with_source(e, &r.source);
        let eps = if r.entry_points.is_empty() {
            self.settings.default_entry_points.clone()
        } else {
            r.entry_points.clone()
        };
        let mut served = Vec::new();
        for ep in &eps {
            if self.settings.tcp_entry_points.iter().any(|(n, _)| n == ep) {
                served.push(ep.clone());
            } else {
                let why = if self.settings.udp_entry_points.contains(ep) {
                    format!("entrypoint {ep:?} is a UDP entrypoint")
                } else {
                    format!("entrypoint {ep:?} is not defined")
                };
                self.errors
                    .push(at(error(pname, &item, format!("{why}; not served there"))));
            }
        }
        let syntax = r.rule_syntax.unwrap_or(self.settings.default_rule_syntax);
        let rule = match TcpRule::parse(&r.rule, syntax) {
            Ok(rule) => rule,
            Err(e) => {
                self.errors.push(at(error(
                    pname,
                    &item,
                    format!(
                        "rule {:?}: column {}: {}; router left out",
                        r.rule, e.column, e.message
                    ),
                )));
                return (None, served);
            }
        };
        let tls = match &r.tls {
            None => TlsMode::Plain,
            Some(t) if t.passthrough => TlsMode::Passthrough,
            Some(_) => TlsMode::Terminate,
        };
        if tls == TlsMode::Plain && rule.needs_tls() {
            self.errors.push(at(error(
                pname,
                &item,
                format!(
                    "rule {:?} reads the TLS server name or ALPN, but the router has no tls (set tls, or tls.passthrough=true; plain TCP takes HostSNI(`*`)); router left out",
                    r.rule
                ),
            )));
            return (None, served);
        }
        let full_service = {
            let (n, p) = split_ref(&r.service, pname);
            format!("{n}@{p}")
        };
        let service = match services.get(&full_service) {
            Some(b) => Arc::clone(b),
            None => match self.balancer(&r.service, pname, 0) {
                Ok(b) => {
                    let b = Arc::new(b);
                    services.insert(full_service.clone(), Arc::clone(&b));
                    b
                }
                Err(message) => {
                    self.errors.push(at(error(
                        pname,
                        &item,
                        format!("{message}; router left out"),
                    )));
                    return (None, served);
                }
            },
        };
        let full = format!("{rname}@{pname}");
        let mut refusal = None;
        let mut allow = Vec::new();
        let mut in_flight = Vec::new();
        for m in &r.middlewares {
            let (mname, mprov) = split_ref(m, pname);
            let found = self
                .inputs
                .get(mprov)
                .and_then(|(tcp, _)| tcp.middlewares.get(mname));
            match found.map(|m| m.as_ref()) {
                Some(TcpMiddleware::IpAllowList(ranges)) => allow.push(
                    ranges
                        .iter()
                        .filter_map(|r| {
                            r.parse::<IpNet>()
                                .ok()
                                .or_else(|| r.parse::<IpAddr>().ok().map(IpNet::from))
                        })
                        .collect(),
                ),
                Some(TcpMiddleware::InFlightConn(n)) => {
                    let key = (full.clone(), format!("{mname}@{mprov}"));
                    let entry = self
                        .reg
                        .in_flight
                        .entry(key)
                        .or_insert_with(|| Arc::new(InFlight::new(*n)));
                    if entry.amount != *n {
                        *entry = Arc::new(InFlight::new(*n));
                    }
                    in_flight.push(Arc::clone(entry));
                }
                None => {
                    refusal = Some(format!(
                        "middleware {m:?} is not a TCP middleware of provider {mprov}; the router's connections are closed until it exists"
                    ));
                }
            }
        }
        let mut tls_options = None;
        let mut cert_resolver = None;
        let mut tls_domains = Vec::new();
        if let Some(t) = &r.tls {
            let asks =
                !t.cert_resolver.is_empty() || !t.domains.is_empty() || !t.options.is_empty();
            if tls == TlsMode::Passthrough && asks {
                self.errors.push(at(error(
                    pname,
                    &item,
                    "tls.certResolver, tls.domains and tls.options do not apply with tls.passthrough (the server's own TLS is used); not used".into(),
                )));
            }
            if tls == TlsMode::Terminate {
                if !t.options.is_empty() && t.options != "default" {
                    let (n, p) = split_ref(&t.options, pname);
                    let set = format!("{n}@{p}");
                    if self.options.contains(&set) {
                        tls_options = Some(set);
                    } else {
                        refusal = Some(format!(
                            "tls.options {:?} is not defined (tls.options.NAME in a dynamic file); connections are closed until it is",
                            t.options
                        ));
                    }
                }
                if !t.cert_resolver.is_empty() {
                    if self.settings.resolvers.contains(&t.cert_resolver) {
                        cert_resolver = Some(t.cert_resolver.clone());
                    } else {
                        self.errors.push(at(error(
                            pname,
                            &item,
                            format!(
                                "certificate resolver {:?} is not defined in certificatesResolvers; the entrypoint's certificates are served, as Traefik does",
                                t.cert_resolver
                            ),
                        )));
                    }
                }
                for d in &t.domains {
                    let names = std::iter::once(&d.main).chain(&d.sans);
                    tls_domains.extend(names.filter(|n| !n.is_empty()).cloned());
                }
                if cert_resolver.is_none() && !tls_domains.is_empty() {
                    self.errors.push(at(error(
                        pname,
                        &item,
                        "tls.domains without a tls.certResolver: nothing orders them; not used"
                            .into(),
                    )));
                    tls_domains.clear();
                }
            }
        }
        if let Some(why) = &refusal {
            self.errors.push(at(error(pname, &item, why.clone())));
        }
        let priority = if r.priority != 0 {
            r.priority
        } else {
            r.rule.len() as i64
        };
        let route = TcpRoute {
            stats: self.stats(&full),
            name: full,
            rule,
            priority,
            tls,
            refusal,
            allow,
            in_flight,
            service,
            tls_options,
            cert_resolver,
            tls_domains,
        };
        (Some(Arc::new(route)), served)
    }

    /// A TCP service, weighted ones flattened into one balancer (weights multiplied).
    fn balancer(
        &mut self,
        reference: &str,
        pname: &str,
        depth: usize,
    ) -> Result<TcpBalancer, String> {
        let mut servers: Vec<(Arc<L4Server>, u32)> = Vec::new();
        let mut first: Option<(Option<u8>, Option<Duration>, Option<TcpHealthCheck>)> = None;
        self.collect(reference, pname, 1, depth, &mut servers, &mut first)?;
        let (proxy_protocol, termination_delay, health_check) = first.unwrap_or_default();
        let (n, p) = split_ref(reference, pname);
        let weights: Vec<u32> = servers.iter().map(|(_, w)| *w).collect();
        Ok(TcpBalancer {
            name: format!("{n}@{p}"),
            wrr: Wrr::new(&weights),
            servers: servers.into_iter().map(|(s, _)| s).collect(),
            proxy_protocol,
            termination_delay,
            health_check,
        })
    }

    #[allow(clippy::type_complexity)]
    fn collect(
        &mut self,
        reference: &str,
        pname: &str,
        weight: u32,
        depth: usize,
        servers: &mut Vec<(Arc<L4Server>, u32)>,
        first: &mut Option<(Option<u8>, Option<Duration>, Option<TcpHealthCheck>)>,
    ) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(format!(
                "service {reference:?}: weighted services nest too deep (a loop?)"
            ));
        }
        let (name, provider) = split_ref(reference, pname);
        let Some(s) = self
            .inputs
            .get(provider)
            .and_then(|(tcp, _)| tcp.services.get(name))
        else {
            return Err(format!(
                "TCP service {reference:?} is not defined (provider {provider})"
            ));
        };
        match s.as_ref() {
            TcpService::LoadBalancer(lb) => {
                if first.is_none() {
                    *first = Some((
                        lb.proxy_protocol,
                        lb.termination_delay,
                        lb.health_check.clone(),
                    ));
                }
                let key_service = format!("{name}@{provider}");
                for srv in &lb.servers {
                    let key = (key_service.clone(), srv.address.clone(), srv.tls);
                    let state = match self.servers_now.get(&key) {
                        Some(s) => Arc::clone(s),
                        None => {
                            let s =
                                self.reg.servers.get(&key).cloned().unwrap_or_else(|| {
                                    Arc::new(L4Server::new(&srv.address, srv.tls))
                                });
                            if lb.health_check.is_none() {
                                s.up.store(true, Ordering::Relaxed);
                            }
                            self.servers_now.insert(key, Arc::clone(&s));
                            s
                        }
                    };
                    servers.push((state, weight.max(1)));
                }
                Ok(())
            }
            TcpService::Weighted(children) => {
                let provider = provider.to_string();
                for c in children {
                    if c.weight == 0 {
                        continue;
                    }
                    self.collect(
                        &c.name,
                        &provider,
                        weight.saturating_mul(c.weight),
                        depth + 1,
                        servers,
                        first,
                    )?;
                }
                Ok(())
            }
        }
    }

    fn udp(&mut self, table: &mut L4Table) {
        let mut taken: HashMap<String, String> = HashMap::new();
        let mut services: BTreeMap<String, Vec<Arc<L4Server>>> = BTreeMap::new();
        for (pname, (_, udp)) in self.inputs {
            for (rname, r) in &udp.routers {
                let item = format!("UDP router {rname}");
                let full = format!("{rname}@{pname}");
                let eps = if r.entry_points.is_empty() {
                    self.settings.udp_entry_points.clone()
                } else {
                    r.entry_points.clone()
                };
                let mut servers: Vec<(Arc<L4Server>, u32)> = Vec::new();
                let mut err = self
                    .udp_servers(udp, &r.service, pname, 1, 0, &mut servers)
                    .err();
                let mut served = Vec::new();
                if err.is_none() {
                    for ep in &eps {
                        if !self.settings.udp_entry_points.contains(ep) {
                            let msg = format!(
                                "entrypoint {ep:?} is not a UDP entrypoint (address :PORT/udp); not served there"
                            );
                            self.errors
                                .push(with_source(error(pname, &item, msg), &r.source));
                            continue;
                        }
                        if let Some(other) = taken.get(ep) {
                            let msg = format!(
                                "entrypoint {ep:?} already has UDP router {other} (one UDP router per entrypoint, as in Traefik); not served there"
                            );
                            self.errors
                                .push(with_source(error(pname, &item, msg), &r.source));
                            continue;
                        }
                        taken.insert(ep.clone(), full.clone());
                        served.push(ep.clone());
                    }
                }
                if let Some(e) = &err {
                    self.errors.push(with_source(
                        error(pname, &item, format!("{e}; router left out")),
                        &r.source,
                    ));
                }
                let stats = self.stats(&full);
                let weights: Vec<u32> = servers.iter().map(|(_, w)| *w).collect();
                let list: Vec<Arc<L4Server>> = servers.into_iter().map(|(s, _)| s).collect();
                let (sn, sp) = split_ref(&r.service, pname);
                services.insert(format!("{sn}@{sp}"), list.clone());
                let route = Arc::new(UdpRoute {
                    name: full,
                    wrr: Wrr::new(&weights),
                    servers: list,
                    stats: Arc::clone(&stats),
                });
                for ep in &served {
                    table.udp.insert(ep.clone(), Arc::clone(&route));
                }
                table.routers.push(RouterView {
                    name: rname.clone(),
                    provider: pname.clone(),
                    kind: "udp",
                    entry_points: eps,
                    rule: String::new(),
                    service: r.service.clone(),
                    tls: None,
                    status: if err.is_none() && !served.is_empty() {
                        "enabled"
                    } else {
                        "disabled"
                    },
                    error: err.take(),
                    stats,
                });
            }
        }
        for (name, servers) in services {
            table.services.push(view_of(&name, "udp", &servers));
        }
    }

    fn udp_servers(
        &mut self,
        own: &UdpConfig,
        reference: &str,
        pname: &str,
        weight: u32,
        depth: usize,
        out: &mut Vec<(Arc<L4Server>, u32)>,
    ) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(format!(
                "service {reference:?}: weighted services nest too deep (a loop?)"
            ));
        }
        let (name, provider) = split_ref(reference, pname);
        let svc = if provider == pname {
            own.services.get(name).cloned()
        } else {
            self.inputs
                .get(provider)
                .and_then(|(_, u)| u.services.get(name).cloned())
        };
        let Some(s) = svc else {
            return Err(format!(
                "UDP service {reference:?} is not defined (provider {provider})"
            ));
        };
        match s.as_ref() {
            UdpService::LoadBalancer(addrs) => {
                for a in addrs {
                    let key = (format!("udp:{name}@{provider}"), a.clone(), false);
                    let state = self
                        .servers_now
                        .get(&key)
                        .or_else(|| self.reg.servers.get(&key))
                        .cloned()
                        .unwrap_or_else(|| Arc::new(L4Server::new(a, false)));
                    self.servers_now.insert(key, Arc::clone(&state));
                    out.push((state, weight.max(1)));
                }
                Ok(())
            }
            UdpService::Weighted(children) => {
                let provider = provider.to_string();
                let own = self
                    .inputs
                    .get(&provider)
                    .map(|(_, u)| u.clone())
                    .unwrap_or_default();
                for c in children {
                    if c.weight == 0 {
                        continue;
                    }
                    self.udp_servers(
                        &own,
                        &c.name,
                        &provider,
                        weight.saturating_mul(c.weight),
                        depth + 1,
                        out,
                    )?;
                }
                Ok(())
            }
        }
    }
}

fn with_source(e: ProviderError, source: &Option<String>) -> ProviderError {
    match (e, source) {
        (
            ProviderError::Compile {
                provider,
                item,
                message,
                ..
            },
            Some(src),
        ) => ProviderError::Compile {
            provider,
            at: Some(src.clone()),
            item,
            message,
        },
        (e, _) => e,
    }
}

fn view_of(name: &str, kind: &'static str, servers: &[Arc<L4Server>]) -> ServiceView {
    ServiceView {
        name: name.to_string(),
        kind,
        servers: servers.to_vec(),
    }
}
