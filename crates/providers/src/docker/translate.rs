//! One container and its `traefik.*` labels → what it declares. Pure: no I/O, tested on plain
//! data (through [`translate`](super::translator::translate)).
//!
//! Each container goes through the steps of Traefik's Docker builder: keep it or not
//! (`traefik.enable`, constraints), read its labels, then build its frontend, its backend
//! settings and its server. Grouping containers into backends and frontends is the
//! translator's (`super::translator`). A container that cannot take traffic now (paused,
//! stopping, not yet healthy) still declares its frontend and backend, without a server, so
//! clients get 503 rather than 404.

use std::collections::BTreeMap;

use config::Constraint;
use model::dynamic::{
    CircuitBreaker, DEFAULT_HEALTHCHECK_INTERVAL, Frontend, FrontendRedirect, HealthCheck,
    HeldServer, HoldState, LoadBalancer, OriginKind, ProviderError, Route, Server, ServerOrigin,
    Stickiness,
};

use super::container::{ContainerInfo, Health, RunState};
use super::labels::*;
use super::middlewares;
use super::protection::{Scope, unenforced_errors, unenforced_protection};

pub(super) const COMPOSE_PROJECT: &str = "com.docker.compose.project";
pub(super) const COMPOSE_SERVICE: &str = "com.docker.compose.service";

/// The `[docker]` settings translation depends on.
#[derive(Debug, Clone, Default)]
pub struct DockerDefaults {
    pub domain: String,
    pub exposed_by_default: bool,
    pub network: String,
    /// Every constraint must allow the container's `traefik.tags`.
    pub constraints: Vec<Constraint>,
    /// `useBindPortIP`: servers are the host IP and port a container port is published on.
    pub use_bind_port_ip: bool,
    /// A 2.x/3.x static configuration: containers without 1.x labels are read as 2.x/3.x
    /// ones (with only `traefik.enable`, or none when exposed by default).
    pub labels_v2: bool,
    /// `providers.docker.defaultRule`; `None`: Traefik's ``Host(`{{ normalize .Name }}`)``.
    pub default_rule: Option<String>,
    /// `providers.docker.constraints`: containers it does not allow are not routed.
    pub label_constraint: Option<model::rules::LabelConstraint>,
}

/// One container's part of the snapshot, read once from its labels and kept by the
/// [`Translator`](super::translator::Translator) until the container changes.
#[derive(Debug, Default)]
pub(super) struct Contribution {
    /// What it declares (a backend with its rule, frontend and server); empty when the
    /// container is not routed.
    pub(super) parsed: Vec<Parsed>,
    pub(super) errors: Vec<ProviderError>,
    pub(super) warnings: Vec<ProviderError>,
    /// Remarks worth logging once (network choices, no rule).
    pub(super) notes: Vec<String>,
}

/// One declaration of a container, before grouping with the other containers of its backend.
#[derive(Debug)]
pub(super) struct Parsed {
    pub(super) health_check: Option<HealthCheck>,
    pub(super) flush_interval: Option<std::time::Duration>,
    pub(super) load_balancer: LoadBalancer,
    pub(super) circuit_breaker: Option<CircuitBreaker>,
    pub(super) backend: String,
    pub(super) rule: String,
    /// A segment's frontend name (`frontend-<segment>-<backend>`); without a segment the
    /// name comes from the rule.
    pub(super) frontend_name: Option<String>,
    pub(super) frontend: Frontend,
    pub(super) server: Option<(String, Server)>,
    /// The container as a server out of rotation (paused, health starting or failing,
    /// stopping), for the dashboard.
    pub(super) held: Option<(String, HeldServer)>,
    /// Backend-level protections asked for and not enforced (`label KEY` each).
    pub(super) backend_unenforced: Vec<String>,
    pub(super) max_conn: Option<model::middleware::MaxConn>,
    pub(super) buffering: Option<model::middleware::Buffering>,
}

/// A container through the builder's steps; `None` when it is not running (it declares
/// nothing and says nothing).
pub(super) fn contribution(c: &ContainerInfo, defaults: &DockerDefaults) -> Option<Contribution> {
    if matches!(c.state, RunState::NotRunning) {
        return None;
    }
    let mut out = Contribution::default();
    let segments = super::segments::segments(c);
    if segments.is_empty() {
        match container_route(c, defaults, None, &mut out.notes, &mut out.errors) {
            Ok(Some(p)) => out.parsed.push(p),
            Ok(None) => return Some(out),
            Err(e) => {
                out.errors.push(e);
                return Some(out);
            }
        }
        out.warnings.extend(middlewares::ignored_auth_labels(c));
    }
    for seg in &segments {
        let mut errors = Vec::new();
        let sc = &seg.container;
        match container_route(sc, defaults, Some(&seg.name), &mut out.notes, &mut errors) {
            Ok(Some(mut p)) => {
                for reason in p
                    .frontend
                    .unenforced
                    .iter_mut()
                    .chain(p.backend_unenforced.iter_mut())
                {
                    let written = reason
                        .strip_prefix("label ")
                        .and_then(|plain| seg.spelled.get(plain));
                    if let Some(written) = written {
                        *reason = format!("label {written}");
                    }
                }
                out.parsed.push(p)
            }
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
        out.errors
            .extend(errors.into_iter().map(|e| respell(e, seg)));
        for w in middlewares::ignored_auth_labels(sc)
            .into_iter()
            .map(|e| respell(e, seg))
        {
            if !out.warnings.contains(&w) {
                out.warnings.push(w);
            }
        }
    }
    if out.parsed.is_empty() {
        out.warnings.clear();
        return Some(out);
    }
    out.errors.extend(unenforced_errors(c));
    out.warnings.extend(unsupported_labels(c));
    Some(out)
}

/// An error about a label a segment set, naming the label as written on the container.
fn respell(mut e: ProviderError, seg: &super::segments::Segment) -> ProviderError {
    if let ProviderError::Label { label, .. } = &mut e {
        if let Some(written) = seg.spelled.get(label.as_str()) {
            *label = written.clone();
        }
    }
    e
}

/// One container through the builder's steps; `None` when it is not routed.
fn container_route(
    c: &ContainerInfo,
    d: &DockerDefaults,
    segment: Option<&str>,
    notes: &mut Vec<String>,
    errors: &mut Vec<ProviderError>,
) -> Result<Option<Parsed>, ProviderError> {
    if !keep_container(c, d)? {
        return Ok(None);
    }
    let labels = Labels::read(c)?;
    let (frontend_unenforced, backend_unenforced) = protections(c);
    let compose = match (c.labels.get(COMPOSE_PROJECT), c.labels.get(COMPOSE_SERVICE)) {
        (Some(p), Some(s)) => Some((p.as_str(), s.as_str())),
        _ => None,
    };
    // Traefik's `ServiceName`: the swarm service of a task, else the container's name.
    let own_name = c.service.as_deref().unwrap_or(&c.name);
    let backend_name = match (labels.text(LABEL_BACKEND), compose) {
        (Some(b), _) => b.to_string(),
        (None, Some((project, service))) => format!("{service}_{project}"),
        (None, None) => own_name.to_string(),
    };
    let (backend, frontend_name) = match segment {
        None => (format!("backend-{}", normalize(&backend_name)), None),
        // Traefik: `<service>-<segment's backend, else the segment>`, and the frontend
        // `<segment>-<backend>`.
        Some(seg) => {
            let service = match compose {
                Some((project, service)) => format!("{service}_{project}"),
                None => own_name.to_string(),
            };
            let value = labels.text(LABEL_BACKEND).unwrap_or(seg);
            let name = normalize(&format!("{service}-{value}"));
            let frontend = format!("frontend-{}", normalize(&format!("{seg}-{name}")));
            (format!("backend-{name}"), Some(frontend))
        }
    };
    let Some(rule) = frontend_rule(c, &labels, compose, d) else {
        notes.push(format!(
            "container {}: no {LABEL_RULE} and no domain for a default rule; not routed",
            c.name
        ));
        return Ok(None);
    };
    let port = server_port(c, &labels)?;
    let to = Upstream {
        port,
        protocol: labels.text(LABEL_PROTOCOL).unwrap_or("http"),
        weight: i64::from(labels.weight(LABEL_WEIGHT).unwrap_or(1)),
        name: server_name(c, segment),
    };
    let (server, held) = server_or_held(c, d, &to, notes)?;
    let asked = middlewares::read(c);
    errors.extend(asked.errors);
    let mut frontend = build_frontend(&labels, &backend, &rule);
    frontend.redirect = build_redirect(c, &labels)?;
    let (pages, page_errors) = super::error_pages::read(c);
    frontend.errors = pages;
    errors.extend(page_errors);
    frontend.middlewares = asked.frontend;
    frontend.unenforced = frontend_unenforced;
    merge_unique(&mut frontend.unenforced, asked.frontend_refused);
    let mut backend_unenforced = backend_unenforced;
    merge_unique(&mut backend_unenforced, asked.backend_refused);
    Ok(Some(Parsed {
        health_check: build_health_check(&labels),
        flush_interval: labels.duration(LABEL_FLUSH_INTERVAL),
        load_balancer: build_load_balancer(&labels),
        circuit_breaker: build_circuit_breaker(c, &labels, errors),
        backend,
        rule,
        frontend_name,
        frontend,
        server,
        held,
        backend_unenforced,
        max_conn: asked.max_conn,
        buffering: asked.buffering,
    }))
}

/// `traefik.enable` (else `exposedByDefault`) and the constraints on `traefik.tags`.
pub(super) fn keep_container(c: &ContainerInfo, d: &DockerDefaults) -> Result<bool, ProviderError> {
    let enabled = match c.labels.get(LABEL_ENABLE).filter(|v| !v.is_empty()) {
        Some(v) => parse_bool(v)
            .ok_or_else(|| bad_value(c, LABEL_ENABLE, "not a boolean (true or false)"))?,
        None => d.exposed_by_default,
    };
    let tags: Vec<&str> = c
        .labels
        .get(LABEL_TAGS)
        .map(|t| {
            t.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .collect()
        })
        .unwrap_or_default();
    Ok(enabled
        && d.constraints.iter().all(|k| k.allows(&tags))
        && d.label_constraint
            .as_ref()
            .is_none_or(|k| k.allows(&c.labels)))
}

/// The protections the container's labels ask for (frontend, backend) that portier does not
/// enforce, as `label KEY`.
fn protections(c: &ContainerInfo) -> (Vec<String>, Vec<String>) {
    let (mut frontend, mut backend) = (Vec::new(), Vec::new());
    for (key, _) in c
        .labels
        .iter()
        .filter(|(k, v)| k.starts_with("traefik.") && !v.is_empty())
    {
        match unenforced_protection(key) {
            Some((Scope::Frontend, _)) => frontend.push(format!("label {key}")),
            Some((Scope::Backend, _)) => backend.push(format!("label {key}")),
            None => {}
        }
    }
    (frontend, backend)
}

/// A warning per `traefik.*` label portier does not read (and that asks for no protection):
/// the route is served without it, and the operator sees it.
fn unsupported_labels(c: &ContainerInfo) -> Vec<ProviderError> {
    c.labels
        .keys()
        .filter(|k| {
            let plain = super::segments::plain(k);
            k.starts_with("traefik.")
                && !is_known(&plain)
                && !middlewares::is_middleware_label(&plain)
                && !super::error_pages::is_error_page_label(&plain)
                && unenforced_protection(k).is_none()
                && (c.service.is_none() || plain != SWARM_ONLY)
        })
        .map(|key| ProviderError::Label {
            container: c.name.clone(),
            label: key.clone(),
            message: if super::segments::plain(key) == SWARM_ONLY {
                "read only in swarm mode ([docker] swarmMode = true); ignored for a container, as in Traefik"
                    .to_string()
            } else {
                format!(
                    "not a label portier or Traefik 1.7 reads; ignored{}",
                    label_hint(key)
                )
            },
        })
        .collect()
}

/// A label of swarm services (their VIP as the one server, see `swarm`); on a container it is
/// warned, as Traefik ignores it there.
const SWARM_ONLY: &str = "traefik.backend.loadbalancer.swarm";

/// `" (did you mean traefik.frontend.rule?)"` for a misspelt label (segment kept), or nothing.
fn label_hint(key: &str) -> String {
    let plain = super::segments::plain(key);
    let mut known: Vec<String> = super::labels::LABELS
        .iter()
        .map(|(k, _)| k.to_string())
        .collect();
    known.extend(middlewares::middleware_labels());
    let Some(best) = config::did_you_mean(&plain, known.iter().map(String::as_str)) else {
        return String::new();
    };
    let shown = match key
        .strip_prefix("traefik.")
        .zip(plain.strip_prefix("traefik."))
    {
        // A segment label: put the segment back (`traefik.web.frontend.rule`).
        Some((rest, plain_rest)) if rest != plain_rest => {
            let segment = rest.strip_suffix(plain_rest).unwrap_or("");
            format!("traefik.{segment}{}", best.trim_start_matches("traefik."))
        }
        _ => best.to_string(),
    };
    format!(" (did you mean {shown}?)")
}

/// `traefik.frontend.rule`, else Traefik's default from the compose service or the name.
fn frontend_rule(
    c: &ContainerInfo,
    labels: &Labels,
    compose: Option<(&str, &str)>,
    d: &DockerDefaults,
) -> Option<String> {
    let domain = labels.text(LABEL_DOMAIN).unwrap_or(&d.domain);
    match (labels.text(LABEL_RULE), compose) {
        (Some(r), _) => Some(r.to_string()),
        (None, Some((project, service))) => {
            let suffix = if domain.is_empty() {
                String::new()
            } else {
                format!(".{domain}")
            };
            Some(format!(
                "Host:{}.{}{suffix}",
                host_part(service),
                host_part(project)
            ))
        }
        (None, None) if !domain.is_empty() => {
            let name = c.service.as_deref().unwrap_or(&c.name);
            Some(format!("Host:{}.{domain}", host_part(name)))
        }
        (None, None) => None,
    }
}

fn build_frontend(labels: &Labels, backend: &str, rule: &str) -> Frontend {
    Frontend {
        source: None,
        entry_points: labels.list(LABEL_ENTRYPOINTS).to_vec(),
        backend: backend.to_string(),
        routes: [(
            format!("route-{}", normalize(rule)),
            Route {
                rule: rule.to_string(),
            },
        )]
        .into(),
        pass_host_header: labels.bool(LABEL_PASS_HOST).unwrap_or(true),
        priority: labels.int(LABEL_PRIORITY).unwrap_or(0),
        redirect: None,
        middlewares: Default::default(),
        errors: BTreeMap::new(),
        unenforced: Vec::new(),
        // The 2.x/3.x-only settings (lowered routers set them).
        ..Frontend::default()
    }
}

/// `traefik.frontend.redirect.*`: the entrypoint when set (it wins, as in Traefik), else the
/// regex with its replacement, checked now so that an error names the label (Traefik drops a
/// half-set or bad regex redirect with a log line; portier leaves the container out).
fn build_redirect(
    c: &ContainerInfo,
    labels: &Labels,
) -> Result<Option<FrontendRedirect>, ProviderError> {
    let permanent = labels.bool(LABEL_REDIRECT_PERMANENT).unwrap_or(false);
    let half = |set: &str, missing: &str| ProviderError::Label {
        container: c.name.clone(),
        label: set.to_string(),
        message: format!("set without {missing}; container left out"),
    };
    if let Some(ep) = labels.text(LABEL_REDIRECT_EP) {
        return Ok(Some(FrontendRedirect {
            entry_point: ep.to_string(),
            regex: String::new(),
            replacement: String::new(),
            permanent,
        }));
    }
    let (regex, replacement) = match (
        labels.text(LABEL_REDIRECT_REGEX),
        labels.text(LABEL_REDIRECT_REPLACEMENT),
    ) {
        (None, None) => return Ok(None),
        (Some(r), Some(p)) => (r, p),
        (Some(_), None) => return Err(half(LABEL_REDIRECT_REGEX, LABEL_REDIRECT_REPLACEMENT)),
        (None, Some(_)) => return Err(half(LABEL_REDIRECT_REPLACEMENT, LABEL_REDIRECT_REGEX)),
    };
    if let Err(e) = model::redirect::Redirect::regex(regex, replacement, permanent) {
        let label = if e.in_replacement() {
            LABEL_REDIRECT_REPLACEMENT
        } else {
            LABEL_REDIRECT_REGEX
        };
        return Err(ProviderError::Label {
            container: c.name.clone(),
            label: label.to_string(),
            message: format!("{e}; container left out"),
        });
    }
    Ok(Some(FrontendRedirect {
        entry_point: String::new(),
        regex: regex.to_string(),
        replacement: replacement.to_string(),
        permanent,
    }))
}

/// `traefik.backend.loadbalancer.*`: the method and sticky sessions (`stickiness=true` with its
/// options, else the deprecated `sticky=true`, which means the cookie `_TRAEFIK_BACKEND`).
fn build_load_balancer(labels: &Labels) -> LoadBalancer {
    let stickiness = if labels.bool(LABEL_STICKINESS) == Some(true) {
        Some(Stickiness {
            cookie_name: labels
                .text(LABEL_STICKINESS_COOKIE)
                .unwrap_or_default()
                .to_string(),
            secure: labels.bool(LABEL_STICKINESS_SECURE).unwrap_or(false),
            http_only: labels.bool(LABEL_STICKINESS_HTTP_ONLY).unwrap_or(false),
            same_site: labels
                .text(LABEL_STICKINESS_SAME_SITE)
                .unwrap_or_default()
                .to_string(),
            ..Stickiness::default()
        })
    } else if labels.bool(LABEL_STICKY) == Some(true) {
        Some(Stickiness {
            cookie_name: model::dynamic::DEPRECATED_STICKY_COOKIE.to_string(),
            ..Stickiness::default()
        })
    } else {
        None
    };
    LoadBalancer {
        method: labels.text(LABEL_LB_METHOD).unwrap_or("wrr").to_string(),
        stickiness,
    }
}

/// `traefik.backend.circuitbreaker.expression`; one that cannot be read is an error on the
/// label, and the backend is served without a breaker.
fn build_circuit_breaker(
    c: &ContainerInfo,
    labels: &Labels,
    errors: &mut Vec<ProviderError>,
) -> Option<CircuitBreaker> {
    let expression = labels.text(LABEL_CIRCUIT_BREAKER)?;
    if let Err(e) = middleware::Breaker::compile(expression, std::time::Instant::now()) {
        errors.push(ProviderError::Label {
            container: c.name.clone(),
            label: LABEL_CIRCUIT_BREAKER.to_string(),
            message: format!("{e}; the backend is served without a circuit breaker"),
        });
        return None;
    }
    Some(CircuitBreaker {
        expression: expression.to_string(),
        options: Default::default(),
    })
}

fn build_health_check(labels: &Labels) -> Option<HealthCheck> {
    let path = labels.text(LABEL_HC_PATH)?;
    Some(HealthCheck {
        path: if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/{path}")
        },
        interval: labels
            .duration(LABEL_HC_INTERVAL)
            .unwrap_or(DEFAULT_HEALTHCHECK_INTERVAL),
        port: labels.port(LABEL_HC_PORT),
        hostname: labels.text(LABEL_HC_HOSTNAME).map(String::from),
        headers: labels.map(LABEL_HC_HEADERS),
        options: Default::default(),
    })
}

/// `traefik.port`, else the only exposed port; several exposed ports is an error.
fn server_port(c: &ContainerInfo, labels: &Labels) -> Result<u16, ProviderError> {
    if let Some(p) = labels.port(LABEL_PORT) {
        return Ok(p);
    }
    let missing = |message: String| ProviderError::Label {
        container: c.name.clone(),
        label: LABEL_PORT.to_string(),
        message,
    };
    match c.ports.as_slice() {
        [one] => Ok(*one),
        [] => Err(missing(
            "missing, and the container exposes no port; set traefik.port; container left out"
                .into(),
        )),
        many => {
            let list: Vec<String> = many.iter().map(u16::to_string).collect();
            Err(missing(format!(
                "missing, and the container exposes several ports ({}); set traefik.port to choose one; container left out",
                list.join(", ")
            )))
        }
    }
}

/// `useBindPortIP`: the host IP and port `port` is published on, as Traefik takes it; `None`
/// (with a note, Traefik logs it at INFO) when it is off, or the port is not published on a
/// specific IP, and the container's own address is used.
fn bound_address(
    c: &ContainerInfo,
    d: &DockerDefaults,
    port: u16,
    notes: &mut Vec<String>,
) -> Option<(String, u16)> {
    if !d.use_bind_port_ip {
        return None;
    }
    match c.bindings.get(&port) {
        Some((ip, host_port)) if !ip.is_empty() && ip != "0.0.0.0" && ip != "::" => {
            Some((ip.clone(), *host_port))
        }
        Some((ip, _)) => {
            notes.push(format!(
                "container {}: port {port} is published on {ip:?}, not one IP; useBindPortIP falls back on its own address, as in Traefik",
                c.name
            ));
            None
        }
        None => {
            notes.push(format!(
                "container {}: port {port} is not published; useBindPortIP falls back on its own address, as in Traefik",
                c.name
            ));
            None
        }
    }
}

/// Why a running container takes no traffic now, if it does not: paused, stopping, or its
/// Docker health check starting or failing (Traefik 1.7 leaves such containers out).
fn hold_reason(c: &ContainerInfo) -> Option<(HoldState, &'static str)> {
    match (c.state, c.health) {
        (RunState::Paused, _) => Some((
            HoldState::Paused,
            "the container is paused (docker pause); docker unpause puts it back",
        )),
        (RunState::Pending, _) => Some((
            HoldState::Starting,
            "the swarm task is not running yet (the orchestrator is bringing it up)",
        )),
        (RunState::Stopping, _) => Some((
            HoldState::Stopping,
            "the container is stopping; it gets no new requests",
        )),
        (_, Some(Health::Starting)) => Some((
            HoldState::Starting,
            "its Docker health check has not passed yet",
        )),
        (_, Some(Health::Unhealthy)) => Some((
            HoldState::Unhealthy,
            "Docker reports its health check failing",
        )),
        _ => None,
    }
}

/// How a container is reached as a server: its port, protocol (scheme) and weight, and the
/// server's name in its backend.
pub(super) struct Upstream<'a> {
    pub(super) port: u16,
    pub(super) protocol: &'a str,
    pub(super) weight: i64,
    pub(super) name: String,
}

/// The container as a server when it can take traffic now, else as a held server with why
/// (its address when one can be told).
pub(super) type ServerOrHeld = (Option<(String, Server)>, Option<(String, HeldServer)>);

pub(super) fn server_or_held(
    c: &ContainerInfo,
    d: &DockerDefaults,
    to: &Upstream,
    notes: &mut Vec<String>,
) -> Result<ServerOrHeld, ProviderError> {
    Ok(match hold_reason(c) {
        None => (build_server(c, d, to, notes)?, None),
        Some((state, reason)) => {
            // Its address, if one can be told, without the notes a served container gets.
            let url = build_server(&running(c), d, to, &mut Vec::new())
                .ok()
                .flatten();
            let held = HeldServer {
                origin: url.as_ref().and_then(|(_, s)| s.origin.clone()),
                url: url.map(|(_, s)| s.url),
                state,
                reason: reason.to_string(),
            };
            (None, Some((to.name.clone(), held)))
        }
    })
}

/// The container as if it were running and healthy (to tell a held server's address).
fn running(c: &ContainerInfo) -> ContainerInfo {
    ContainerInfo {
        state: RunState::Running,
        health: None,
        ..c.clone()
    }
}

pub(super) fn server_name(c: &ContainerInfo, segment: Option<&str>) -> String {
    match segment {
        None => format!("server-{}", normalize(&c.name)),
        Some(seg) => format!("server-{}", normalize(&format!("{}-{seg}", c.name))),
    }
}

/// The container as a server of its backend, when it can take traffic now.
fn build_server(
    c: &ContainerInfo,
    d: &DockerDefaults,
    to: &Upstream,
    notes: &mut Vec<String>,
) -> Result<Option<(String, Server)>, ProviderError> {
    let port = to.port;
    let usable = c.state == RunState::Running && matches!(c.health, None | Some(Health::Healthy));
    if !usable {
        return Ok(None);
    }
    let (ip, port) = match bound_address(c, d, port, notes) {
        Some(bound) => bound,
        None => (ip_address(c, d, notes)?, port),
    };
    let host = if ip.contains(':') {
        format!("[{ip}]")
    } else {
        ip
    };
    let protocol = to.protocol;
    Ok(Some((
        to.name.clone(),
        Server {
            url: format!("{protocol}://{host}:{port}"),
            weight: to.weight,
            origin: Some(ServerOrigin {
                kind: match &c.service {
                    None => OriginKind::Container,
                    Some(service) if *service == c.name => OriginKind::Service,
                    Some(_) => OriginKind::Task,
                },
                name: c.name.clone(),
                node: c.node.clone(),
            }),
        },
    )))
}

pub(super) fn merge_unique(into: &mut Vec<String>, more: Vec<String>) {
    for m in more {
        if !into.contains(&m) {
            into.push(m);
        }
    }
}

/// The container's IP: on `traefik.docker.network`, else `[docker] network`, else host
/// networking (127.0.0.1), else its only network, else the first by name (logged).
fn ip_address(
    c: &ContainerInfo,
    d: &DockerDefaults,
    notes: &mut Vec<String>,
) -> Result<String, ProviderError> {
    let wanted = c
        .labels
        .get(LABEL_NETWORK)
        .or_else(|| c.labels.get(LABEL_SWARM_NETWORK))
        .filter(|v| !v.is_empty())
        .map(|v| (v.as_str(), true))
        .or_else(|| (!d.network.is_empty()).then_some((d.network.as_str(), false)));
    if let Some((net, from_label)) = wanted {
        if let Some(ip) = c.networks.get(net) {
            return Ok(ip.clone());
        }
        let attached: Vec<&str> = c.networks.keys().map(String::as_str).collect();
        if from_label {
            return Err(ProviderError::Label {
                container: c.name.clone(),
                label: LABEL_NETWORK.to_string(),
                message: format!(
                    "value {net:?}: the container is not on that network (it is on: {}); container left out",
                    attached.join(", ")
                ),
            });
        }
        notes.push(format!(
            "container {}: not on [docker] network {net:?}; using another network",
            c.name
        ));
    }
    if c.network_mode == "host" {
        return Ok("127.0.0.1".to_string());
    }
    let mut nets = c.networks.iter();
    match (nets.next(), c.networks.len()) {
        (Some((_, ip)), 1) => Ok(ip.clone()),
        (Some((name, ip)), n) => {
            notes.push(format!(
                "container {} is on {n} networks ({}); using {name} ({ip}), the first by name; set {LABEL_NETWORK} to choose",
                c.name,
                c.networks.keys().cloned().collect::<Vec<_>>().join(", ")
            ));
            Ok(ip.clone())
        }
        (None, _) => Err(ProviderError::Container {
            container: c.name.clone(),
            message: "has no IP address on any network; container left out".into(),
        }),
    }
}

/// Traefik's `Normalize`: runs of characters other than letters and digits become one `-`.
pub fn normalize(s: &str) -> String {
    model::rules::default_rule::normalize(s)
}

/// A container or service name as a host label: `/` and `_` become `-`.
fn host_part(s: &str) -> String {
    s.trim_start_matches('/').replace(['/', '_'], "-")
}
