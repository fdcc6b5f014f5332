//! Traefik 2.x/3.x routers → the frontends and backends the compiler builds (pure, run by the
//! aggregator before each compile). Each load-balancer service becomes a backend of its
//! provider; each router a frontend, with the middlewares it names (`name` in its own
//! provider, `name@provider` in another; chains unfolded) folded into the frontend's
//! middlewares, path rewrites (in the router's order), redirect and error pages. A router
//! whose middlewares cannot all be run (missing, unknown, or a combination portier does not
//! run yet) keeps its route answering 503 with the error (rule zero): it never forwards
//! without them, and no lower router takes its traffic.

use std::collections::BTreeMap;
use std::sync::Arc;

use model::dynamic::{Backend, Frontend, FrontendRedirect, ProviderConfig, ProviderError, Route};
use model::http::{HttpConfig, Middleware, Router, Service};
use model::middleware::Headers;
use model::rules::PathRewrite;

use crate::compile::CompileSettings;

/// How deep chains may nest (Traefik refuses recursion; this bounds it).
const MAX_CHAIN_DEPTH: usize = 16;

/// Every provider's snapshot with its routers and services lowered into frontends and
/// backends; providers without a 2.x/3.x section are passed through as they are.
pub(crate) fn lower(
    providers: &BTreeMap<String, Arc<ProviderConfig>>,
    settings: &CompileSettings,
) -> BTreeMap<String, Arc<ProviderConfig>> {
    providers
        .iter()
        .map(|(name, config)| {
            if config.http.is_empty() {
                return (name.clone(), Arc::clone(config));
            }
            let mut lowered = (**config).clone();
            lower_provider(name, &mut lowered, providers, settings);
            (name.clone(), Arc::new(lowered))
        })
        .collect()
}

fn lower_provider(
    pname: &str,
    out: &mut ProviderConfig,
    all: &BTreeMap<String, Arc<ProviderConfig>>,
    settings: &CompileSettings,
) {
    let http = out.http.clone();
    for (name, _) in &http.services {
        if out.backends.contains_key(name) {
            out.errors.push(error(
                pname,
                &format!("service {name}"),
                "a 1.x backend has the same name; service left out".into(),
            ));
            continue;
        }
        match flatten(pname, name, (pname, &http), all, 0) {
            Ok((backend, _)) => {
                out.backends.insert(name.clone(), Arc::new(backend));
            }
            Err(m) => out.errors.push(error(
                pname,
                &format!("service {name}"),
                format!("{m}; service left out"),
            )),
        }
    }
    let expanded: Vec<(String, Router)> = (http.routers.iter())
        .flat_map(|(name, router)| with_entry_point_models(name, router, settings))
        .collect();
    for (name, router) in &expanded {
        if out.frontends.contains_key(name) {
            out.errors.push(error(
                pname,
                &format!("router {name}"),
                "a 1.x frontend has the same name; router left out".into(),
            ));
            continue;
        }
        let mut lowering = Lowering {
            pname,
            all,
            out,
            router: name,
            source: router.source.clone(),
            on_backend: OnBackend::default(),
        };
        if let Some(f) = lowering.frontend(router, settings) {
            out.frontends.insert(name.clone(), Arc::new(f));
        }
    }
}

/// Router `name` as it is served: on each of its entrypoints that has `http.middlewares` or
/// `http.tls` in the static configuration, a copy (`EP-NAME` when the router has several
/// entrypoints) with the entrypoint's middlewares before its own and, without its own `tls`,
/// the entrypoint's; on its other entrypoints, the router as declared (Traefik's entrypoint
/// models).
fn with_entry_point_models(
    name: &str,
    router: &Router,
    settings: &CompileSettings,
) -> Vec<(String, Router)> {
    let named = if router.entry_points.is_empty() {
        if settings.router_entry_points.is_empty() {
            &settings.entry_points
        } else {
            &settings.router_entry_points
        }
    } else {
        &router.entry_points
    };
    let modelled = |ep: &String| {
        (settings.entry_point_http.get(ep)).filter(|m| m.tls || !m.middlewares.is_empty())
    };
    if named.iter().all(|ep| modelled(ep).is_none()) {
        return vec![(name.to_string(), router.clone())];
    }
    let mut out = Vec::new();
    let mut plain = Vec::new();
    for ep in named {
        let Some(m) = modelled(ep) else {
            plain.push(ep.clone());
            continue;
        };
        let mut copy = router.clone();
        copy.entry_points = vec![ep.clone()];
        copy.middlewares = (m.middlewares.iter())
            .chain(&router.middlewares)
            .cloned()
            .collect();
        if copy.tls.is_none() && m.tls {
            copy.tls = Some(model::http::RouterTls {
                cert_resolver: m.cert_resolver.clone().unwrap_or_default(),
                options: m.tls_options.clone().unwrap_or_default(),
                domains: (m.domains.iter())
                    .map(|(main, sans)| model::http::TlsDomain {
                        main: main.clone(),
                        sans: sans.clone(),
                    })
                    .collect(),
            });
        }
        let copy_name = if named.len() > 1 {
            format!("{ep}-{name}")
        } else {
            name.to_string()
        };
        out.push((copy_name, copy));
    }
    // The rest as declared, unless none of its entrypoints can serve it (a TLS router left
    // with plain ones only): Traefik never matches it there either, so no error for it.
    let tls_of = |ep: &String| settings.redirect_targets.get(ep).map(|(tls, _)| *tls);
    let servable = plain
        .iter()
        .any(|ep| tls_of(ep).is_none_or(|tls| tls == router.tls.is_some()));
    if !plain.is_empty() && (out.is_empty() || servable) {
        let mut rest = router.clone();
        rest.entry_points = plain;
        out.push((name.to_string(), rest));
    }
    out
}

/// `name` or `name@provider` → (provider, name), `default` when none is named.
fn split_ref<'n>(reference: &'n str, default: &str) -> (String, &'n str) {
    match reference.rsplit_once('@') {
        Some((name, provider)) => (provider.to_string(), name),
        None => (default.to_string(), reference),
    }
}

/// Service `name` of `provider` as one backend, with its `passHostHeader`: a load balancer as
/// it is; a weighted service as its children's servers, each weighted so that its child gets
/// the child's share of requests (server weight × child weight × L / the child's total, L the
/// least common multiple of the totals). `own` is the provider being lowered, as it is now.
fn flatten(
    provider: &str,
    name: &str,
    own: (&str, &HttpConfig),
    all: &BTreeMap<String, Arc<ProviderConfig>>,
    depth: usize,
) -> Result<(Backend, bool), String> {
    let http = if provider == own.0 {
        Some(own.1)
    } else {
        all.get(provider).map(|c| &c.http)
    };
    let service = http
        .and_then(|h| h.services.get(name))
        .ok_or_else(|| format!("service \"{name}@{provider}\" is not defined"))?;
    if let Service::LoadBalancer(lb) = &**service {
        return Ok((lb.backend.clone(), lb.pass_host_header));
    }
    if depth >= MAX_CHAIN_DEPTH {
        return Err(format!(
            "service \"{name}@{provider}\" nests deeper than {MAX_CHAIN_DEPTH} (a loop?)"
        ));
    }
    let w = match &**service {
        Service::Weighted(w) => w,
        Service::Failover(f) => return failover(provider, f, own, all, depth),
        Service::Mirroring(m) => return mirroring(provider, m, own, all, depth),
        Service::LoadBalancer(_) => unreachable!("returned above"),
    };
    let mut children = Vec::new();
    for child in w.services.iter().filter(|c| c.weight > 0) {
        let (cp, cn) = split_ref(&child.name, provider);
        let (b, phh) = flatten(&cp, cn, own, all, depth + 1)?;
        if b.roles.is_some() {
            return Err(format!(
                "its service {:?} is a failover or mirroring service, which portier does not run inside a weighted one yet",
                child.name
            ));
        }
        let total: u64 = b.servers.values().map(|s| s.weight.max(0) as u64).sum();
        children.push((child, b, phh, total));
    }
    let Some((_, first, pass_host_header, _)) = children.first() else {
        return Ok((Backend::default(), true));
    };
    let (health_check, pass_host_header) = (first.health_check.clone(), *pass_host_header);
    let lcm = children
        .iter()
        .filter(|c| c.3 > 0)
        .try_fold(1u64, |acc, c| acc.checked_mul(c.3 / gcd(acc, c.3)))
        .filter(|l| *l <= 1_000_000)
        .ok_or("the weights of its services' servers are too varied to combine")?;
    let mut out = Backend {
        health_check,
        load_balancer: model::dynamic::LoadBalancer {
            stickiness: w.sticky.clone(),
            ..Default::default()
        },
        ..Backend::default()
    };
    for (child, b, phh, total) in &children {
        if *phh != pass_host_header {
            return Err(format!(
                "its services disagree on passHostHeader ({} and {})",
                w.services[0].name, child.name
            ));
        }
        if b.health_check != out.health_check {
            return Err(format!(
                "its services have different health checks ({} and {}); portier checks one set per weighted service",
                w.services[0].name, child.name
            ));
        }
        for (sname, server) in &b.servers {
            let mut server = server.clone();
            let weight = (server.weight.max(0) as u64)
                .saturating_mul(u64::from(child.weight))
                .saturating_mul(lcm / (*total).max(1));
            server.weight = i64::try_from(weight).unwrap_or(i64::MAX);
            out.servers
                .insert(format!("{}-{sname}", child.name), server);
        }
        for (sname, held) in &b.held {
            out.held
                .insert(format!("{}-{sname}", child.name), held.clone());
        }
    }
    Ok((out, pass_host_header))
}

/// A `failover` as one backend: the main service's servers, and the fallback's under
/// `fallback-NAME` with the fallback role (and the fallback's health check).
fn failover(
    provider: &str,
    f: &model::http::FailoverService,
    own: (&str, &HttpConfig),
    all: &BTreeMap<String, Arc<ProviderConfig>>,
    depth: usize,
) -> Result<(Backend, bool), String> {
    let (mp, mn) = split_ref(&f.service, provider);
    let (mut out, pass_host_header) = flatten(&mp, mn, own, all, depth + 1)?;
    let (fp, fname) = split_ref(&f.fallback, provider);
    let (fallback, fphh) = flatten(&fp, fname, own, all, depth + 1)?;
    if out.roles.is_some() || fallback.roles.is_some() {
        return Err(
            "a failover of failover or mirroring services is not run by portier yet".into(),
        );
    }
    if fphh != pass_host_header {
        return Err(format!(
            "its services disagree on passHostHeader ({} and {})",
            f.service, f.fallback
        ));
    }
    let mut roles = model::dynamic::ServerRoles::default();
    roles.fallback_health_check = adopt(
        &mut out,
        &mut roles,
        fallback,
        "fallback",
        model::dynamic::ServerRole::Fallback,
    );
    out.roles = Some(Box::new(roles));
    Ok((out, pass_host_header))
}

/// A `mirroring` as one backend: the main service's servers (a failover's too), and each
/// mirror's under `mirrorN-NAME` with its role and health check.
fn mirroring(
    provider: &str,
    m: &model::http::MirroringService,
    own: (&str, &HttpConfig),
    all: &BTreeMap<String, Arc<ProviderConfig>>,
    depth: usize,
) -> Result<(Backend, bool), String> {
    let (mp, mn) = split_ref(&m.service, provider);
    let (mut out, pass_host_header) = flatten(&mp, mn, own, all, depth + 1)?;
    let mut roles = match out.roles.take() {
        Some(r) if !r.mirrors.is_empty() => {
            return Err(format!(
                "its service {:?} is a mirroring service; portier does not mirror a mirroring service yet",
                m.service
            ));
        }
        Some(r) => *r,
        None => model::dynamic::ServerRoles::default(),
    };
    roles.mirror_body = m.mirror_body;
    roles.max_body_size = m.max_body_size;
    for (i, child) in m.mirrors.iter().enumerate() {
        let (cp, cn) = split_ref(&child.name, provider);
        let (mirror, _) = flatten(&cp, cn, own, all, depth + 1)?;
        if mirror.roles.is_some() {
            return Err(format!(
                "its mirror {:?} is a failover or mirroring service, which portier does not mirror to yet",
                child.name
            ));
        }
        let health_check = adopt(
            &mut out,
            &mut roles,
            mirror,
            &format!("mirror{i}"),
            model::dynamic::ServerRole::Mirror(i),
        );
        roles.mirrors.push(model::dynamic::Mirror {
            service: child.name.clone(),
            percent: child.percent,
            health_check,
        });
    }
    out.roles = Some(Box::new(roles));
    Ok((out, pass_host_header))
}

/// Moves `child`'s servers (and those its provider holds) into `out` as `PREFIX-NAME`, each
/// with `role`; returns `child`'s health check, which probes them.
fn adopt(
    out: &mut Backend,
    roles: &mut model::dynamic::ServerRoles,
    child: Backend,
    prefix: &str,
    role: model::dynamic::ServerRole,
) -> Option<model::dynamic::HealthCheck> {
    for (sname, server) in child.servers {
        let name = format!("{prefix}-{sname}");
        roles.of.insert(name.clone(), role);
        out.servers.insert(name, server);
    }
    for (sname, held) in child.held {
        out.held.insert(format!("{prefix}-{sname}"), held);
    }
    child.health_check
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

fn error(provider: &str, item: &str, message: String) -> ProviderError {
    ProviderError::Compile {
        provider: provider.to_string(),
        at: None,
        item: item.to_string(),
        message,
    }
}

struct Lowering<'a> {
    pname: &'a str,
    all: &'a BTreeMap<String, Arc<ProviderConfig>>,
    out: &'a mut ProviderConfig,
    router: &'a str,
    /// Where the router is declared (`container web-1`, `dynamic.yml:4:5`).
    source: Option<String>,
    /// Middlewares that run on the backend (buffering, circuitBreaker, inFlightReq): the
    /// router gets its own copy of its service's backend with them.
    on_backend: OnBackend,
}

#[derive(Default)]
struct OnBackend {
    buffering: Option<model::middleware::Buffering>,
    circuit_breaker: Option<model::dynamic::CircuitBreaker>,
    max_conn: Option<model::middleware::MaxConn>,
}

impl OnBackend {
    fn is_empty(&self) -> bool {
        self.buffering.is_none() && self.circuit_breaker.is_none() && self.max_conn.is_none()
    }
}

impl Lowering<'_> {
    fn fail(&mut self, message: String) {
        let item = format!("router {}", self.router);
        let mut e = error(self.pname, &item, message);
        if let ProviderError::Compile { at, .. } = &mut e {
            *at = self.source.clone();
        }
        self.out.errors.push(e);
    }

    /// `name` or `name@provider` → (provider, name).
    fn split<'n>(&self, reference: &'n str) -> (String, &'n str) {
        split_ref(reference, self.pname)
    }

    fn http_of(&self, provider: &str) -> Option<&HttpConfig> {
        if provider == self.pname {
            return Some(&self.out.http);
        }
        self.all.get(provider).map(|c| &c.http)
    }

    /// The backend name a service reference has in this provider (a service of another
    /// provider is copied in under its qualified name), and its `passHostHeader`.
    fn service(&mut self, reference: &str) -> Option<(String, bool)> {
        let (provider, name) = self.split(reference);
        let (backend, pass_host_header) =
            flatten(&provider, name, (self.pname, &self.out.http), self.all, 0).ok()?;
        if provider == self.pname {
            return Some((name.to_string(), pass_host_header));
        }
        let qualified = format!("{name}@{provider}");
        self.out
            .backends
            .insert(qualified.clone(), Arc::new(backend));
        Some((qualified, pass_host_header))
    }

    fn frontend(&mut self, r: &Router, settings: &CompileSettings) -> Option<Frontend> {
        let internal = model::dynamic::InternalService::parse(&r.service);
        // The services the web application answers need it on.
        let web = !matches!(internal, None | Some(model::dynamic::InternalService::Noop));
        if web && !settings.api {
            self.fail(format!(
                "service {:?} needs the API on (api in the static configuration); router left out",
                r.service
            ));
            return None;
        }
        if internal.is_some() {
            self.out
                .backends
                .insert(r.service.clone(), Arc::new(Backend::default()));
        }
        let found = if internal.is_some() {
            Some((r.service.clone(), true))
        } else {
            self.service(&r.service)
        };
        let Some((backend, pass_host_header)) = found else {
            self.fail(format!(
                "service {:?} is not defined; router left out",
                r.service
            ));
            return None;
        };
        let entry_points = self.entry_points(r, settings)?;
        let mut f = Frontend {
            source: r.source.clone(),
            entry_points,
            backend,
            routes: [(
                "rule".to_string(),
                Route {
                    rule: r.rule.clone(),
                },
            )]
            .into(),
            pass_host_header,
            priority: r.priority,
            redirect: None,
            middlewares: Default::default(),
            errors: BTreeMap::new(),
            rule_syntax: r.rule_syntax.unwrap_or(settings.default_rule_syntax),
            path_rewrites: Vec::new(),
            compress: None,
            content_type: false,
            grpc_web: None,
            retry_attempts: None,
            retry_interval: None,
            tls_domains: Vec::new(),
            tls_options: None,
            cert_resolver: None,
            internal,
            unenforced: Vec::new(),
        };
        for reference in &r.middlewares {
            self.apply(&mut f, reference, 0);
        }
        self.own_backend(&mut f);
        if let Some(tls) = &r.tls {
            self.router_tls(&mut f, tls, settings);
        }
        Some(f)
    }

    /// `tls.certResolver` is the configured ACME resolver (portier runs one): the router's
    /// hosts get its certificates; `tls.domains` (names without a wildcard) are ordered too.
    /// What cannot be honoured is a warning (Traefik serves the router with the default
    /// certificate then).
    fn router_tls(
        &mut self,
        f: &mut Frontend,
        tls: &model::http::RouterTls,
        settings: &CompileSettings,
    ) {
        let mut warn = |m: String| {
            let mut e = error(self.pname, &format!("router {}", self.router), m);
            if let ProviderError::Compile { at, .. } = &mut e {
                *at = self.source.clone();
            }
            self.out.warnings.push(e);
        };
        if !tls.cert_resolver.is_empty() && !settings.acme {
            warn(format!(
                "tls.certResolver {:?}: no certificate resolver is configured; the router gets the entrypoint's certificates",
                tls.cert_resolver
            ));
        } else if settings.resolvers.contains(&tls.cert_resolver) {
            f.cert_resolver = Some(tls.cert_resolver.clone());
        } else if !tls.cert_resolver.is_empty() && !settings.resolvers.is_empty() {
            warn(format!(
                "tls.certResolver {:?} is not defined in certificatesResolvers ({}); the router gets the entrypoint's certificates",
                tls.cert_resolver,
                settings.resolvers.join(", ")
            ));
        }
        for d in &tls.domains {
            for name in std::iter::once(&d.main)
                .chain(&d.sans)
                .filter(|n| !n.is_empty())
            {
                if name.starts_with("*.") {
                    warn(format!(
                        "tls.domains {name:?}: a wildcard certificate needs the DNS challenge, which portier does not run"
                    ));
                } else if settings.acme {
                    f.tls_domains.push(name.to_ascii_lowercase());
                }
            }
        }
        if !tls.domains.is_empty() && !settings.acme {
            warn("tls.domains: no certificate resolver is configured to order them".into());
        } else if !tls.domains.is_empty()
            && f.cert_resolver.is_none()
            && !settings.resolvers.is_empty()
        {
            warn("tls.domains without a tls.certResolver: no certificate is ordered for them (as in Traefik)".into());
        }
        // A named set: it must exist (Traefik does not build a router whose TLS options are
        // unknown; they may be a protection, so 503, rule zero). `default` is the default.
        let (provider, name) = self.split(&tls.options);
        if name.is_empty() || name == "default" {
            return;
        }
        let defined = if provider == self.pname {
            self.out.tls.options.contains_key(name)
        } else {
            (self.all.get(&provider)).is_some_and(|c| c.tls.options.contains_key(name))
        };
        if defined {
            f.tls_options = Some(format!("{name}@{provider}"));
        } else {
            self.refuse(
                f,
                format!("tls.options \"{name}@{provider}\" are not defined"),
            );
        }
    }

    /// A router with backend middlewares gets its own copy of its service's backend, named
    /// `SERVICE~ROUTER`, with them (its servers' health and in-flight counts are its own).
    fn own_backend(&mut self, f: &mut Frontend) {
        let on = std::mem::take(&mut self.on_backend);
        if on.is_empty() {
            return;
        }
        let Some(base) = self.out.backends.get(&f.backend).cloned() else {
            return;
        };
        let mut b = (*base).clone();
        b.buffering = on.buffering.or(b.buffering);
        b.circuit_breaker = on.circuit_breaker.or(b.circuit_breaker);
        b.max_conn = on.max_conn.or(b.max_conn);
        let name = format!("{}~{}", f.backend, self.router);
        self.out.backends.insert(name.clone(), Arc::new(b));
        f.backend = name;
    }

    /// Its entrypoints (all when it names none), those with TLS when it has `tls`, those
    /// without otherwise, as Traefik 2/3 serves routers.
    fn entry_points(&mut self, r: &Router, settings: &CompileSettings) -> Option<Vec<String>> {
        let named: Vec<String> = if r.entry_points.is_empty() {
            if settings.router_entry_points.is_empty() {
                settings.entry_points.clone()
            } else {
                settings.router_entry_points.clone()
            }
        } else {
            r.entry_points.clone()
        };
        let tls_of = |ep: &str| settings.redirect_targets.get(ep).map(|(tls, _)| *tls);
        let mut kept = Vec::new();
        for ep in &named {
            match tls_of(ep) {
                None => {
                    self.fail(format!("entrypoint {ep:?} is not defined; router left out"));
                    return None;
                }
                Some(tls) if tls == r.tls.is_some() => kept.push(ep.clone()),
                Some(_) => {}
            }
        }
        if kept.is_empty() {
            self.fail(if r.tls.is_some() {
                format!(
                    "router has tls but none of its entrypoints ({}) serves TLS; router left out",
                    named.join(", ")
                )
            } else {
                format!(
                    "all of its entrypoints ({}) serve TLS, and a router without tls only takes plain HTTP (set tls=true); router left out",
                    named.join(", ")
                )
            });
            return None;
        }
        Some(kept)
    }

    /// Folds middleware `reference` (a chain unfolded) into `f`; what cannot be folded makes
    /// the frontend answer 503 with the reason.
    fn apply(&mut self, f: &mut Frontend, reference: &str, depth: usize) {
        let (provider, name) = self.split(reference);
        let qualified = format!("{name}@{provider}");
        let found = self
            .http_of(&provider)
            .and_then(|h| h.middlewares.get(name))
            .cloned();
        let Some(m) = found else {
            self.refuse(
                f,
                format!("middleware {qualified:?} is not defined (or was refused: see its error)"),
            );
            return;
        };
        match &*m {
            Middleware::Chain { middlewares } => {
                if depth >= MAX_CHAIN_DEPTH {
                    self.refuse(
                        f,
                        format!(
                            "chain {qualified:?} nests deeper than {MAX_CHAIN_DEPTH} (a loop?)"
                        ),
                    );
                    return;
                }
                // A chain's members are named in the chain's provider.
                for member in middlewares {
                    let member = if member.contains('@') {
                        member.clone()
                    } else {
                        format!("{member}@{provider}")
                    };
                    self.apply(f, &member, depth + 1);
                }
            }
            other => {
                if let Err(reason) = self.fold(f, other, &qualified) {
                    self.refuse(f, format!("middleware {qualified:?}: {reason}"));
                }
            }
        }
    }

    fn refuse(&mut self, f: &mut Frontend, reason: String) {
        self.fail(format!(
            "{reason}; the router answers 503 until it is fixed"
        ));
        f.unenforced.push(reason);
    }

    fn fold(&mut self, f: &mut Frontend, m: &Middleware, name: &str) -> Result<(), String> {
        let m_ = &mut f.middlewares;
        let twice = |what: &str| {
            Err(format!(
                "a second {what} middleware on one router is not supported by portier yet"
            ))
        };
        match m {
            Middleware::AddPrefix { prefix } => {
                f.path_rewrites.push(PathRewrite::AddPrefix(prefix.clone()))
            }
            Middleware::StripPrefix { prefixes } => f
                .path_rewrites
                .push(PathRewrite::StripPrefix(prefixes.clone())),
            Middleware::StripPrefixRegex { regex } => f
                .path_rewrites
                .push(PathRewrite::StripPrefixRegex(regex.clone())),
            Middleware::ReplacePath { path } => {
                f.path_rewrites.push(PathRewrite::ReplacePath(path.clone()))
            }
            Middleware::ReplacePathRegex { regex, replacement } => f.path_rewrites.push(
                PathRewrite::ReplacePathRegex(regex.clone(), replacement.clone()),
            ),
            Middleware::Auth(a) => {
                if m_.auth.is_some() {
                    return twice("authentication");
                }
                m_.auth = Some(a.0.clone());
            }
            Middleware::IpAllowList(w) => {
                if m_.white_list.is_some() {
                    return twice("ipAllowList");
                }
                m_.white_list = Some(w.clone());
            }
            Middleware::Headers(h) => {
                m_.headers = Some(match &m_.headers {
                    None => (**h).clone(),
                    Some(before) => merge_headers(before, h)?,
                });
            }
            Middleware::RateLimit(r) => {
                if r.rate_set.is_empty() {
                    return Ok(());
                }
                if m_.rate_limit.is_some() {
                    return twice("rateLimit");
                }
                m_.rate_limit = Some(r.clone());
            }
            Middleware::RedirectScheme {
                scheme,
                port,
                permanent,
            } => {
                if f.redirect.is_some() {
                    return twice("redirect");
                }
                let default_port = matches!(
                    (scheme.as_str(), port.as_str()),
                    ("http", "80") | ("https", "443")
                );
                let port = if port.is_empty() || default_port {
                    String::new()
                } else {
                    format!(":{port}")
                };
                f.redirect = Some(FrontendRedirect {
                    entry_point: String::new(),
                    regex: r"^(https?://)?(\[[\w:.]+\]|[\w\._-]+)?(:\d+)?(.*)$".into(),
                    replacement: format!("{scheme}://${{2}}{port}${{4}}"),
                    permanent: *permanent,
                });
            }
            Middleware::RedirectRegex {
                regex,
                replacement,
                permanent,
            } => {
                if f.redirect.is_some() {
                    return twice("redirect");
                }
                f.redirect = Some(FrontendRedirect {
                    entry_point: String::new(),
                    regex: regex.clone(),
                    replacement: replacement.clone(),
                    permanent: *permanent,
                });
            }
            Middleware::PassTlsClientCert(p) => {
                if m_.pass_tls_client_cert.is_some() {
                    return twice("passTLSClientCert");
                }
                m_.pass_tls_client_cert = Some(p.clone());
            }
            Middleware::Errors {
                status,
                service,
                query,
            } => {
                let Some((backend, _)) = self.service(service) else {
                    return Err(format!("service {service:?} is not defined"));
                };
                f.errors.insert(
                    name.to_string(),
                    model::dynamic::ErrorPage {
                        status: status.clone(),
                        backend,
                        query: query.clone(),
                    },
                );
            }
            Middleware::Buffering(b) => {
                if self.on_backend.buffering.is_some() {
                    return twice("buffering");
                }
                self.on_backend.buffering = Some(b.clone());
            }
            Middleware::CircuitBreaker(c) => {
                if self.on_backend.circuit_breaker.is_some() {
                    return twice("circuitBreaker");
                }
                self.on_backend.circuit_breaker = Some(c.clone());
            }
            Middleware::InFlightReq(m) => {
                if self.on_backend.max_conn.is_some() {
                    return twice("inFlightReq");
                }
                self.on_backend.max_conn = Some(m.clone());
            }
            Middleware::Compress(c) => {
                if f.compress.is_some() {
                    return twice("compress");
                }
                f.compress = Some(c.clone());
            }
            Middleware::ContentType { auto_detect } => f.content_type |= *auto_detect,
            Middleware::GrpcWeb { allow_origins } => {
                if f.grpc_web.is_some() {
                    return twice("grpcWeb");
                }
                f.grpc_web = Some(allow_origins.clone());
            }
            Middleware::Retry {
                attempts,
                initial_interval,
            } => {
                if f.retry_attempts.is_some() {
                    return twice("retry");
                }
                f.retry_attempts = Some(*attempts);
                f.retry_interval = *initial_interval;
            }
            Middleware::Chain { .. } => {}
        }
        Ok(())
    }
}

/// Two `headers` middlewares as one, as Traefik runs them in turn: a request header the
/// second sets wins, a response header the first sets wins (it writes last); any other option
/// set by both to different values is refused rather than guessed.
fn merge_headers(a: &Headers, b: &Headers) -> Result<Headers, String> {
    let unset = Headers::default();
    let mut out = a.clone();
    for (k, v) in &b.custom_request_headers {
        out.custom_request_headers.insert(k.clone(), v.clone());
    }
    for (k, v) in &b.custom_response_headers {
        out.custom_response_headers
            .entry(k.clone())
            .or_insert_with(|| v.clone());
    }
    macro_rules! options {
        ($($field:ident),*) => {$(
            if b.$field != unset.$field {
                if a.$field != unset.$field && a.$field != b.$field {
                    return Err(format!(
                        "two headers middlewares set {} differently; portier does not guess which wins",
                        stringify!($field)
                    ));
                }
                out.$field = b.$field.clone();
            }
        )*};
    }
    options!(
        allowed_hosts,
        hosts_proxy_headers,
        ssl_redirect,
        ssl_temporary_redirect,
        ssl_host,
        ssl_force_host,
        ssl_proxy_headers,
        sts_seconds,
        sts_include_subdomains,
        sts_preload,
        force_sts_header,
        frame_deny,
        custom_frame_options_value,
        content_type_nosniff,
        browser_xss_filter,
        custom_browser_xss_value,
        content_security_policy,
        public_key,
        referrer_policy,
        is_development,
        policies,
        cors
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::http::{LoadBalancerService, RouterTls};
    use model::middleware::{Auth, AuthKind, UsersAuth};
    use model::rules::Syntax;

    fn settings() -> CompileSettings {
        CompileSettings {
            entry_points: vec!["web".into(), "websecure".into()],
            default_entry_points: vec!["web".into()],
            max_conns_per_server: 0,
            redirect_targets: [
                ("web".to_string(), (false, 80)),
                ("websecure".to_string(), (true, 443)),
            ]
            .into(),
            keep_trailing_slash: false,
            default_rule_syntax: model::rules::Syntax::V3,
            router_entry_points: Vec::new(),
            acme: false,
            resolvers: Vec::new(),
            api: false,
            l4: Default::default(),
            entry_point_http: Default::default(),
        }
    }

    fn lb() -> Arc<Service> {
        Arc::new(Service::LoadBalancer(Box::new(LoadBalancerService {
            backend: Backend::default(),
            pass_host_header: false,
        })))
    }

    fn router(service: &str, middlewares: &[&str]) -> Arc<Router> {
        Arc::new(Router {
            service: service.into(),
            rule: "Host(`a.com`)".into(),
            middlewares: middlewares.iter().map(|s| s.to_string()).collect(),
            ..Router::default()
        })
    }

    fn basic() -> Arc<Middleware> {
        Arc::new(Middleware::Auth(Box::new(model::http::AuthMiddleware(
            Auth {
                header_field: None,
                kind: AuthKind::Basic(UsersAuth {
                    users: vec!["u:x".into()],
                    users_file: None,
                    remove_header: false,
                    realm: None,
                }),
            },
        ))))
    }

    fn providers(docker: HttpConfig, file: HttpConfig) -> BTreeMap<String, Arc<ProviderConfig>> {
        let with = |http| {
            Arc::new(ProviderConfig {
                http,
                ..ProviderConfig::default()
            })
        };
        [
            ("docker".to_string(), with(docker)),
            ("file".to_string(), with(file)),
        ]
        .into()
    }

    #[test]
    fn routers_become_frontends_with_their_middlewares_in_order() {
        let mut d = HttpConfig::default();
        d.services.insert("web".into(), lb());
        d.routers
            .insert("r".into(), router("web", &["strip", "add", "auth@file"]));
        d.middlewares.insert(
            "strip".into(),
            Arc::new(Middleware::StripPrefix {
                prefixes: vec!["/api".into()],
            }),
        );
        d.middlewares.insert(
            "add".into(),
            Arc::new(Middleware::AddPrefix {
                prefix: "/v2".into(),
            }),
        );
        let mut f = HttpConfig::default();
        f.middlewares.insert("auth".into(), basic());
        let out = lower(&providers(d, f), &settings());
        let docker = &out["docker"];
        assert!(docker.errors.is_empty(), "{:?}", docker.errors);
        let fr = &docker.frontends["r"];
        assert_eq!(fr.backend, "web");
        assert!(!fr.pass_host_header, "the service's passHostHeader");
        assert_eq!(
            fr.entry_points,
            ["web"],
            "plain routers on plain entrypoints"
        );
        assert_eq!(fr.rule_syntax, Syntax::V3);
        assert_eq!(
            fr.path_rewrites,
            [
                PathRewrite::StripPrefix(vec!["/api".into()]),
                PathRewrite::AddPrefix("/v2".into())
            ]
        );
        assert!(
            fr.middlewares.auth.is_some(),
            "auth@file from another provider"
        );
        assert!(fr.unenforced.is_empty());
        assert!(docker.backends.contains_key("web"));
    }

    #[test]
    fn a_missing_or_doubled_middleware_keeps_the_route_answering_503() {
        let mut d = HttpConfig::default();
        d.services.insert("web".into(), lb());
        d.routers.insert("missing".into(), router("web", &["nope"]));
        d.routers
            .insert("twice".into(), router("web", &["a1", "a2"]));
        d.routers.insert("chained".into(), router("web", &["loop"]));
        d.middlewares.insert("a1".into(), basic());
        d.middlewares.insert("a2".into(), basic());
        d.middlewares.insert(
            "loop".into(),
            Arc::new(Middleware::Chain {
                middlewares: vec!["loop".into()],
            }),
        );
        let out = lower(&providers(d, HttpConfig::default()), &settings());
        let docker = &out["docker"];
        for (router, says) in [
            ("missing", "\"nope@docker\" is not defined"),
            ("twice", "a second authentication middleware"),
            ("chained", "nests deeper"),
        ] {
            let f = &docker.frontends[router];
            assert!(
                f.unenforced.iter().any(|u| u.contains(says)),
                "{router}: {:?}",
                f.unenforced
            );
            assert!(
                docker
                    .errors
                    .iter()
                    .any(|e| e.to_string().contains(&format!("router {router}: "))),
                "{router}: {:?}",
                docker.errors
            );
        }
    }

    #[test]
    fn tls_routers_take_the_tls_entrypoints_and_services_must_exist() {
        let mut d = HttpConfig::default();
        d.services.insert("web".into(), lb());
        let mut secure = (*router("web", &[])).clone();
        secure.tls = Some(RouterTls::default());
        d.routers.insert("secure".into(), Arc::new(secure));
        d.routers.insert("nosvc".into(), router("gone", &[]));
        let mut only_tls = (*router("web@file", &[])).clone();
        only_tls.entry_points = vec!["websecure".into()];
        d.routers.insert("plain-on-tls".into(), Arc::new(only_tls));
        let mut f = HttpConfig::default();
        f.services.insert("web".into(), lb());
        let out = lower(&providers(d, f), &settings());
        let docker = &out["docker"];
        assert_eq!(docker.frontends["secure"].entry_points, ["websecure"]);
        assert!(!docker.frontends.contains_key("nosvc"));
        assert!(!docker.frontends.contains_key("plain-on-tls"));
        let text: Vec<String> = docker.errors.iter().map(ToString::to_string).collect();
        assert!(
            text.iter()
                .any(|t| t.contains("service \"gone\" is not defined")),
            "{text:?}"
        );
        assert!(text.iter().any(|t| t.contains("set tls=true")), "{text:?}");
    }

    #[test]
    fn entrypoint_middlewares_and_tls_apply_to_each_router_served_there() {
        let mut d = HttpConfig::default();
        d.services.insert("web".into(), lb());
        d.middlewares.insert(
            "strip".into(),
            Arc::new(Middleware::StripPrefix {
                prefixes: vec!["/api".into()],
            }),
        );
        let mut both = (*router("web", &["strip"])).clone();
        both.entry_points = vec!["web".into(), "websecure".into()];
        d.routers.insert("both".into(), Arc::new(both));
        let mut secure_only = (*router("web", &[])).clone();
        secure_only.entry_points = vec!["websecure".into()];
        d.routers
            .insert("secure-only".into(), Arc::new(secure_only));
        let mut everywhere = (*router("web", &[])).clone();
        everywhere.tls = Some(RouterTls::default());
        everywhere.entry_points = vec!["web".into(), "websecure".into()];
        d.routers
            .insert("tls-everywhere".into(), Arc::new(everywhere));
        let mut f = HttpConfig::default();
        f.middlewares.insert("auth".into(), basic());
        let mut s = settings();
        s.entry_point_http.insert(
            "websecure".into(),
            config::traefik_v2::EntryPointHttp {
                middlewares: vec!["auth@file".into()],
                tls: true,
                ..Default::default()
            },
        );
        let out = lower(&providers(d, f), &s);
        let docker = &out["docker"];
        assert!(docker.errors.is_empty(), "{:?}", docker.errors);
        // On `web` as declared; on `websecure` a copy with TLS and the entrypoint's auth first.
        let plain = &docker.frontends["both"];
        assert_eq!(plain.entry_points, ["web"]);
        assert!(plain.middlewares.auth.is_none());
        let copy = &docker.frontends["websecure-both"];
        assert_eq!(copy.entry_points, ["websecure"]);
        assert!(copy.middlewares.auth.is_some());
        assert_eq!(
            copy.path_rewrites,
            [PathRewrite::StripPrefix(vec!["/api".into()])]
        );
        // A tls router on every entrypoint: served on the TLS one only, and no error for the
        // plain one (Traefik never matches it there).
        let tls_everywhere = &docker.frontends["websecure-tls-everywhere"];
        assert_eq!(tls_everywhere.entry_points, ["websecure"]);
        assert!(!docker.frontends.contains_key("tls-everywhere"));
        // A router without tls on an entrypoint with http.tls serves HTTPS there (Traefik).
        let secure = &docker.frontends["secure-only"];
        assert_eq!(secure.entry_points, ["websecure"]);
        assert!(secure.middlewares.auth.is_some());
        // Without the entrypoint's tls, the same router is refused with the reason.
        s.entry_point_http.clear();
        let out = lower(
            &providers(
                {
                    let mut d = HttpConfig::default();
                    d.services.insert("web".into(), lb());
                    let mut r = (*router("web", &[])).clone();
                    r.entry_points = vec!["websecure".into()];
                    d.routers.insert("secure-only".into(), Arc::new(r));
                    d
                },
                HttpConfig::default(),
            ),
            &s,
        );
        assert!(!out["docker"].frontends.contains_key("secure-only"));
    }

    #[test]
    fn failover_and_mirroring_services_become_one_backend_with_server_roles() {
        use model::dynamic::{Server, ServerRole};
        use model::http::{FailoverService, MirrorChild, MirroringService};
        let lb_of = |url: &str| {
            let mut backend = Backend::default();
            backend.servers.insert(
                "s0".into(),
                Server {
                    url: url.into(),
                    weight: 1,
                    origin: None,
                },
            );
            Arc::new(Service::LoadBalancer(Box::new(LoadBalancerService {
                backend,
                pass_host_header: true,
            })))
        };
        let mut d = HttpConfig::default();
        d.services.insert("main".into(), lb_of("http://m:80"));
        d.services.insert("spare".into(), lb_of("http://f:80"));
        d.services.insert("copy".into(), lb_of("http://c:80"));
        d.services.insert(
            "shop".into(),
            Arc::new(Service::Failover(FailoverService {
                service: "main".into(),
                fallback: "spare".into(),
            })),
        );
        d.services.insert(
            "mirrored".into(),
            Arc::new(Service::Mirroring(MirroringService {
                service: "shop".into(),
                mirrors: vec![MirrorChild {
                    name: "copy".into(),
                    percent: 10,
                }],
                mirror_body: true,
                max_body_size: Some(1024),
            })),
        );
        d.services.insert(
            "loop".into(),
            Arc::new(Service::Failover(FailoverService {
                service: "shop".into(),
                fallback: "main".into(),
            })),
        );
        let out = lower(&providers(d, HttpConfig::default()), &settings());
        let docker = &out["docker"];
        let shop = &docker.backends["shop"];
        let roles = shop.roles.as_ref().expect("roles");
        assert_eq!(roles.of["fallback-s0"], ServerRole::Fallback);
        assert_eq!(shop.servers["fallback-s0"].url, "http://f:80");
        assert_eq!(shop.servers["s0"].url, "http://m:80");
        // A mirroring of a failover keeps the fallback and adds the mirror.
        let m = &docker.backends["mirrored"];
        let roles = m.roles.as_ref().expect("roles");
        assert_eq!(roles.of["fallback-s0"], ServerRole::Fallback);
        assert_eq!(roles.of["mirror0-s0"], ServerRole::Mirror(0));
        assert_eq!(
            (roles.mirrors[0].percent, roles.max_body_size),
            (10, Some(1024))
        );
        // A failover of a failover is refused by name.
        assert!(!docker.backends.contains_key("loop"));
        assert!(
            docker
                .errors
                .iter()
                .any(|e| e.to_string().contains("service loop")
                    && e.to_string().contains("failover of failover")),
            "{:?}",
            docker.errors
        );
    }

    #[test]
    fn redirect_scheme_is_a_regex_redirect_that_leaves_https_alone() {
        let mut d = HttpConfig::default();
        d.services.insert("web".into(), lb());
        d.routers.insert("r".into(), router("web", &["https"]));
        d.middlewares.insert(
            "https".into(),
            Arc::new(Middleware::RedirectScheme {
                scheme: "https".into(),
                port: "443".into(),
                permanent: true,
            }),
        );
        let out = lower(&providers(d, HttpConfig::default()), &settings());
        let r = out["docker"].frontends["r"]
            .redirect
            .clone()
            .expect("redirect");
        let compiled =
            model::redirect::Redirect::regex(&r.regex, &r.replacement, r.permanent).expect("ok");
        assert_eq!(
            compiled.location(false, "a.com:8080", "/x?y=1").as_deref(),
            Some("https://a.com/x?y=1")
        );
        assert_eq!(
            compiled.location(true, "a.com", "/x"),
            None,
            "already https"
        );
    }

    #[test]
    fn two_headers_middlewares_merge_as_traefik_runs_them() {
        let a = Headers {
            frame_deny: true,
            custom_request_headers: [("X-A".to_string(), "1".to_string())].into(),
            custom_response_headers: [("X-R".to_string(), "first".to_string())].into(),
            ..Headers::default()
        };
        let b = Headers {
            sts_seconds: 60,
            custom_request_headers: [("X-A".to_string(), "2".to_string())].into(),
            custom_response_headers: [("X-R".to_string(), "second".to_string())].into(),
            ..Headers::default()
        };
        let m = merge_headers(&a, &b).expect("merges");
        assert!(m.frame_deny);
        assert_eq!(m.sts_seconds, 60);
        assert_eq!(
            m.custom_request_headers["X-A"], "2",
            "the later request header"
        );
        assert_eq!(
            m.custom_response_headers["X-R"], "first",
            "the earlier response header"
        );
        let c = Headers {
            sts_seconds: 30,
            ..Headers::default()
        };
        let e = merge_headers(&b, &c).expect_err("conflict");
        assert!(e.contains("sts_seconds"), "{e}");
    }

    #[test]
    fn a_weighted_service_shares_requests_by_its_weights() {
        let lb_of = |urls: &[(&str, i64)]| {
            Arc::new(Service::LoadBalancer(Box::new(LoadBalancerService {
                backend: Backend {
                    servers: urls
                        .iter()
                        .enumerate()
                        .map(|(i, (u, w))| {
                            (
                                format!("s{i}"),
                                model::dynamic::Server {
                                    url: u.to_string(),
                                    weight: *w,
                                    origin: None,
                                },
                            )
                        })
                        .collect(),
                    ..Backend::default()
                },
                pass_host_header: true,
            })))
        };
        let mut f = HttpConfig::default();
        f.services
            .insert("v1".into(), lb_of(&[("http://a:1", 1), ("http://b:1", 1)]));
        f.services.insert("v2".into(), lb_of(&[("http://c:1", 1)]));
        f.services.insert(
            "canary".into(),
            Arc::new(Service::Weighted(model::http::WeightedService {
                services: vec![
                    model::http::WeightedChild {
                        name: "v1".into(),
                        weight: 3,
                    },
                    model::http::WeightedChild {
                        name: "v2".into(),
                        weight: 1,
                    },
                ],
                sticky: None,
            })),
        );
        f.routers.insert("r".into(), router("canary", &[]));
        let out = lower(&providers(HttpConfig::default(), f), &settings());
        let b = &out["file"].backends["canary"];
        let weights: Vec<(String, i64)> = b
            .servers
            .values()
            .map(|s| (s.url.clone(), s.weight))
            .collect();
        // v1's two servers share 3 parts, v2's one server has 1: 3:3:2 (×2 for whole numbers).
        assert_eq!(
            weights,
            [
                ("http://a:1".to_string(), 3),
                ("http://b:1".to_string(), 3),
                ("http://c:1".to_string(), 2)
            ]
        );
        assert_eq!(out["file"].frontends["r"].backend, "canary");
    }

    #[test]
    fn backend_middlewares_give_the_router_its_own_backend() {
        let mut d = HttpConfig::default();
        d.services.insert("web".into(), lb());
        d.routers.insert("r".into(), router("web", &["buf", "one"]));
        d.routers.insert("plain".into(), router("web", &[]));
        d.middlewares.insert(
            "buf".into(),
            Arc::new(Middleware::Buffering(model::middleware::Buffering {
                max_request_body_bytes: 10,
                ..Default::default()
            })),
        );
        d.middlewares.insert(
            "one".into(),
            Arc::new(Middleware::InFlightReq(model::middleware::MaxConn {
                amount: 1,
                extractor_func: model::middleware::Extractor::ClientIp,
            })),
        );
        let out = lower(&providers(d, HttpConfig::default()), &settings());
        let docker = &out["docker"];
        assert_eq!(docker.frontends["r"].backend, "web~r");
        assert_eq!(docker.frontends["plain"].backend, "web");
        let own = &docker.backends["web~r"];
        assert_eq!(
            own.buffering.as_ref().map(|b| b.max_request_body_bytes),
            Some(10)
        );
        assert_eq!(own.max_conn.as_ref().map(|m| m.amount), Some(1));
        assert!(docker.backends["web"].buffering.is_none());
    }

    #[test]
    fn router_tls_domains_go_to_acme_and_what_cannot_be_honoured_warns() {
        let mut d = HttpConfig::default();
        d.services.insert("web".into(), lb());
        let mut r = (*router("web", &[])).clone();
        r.tls = Some(RouterTls {
            cert_resolver: "le".into(),
            options: String::new(),
            domains: vec![model::http::TlsDomain {
                main: "a.com".into(),
                sans: vec!["www.a.com".into(), "*.a.com".into()],
            }],
        });
        d.routers.insert("r".into(), Arc::new(r));
        let with_acme = CompileSettings {
            acme: true,
            ..settings()
        };
        let out = lower(&providers(d.clone(), HttpConfig::default()), &with_acme);
        assert_eq!(
            out["docker"].frontends["r"].tls_domains,
            ["a.com", "www.a.com"]
        );
        let warned: Vec<String> = out["docker"]
            .warnings
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(
            warned.iter().any(|w| w.contains("\"*.a.com\": a wildcard")),
            "{warned:?}"
        );
        let out = lower(&providers(d, HttpConfig::default()), &settings());
        let warned: Vec<String> = out["docker"]
            .warnings
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(
            warned
                .iter()
                .any(|w| w.contains("no certificate resolver is configured")),
            "{warned:?}"
        );
        assert!(out["docker"].frontends["r"].tls_domains.is_empty());
    }

    #[test]
    fn unknown_tls_options_keep_the_router_answering_503() {
        let mut d = HttpConfig::default();
        d.services.insert("web".into(), lb());
        for (name, options) in [("modern", "modern@file"), ("plain", "default")] {
            let mut r = (*router("web", &[])).clone();
            r.tls = Some(RouterTls {
                options: options.into(),
                ..RouterTls::default()
            });
            d.routers.insert(name.into(), Arc::new(r));
        }
        let out = lower(&providers(d, HttpConfig::default()), &settings());
        let docker = &out["docker"];
        assert!(
            docker.frontends["modern"].unenforced[0].contains("\"modern@file\" are not defined"),
            "{:?}",
            docker.frontends["modern"].unenforced
        );
        assert!(
            docker.frontends["plain"].unenforced.is_empty(),
            "the default options"
        );
    }
}
