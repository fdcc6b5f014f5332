//! Containers and their `traefik.*` labels → a [`ProviderConfig`]. Pure: no I/O, tested on
//! plain data.
//!
//! Each container goes through the steps of Traefik's Docker builder: keep it or not
//! (`traefik.enable`, constraints), read its labels, then build its frontend, its backend
//! settings and its server. Containers with the same `traefik.backend` (or the same compose
//! project and service) become the servers of one backend; containers of one backend with the
//! same rule share one frontend. A container that cannot take traffic now (paused, stopping,
//! not yet healthy) still declares its frontend and backend, without a server, so clients get
//! 503 rather than 404.

use std::collections::BTreeMap;
use std::sync::Arc;

use config::Constraint;
use model::dynamic::{
    Backend, CircuitBreaker, DEFAULT_HEALTHCHECK_INTERVAL, Frontend, FrontendRedirect, HealthCheck,
    LoadBalancer, ProviderConfig, ProviderError, Route, Server, Stickiness,
};

use super::container::{ContainerInfo, Health, RunState};
use super::labels::*;
use super::middlewares;
use super::protection::{Scope, unenforced_errors, unenforced_protection};

const COMPOSE_PROJECT: &str = "com.docker.compose.project";
const COMPOSE_SERVICE: &str = "com.docker.compose.service";

/// The `[docker]` settings translation depends on.
#[derive(Debug, Clone, Default)]
pub struct DockerDefaults {
    pub domain: String,
    pub exposed_by_default: bool,
    pub network: String,
    /// Every constraint must allow the container's `traefik.tags`.
    pub constraints: Vec<Constraint>,
}

/// The snapshot plus remarks worth logging once (network choices, ignored labels).
#[derive(Debug, Default)]
pub struct Translation {
    pub config: ProviderConfig,
    pub notes: Vec<String>,
}

/// One container's contribution before grouping.
struct Parsed {
    health_check: Option<HealthCheck>,
    flush_interval: Option<std::time::Duration>,
    load_balancer: LoadBalancer,
    circuit_breaker: Option<CircuitBreaker>,
    backend: String,
    rule: String,
    frontend: Frontend,
    server: Option<(String, Server)>,
    /// Backend-level protections asked for and not enforced (`label KEY` each).
    backend_unenforced: Vec<String>,
    max_conn: Option<model::middleware::MaxConn>,
    buffering: Option<model::middleware::Buffering>,
}

pub fn translate(containers: &[ContainerInfo], defaults: &DockerDefaults) -> Translation {
    let mut out = Translation::default();
    let mut sorted: Vec<&ContainerInfo> = containers.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
    // (backend, rule) → frontend name, so one compose service gets one frontend.
    let mut frontend_names: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut backends: BTreeMap<String, Backend> = BTreeMap::new();
    let mut frontends: BTreeMap<String, Frontend> = BTreeMap::new();
    for c in sorted {
        if matches!(c.state, RunState::NotRunning) {
            continue;
        }
        let parsed = match container_route(c, defaults, &mut out.notes, &mut out.config.errors) {
            Ok(Some(p)) => p,
            Ok(None) => continue,
            Err(e) => {
                out.config.errors.push(e);
                continue;
            }
        };
        out.config.errors.extend(unenforced_errors(c));
        out.config.warnings.extend(unsupported_labels(c));
        out.config
            .warnings
            .extend(middlewares::ignored_auth_labels(c));
        let backend = backends
            .entry(parsed.backend.clone())
            // Backend-level settings come from the first container of the backend (by name).
            .or_insert_with(|| Backend {
                health_check: parsed.health_check.clone(),
                flush_interval: parsed.flush_interval,
                load_balancer: parsed.load_balancer.clone(),
                circuit_breaker: parsed.circuit_breaker.clone(),
                max_conn: parsed.max_conn.clone(),
                buffering: parsed.buffering.clone(),
                ..Backend::default()
            });
        if let Some((name, server)) = parsed.server {
            backend.servers.insert(name, server);
        }
        merge_unique(&mut backend.unenforced, parsed.backend_unenforced);
        if backend.buffering != parsed.buffering {
            out.config
                .errors
                .push(disagreement(c, "traefik.backend.buffering.*", "backend"));
            merge_unique(
                &mut backend.unenforced,
                vec![format!("container {} disagrees on buffering", c.name)],
            );
        }
        if backend.max_conn != parsed.max_conn {
            // Containers of one backend disagree on its connection limit: refuse, never guess.
            out.config
                .errors
                .push(disagreement(c, "traefik.backend.maxconn.*", "backend"));
            merge_unique(
                &mut backend.unenforced,
                vec![format!("container {} disagrees on maxconn", c.name)],
            );
        }
        let key = (parsed.backend.clone(), parsed.rule.clone());
        if let Some(name) = frontend_names.get(&key) {
            if let Some(f) = frontends.get_mut(name) {
                // One container of a shared frontend asking for a protection is enough.
                merge_unique(&mut f.unenforced, parsed.frontend.unenforced);
                if f.middlewares != parsed.frontend.middlewares {
                    out.config
                        .errors
                        .push(disagreement(c, "traefik.frontend.*", "frontend"));
                    merge_unique(
                        &mut f.unenforced,
                        vec![format!("container {} disagrees on middlewares", c.name)],
                    );
                }
            }
            continue;
        }
        let base = format!("frontend-{}", normalize(&parsed.rule));
        let name = if frontends.contains_key(&base) {
            format!("{base}-{}", parsed.backend.trim_start_matches("backend-"))
        } else {
            base
        };
        frontend_names.insert(key, name.clone());
        frontends.insert(name, parsed.frontend);
    }
    out.config.backends = backends
        .into_iter()
        .map(|(k, v)| (k, Arc::new(v)))
        .collect();
    out.config.frontends = frontends
        .into_iter()
        .map(|(k, v)| (k, Arc::new(v)))
        .collect();
    out
}

/// Containers that share a frontend (or backend) ask for different middlewares: which one is
/// meant cannot be known, so the shared route refuses every request until they agree.
fn disagreement(c: &ContainerInfo, labels: &str, what: &str) -> ProviderError {
    ProviderError::Label {
        container: c.name.clone(),
        label: labels.to_string(),
        message: format!(
            "middleware labels differ from those of the other containers of its {what}; the {what} answers 503 to every request until they agree"
        ),
    }
}

/// One container through the builder's steps; `None` when it is not routed.
fn container_route(
    c: &ContainerInfo,
    d: &DockerDefaults,
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
    let backend_name = match (labels.text(LABEL_BACKEND), compose) {
        (Some(b), _) => b.to_string(),
        (None, Some((project, service))) => format!("{service}_{project}"),
        (None, None) => c.name.clone(),
    };
    let backend = format!("backend-{}", normalize(&backend_name));
    let Some(rule) = frontend_rule(c, &labels, compose, d) else {
        notes.push(format!(
            "container {}: no {LABEL_RULE} and no domain for a default rule; not routed",
            c.name
        ));
        return Ok(None);
    };
    let port = server_port(c, &labels)?;
    let server = build_server(c, &labels, d, port, notes)?;
    let asked = middlewares::read(c);
    errors.extend(asked.errors);
    let mut frontend = build_frontend(&labels, &backend, &rule);
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
        frontend,
        server,
        backend_unenforced,
        max_conn: asked.max_conn,
        buffering: asked.buffering,
    }))
}

/// `traefik.enable` (else `exposedByDefault`) and the constraints on `traefik.tags`.
fn keep_container(c: &ContainerInfo, d: &DockerDefaults) -> Result<bool, ProviderError> {
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
    Ok(enabled && d.constraints.iter().all(|k| k.allows(&tags)))
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
            k.starts_with("traefik.")
                && !is_known(k)
                && !middlewares::is_middleware_label(k)
                && !super::error_pages::is_error_page_label(k)
                && unenforced_protection(k).is_none()
        })
        .map(|key| ProviderError::Label {
            container: c.name.clone(),
            label: key.clone(),
            message: "not supported by portier yet; the route is served without it".to_string(),
        })
        .collect()
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
        (None, None) if !domain.is_empty() => Some(format!("Host:{}.{domain}", host_part(&c.name))),
        (None, None) => None,
    }
}

fn build_frontend(labels: &Labels, backend: &str, rule: &str) -> Frontend {
    Frontend {
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
        redirect: labels.text(LABEL_REDIRECT_EP).map(|ep| FrontendRedirect {
            entry_point: ep.to_string(),
            permanent: labels.bool(LABEL_REDIRECT_PERMANENT).unwrap_or(false),
        }),
        middlewares: Default::default(),
        errors: BTreeMap::new(),
        unenforced: Vec::new(),
    }
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

/// The container as a server of its backend, when it can take traffic now.
fn build_server(
    c: &ContainerInfo,
    labels: &Labels,
    d: &DockerDefaults,
    port: u16,
    notes: &mut Vec<String>,
) -> Result<Option<(String, Server)>, ProviderError> {
    let usable = c.state == RunState::Running && matches!(c.health, None | Some(Health::Healthy));
    if !usable {
        return Ok(None);
    }
    let ip = ip_address(c, d, notes)?;
    let host = if ip.contains(':') {
        format!("[{ip}]")
    } else {
        ip
    };
    let protocol = labels.text(LABEL_PROTOCOL).unwrap_or("http");
    Ok(Some((
        format!("server-{}", normalize(&c.name)),
        Server {
            url: format!("{protocol}://{host}:{port}"),
            weight: i64::from(labels.weight(LABEL_WEIGHT).unwrap_or(1)),
        },
    )))
}

fn merge_unique(into: &mut Vec<String>, more: Vec<String>) {
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
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// A container or service name as a host label: `/` and `_` become `-`.
fn host_part(s: &str) -> String {
    s.trim_start_matches('/').replace(['/', '_'], "-")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(name: &str, ip: &str, labels: &[(&str, &str)]) -> ContainerInfo {
        ContainerInfo {
            id: format!("id-{name}"),
            name: name.to_string(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            state: RunState::Running,
            health: None,
            ports: vec![80],
            networks: [("bridge".to_string(), ip.to_string())].into(),
            network_mode: "bridge".to_string(),
        }
    }

    fn defaults() -> DockerDefaults {
        DockerDefaults {
            domain: "docker.localhost".into(),
            exposed_by_default: true,
            network: String::new(),
            constraints: vec![],
        }
    }

    fn web(name: &str, ip: &str) -> ContainerInfo {
        container(
            name,
            ip,
            &[
                ("traefik.backend", "webapp"),
                ("traefik.port", "80"),
                ("traefik.frontend.rule", "Host:web.local"),
            ],
        )
    }

    #[test]
    fn the_seed_scenario_two_containers_one_backend() {
        let t = translate(
            &[web("a", "172.17.0.2"), web("b", "172.17.0.3")],
            &defaults(),
        );
        assert!(t.config.errors.is_empty(), "{:?}", t.config.errors);
        assert_eq!(t.config.backends.len(), 1);
        let b = &t.config.backends["backend-webapp"];
        let urls: Vec<&str> = b.servers.values().map(|s| s.url.as_str()).collect();
        assert_eq!(urls, ["http://172.17.0.2:80", "http://172.17.0.3:80"]);
        assert_eq!(t.config.frontends.len(), 1);
        let f = &t.config.frontends["frontend-Host-web-local"];
        assert_eq!(f.backend, "backend-webapp");
        assert!(f.pass_host_header);
        assert_eq!(
            f.routes.values().next().map(|r| r.rule.as_str()),
            Some("Host:web.local")
        );
    }

    #[test]
    fn defaults_for_name_rule_and_port() {
        let c = container("/my_app", "10.0.0.2", &[]);
        let t = translate(&[c], &defaults());
        assert!(t.config.backends.contains_key("backend-my-app"));
        let f = &t.config.frontends["frontend-Host-my-app-docker-localhost"];
        assert_eq!(
            f.routes.values().next().map(|r| r.rule.as_str()),
            Some("Host:my-app.docker.localhost")
        );
        assert_eq!(
            t.config.backends["backend-my-app"].servers["server-my-app"].url,
            "http://10.0.0.2:80"
        );
    }

    #[test]
    fn compose_services_group_into_one_backend_and_frontend() {
        let compose = |n: &str, ip: &str| {
            container(
                n,
                ip,
                &[
                    (COMPOSE_PROJECT, "shop"),
                    (COMPOSE_SERVICE, "web"),
                    ("traefik.port", "5000"),
                ],
            )
        };
        let t = translate(
            &[
                compose("shop_web_1", "10.0.0.2"),
                compose("shop_web_2", "10.0.0.3"),
                compose("shop_web_3", "10.0.0.4"),
            ],
            &defaults(),
        );
        assert_eq!(t.config.backends["backend-web-shop"].servers.len(), 3);
        assert_eq!(t.config.frontends.len(), 1);
        let f = t.config.frontends.values().next().expect("one");
        assert_eq!(
            f.routes.values().next().map(|r| r.rule.as_str()),
            Some("Host:web.shop.docker.localhost")
        );
    }

    #[test]
    fn enable_and_exposed_by_default() {
        let off = container("off", "10.0.0.2", &[("traefik.enable", "false")]);
        let plain = container("plain", "10.0.0.3", &[]);
        let on = container("on", "10.0.0.4", &[("traefik.enable", "true")]);
        let t = translate(&[off.clone(), plain.clone(), on.clone()], &defaults());
        let names: Vec<&str> = t.config.backends.keys().map(String::as_str).collect();
        assert_eq!(names, ["backend-on", "backend-plain"]);
        let d = DockerDefaults {
            exposed_by_default: false,
            ..defaults()
        };
        let t = translate(&[off, plain, on], &d);
        let names: Vec<&str> = t.config.backends.keys().map(String::as_str).collect();
        assert_eq!(names, ["backend-on"]);
    }

    #[test]
    fn bad_labels_leave_only_that_container_out() {
        let mut multi = container(
            "multi",
            "10.0.0.5",
            &[("traefik.frontend.rule", "Host:m.local")],
        );
        multi.ports = vec![80, 443];
        let cases = vec![
            container("badport", "10.0.0.2", &[("traefik.port", "eighty")]),
            container(
                "badrule",
                "10.0.0.3",
                &[("traefik.frontend.rule", "Hots:x")],
            ),
            container("badweight", "10.0.0.4", &[("traefik.weight", "-1")]),
            multi,
            container("badnet", "10.0.0.6", &[("traefik.docker.network", "nope")]),
            container(
                "good",
                "10.0.0.9",
                &[("traefik.frontend.rule", "Host:good.local")],
            ),
        ];
        let t = translate(&cases, &defaults());
        assert_eq!(
            t.config.backends.keys().collect::<Vec<_>>(),
            ["backend-good"]
        );
        let errors: Vec<String> = t.config.errors.iter().map(ToString::to_string).collect();
        assert_eq!(errors.len(), 5, "{errors:#?}");
        assert!(errors.contains(&"container badport label traefik.port: value \"eighty\": not a port number (1-65535); container left out".to_string()), "{errors:#?}");
        assert!(errors.iter().any(|e| e.starts_with("container badrule label traefik.frontend.rule: value \"Hots:x\": column 1: unknown matcher")));
        assert!(errors.iter().any(|e| e.starts_with("container multi label traefik.port: missing, and the container exposes several ports (80, 443)")));
        assert!(errors.iter().any(|e| e.contains("container badnet label traefik.docker.network: value \"nope\": the container is not on that network (it is on: bridge)")));
    }

    #[test]
    fn unusable_containers_keep_their_frontend_without_a_server() {
        let mut starting = web("a", "10.0.0.2");
        starting.health = Some(Health::Starting);
        let mut paused = web("b", "10.0.0.3");
        paused.state = RunState::Paused;
        let mut stopping = web("c", "10.0.0.4");
        stopping.state = RunState::Stopping;
        let mut exited = web("d", "10.0.0.5");
        exited.state = RunState::NotRunning;
        let t = translate(&[starting.clone(), paused, stopping, exited], &defaults());
        assert_eq!(
            t.config.frontends.len(),
            1,
            "the frontend stays, so clients get 503"
        );
        assert!(t.config.backends["backend-webapp"].servers.is_empty());
        starting.health = Some(Health::Healthy);
        let t = translate(&[starting], &defaults());
        assert_eq!(t.config.backends["backend-webapp"].servers.len(), 1);
    }

    #[test]
    fn network_choice_is_deterministic_and_noted() {
        let mut c = container("multi", "10.0.0.2", &[]);
        c.networks = [
            ("zeta".to_string(), "10.9.0.2".to_string()),
            ("alpha".to_string(), "10.1.0.2".to_string()),
        ]
        .into();
        for _ in 0..3 {
            let t = translate(std::slice::from_ref(&c), &defaults());
            assert_eq!(
                t.config.backends["backend-multi"].servers["server-multi"].url,
                "http://10.1.0.2:80"
            );
            assert!(
                t.notes.iter().any(|n| n.contains("using alpha")),
                "{:?}",
                t.notes
            );
        }
        c.labels.insert(LABEL_NETWORK.into(), "zeta".into());
        let t = translate(std::slice::from_ref(&c), &defaults());
        assert_eq!(
            t.config.backends["backend-multi"].servers["server-multi"].url,
            "http://10.9.0.2:80"
        );
        let mut host = container("h", "", &[("traefik.port", "8080")]);
        host.networks.clear();
        host.network_mode = "host".into();
        let t = translate(&[host], &defaults());
        assert_eq!(
            t.config.backends["backend-h"].servers["server-h"].url,
            "http://127.0.0.1:8080"
        );
    }

    #[test]
    fn frontend_labels() {
        let c = container(
            "f",
            "10.0.0.2",
            &[
                ("traefik.frontend.rule", "PathPrefixStrip:/music"),
                ("traefik.frontend.priority", "50"),
                ("traefik.frontend.entryPoints", "http, admin"),
                ("traefik.frontend.passHostHeader", "false"),
                ("traefik.weight", "5"),
                ("traefik.frontend.auth.basic.users", "x"),
            ],
        );
        let t = translate(&[c], &defaults());
        let f = &t.config.frontends["frontend-PathPrefixStrip-music"];
        assert_eq!((f.priority, f.pass_host_header), (50, false));
        assert_eq!(f.entry_points, ["http", "admin"]);
        assert_eq!(t.config.backends["backend-f"].servers["server-f"].weight, 5);
        // A protection that cannot be honoured refuses the frontend (503), with the reason.
        assert_eq!(f.unenforced, ["label traefik.frontend.auth.basic.users"]);
        assert!(t.config.errors.iter().any(|e| e.to_string()
            == "container f label traefik.frontend.auth.basic.users: value \"x\": \"x\" is not user:hash; its frontend answers 503 to every request rather than serve without it"), "{:?}", t.config.errors);
    }

    #[test]
    fn every_protective_label_refuses_its_frontend_or_backend() {
        let frontend_labels = [
            "traefik.frontend.auth.basic",
            "traefik.frontend.auth.basic.users",
            "traefik.frontend.auth.basic.usersFile",
            "traefik.frontend.auth.basic.removeHeader",
            "traefik.frontend.auth.digest.users",
            "traefik.frontend.auth.forward.address",
            "traefik.frontend.auth.headerField",
            "traefik.frontend.whiteList.sourceRange",
            "traefik.frontend.whiteList.useXForwardedFor",
            "traefik.frontend.whitelistSourceRange",
            "traefik.frontend.rateLimit.extractorFunc",
            "traefik.frontend.rateLimit.rateSet.a.average",
            "traefik.frontend.headers.SSLRedirect",
            "traefik.frontend.headers.STSSeconds",
            "traefik.frontend.headers.frameDeny",
            "traefik.frontend.headers.allowedHosts",
            "traefik.frontend.headers.contentSecurityPolicy",
            // Segment form, and spellings Traefik would not read: refused all the same.
            "traefik.admin.frontend.auth.basic.users",
            "traefik.frontend.WhiteList.SourceRange",
        ];
        for key in frontend_labels {
            let t = translate(&[container("p", "10.0.0.2", &[(key, "x")])], &defaults());
            let f = t.config.frontends.values().next().expect("frontend stays");
            // Never open: refused (503), or enforced, or (a users file) read and checked later.
            let users_file = matches!(
                f.middlewares.auth.as_ref().map(|a| &a.kind),
                Some(model::middleware::AuthKind::Basic(u)) if u.users_file.is_some()
            );
            let enforced = !f.middlewares.is_empty() && t.config.errors.is_empty();
            let refused = f.unenforced.contains(&format!("label {key}"))
                && t.config.errors.len() == f.unenforced.len();
            let nothing_asked = key == "traefik.frontend.auth.headerField";
            assert!(
                refused || enforced || users_file || nothing_asked,
                "{key}: {f:?} {:?}",
                t.config.errors
            );
        }
        for key in [
            "traefik.backend.maxconn.amount",
            "traefik.backend.buffering.maxRequestBodyBytes",
        ] {
            let t = translate(&[container("p", "10.0.0.2", &[(key, "x")])], &defaults());
            assert_eq!(
                t.config.backends["backend-p"].unenforced,
                [format!("label {key}")]
            );
            assert!(t.config.frontends.values().all(|f| f.unenforced.is_empty()));
        }
        for (key, value) in [
            ("traefik.backend.responseForwarding.flushInterval", "10ms"),
            ("traefik.frontend.passTLSCert", "true"),
            (
                "traefik.backend.circuitbreaker.expression",
                "NetworkErrorRatio() > 0.5",
            ),
        ] {
            let t = translate(&[container("p", "10.0.0.2", &[(key, value)])], &defaults());
            assert!(t.config.errors.is_empty(), "{key}: not a protection");
        }
        // A circuit breaker expression that cannot be read: an error, served without.
        let t = translate(
            &[container(
                "p",
                "10.0.0.2",
                &[("traefik.backend.circuitbreaker.expression", "Nope() > 1")],
            )],
            &defaults(),
        );
        assert!(t.config.backends["backend-p"].circuit_breaker.is_none());
        assert!(
            t.config.errors[0]
                .to_string()
                .contains("label traefik.backend.circuitbreaker.expression: circuit breaker expression \"Nope() > 1\": unknown function Nope"),
            "{:?}",
            t.config.errors
        );
        // An empty value asks for nothing (Traefik: empty sourceRange allows all).
        let t = translate(
            &[container(
                "p",
                "10.0.0.2",
                &[("traefik.frontend.whiteList.sourceRange", "")],
            )],
            &defaults(),
        );
        assert!(t.config.errors.is_empty());
    }

    #[test]
    fn labels_portier_does_not_read_are_warnings_and_the_route_is_served() {
        let c = container(
            "w",
            "10.0.0.2",
            &[
                (
                    "traefik.backend.circuitbreaker.expression",
                    "NetworkErrorRatio() > 0.5",
                ),
                ("traefik.frontend.headers.customRequestHeaders", "X-A:1"),
                ("traefik.frontend.passTLSCert", "true"),
                ("traefik.backend.responseForwarding.flushInterval", "10ms"),
                ("traefik.backend.loadbalancer.swarm", "true"),
                ("other.label", "x"),
            ],
        );
        let t = translate(&[c], &defaults());
        assert!(t.config.errors.is_empty());
        assert_eq!(t.config.backends["backend-w"].servers.len(), 1);
        let warnings: Vec<String> = t.config.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            warnings,
            [
                "container w label traefik.backend.loadbalancer.swarm: not supported by portier yet; the route is served without it",
            ]
        );
    }

    #[test]
    fn one_container_asking_refuses_the_frontend_it_shares() {
        // "a" sorts first and builds the frontend; "b" asks for auth on the same frontend.
        let mut b = web("b", "10.0.0.3");
        b.labels.insert(
            "traefik.frontend.auth.basic.users".into(),
            "u:$apr1$x".into(),
        );
        let t = translate(&[web("a", "10.0.0.2"), b.clone()], &defaults());
        assert_eq!(t.config.frontends.len(), 1);
        let f = t.config.frontends.values().next().expect("frontend");
        assert_eq!(f.unenforced, ["container b disagrees on middlewares"]);
        // Valid but different middlewares on a shared frontend: refused until they agree.
        b.labels.insert(
            "traefik.frontend.auth.basic.users".into(),
            "test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/".into(),
        );
        let t = translate(&[web("a", "10.0.0.2"), b.clone()], &defaults());
        let f = t.config.frontends.values().next().expect("frontend");
        assert_eq!(f.unenforced, ["container b disagrees on middlewares"]);
        // The same middlewares on every replica: served, enforced.
        let mut a = web("a", "10.0.0.2");
        a.labels = b.labels.clone();
        let t = translate(&[a, b], &defaults());
        let f = t.config.frontends.values().next().expect("frontend");
        assert!(f.unenforced.is_empty() && f.middlewares.auth.is_some());
    }

    #[test]
    fn constraints_filter_by_tags() {
        let d = DockerDefaults {
            constraints: vec![Constraint::parse("tag==team-a").expect("valid")],
            ..defaults()
        };
        let a = container("a", "10.0.0.2", &[("traefik.tags", "x, team-a")]);
        let b = container("b", "10.0.0.3", &[("traefik.tags", "team-b")]);
        let none = container("n", "10.0.0.4", &[]);
        let t = translate(&[a, b, none], &d);
        assert_eq!(t.config.backends.keys().collect::<Vec<_>>(), ["backend-a"]);
    }

    #[test]
    fn healthcheck_labels_configure_the_backend() {
        let c = container(
            "hc",
            "10.0.0.2",
            &[
                (LABEL_HC_PATH, "health"),
                (LABEL_HC_INTERVAL, "500ms"),
                (LABEL_HC_PORT, "8080"),
                (LABEL_HC_HOSTNAME, "probe.local"),
                (LABEL_HC_HEADERS, "X-Probe:1||x-other: two||junk"),
            ],
        );
        let t = translate(&[c], &defaults());
        let hc = t.config.backends["backend-hc"]
            .health_check
            .clone()
            .expect("health check");
        assert_eq!(hc.path, "/health");
        assert_eq!(hc.interval, std::time::Duration::from_millis(500));
        assert_eq!(hc.port, Some(8080));
        assert_eq!(hc.hostname.as_deref(), Some("probe.local"));
        assert_eq!(hc.headers.len(), 2);
        let bad = container(
            "bad",
            "10.0.0.3",
            &[(LABEL_HC_PATH, "/h"), (LABEL_HC_INTERVAL, "6")],
        );
        let bad2 = container(
            "bad2",
            "10.0.0.4",
            &[(LABEL_HC_PATH, "/h"), (LABEL_HC_INTERVAL, "soon")],
        );
        let t = translate(&[bad, bad2], &defaults());
        assert_eq!(
            t.config.backends.len(),
            1,
            "a bare number is seconds; \"soon\" is an error"
        );
        assert!(
            t.config.errors[0]
                .to_string()
                .contains("traefik.backend.healthcheck.interval: value \"soon\"")
        );
    }

    #[test]
    fn load_balancer_labels_configure_stickiness() {
        let sticky = container(
            "s",
            "10.0.0.2",
            &[
                (LABEL_LB_METHOD, "DRR"),
                (LABEL_STICKINESS, "true"),
                (LABEL_STICKINESS_COOKIE, "route"),
                (LABEL_STICKINESS_HTTP_ONLY, "true"),
                (LABEL_STICKINESS_SAME_SITE, "strict"),
                (LABEL_FLUSH_INTERVAL, "10ms"),
            ],
        );
        let old = container("o", "10.0.0.3", &[(LABEL_STICKY, "true")]);
        let bad = container("b", "10.0.0.4", &[(LABEL_LB_METHOD, "random")]);
        let t = translate(&[sticky, old, bad], &defaults());
        assert_eq!(
            t.config.backends["backend-s"].flush_interval,
            Some(std::time::Duration::from_millis(10))
        );
        let lb = &t.config.backends["backend-s"].load_balancer;
        assert_eq!(lb.method, "drr");
        assert_eq!(
            lb.stickiness,
            Some(Stickiness {
                cookie_name: "route".into(),
                secure: false,
                http_only: true,
                same_site: "strict".into(),
            })
        );
        let old = &t.config.backends["backend-o"].load_balancer;
        assert_eq!(
            old.stickiness.as_ref().map(|s| s.cookie_name.as_str()),
            Some("_TRAEFIK_BACKEND")
        );
        assert!(!t.config.backends.contains_key("backend-b"));
        assert!(
            t.config.errors[0]
                .to_string()
                .contains("traefik.backend.loadbalancer.method: value \"random\": use wrr or drr"),
            "{:?}",
            t.config.errors
        );
        assert!(t.config.warnings.is_empty(), "{:?}", t.config.warnings);
    }

    #[test]
    fn auth_labels_traefik_would_ignore_are_warnings() {
        let c = container(
            "a",
            "10.0.0.2",
            &[
                (
                    "traefik.frontend.auth.basic.users",
                    "test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/",
                ),
                (
                    "traefik.frontend.auth.digest.users",
                    "test:traefik:a2688e031edb4be6a3797f3882655c05",
                ),
            ],
        );
        let lone = container(
            "b",
            "10.0.0.3",
            &[("traefik.frontend.auth.headerField", "X-U")],
        );
        let t = translate(&[c, lone], &defaults());
        let w: Vec<String> = t.config.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            w,
            [
                "container a label traefik.frontend.auth.digest.users: ignored: basic authentication takes precedence (digest is not built beside it; one kind per frontend, as in Traefik)",
                "container b label traefik.frontend.auth.headerField: ignored: the frontend has no authentication to name a user",
            ]
        );
        assert!(t.config.errors.is_empty(), "{:?}", t.config.errors);
    }

    #[test]
    fn redirect_labels() {
        let c = container(
            "r",
            "10.0.0.2",
            &[
                (LABEL_REDIRECT_EP, "https"),
                (LABEL_REDIRECT_PERMANENT, "true"),
            ],
        );
        let t = translate(&[c], &defaults());
        let f = t.config.frontends.values().next().expect("frontend");
        assert_eq!(
            f.redirect,
            Some(FrontendRedirect {
                entry_point: "https".into(),
                permanent: true
            })
        );
    }

    #[test]
    fn normalizes_like_traefik() {
        assert_eq!(normalize("/my_app.v2"), "my-app-v2");
        assert_eq!(normalize("Host:web.local"), "Host-web-local");
        assert_eq!(normalize("\"test\""), "test");
    }
}
