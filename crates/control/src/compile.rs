//! The compiler: every provider's snapshot → one immutable [`RoutingTable`]. Bad frontends are
//! left out (or, asking for a protection not enforced, kept answering 503) and reported.
//!
//! Compiling is incremental: the [`Registry`] keeps each provider's last snapshot with what
//! each backend and frontend compiled to, and the entrypoints' route indexes. A generation
//! diffs the new snapshot against the last one (persistent maps: the diff skips what they
//! share), rebuilds only the backends and frontends that changed (and the frontends of a
//! changed backend) and patches their routes in, so one container changing among thousands
//! costs microseconds. Per-server state and per-frontend counters live there too, so a
//! rebuild keeps health and metrics.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use imbl::ordmap::DiffItem;

use crate::guards::RouteGuards;
use http::uri::Scheme;
use model::dynamic::{Backend, Frontend, ProviderConfig, ProviderError};
use model::metrics::TrafficMetrics;
use model::redirect::{Redirect, RedirectTo};
use model::rules;
use model::update::{Protocol, parse_server_url};

use crate::server::ServerState;
use crate::table::{
    BackendRuntime, BreakerRuntime, CompiledRoute, EntryPointRoutes, ErrorPageRuntime,
    MaxConnRuntime, RoutingTable, ServerIndex, ServerRuntime,
};

/// What compiling needs to know of the static configuration.
#[derive(Debug, Clone)]
pub struct CompileSettings {
    pub entry_points: Vec<String>,
    pub default_entry_points: Vec<String>,
    /// `maxConnsPerHost`: requests in flight per server (0: no limit).
    pub max_conns_per_server: usize,
    /// Entrypoint name → (TLS?, bound port), for frontend redirects.
    pub redirect_targets: HashMap<String, (bool, u16)>,
    /// `keepTrailingSlash` (default false: `Path` rules answer 301 to their own spelling).
    pub keep_trailing_slash: bool,
    /// The rule syntax of 2.x/3.x routers that do not say (`core.defaultRuleSyntax`; v3).
    pub default_rule_syntax: model::rules::Syntax,
    /// Where a 2.x/3.x router without entrypoints is served: every entrypoint, or those
    /// marked `asDefault` under a 2.x/3.x static configuration.
    pub router_entry_points: Vec<String>,
    /// Whether ACME is configured (a router's `tls.certResolver` and `tls.domains` use it).
    pub acme: bool,
    /// The 2.x/3.x certificate resolvers' names (routers name one in `tls.certResolver`).
    pub resolvers: Vec<String>,
    /// Whether the API is on, so routers may name the `api@internal` service.
    pub api: bool,
    /// `entryPoints.NAME.http` middlewares and TLS, given to each 2.x/3.x router served there.
    pub entry_point_http: BTreeMap<String, config::traefik_v2::EntryPointHttp>,
    /// Where TCP and UDP routers are served.
    pub l4: crate::l4::L4Settings,
}

impl CompileSettings {
    /// The settings of `config`; `bound` holds the ports entrypoints were really bound to (port
    /// 0 in tests), which frontend redirects name instead of the configured ones.
    pub fn new(config: &config::Config, bound: &HashMap<String, u16>) -> CompileSettings {
        CompileSettings {
            entry_points: config.entry_points.iter().map(|e| e.name.clone()).collect(),
            default_entry_points: config.default_entry_points.clone(),
            max_conns_per_server: config.max_conns_per_host,
            keep_trailing_slash: config.keep_trailing_slash,
            default_rule_syntax: config
                .generation
                .default_rule_syntax
                .unwrap_or(model::rules::Syntax::V3),
            acme: config.acme.is_some(),
            resolvers: config.resolvers().filter_map(|a| a.name.clone()).collect(),
            api: config.web.is_some() || config.generation.api.is_some(),
            entry_point_http: config.generation.entry_point_http.clone(),
            router_entry_points: if config.generation.labels_v2 {
                config.default_entry_points.clone()
            } else {
                config.entry_points.iter().map(|e| e.name.clone()).collect()
            },
            l4: crate::l4::L4Settings {
                tcp_entry_points: (config.entry_points.iter())
                    .map(|e| (e.name.clone(), e.tls.is_some()))
                    .collect(),
                default_entry_points: if config.generation.labels_v2 {
                    config.default_entry_points.clone()
                } else {
                    config.entry_points.iter().map(|e| e.name.clone()).collect()
                },
                udp_entry_points: config.generation.udp_entry_points.keys().cloned().collect(),
                default_rule_syntax: config
                    .generation
                    .default_rule_syntax
                    .unwrap_or(model::rules::Syntax::V3),
                resolvers: config.resolvers().filter_map(|a| a.name.clone()).collect(),
            },
            redirect_targets: config
                .entry_points
                .iter()
                .map(|e| {
                    let port = bound
                        .get(&e.name)
                        .copied()
                        .unwrap_or(e.address.socket.port());
                    (e.name.clone(), (e.tls.is_some(), port))
                })
                .collect(),
        }
    }
}

/// State that outlives tables, owned by the aggregator: for each provider, the snapshot last
/// compiled and what each of its backends and frontends compiled to; the routes of every
/// entrypoint and the index of servers, patched item by item. A server's state (health,
/// requests in flight) lives in its backend's runtime and passes to the next runtime by URL,
/// so its identity is (provider, backend, URL); a frontend's counters pass likewise.
#[derive(Debug, Default)]
pub struct Registry {
    providers: HashMap<String, ProviderState>,
    /// One per entrypoint of [`CompileSettings::entry_points`], in that order.
    entry_points: Vec<EntryPointRoutes>,
    servers: ServerIndex,
    /// The servers as the last table published them; republished only when a backend changed.
    published: Arc<ServerIndex>,
    /// The TLS options policy as last published.
    tls_policy: Arc<crate::tls_policy::TlsPolicy>,
    /// The dynamic certificates as last built, with what they were built from and their errors.
    certs: (
        crate::certs::CertInputs,
        Arc<crate::certs::CertStore>,
        Vec<ProviderError>,
    ),
    /// TCP and UDP routes and their runtime state.
    l4: crate::l4::L4Registry,
}

/// One provider's part of the registry.
#[derive(Debug, Default)]
struct ProviderState {
    /// The snapshot last compiled: the next one is diffed against it.
    config: Arc<ProviderConfig>,
    backends: HashMap<String, Arc<BackendRuntime>>,
    frontends: HashMap<String, CompiledFrontend>,
    /// Backend name → the frontends that name it (as their backend or an error page's),
    /// whether it is defined or not: they are rebuilt when it comes, changes or goes.
    users: HashMap<String, BTreeSet<String>>,
    /// Compile errors of the backends and frontends that have some, in name order.
    backend_errors: BTreeMap<String, Vec<ProviderError>>,
    frontend_errors: BTreeMap<String, Vec<ProviderError>>,
}

/// A frontend as last compiled.
#[derive(Debug)]
struct CompiledFrontend {
    model: Arc<Frontend>,
    /// The route and the indexes (in `CompileSettings::entry_points`) it is served on; `None`
    /// when the frontend is left out.
    route: Option<(Arc<CompiledRoute>, Vec<usize>)>,
    /// Survives rebuilds of the route, for as long as the frontend exists.
    metrics: Arc<TrafficMetrics>,
}

impl Registry {
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Every server of the last compiled generation, with its state.
    pub fn servers(&self) -> &ServerIndex {
        &self.published
    }
}

/// Builds a routing table from every provider's snapshot. Only what changed since the last
/// generation is compiled: each snapshot is diffed against the previous one (persistent maps,
/// so the diff skips what they share), each changed backend is rebuilt with the frontends
/// that use it, each changed frontend is rebuilt, and their routes are patched into the
/// entrypoints' indexes. Bad frontends are left out and recorded in `errors`. Routers of the
/// 2.x/3.x model are lowered into frontends and backends first (`crate::lower`).
pub fn compile(
    providers: &BTreeMap<String, Arc<ProviderConfig>>,
    settings: &CompileSettings,
    registry: &mut Registry,
    generation: u64,
) -> RoutingTable {
    // 2.x/3.x routers and services become frontends and backends first.
    let lowered = crate::lower::lower(providers, settings);
    let providers = &lowered;
    if registry.entry_points.len() != settings.entry_points.len() {
        registry.entry_points = vec![EntryPointRoutes::default(); settings.entry_points.len()];
    }
    let gone: Vec<String> = (registry.providers.keys())
        .filter(|p| !providers.contains_key(*p))
        .cloned()
        .collect();
    let mut backends_changed = false;
    for pname in gone {
        backends_changed |= registry.update(&pname, &Arc::default(), settings);
        registry.providers.remove(&pname);
    }
    for (pname, config) in providers {
        backends_changed |= registry.update(pname, config, settings);
    }
    if backends_changed {
        registry.published = Arc::new(registry.servers.clone());
    }
    let cert_inputs = crate::certs::inputs(providers);
    if cert_inputs != registry.certs.0 {
        let (store, errors) = crate::certs::build(&cert_inputs);
        registry.certs = (cert_inputs, Arc::new(store), errors);
    }
    let mut errors = registry.certs.2.clone();
    let l4 = crate::l4::compile(providers, &settings.l4, &mut registry.l4, &mut errors);
    let policy = crate::tls_policy::build(
        providers,
        settings.entry_points.iter().zip(&registry.entry_points),
        &l4,
        &mut errors,
    );
    if *registry.tls_policy != policy {
        registry.tls_policy = Arc::new(policy);
    }
    for (pname, config) in providers {
        errors.extend(config.errors.iter().cloned());
        if let Some(state) = registry.providers.get(pname) {
            errors.extend(state.backend_errors.values().flatten().cloned());
            errors.extend(state.frontend_errors.values().flatten().cloned());
        }
    }
    RoutingTable {
        servers: Arc::clone(&registry.published),
        entry_points: (settings.entry_points.iter())
            .zip(&registry.entry_points)
            .map(|(ep, routes)| (ep.clone(), routes.clone()))
            .collect(),
        providers: providers.clone(),
        errors,
        generation,
        strict_slash: !settings.keep_trailing_slash,
        certs: Arc::clone(&registry.certs.1),
        tls_policy: Arc::clone(&registry.tls_policy),
        l4,
    }
}

impl Registry {
    /// Brings one provider's part up to `config`; `true` when a backend came, changed or went.
    fn update(
        &mut self,
        pname: &str,
        config: &Arc<ProviderConfig>,
        settings: &CompileSettings,
    ) -> bool {
        let Registry {
            providers,
            entry_points,
            servers,
            ..
        } = self;
        let state = providers.entry(pname.to_string()).or_default();
        if Arc::ptr_eq(&state.config, config) {
            return false;
        }
        let old = std::mem::replace(&mut state.config, Arc::clone(config));
        let mut dirty: BTreeSet<String> = BTreeSet::new();
        let mut backends_changed = false;
        for d in old.backends.diff(&config.backends) {
            let name = match d {
                DiffItem::Add(name, b) | DiffItem::Update { new: (name, b), .. } => {
                    let mut errs = Vec::new();
                    let runtime = Arc::new(backend_runtime(
                        pname,
                        name,
                        b,
                        settings.max_conns_per_server,
                        state.backends.get(name).map(|r| &**r),
                        &mut errs,
                    ));
                    set_errors(&mut state.backend_errors, name, errs);
                    servers.insert(pname, name, Arc::clone(&runtime));
                    state.backends.insert(name.clone(), runtime);
                    name
                }
                DiffItem::Remove(name, _) => {
                    state.backends.remove(name);
                    state.backend_errors.remove(name);
                    servers.remove(pname, name);
                    name
                }
            };
            backends_changed = true;
            if let Some(users) = state.users.get(name) {
                dirty.extend(users.iter().cloned());
            }
        }
        for d in old.frontends.diff(&config.frontends) {
            let (DiffItem::Add(name, _)
            | DiffItem::Update { new: (name, _), .. }
            | DiffItem::Remove(name, _)) = d;
            dirty.insert(name.clone());
        }
        for fname in &dirty {
            state.refresh_frontend(pname, fname, settings, entry_points);
        }
        backends_changed
    }
}

impl ProviderState {
    /// Rebuilds frontend `fname` from the current snapshot (or drops it, gone): its old route
    /// leaves the entrypoints, the new one enters them.
    fn refresh_frontend(
        &mut self,
        pname: &str,
        fname: &str,
        settings: &CompileSettings,
        entry_points: &mut [EntryPointRoutes],
    ) {
        let old = self.frontends.remove(fname);
        if let Some(old) = &old {
            for b in used_backends(&old.model) {
                if let Some(users) = self.users.get_mut(b) {
                    users.remove(fname);
                    if users.is_empty() {
                        self.users.remove(b);
                    }
                }
            }
            if let Some((route, eps)) = &old.route {
                for &i in eps {
                    entry_points[i].remove(route);
                }
            }
        }
        self.frontend_errors.remove(fname);
        let Some(f) = self.config.frontends.get(fname).cloned() else {
            return;
        };
        for b in used_backends(&f) {
            self.users
                .entry(b.to_string())
                .or_default()
                .insert(fname.to_string());
        }
        let backend = self.backends.get(&f.backend).cloned();
        let error_backends: Vec<Option<Arc<BackendRuntime>>> = (f.errors.values())
            .map(|p| self.backends.get(&p.backend).cloned())
            .collect();
        let backend_unenforced =
            (self.config.backends.get(&f.backend)).is_some_and(|b| !b.unenforced.is_empty());
        let metrics = old
            .as_ref()
            .map(|c| Arc::clone(&c.metrics))
            .unwrap_or_default();
        // Rate-limit buckets outlive a rebuild (a scaled backend) while unchanged.
        let guards = old
            .as_ref()
            .filter(|c| c.model.middlewares == f.middlewares)
            .and_then(|c| c.route.as_ref())
            .and_then(|(r, _)| r.guards.clone());
        let mut errs = Vec::new();
        let route = compile_route(
            RouteInputs {
                pname,
                fname,
                f: &f,
                backend: backend.as_ref(),
                backend_unenforced,
                error_backends: &error_backends,
                metrics: &metrics,
                guards,
            },
            settings,
            &mut errs,
        );
        set_errors(&mut self.frontend_errors, fname, errs);
        if let Some((route, eps)) = &route {
            for &i in eps {
                entry_points[i].insert(Arc::clone(route));
            }
        }
        self.frontends.insert(
            fname.to_string(),
            CompiledFrontend {
                model: f,
                route,
                metrics,
            },
        );
    }
}

/// The backends a frontend names: its own and its error pages'.
fn used_backends(f: &Frontend) -> impl Iterator<Item = &str> {
    std::iter::once(f.backend.as_str()).chain(f.errors.values().map(|p| p.backend.as_str()))
}

/// Records an item's compile errors (only items with some are kept).
fn set_errors(
    map: &mut BTreeMap<String, Vec<ProviderError>>,
    name: &str,
    errors: Vec<ProviderError>,
) {
    if errors.is_empty() {
        map.remove(name);
    } else {
        map.insert(name.to_string(), errors);
    }
}

/// What one frontend's route is built from.
struct RouteInputs<'a> {
    pname: &'a str,
    fname: &'a str,
    f: &'a Frontend,
    backend: Option<&'a Arc<BackendRuntime>>,
    backend_unenforced: bool,
    /// The backend of each error page (in `f.errors` order), `None` when undefined.
    error_backends: &'a [Option<Arc<BackendRuntime>>],
    metrics: &'a Arc<TrafficMetrics>,
    /// The previous route's middlewares, when they are unchanged.
    guards: Option<Arc<RouteGuards>>,
}

/// One frontend → its route and entrypoints, or `None` (with the reasons in `errors`).
fn compile_route(
    inputs: RouteInputs<'_>,
    settings: &CompileSettings,
    errors: &mut Vec<ProviderError>,
) -> Option<(Arc<CompiledRoute>, Vec<usize>)> {
    let RouteInputs {
        pname,
        fname,
        f,
        backend,
        backend_unenforced,
        error_backends,
        metrics,
        guards,
    } = inputs;
    // A lowered 2.x/3.x router is named as one.
    let kind = if f.rule_syntax == rules::Syntax::V1 {
        "frontend"
    } else {
        "router"
    };
    let fail = |message: String| ProviderError::Compile {
        provider: pname.to_string(),
        at: f.source.clone(),
        item: format!("{kind} {fname}"),
        message,
    };
    let Some(backend) = backend else {
        errors.push(fail(format!("undefined backend {:?}", f.backend)));
        return None;
    };
    if f.routes.is_empty() {
        errors.push(fail("has no routes".to_string()));
        return None;
    }
    let mut rule = rules::Rule::default();
    let mut bad = false;
    for (rname, route) in &f.routes {
        match rules::parse_rule(&route.rule, f.rule_syntax) {
            Ok(r) => rule.merge(r),
            Err(e) => {
                errors.push(fail(if kind == "router" {
                    format!("rule {:?}: {e}", route.rule)
                } else {
                    format!("route {rname}: rule {:?}: {e}", route.rule)
                }));
                bad = true;
            }
        }
    }
    for step in &f.path_rewrites {
        match step.compile() {
            Ok(s) => rule.modifiers.steps.push(s),
            Err(e) => {
                errors.push(fail(e));
                bad = true;
            }
        }
    }
    if bad {
        return None;
    }
    let eps = entry_point_indexes(f, settings, &mut |m| errors.push(fail(m)))?;
    let redirect = match f.redirect.as_ref().map(|r| redirect(r, settings)) {
        None => None,
        Some(Ok(r)) => Some(r),
        Some(Err(m)) => {
            errors.push(fail(format!("{m}; frontend skipped")));
            return None;
        }
    };
    let (guards, refused) = match guards {
        Some(g) => (Some(g), false),
        // Already refused by its provider (with the reason): it answers 503 regardless.
        None if !f.unenforced.is_empty() => (None, true),
        None => compile_guards(f, &mut |m| errors.push(fail(m))),
    };
    let error_pages = error_pages(f, error_backends, &mut |m| errors.push(fail(m)));
    let texts: Vec<&str> = f.routes.values().map(|r| r.rule.as_str()).collect();
    let route = Arc::new(CompiledRoute {
        error_pages,
        tls_domains: f.tls_domains.clone(),
        tls_options: f.tls_options.clone(),
        cert_resolver: f.cert_resolver.clone(),
        internal: f.internal,
        compress: f.compress.clone().map(Arc::new),
        content_type: f.content_type,
        grpc_web: f.grpc_web.clone().map(Arc::new),
        retry_interval: f.retry_interval,
        retry_attempts: f.retry_attempts.map(|n| n as usize),
        redirect,
        metrics: Arc::clone(metrics),
        frontend: fname.to_string(),
        provider: pname.to_string(),
        priority: rules::priority(f.priority, &texts),
        rule,
        pass_host_header: f.pass_host_header,
        backend: Arc::clone(backend),
        unenforced: !f.unenforced.is_empty() || backend_unenforced || refused || backend.refused,
        guards,
    });
    Some((route, eps))
}

/// The frontend's error pages with their backends; a page whose backend is undefined is
/// reported and left out (the route is served without it).
fn error_pages(
    f: &Frontend,
    backends: &[Option<Arc<BackendRuntime>>],
    report: &mut impl FnMut(String),
) -> Vec<ErrorPageRuntime> {
    let mut out = Vec::new();
    for ((name, page), backend) in f.errors.iter().zip(backends) {
        let Some(backend) = backend else {
            report(format!(
                "errors.{name}: undefined backend {:?}; served without this error page",
                page.backend
            ));
            continue;
        };
        match page.ranges() {
            Ok(ranges) => out.push(ErrorPageRuntime {
                ranges,
                backend: Arc::clone(backend),
                page: page.clone(),
            }),
            Err(e) => report(format!(
                "errors.{name}: {e}; served without this error page"
            )),
        }
    }
    out
}

/// The frontend's middlewares, compiled once; `None` when it has none. A middleware that
/// cannot be compiled is reported and refuses the route (`true`: it answers 503).
fn compile_guards(
    f: &Frontend,
    report: &mut impl FnMut(String),
) -> (Option<Arc<RouteGuards>>, bool) {
    if f.middlewares.is_empty() {
        return (None, false);
    }
    match crate::guards::compile(&f.middlewares) {
        Ok(g) => {
            let g = Arc::new(g);
            crate::guards::start_jwks(&g);
            (Some(g), false)
        }
        Err(e) => {
            report(format!(
                "middlewares: {e}; the frontend answers 503 to every request rather than serve without them"
            ));
            (None, true)
        }
    }
}

/// The indexes of the defined entrypoints a frontend is served on (its own, or the defaults);
/// `None` when none is defined.
/// A frontend's redirect, compiled: the target entrypoint's scheme and port, or the regex.
fn redirect(
    r: &model::dynamic::FrontendRedirect,
    settings: &CompileSettings,
) -> Result<Redirect, String> {
    if r.entry_point.is_empty() {
        return Redirect::regex(&r.regex, &r.replacement, r.permanent)
            .map_err(|e| format!("redirect: {e}"));
    }
    match settings.redirect_targets.get(&r.entry_point) {
        Some(&(https, port)) => Ok(Redirect {
            to: RedirectTo::EntryPoint {
                name: r.entry_point.clone(),
                https,
                port,
            },
            permanent: r.permanent,
        }),
        None => Err(format!(
            "redirect to entrypoint {:?}, which is not defined",
            r.entry_point
        )),
    }
}

fn entry_point_indexes(
    f: &Frontend,
    settings: &CompileSettings,
    report: &mut impl FnMut(String),
) -> Option<Vec<usize>> {
    let eps = if f.entry_points.is_empty() {
        &settings.default_entry_points
    } else {
        &f.entry_points
    };
    let index = |e: &String| settings.entry_points.iter().position(|d| d == e);
    let unknown: Vec<&String> = eps.iter().filter(|e| index(e).is_none()).collect();
    if !unknown.is_empty() {
        report(format!("entrypoints {unknown:?} are not defined; ignored"));
    }
    let known: Vec<usize> = eps.iter().filter_map(index).collect();
    if known.is_empty() {
        report("no defined entrypoint left; frontend skipped".to_string());
        return None;
    }
    Some(known)
}

fn backend_runtime(
    pname: &str,
    bname: &str,
    backend: &Backend,
    max_conns: usize,
    old: Option<&BackendRuntime>,
    errors: &mut Vec<ProviderError>,
) -> BackendRuntime {
    let mut servers = Vec::new();
    for (sname, server) in &backend.servers {
        let fail = |message: String| ProviderError::Compile {
            provider: pname.to_string(),
            at: backend.source.clone(),
            item: format!("backend {bname} server {sname}"),
            message,
        };
        let weight = match u32::try_from(server.weight) {
            Ok(w) => w,
            Err(_) => {
                errors.push(fail(format!(
                    "weight {} must be 0 or more; server left out",
                    server.weight
                )));
                continue;
            }
        };
        let (protocol, authority) = match parse_server_url(&server.url) {
            Ok(p) => p,
            Err(e) => {
                errors.push(fail(e.to_string()));
                continue;
            }
        };
        let kept = old.and_then(|o| o.servers.iter().find(|s| s.url == server.url));
        let state = match kept {
            Some(s) => Arc::clone(&s.state),
            None => {
                // Under an active check a new server waits for its first passing probe.
                let s = ServerState::with_limit(max_conns);
                if backend.health_check_of(sname).is_some() {
                    s.set_healthy(false);
                }
                Arc::new(s)
            }
        };
        servers.push(ServerRuntime {
            name: sname.clone(),
            url: server.url.clone(),
            scheme: if protocol == Protocol::Https {
                Scheme::HTTPS
            } else {
                Scheme::HTTP
            },
            protocol,
            authority,
            weight,
            state,
        });
    }
    let mut runtime =
        BackendRuntime::with_roles(bname.to_string(), servers, backend.roles.as_deref());
    runtime.sticky = backend
        .load_balancer
        .stickiness
        .as_ref()
        .map(|s| crate::sticky::StickyCookie::new(s, bname, &runtime.servers));
    runtime.max_conn = backend_max_conn(pname, bname, backend, old, errors);
    runtime.breaker = backend_breaker(pname, bname, backend, old, errors);
    runtime.buffering = backend.buffering.clone();
    let retry = backend
        .buffering
        .as_ref()
        .map(|b| b.retry_expression.trim())
        .filter(|e| !e.is_empty())
        .map(middleware::RetryCondition::compile);
    match retry {
        None => {}
        Some(Ok(r)) => runtime.retry = Some(Arc::new(r)),
        Some(Err(e)) => {
            errors.push(ProviderError::Compile {
                provider: pname.to_string(),
                at: backend.source.clone(),
                item: format!("backend {bname}"),
                message: format!("buffering: {e}"),
            });
            runtime.refused = true;
        }
    }
    // A limit asked for and not compiled refuses the backend's frontends (503).
    runtime.refused |= backend.max_conn.is_some() && runtime.max_conn.is_none();
    runtime
}

/// The backend's connection limit: the previous one while unchanged (its counts of requests
/// in flight carry over), else compiled anew.
fn backend_max_conn(
    pname: &str,
    bname: &str,
    backend: &Backend,
    old: Option<&BackendRuntime>,
    errors: &mut Vec<ProviderError>,
) -> Option<MaxConnRuntime> {
    let spec = backend.max_conn.as_ref()?;
    if let Some(kept) = old
        .and_then(|o| o.max_conn.as_ref())
        .filter(|m| m.spec == *spec)
    {
        return Some(kept.clone());
    }
    match middleware::ConnLimiter::compile(spec) {
        Ok(l) => Some(MaxConnRuntime {
            spec: spec.clone(),
            limiter: Arc::new(l),
        }),
        Err(e) => {
            errors.push(ProviderError::Compile {
                provider: pname.to_string(),
                at: backend.source.clone(),
                item: format!("backend {bname}"),
                message: format!("maxconn: {e}"),
            });
            None
        }
    }
}

/// The backend's circuit breaker: the previous one while its expression is unchanged (its
/// state and window carry over a scaled backend), else compiled anew.
fn backend_breaker(
    pname: &str,
    bname: &str,
    backend: &Backend,
    old: Option<&BackendRuntime>,
    errors: &mut Vec<ProviderError>,
) -> Option<BreakerRuntime> {
    let spec = backend.circuit_breaker.as_ref()?;
    if let Some(kept) = old
        .and_then(|o| o.breaker.as_ref())
        .filter(|b| b.spec == *spec)
    {
        return Some(kept.clone());
    }
    match middleware::Breaker::compile(&spec.expression, std::time::Instant::now()) {
        Ok(b) => Some(BreakerRuntime {
            spec: spec.clone(),
            breaker: Arc::new(b.with_periods(
                spec.options.check_period,
                spec.options.fallback_duration,
                spec.options.recovery_duration,
            )),
        }),
        Err(e) => {
            errors.push(ProviderError::Compile {
                provider: pname.to_string(),
                at: backend.source.clone(),
                item: format!("backend {bname}"),
                message: format!("{e}; served without a circuit breaker"),
            });
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::dynamic::{Frontend, Route, Server};

    fn settings() -> CompileSettings {
        CompileSettings {
            entry_points: vec!["http".into(), "admin".into()],
            default_entry_points: vec!["http".into()],
            max_conns_per_server: 0,
            redirect_targets: HashMap::new(),
            keep_trailing_slash: false,
            default_rule_syntax: model::rules::Syntax::V3,
            router_entry_points: Vec::new(),
            entry_point_http: BTreeMap::new(),
            acme: false,
            resolvers: Vec::new(),
            api: false,
            l4: Default::default(),
        }
    }

    fn frontend(backend: &str, rule: &str) -> Frontend {
        Frontend {
            source: None,
            entry_points: vec![],
            backend: backend.into(),
            routes: [("r".to_string(), Route { rule: rule.into() })].into(),
            pass_host_header: true,
            priority: 0,
            redirect: None,
            middlewares: Default::default(),
            errors: Default::default(),
            unenforced: vec![],
            // The 2.x/3.x-only settings (lowered routers set them).
            ..Frontend::default()
        }
    }

    fn backend(urls: &[&str]) -> Backend {
        Backend {
            servers: urls
                .iter()
                .enumerate()
                .map(|(i, u)| {
                    (
                        format!("s{i}"),
                        Server {
                            url: u.to_string(),
                            weight: 1,
                            ..Server::default()
                        },
                    )
                })
                .collect(),
            ..Backend::default()
        }
    }

    #[test]
    fn bad_frontends_are_left_out_and_reported() {
        let mut config = ProviderConfig::default();
        config.backends.insert(
            "b".into(),
            Arc::new(backend(&[
                "http://127.0.0.1:1",
                "ftp://x",
                "http://127.0.0.1:2",
            ])),
        );
        config
            .frontends
            .insert("good".into(), Arc::new(frontend("b", "Host:a.com")));
        config
            .frontends
            .insert("typo".into(), Arc::new(frontend("b", "Hots:a.com")));
        config
            .frontends
            .insert("orphan".into(), Arc::new(frontend("nope", "Host:b.com")));
        let mut f = frontend("b", "Host:c.com");
        f.entry_points = vec!["https".into()];
        config.frontends.insert("noep".into(), Arc::new(f));
        let providers = [("file".to_string(), Arc::new(config))].into();
        let mut registry = Registry::new();
        let t = compile(&providers, &settings(), &mut registry, 1);
        let routes: Vec<_> = t.entry_points["http"].routes().collect();
        assert_eq!(routes.len(), 1);
        assert_eq!(routes[0].frontend, "good");
        assert_eq!(routes[0].backend.servers.len(), 2);
        let errors: Vec<String> = t.errors.iter().map(ToString::to_string).collect();
        assert_eq!(errors.len(), 5, "{errors:#?}");
        assert!(
            errors.iter().any(|e| e.starts_with(
                "file frontend typo: route r: rule \"Hots:a.com\": column 1: unknown matcher"
            )),
            "{errors:#?}"
        );
        assert!(
            errors
                .iter()
                .any(|e| e.contains("frontend orphan: undefined backend \"nope\""))
        );
        assert!(
            errors
                .iter()
                .any(|e| e.contains("server s1") && e.contains("scheme"))
        );
        assert!(
            errors
                .iter()
                .any(|e| e.contains("frontend noep: no defined entrypoint left"))
        );
    }

    #[test]
    fn server_state_survives_rebuilds_and_is_dropped_with_the_server() {
        let mut config = ProviderConfig::default();
        config
            .backends
            .insert("b".into(), Arc::new(backend(&["http://127.0.0.1:1"])));
        config
            .frontends
            .insert("f".into(), Arc::new(frontend("b", "Host:a.com")));
        let providers = [("file".to_string(), Arc::new(config.clone()))].into();
        let mut registry = Registry::new();
        let t1 = compile(&providers, &settings(), &mut registry, 1);
        let s1 = Arc::clone(
            &t1.entry_points["http"]
                .routes()
                .next()
                .expect("a route")
                .backend
                .servers[0]
                .state,
        );
        s1.set_healthy(false);
        let t2 = compile(&providers, &settings(), &mut registry, 2);
        assert!(Arc::ptr_eq(
            &s1,
            &t2.entry_points["http"]
                .routes()
                .next()
                .expect("a route")
                .backend
                .servers[0]
                .state
        ));
        config
            .backends
            .insert("b".into(), Arc::new(backend(&["http://127.0.0.1:9"])));
        let providers = [("file".to_string(), Arc::new(config))].into();
        compile(&providers, &settings(), &mut registry, 3);
        assert_eq!(registry.servers().len(), 1);
        assert!(
            registry
                .servers()
                .iter()
                .all(|(k, _)| k.2 == "http://127.0.0.1:9")
        );
    }

    #[test]
    fn unchanged_routes_and_balancers_are_reused_across_generations() {
        let mut config = ProviderConfig::default();
        for app in ["a", "b"] {
            config
                .backends
                .insert(app.into(), Arc::new(backend(&["http://127.0.0.1:1"])));
            config.frontends.insert(
                app.into(),
                Arc::new(frontend(app, &format!("Host:{app}.com"))),
            );
        }
        let mut registry = Registry::new();
        let route = |t: &RoutingTable, name: &str| {
            Arc::clone(
                t.entry_points["http"]
                    .routes()
                    .find(|r| r.frontend == name)
                    .expect("routed"),
            )
        };
        let providers = [("docker".to_string(), Arc::new(config.clone()))].into();
        let t1 = compile(&providers, &settings(), &mut registry, 1);
        let providers = [("docker".to_string(), Arc::new(config.clone()))].into();
        let t2 = compile(&providers, &settings(), &mut registry, 2);
        assert!(Arc::ptr_eq(&route(&t1, "a"), &route(&t2, "a")));
        assert!(
            Arc::ptr_eq(&t1.servers, &t2.servers),
            "no server came or went"
        );

        // A server joins backend b: only b's balancer and route are rebuilt.
        config.backends.insert(
            "b".into(),
            Arc::new(backend(&["http://127.0.0.1:1", "http://127.0.0.1:2"])),
        );
        let providers = [("docker".to_string(), Arc::new(config.clone()))].into();
        let t3 = compile(&providers, &settings(), &mut registry, 3);
        assert!(Arc::ptr_eq(&route(&t2, "a"), &route(&t3, "a")));
        assert!(!Arc::ptr_eq(&route(&t2, "b"), &route(&t3, "b")));
        assert_eq!(route(&t3, "b").backend.servers.len(), 2);
        assert!(Arc::ptr_eq(
            &route(&t2, "b").backend.servers[0].state,
            &route(&t3, "b").backend.servers[0].state
        ));
        assert!(Arc::ptr_eq(
            &route(&t2, "b").metrics,
            &route(&t3, "b").metrics
        ));
        assert_eq!(t3.servers.len(), 3);

        // Frontend a goes: its route is gone, its backend's server state stays (still defined).
        config.frontends.remove("a");
        config.backends.remove("b");
        let providers = [("docker".to_string(), Arc::new(config))].into();
        let t4 = compile(&providers, &settings(), &mut registry, 4);
        assert_eq!(t4.entry_points["http"].len(), 0);
        assert_eq!(t4.errors.len(), 1, "frontend b's backend is undefined now");
        assert_eq!(t4.servers.len(), 1);
        assert!(t4.servers.iter().all(|(k, _)| k.1 == "a"));
    }

    #[test]
    fn an_error_page_follows_its_backend_as_it_scales() {
        let mut config = ProviderConfig::default();
        config
            .backends
            .insert("app".into(), Arc::new(backend(&["http://127.0.0.1:1"])));
        config
            .backends
            .insert("pages".into(), Arc::new(backend(&["http://127.0.0.1:2"])));
        let mut f = frontend("app", "Host:a.com");
        f.errors.insert(
            "e".into(),
            model::dynamic::ErrorPage {
                status: vec!["500-599".into()],
                backend: "pages".into(),
                query: "/{status}.html".into(),
            },
        );
        f.errors.insert(
            "lost".into(),
            model::dynamic::ErrorPage {
                status: vec!["404".into()],
                backend: "nowhere".into(),
                query: String::new(),
            },
        );
        config.frontends.insert("a".into(), Arc::new(f));
        let mut registry = Registry::new();
        let providers = [("file".to_string(), Arc::new(config.clone()))].into();
        let t1 = compile(&providers, &settings(), &mut registry, 1);
        let r1 = Arc::clone(t1.entry_points["http"].routes().next().expect("a route"));
        assert_eq!(
            r1.error_pages.len(),
            1,
            "the page without a backend is left out"
        );
        assert!(r1.error_page(503).is_some() && r1.error_page(404).is_none());
        assert!(
            t1.errors[0]
                .to_string()
                .contains("errors.lost: undefined backend \"nowhere\""),
            "{:?}",
            t1.errors
        );
        // The pages backend scales: the route is rebuilt around the new balancer.
        config.backends.insert(
            "pages".into(),
            Arc::new(backend(&["http://127.0.0.1:2", "http://127.0.0.1:3"])),
        );
        let providers = [("file".to_string(), Arc::new(config))].into();
        let t2 = compile(&providers, &settings(), &mut registry, 2);
        let r2 = &t2.entry_points["http"].routes().next().expect("a route");
        assert!(!Arc::ptr_eq(&r1, r2));
        assert_eq!(r2.error_pages[0].backend.servers.len(), 2);
    }

    #[test]
    fn middlewares_compile_once_survive_a_scaled_backend_and_refuse_when_bad() {
        use model::middleware::{Extractor, MaxConn, WhiteList};
        let mut config = ProviderConfig::default();
        let mut b = backend(&["http://127.0.0.1:1"]);
        b.max_conn = Some(MaxConn {
            amount: 3,
            extractor_func: Extractor::ClientIp,
        });
        config.backends.insert("b".into(), Arc::new(b.clone()));
        let mut f = frontend("b", "Host:a.com");
        f.middlewares.white_list = Some(WhiteList {
            source_range: vec!["10.0.0.0/8".into()],
            use_x_forwarded_for: false,
            ip_strategy: None,
            reject_status_code: None,
        });
        config.frontends.insert("f".into(), Arc::new(f.clone()));
        let mut registry = Registry::new();
        let providers = [("docker".to_string(), Arc::new(config.clone()))].into();
        let t1 = compile(&providers, &settings(), &mut registry, 1);
        let r1 = Arc::clone(t1.entry_points["http"].routes().next().expect("a route"));
        let g1 = r1.guards.clone().expect("guards compiled");
        assert!(!r1.unenforced);

        // Scaling rebuilds the backend and the route, not the middlewares' state.
        b.servers.insert(
            "s9".into(),
            Server {
                url: "http://127.0.0.1:9".into(),
                weight: 1,
                ..Server::default()
            },
        );
        config.backends.insert("b".into(), Arc::new(b));
        let providers = [("docker".to_string(), Arc::new(config.clone()))].into();
        let t2 = compile(&providers, &settings(), &mut registry, 2);
        let r2 = Arc::clone(t2.entry_points["http"].routes().next().expect("a route"));
        assert!(!Arc::ptr_eq(&r1, &r2));
        assert!(Arc::ptr_eq(&g1, r2.guards.as_ref().expect("guards")));
        let (l1, l2) = (&r1.backend.max_conn, &r2.backend.max_conn);
        assert!(Arc::ptr_eq(
            &l1.as_ref().expect("limit").limiter,
            &l2.as_ref().expect("limit").limiter
        ));

        // A range the compiler refuses keeps the route, answering 503, with the reason.
        f.middlewares.white_list = Some(WhiteList {
            source_range: vec!["10.0.0.0/33".into()],
            use_x_forwarded_for: false,
            ip_strategy: None,
            reject_status_code: None,
        });
        config.frontends.insert("f".into(), Arc::new(f));
        let providers = [("docker".to_string(), Arc::new(config))].into();
        let t3 = compile(&providers, &settings(), &mut registry, 3);
        assert!(
            t3.entry_points["http"]
                .routes()
                .next()
                .expect("a route")
                .unenforced
        );
        assert!(
            t3.errors[0].message().contains("10.0.0.0/33"),
            "{:?}",
            t3.errors
        );
    }

    /// A tiny deterministic generator, so the sequence below is the same on every run.
    struct Lcg(u64);
    impl Lcg {
        fn below(&mut self, n: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 33) % n
        }
    }

    /// What a table routes, as plain data: each entrypoint's routes in order, the route each
    /// probe request gets, and the errors.
    fn observed(t: &RoutingTable) -> (Vec<Vec<String>>, Vec<Option<String>>, Vec<String>) {
        let headers = http::HeaderMap::new();
        let mut order = Vec::new();
        let mut picks = Vec::new();
        for ep in ["http", "admin"] {
            let routes = &t.entry_points[ep];
            order.push(routes.routes().map(|r| r.frontend.clone()).collect());
            for host in ["h0.com", "h1.com", "h2.com", "other.com"] {
                for path in ["/", "/p0/x", "/p1/x"] {
                    let req = rules::RequestView {
                        host,
                        path,
                        query: None,
                        method: &http::Method::GET,
                        headers: &headers,
                        client_ip: None,
                    };
                    let got = routes.route(&req).map(|r| r.frontend.clone());
                    // The definition: the first route in order whose rule matches.
                    let first = routes
                        .routes()
                        .find(|r| r.rule.matches(&req))
                        .map(|r| r.frontend.clone());
                    assert_eq!(got, first, "{ep} {host}{path}");
                    picks.push(got);
                }
            }
        }
        (
            order,
            picks,
            t.errors.iter().map(ToString::to_string).collect(),
        )
    }

    #[test]
    fn patching_the_table_change_by_change_equals_compiling_from_scratch() {
        let mut rng = Lcg(7);
        let mut config = ProviderConfig::default();
        let mut registry = Registry::new();
        for generation in 1..=300 {
            let n = rng.below(12);
            match rng.below(6) {
                // A frontend comes or changes: host or none, path or none, priority, backend.
                0..=2 => {
                    let mut parts = Vec::new();
                    if rng.below(3) > 0 {
                        parts.push(format!("Host:h{}.com", rng.below(3)));
                    }
                    if rng.below(2) == 0 {
                        parts.push(format!("PathPrefix:/p{}", rng.below(2)));
                    }
                    if parts.is_empty() {
                        parts.push("PathPrefix:/".to_string());
                    }
                    let mut f = frontend(&format!("b{}", rng.below(5)), &parts.join(";"));
                    f.priority = rng.below(3) as i64 * 10;
                    if rng.below(4) == 0 {
                        f.entry_points = vec!["admin".into()];
                    }
                    if rng.below(5) == 0 {
                        f.errors.insert(
                            "e".into(),
                            model::dynamic::ErrorPage {
                                status: vec!["500-599".into()],
                                backend: format!("b{}", rng.below(5)),
                                query: "/".into(),
                            },
                        );
                    }
                    config.frontends.insert(format!("f{n}"), Arc::new(f));
                }
                3 => {
                    config.frontends.remove(&format!("f{n}"));
                }
                // A backend scales or goes.
                4 => {
                    let urls: Vec<String> = (0..rng.below(3))
                        .map(|i| format!("http://127.0.0.1:{}", 1000 + i + rng.below(3)))
                        .collect();
                    let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
                    config
                        .backends
                        .insert(format!("b{}", n % 5), Arc::new(backend(&urls)));
                }
                _ => {
                    config.backends.remove(&format!("b{}", n % 5));
                }
            }
            let providers = [("docker".to_string(), Arc::new(config.clone()))].into();
            let patched = compile(&providers, &settings(), &mut registry, generation);
            let fresh = compile(&providers, &settings(), &mut Registry::new(), generation);
            assert_eq!(
                observed(&patched),
                observed(&fresh),
                "generation {generation}"
            );
            assert_eq!(patched.servers.len(), fresh.servers.len());
        }
    }
}
