//! The compiler: every provider's snapshot → one immutable [`RoutingTable`]. Bad frontends are
//! left out (or, asking for a protection not enforced, kept answering 503) and reported.
//!
//! Compiling is incremental: the [`Registry`] keeps each backend's and frontend's last
//! definition with what it compiled to, and a generation reuses every balancer and route whose
//! definition (and backend) did not change, so one container changing among thousands
//! rebuilds only its own backend and routes. Per-server state and per-frontend counters live
//! there too, so a rebuild keeps health and metrics.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::guards::RouteGuards;
use http::uri::Scheme;
use model::dynamic::{Backend, Frontend, ProviderConfig, ProviderError};
use model::metrics::TrafficMetrics;
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
}

impl CompileSettings {
    /// The settings of `config`; `bound` holds the ports entrypoints were really bound to (port
    /// 0 in tests), which frontend redirects name instead of the configured ones.
    pub fn new(config: &config::Config, bound: &HashMap<String, u16>) -> CompileSettings {
        CompileSettings {
            entry_points: config.entry_points.iter().map(|e| e.name.clone()).collect(),
            default_entry_points: config.default_entry_points.clone(),
            max_conns_per_server: config.max_conns_per_host,
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

/// State that outlives tables, owned by the aggregator: each backend and frontend as last
/// compiled, by provider then name. A server's state (health, requests in flight) lives in its
/// backend's runtime and passes to the next runtime by URL, so its identity is (provider,
/// backend, URL); a frontend's counters pass likewise.
#[derive(Debug, Default)]
pub struct Registry {
    backends: HashMap<String, HashMap<String, CompiledBackend>>,
    frontends: HashMap<String, HashMap<String, CompiledFrontend>>,
    /// The servers as the last table published them; rebuilt only when a backend changed.
    published: Arc<ServerIndex>,
    backends_changed: bool,
}

/// A backend as last compiled: reused while `model` is unchanged.
#[derive(Debug)]
struct CompiledBackend {
    model: Backend,
    runtime: Arc<BackendRuntime>,
    errors: Vec<ProviderError>,
    seen: u64,
}

/// A frontend as last compiled: reused while `model` and its backend are unchanged.
#[derive(Debug)]
struct CompiledFrontend {
    model: Frontend,
    backend: Option<Arc<BackendRuntime>>,
    backend_unenforced: bool,
    /// The backends of its error pages, as resolved (a change rebuilds the route).
    error_backends: Vec<Option<Arc<BackendRuntime>>>,
    /// The route and the indexes (in `CompileSettings::entry_points`) it is served on; `None`
    /// when the frontend is left out.
    route: Option<(Arc<CompiledRoute>, Vec<usize>)>,
    errors: Vec<ProviderError>,
    /// Survives rebuilds of the route, for as long as the frontend exists.
    metrics: Arc<TrafficMetrics>,
    seen: u64,
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

/// Builds a routing table from every provider's snapshot, reusing what did not change since
/// the last generation. Bad frontends are left out and recorded in `errors`.
pub fn compile(
    providers: &BTreeMap<String, Arc<ProviderConfig>>,
    settings: &CompileSettings,
    registry: &mut Registry,
    generation: u64,
) -> RoutingTable {
    let mut errors = Vec::new();
    let mut per_ep: Vec<Vec<Arc<CompiledRoute>>> = vec![Vec::new(); settings.entry_points.len()];
    for (pname, config) in providers {
        errors.extend(config.errors.iter().cloned());
        let backends = compile_backends(pname, config, settings, registry, generation, &mut errors);
        let frontends = registry.frontends.entry(pname.clone()).or_default();
        for (fname, f) in &config.frontends {
            let backend = backends.get(f.backend.as_str()).cloned();
            let error_backends: Vec<Option<Arc<BackendRuntime>>> = f
                .errors
                .values()
                .map(|p| backends.get(p.backend.as_str()).cloned())
                .collect();
            let backend_unenforced = config
                .backends
                .get(&f.backend)
                .is_some_and(|b| !b.unenforced.is_empty());
            let reusable = frontends.get(fname.as_str()).is_some_and(|c| {
                c.model == *f
                    && c.backend_unenforced == backend_unenforced
                    && same_backend(&c.backend, &backend)
                    && c.error_backends.len() == error_backends.len()
                    && c.error_backends
                        .iter()
                        .zip(&error_backends)
                        .all(|(a, b)| same_backend(a, b))
            });
            if !reusable {
                let metrics = frontends
                    .get(fname.as_str())
                    .map(|c| Arc::clone(&c.metrics))
                    .unwrap_or_default();
                let mut errs = Vec::new();
                // Rate-limit buckets outlive a rebuild (a scaled backend) while unchanged.
                let guards = frontends
                    .get(fname.as_str())
                    .filter(|c| c.model.middlewares == f.middlewares)
                    .and_then(|c| c.route.as_ref())
                    .and_then(|(r, _)| r.guards.clone());
                let route = compile_route(
                    RouteInputs {
                        pname,
                        fname,
                        f,
                        backend: backend.as_ref(),
                        backend_unenforced,
                        error_backends: &error_backends,
                        metrics: &metrics,
                        guards,
                    },
                    settings,
                    &mut errs,
                );
                frontends.insert(
                    fname.clone(),
                    CompiledFrontend {
                        model: f.clone(),
                        backend,
                        backend_unenforced,
                        error_backends,
                        route,
                        errors: errs,
                        metrics,
                        seen: generation,
                    },
                );
            }
            if let Some(c) = frontends.get_mut(fname.as_str()) {
                c.seen = generation;
                errors.extend(c.errors.iter().cloned());
                if let Some((route, eps)) = &c.route {
                    for &i in eps {
                        per_ep[i].push(Arc::clone(route));
                    }
                }
            }
        }
    }
    sweep(registry, generation);
    RoutingTable {
        servers: Arc::clone(&registry.published),
        entry_points: settings
            .entry_points
            .iter()
            .zip(per_ep)
            .map(|(ep, routes)| (ep.clone(), EntryPointRoutes::new(routes)))
            .collect(),
        providers: providers.clone(),
        errors,
        generation,
    }
}

/// Every backend of one provider, by name: reused when unchanged, rebuilt otherwise.
fn compile_backends<'a>(
    pname: &str,
    config: &'a ProviderConfig,
    settings: &CompileSettings,
    registry: &mut Registry,
    generation: u64,
    all_errors: &mut Vec<ProviderError>,
) -> HashMap<&'a str, Arc<BackendRuntime>> {
    let mut out = HashMap::with_capacity(config.backends.len());
    for (bname, backend) in &config.backends {
        let cached = registry
            .backends
            .get_mut(pname)
            .and_then(|m| m.get_mut(bname.as_str()))
            .filter(|c| c.model == *backend);
        if let Some(c) = cached {
            c.seen = generation;
            all_errors.extend(c.errors.iter().cloned());
            out.insert(bname.as_str(), Arc::clone(&c.runtime));
            continue;
        }
        let mut errors = Vec::new();
        let old = registry
            .backends
            .get(pname)
            .and_then(|m| m.get(bname.as_str()));
        let runtime = Arc::new(backend_runtime(
            pname,
            bname,
            backend,
            settings.max_conns_per_server,
            old.map(|o| &*o.runtime),
            &mut errors,
        ));
        all_errors.extend(errors.iter().cloned());
        registry
            .backends
            .entry(pname.to_string())
            .or_default()
            .insert(
                bname.clone(),
                CompiledBackend {
                    model: backend.clone(),
                    runtime: Arc::clone(&runtime),
                    errors,
                    seen: generation,
                },
            );
        registry.backends_changed = true;
        out.insert(bname.as_str(), runtime);
    }
    out
}

/// Drops what the last generation did not see: backends (with their servers' state) and
/// frontends (with their counters); republishes the servers when a backend changed.
fn sweep(registry: &mut Registry, generation: u64) {
    for backends in registry.backends.values_mut() {
        let before = backends.len();
        backends.retain(|_, b| b.seen == generation);
        registry.backends_changed |= backends.len() != before;
    }
    registry.backends.retain(|_, m| !m.is_empty());
    for frontends in registry.frontends.values_mut() {
        frontends.retain(|_, f| f.seen == generation);
    }
    registry.frontends.retain(|_, m| !m.is_empty());
    if registry.backends_changed {
        registry.published = Arc::new(ServerIndex::new(
            registry
                .backends
                .iter()
                .map(|(p, m)| {
                    let runtimes = m
                        .iter()
                        .map(|(b, c)| (b.clone(), Arc::clone(&c.runtime)))
                        .collect();
                    (p.clone(), runtimes)
                })
                .collect(),
        ));
        registry.backends_changed = false;
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
    let fail = |message: String| ProviderError::Compile {
        provider: pname.to_string(),
        item: format!("frontend {fname}"),
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
        match rules::parse(&route.rule) {
            Ok(r) => rule.merge(r),
            Err(e) => {
                errors.push(fail(format!("route {rname}: rule {:?}: {e}", route.rule)));
                bad = true;
            }
        }
    }
    if bad {
        return None;
    }
    let eps = entry_point_indexes(f, settings, &mut |m| errors.push(fail(m)))?;
    let redirect = match &f.redirect {
        None => None,
        Some(r) => match settings.redirect_targets.get(&r.entry_point) {
            Some(&(https, port)) => Some(config::Redirect {
                entry_point: r.entry_point.clone(),
                https,
                port,
                permanent: r.permanent,
            }),
            None => {
                errors.push(fail(format!(
                    "redirect to entrypoint {:?}, which is not defined; frontend skipped",
                    r.entry_point
                )));
                return None;
            }
        },
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

/// Whether two resolved backends are the same compiled one (or both missing).
fn same_backend(a: &Option<Arc<BackendRuntime>>, b: &Option<Arc<BackendRuntime>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        (None, None) => true,
        _ => false,
    }
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
                if backend.health_check.is_some() {
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
    let mut runtime = BackendRuntime::new(bname.to_string(), servers);
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
        .filter(|b| b.expression == spec.expression)
    {
        return Some(kept.clone());
    }
    match middleware::Breaker::compile(&spec.expression, std::time::Instant::now()) {
        Ok(b) => Some(BreakerRuntime {
            expression: spec.expression.clone(),
            breaker: Arc::new(b),
        }),
        Err(e) => {
            errors.push(ProviderError::Compile {
                provider: pname.to_string(),
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
        }
    }

    fn frontend(backend: &str, rule: &str) -> Frontend {
        Frontend {
            entry_points: vec![],
            backend: backend.into(),
            routes: [("r".to_string(), Route { rule: rule.into() })].into(),
            pass_host_header: true,
            priority: 0,
            redirect: None,
            middlewares: Default::default(),
            errors: Default::default(),
            unenforced: vec![],
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
            backend(&["http://127.0.0.1:1", "ftp://x", "http://127.0.0.1:2"]),
        );
        config
            .frontends
            .insert("good".into(), frontend("b", "Host:a.com"));
        config
            .frontends
            .insert("typo".into(), frontend("b", "Hots:a.com"));
        config
            .frontends
            .insert("orphan".into(), frontend("nope", "Host:b.com"));
        let mut f = frontend("b", "Host:c.com");
        f.entry_points = vec!["https".into()];
        config.frontends.insert("noep".into(), f);
        let providers = [("file".to_string(), Arc::new(config))].into();
        let mut registry = Registry::new();
        let t = compile(&providers, &settings(), &mut registry, 1);
        let routes = t.entry_points["http"].routes();
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
            .insert("b".into(), backend(&["http://127.0.0.1:1"]));
        config
            .frontends
            .insert("f".into(), frontend("b", "Host:a.com"));
        let providers = [("file".to_string(), Arc::new(config.clone()))].into();
        let mut registry = Registry::new();
        let t1 = compile(&providers, &settings(), &mut registry, 1);
        let s1 = Arc::clone(&t1.entry_points["http"].routes()[0].backend.servers[0].state);
        s1.set_healthy(false);
        let t2 = compile(&providers, &settings(), &mut registry, 2);
        assert!(Arc::ptr_eq(
            &s1,
            &t2.entry_points["http"].routes()[0].backend.servers[0].state
        ));
        config
            .backends
            .insert("b".into(), backend(&["http://127.0.0.1:9"]));
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
                .insert(app.into(), backend(&["http://127.0.0.1:1"]));
            config
                .frontends
                .insert(app.into(), frontend(app, &format!("Host:{app}.com")));
        }
        let mut registry = Registry::new();
        let route = |t: &RoutingTable, name: &str| {
            Arc::clone(
                t.entry_points["http"]
                    .routes()
                    .iter()
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
            backend(&["http://127.0.0.1:1", "http://127.0.0.1:2"]),
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
        assert_eq!(t4.entry_points["http"].routes().len(), 0);
        assert_eq!(t4.errors.len(), 1, "frontend b's backend is undefined now");
        assert_eq!(t4.servers.len(), 1);
        assert!(t4.servers.iter().all(|(k, _)| k.1 == "a"));
    }

    #[test]
    fn an_error_page_follows_its_backend_as_it_scales() {
        let mut config = ProviderConfig::default();
        config
            .backends
            .insert("app".into(), backend(&["http://127.0.0.1:1"]));
        config
            .backends
            .insert("pages".into(), backend(&["http://127.0.0.1:2"]));
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
        config.frontends.insert("a".into(), f);
        let mut registry = Registry::new();
        let providers = [("file".to_string(), Arc::new(config.clone()))].into();
        let t1 = compile(&providers, &settings(), &mut registry, 1);
        let r1 = Arc::clone(&t1.entry_points["http"].routes()[0]);
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
            backend(&["http://127.0.0.1:2", "http://127.0.0.1:3"]),
        );
        let providers = [("file".to_string(), Arc::new(config))].into();
        let t2 = compile(&providers, &settings(), &mut registry, 2);
        let r2 = &t2.entry_points["http"].routes()[0];
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
        config.backends.insert("b".into(), b.clone());
        let mut f = frontend("b", "Host:a.com");
        f.middlewares.white_list = Some(WhiteList {
            source_range: vec!["10.0.0.0/8".into()],
            use_x_forwarded_for: false,
        });
        config.frontends.insert("f".into(), f.clone());
        let mut registry = Registry::new();
        let providers = [("docker".to_string(), Arc::new(config.clone()))].into();
        let t1 = compile(&providers, &settings(), &mut registry, 1);
        let r1 = Arc::clone(&t1.entry_points["http"].routes()[0]);
        let g1 = r1.guards.clone().expect("guards compiled");
        assert!(!r1.unenforced);

        // Scaling rebuilds the backend and the route, not the middlewares' state.
        b.servers.insert(
            "s9".into(),
            Server {
                url: "http://127.0.0.1:9".into(),
                weight: 1,
            },
        );
        config.backends.insert("b".into(), b);
        let providers = [("docker".to_string(), Arc::new(config.clone()))].into();
        let t2 = compile(&providers, &settings(), &mut registry, 2);
        let r2 = Arc::clone(&t2.entry_points["http"].routes()[0]);
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
        });
        config.frontends.insert("f".into(), f);
        let providers = [("docker".to_string(), Arc::new(config))].into();
        let t3 = compile(&providers, &settings(), &mut registry, 3);
        assert!(t3.entry_points["http"].routes()[0].unenforced);
        assert!(
            t3.errors[0].message().contains("10.0.0.0/33"),
            "{:?}",
            t3.errors
        );
    }
}
