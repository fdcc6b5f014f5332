//! Traefik 2.x/3.x labels on a container (`traefik.http.routers.…`, `…services.…`,
//! `…middlewares.…`) → the routers, services and middlewares it declares (pure, tested on
//! plain data); [`merge`] joins every container's into the provider's `http` section as
//! Traefik's Docker provider does: the same name with the same definition is one item (a
//! service's servers added up), different definitions are an error and neither is kept.

use std::collections::BTreeMap;
use std::sync::Arc;

use model::dynamic::{Backend, LoadBalancer, ProviderError};
use model::http::{HttpConfig, LoadBalancerService, Middleware, Router, Service};
use model::rules::default_rule;

use super::container::{ContainerInfo, RunState};
use super::labels::{LABEL_ENABLE, LABEL_NETWORK, LABEL_SWARM_NETWORK, LABEL_TAGS};

/// Labels both generations read (keeping, addresses, swarm VIP mode).
const SHARED: [&str; 5] = [
    LABEL_ENABLE,
    LABEL_NETWORK,
    LABEL_TAGS,
    LABEL_SWARM_NETWORK,
    "traefik.swarm.lbswarm",
];
use super::translate::{
    COMPOSE_PROJECT, COMPOSE_SERVICE, DockerDefaults, Upstream, keep_container, normalize,
    server_name, server_or_held,
};
use crate::http::LoadBalancerOptions;
use config::tree::{Entry, Node, OptionError, Tree};

/// Labels that make a container a 2.x/3.x one (any case).
const PREFIXES: [&str; 3] = ["traefik.http.", "traefik.tcp.", "traefik.udp."];

/// Whether the container speaks the 2.x/3.x label generation (reference §7's detection): it
/// has `traefik.http.`/`tcp.`/`udp.` labels; or, under a 2.x/3.x static configuration, no
/// 1.x label (only `traefik.enable`, `traefik.docker.network`, or none).
pub(super) fn is_v2(c: &ContainerInfo, d: &DockerDefaults) -> bool {
    let mut v1 = false;
    for k in c.labels.keys() {
        let k = k.to_ascii_lowercase();
        if PREFIXES.iter().any(|p| k.starts_with(p)) {
            return true;
        }
        v1 |= k.starts_with("traefik.") && !SHARED.contains(&k.as_str());
    }
    d.labels_v2 && !v1
}

/// What one container declares.
#[derive(Debug, Default, Clone, PartialEq)]
pub(super) struct Declared {
    pub(super) routers: BTreeMap<String, Router>,
    pub(super) services: BTreeMap<String, LoadBalancerService>,
    pub(super) middlewares: BTreeMap<String, Middleware>,
    pub(super) errors: Vec<ProviderError>,
    pub(super) warnings: Vec<ProviderError>,
    pub(super) notes: Vec<String>,
    /// Its TCP and UDP routers, services and middlewares.
    pub(super) l4: super::l4::L4Declared,
}

/// Label trees of one container, by kind and name.
#[derive(Default)]
struct Trees {
    routers: BTreeMap<String, Tree>,
    services: BTreeMap<String, Tree>,
    middlewares: BTreeMap<String, Tree>,
    l4: super::l4::L4Trees,
}

/// Traefik's `getServiceName`: compose `service_project`, else the swarm service or the
/// container's name; normalised.
fn service_name(c: &ContainerInfo) -> String {
    match (c.labels.get(COMPOSE_PROJECT), c.labels.get(COMPOSE_SERVICE)) {
        (Some(p), Some(s)) => normalize(&format!("{s}_{p}")),
        _ => normalize(c.service.as_deref().unwrap_or(&c.name)),
    }
}

/// A container's routers, services and middlewares; `None` when it is not running or not
/// enabled.
pub(super) fn declared(c: &ContainerInfo, d: &DockerDefaults) -> Option<Declared> {
    if matches!(c.state, RunState::NotRunning) {
        return None;
    }
    let mut out = Declared::default();
    let label_error = |label: &str, message: String| ProviderError::Label {
        container: c.name.clone(),
        label: label.to_string(),
        message,
    };
    match keep_container(c, d) {
        Ok(true) => {}
        Ok(false) => return None,
        Err(e) => {
            out.errors.push(e);
            return Some(out);
        }
    }
    let trees = read_trees(c, &mut out);
    let own = service_name(c);
    if trees.l4.tcp() || trees.l4.udp() || !trees.l4.tcp_middlewares.is_empty() {
        out.l4 = super::l4::declared(c, d, &trees.l4, &own, &mut out.errors, &mut out.notes);
        // Traefik: a container with TCP or UDP labels and no HTTP label gets no HTTP router.
        if trees.routers.is_empty() && trees.services.is_empty() && trees.middlewares.is_empty() {
            return Some(out);
        }
    }
    for (name, t) in &trees.middlewares {
        match one_middleware(t) {
            Ok(m) => {
                out.middlewares.insert(name.clone(), m);
            }
            Err(e) => out.errors.push(label_error(&e.at, e.message)),
        }
    }
    let mut services = BTreeMap::new();
    for (name, t) in &trees.services {
        match service_options(t) {
            Ok(lb) => {
                services.insert(name.clone(), lb);
            }
            Err(e) => out.errors.push(label_error(&e.at, e.message)),
        }
    }
    if trees.services.is_empty() {
        let lb = crate::http::load_balancer(&Tree::default(), "").ok();
        services.extend(lb.map(|lb| (own.clone(), lb)));
    }
    for (name, lb) in services {
        match service(c, d, &name, &lb, &mut out.notes) {
            Ok(s) => {
                out.services.insert(name, s);
            }
            Err(e) => out.errors.push(e),
        }
    }
    routers(c, d, &trees, &own, &mut out);
    Some(out)
}

/// Sorts the container's labels into trees; labels of other kinds are errors or warnings.
fn read_trees(c: &ContainerInfo, out: &mut Declared) -> Trees {
    let mut trees = Trees::default();
    for (key, value) in &c.labels {
        let lower = key.to_ascii_lowercase();
        let Some(rest) = lower.strip_prefix("traefik.") else {
            continue;
        };
        let parts: Vec<&str> = key.split('.').collect();
        let error = |message: String| ProviderError::Label {
            container: c.name.clone(),
            label: key.clone(),
            message,
        };
        let kind = rest.split('.').next().unwrap_or_default();
        let sub = rest.split('.').nth(1).unwrap_or_default();
        let target = match (kind, sub) {
            ("http", "routers") => &mut trees.routers,
            ("http", "services") => &mut trees.services,
            ("http", "middlewares") => &mut trees.middlewares,
            ("tcp", "routers") => &mut trees.l4.tcp_routers,
            ("tcp", "services") => &mut trees.l4.tcp_services,
            ("tcp", "middlewares") => &mut trees.l4.tcp_middlewares,
            ("udp", "routers") => &mut trees.l4.udp_routers,
            ("udp", "services") => &mut trees.l4.udp_services,
            ("tcp" | "udp", _) => {
                out.errors.push(error(format!(
                    "traefik.{kind}.{sub}: expected routers, services{}",
                    if kind == "tcp" { " or middlewares" } else { "" }
                )));
                continue;
            }
            ("http", _) => {
                out.errors.push(error(format!(
                    "traefik.http.{sub} is not supported by portier yet (routers, services and middlewares are)"
                )));
                continue;
            }
            ("tls", _) => {
                out.errors.push(error(
                    "TLS options and stores from labels are not supported by portier yet".into(),
                ));
                continue;
            }
            // Read by `keep_container` and the address choice, in both generations.
            _ if SHARED.contains(&lower.as_str()) => continue,
            _ => {
                out.warnings.push(error(
                    "a Traefik 1.x label on a container with 2.x/3.x labels: Traefik ignores it, and so does portier"
                        .into(),
                ));
                continue;
            }
        };
        let (Some(name), Some(path)) = (parts.get(3), parts.get(4..).filter(|p| !p.is_empty()))
        else {
            out.errors.push(error(format!(
                "expected traefik.{kind}.{sub}.NAME.OPTION=…"
            )));
            continue;
        };
        let tree = target.entry(name.to_string()).or_default();
        if let Err(e) = tree.insert(path, key, Node::Text(value.clone())) {
            out.errors.push(error(e.message));
        }
    }
    trees
}

/// A middleware's tree holds exactly one type.
fn one_middleware(t: &Tree) -> Result<Middleware, OptionError> {
    let mut types = t.entries();
    let (Some(first), None) = (types.next(), types.next()) else {
        let at = t.entries().next().map_or(String::new(), |e| e.at.clone());
        return Err(OptionError::new(
            &at,
            "a middleware has exactly one type (traefik.http.middlewares.NAME.TYPE.OPTION)",
        ));
    };
    crate::http::middleware(first)
}

/// `services.NAME.loadBalancer…`: the only service kind labels declare.
fn service_options(t: &Tree) -> Result<LoadBalancerOptions, OptionError> {
    let mut entries = t.entries();
    match (entries.next(), entries.next()) {
        (
            Some(Entry {
                name,
                node: Node::Tree(lb),
                at,
            }),
            None,
        ) if name.eq_ignore_ascii_case("loadBalancer") => crate::http::load_balancer(lb, at),
        (Some(e), _) => Err(OptionError::new(
            &e.at,
            format!(
                "{}: labels declare loadBalancer services (weighted, mirroring and failover services are written in files)",
                e.name
            ),
        )),
        (None, _) => Err(OptionError::new("", "empty service")),
    }
}

/// The container as the server of service `name`.
fn service(
    c: &ContainerInfo,
    d: &DockerDefaults,
    name: &str,
    lb: &LoadBalancerOptions,
    notes: &mut Vec<String>,
) -> Result<LoadBalancerService, ProviderError> {
    let port_label = format!("traefik.http.services.{name}.loadbalancer.server.port");
    let port = match (lb.port, c.ports.first()) {
        (Some(p), _) => p,
        (None, Some(p)) => {
            if c.ports.len() > 1 {
                notes.push(format!(
                    "container {}: service {name} uses port {p}, the lowest it exposes; set {port_label} to choose",
                    c.name
                ));
            }
            *p
        }
        (None, None) => {
            return Err(ProviderError::Label {
                container: c.name.clone(),
                label: port_label,
                message: "missing, and the container exposes no port; service left out".into(),
            });
        }
    };
    let to = Upstream {
        port,
        protocol: &lb.scheme,
        weight: lb.weight.unwrap_or(1),
        name: server_name(c, None),
    };
    let (server, held) = server_or_held(c, d, &to, notes)?;
    Ok(LoadBalancerService {
        backend: Backend {
            servers: server.into_iter().collect(),
            held: held.into_iter().collect(),
            load_balancer: LoadBalancer {
                stickiness: lb.stickiness.clone(),
                ..LoadBalancer::default()
            },
            health_check: lb.health_check.clone(),
            flush_interval: lb.flush_interval,
            ..Backend::default()
        },
        pass_host_header: lb.pass_host_header,
    })
}

/// The container's routers; without router labels, one named after it with the default rule,
/// when it declares at most one service (Traefik's `BuildRouterConfiguration`).
fn routers(c: &ContainerInfo, d: &DockerDefaults, trees: &Trees, own: &str, out: &mut Declared) {
    let mut declared: BTreeMap<String, Router> = BTreeMap::new();
    for (name, t) in &trees.routers {
        let at = format!("traefik.http.routers.{name}");
        match crate::http::router(t, &at) {
            Ok(r) => {
                declared.insert(name.clone(), r);
            }
            Err(e) => out.errors.push(ProviderError::Label {
                container: c.name.clone(),
                label: e.at,
                message: format!("{}; router left out", e.message),
            }),
        }
    }
    if trees.routers.is_empty() {
        if trees.services.len() > 1 {
            out.notes.push(format!(
                "container {}: no router labels and several services; no router made",
                c.name
            ));
            return;
        }
        declared.insert(own.to_string(), Router::default());
    }
    let services: Vec<&String> = trees.services.keys().collect();
    for (name, mut r) in declared {
        r.source = Some(format!("container {}", c.name));
        if r.rule.is_empty() {
            let template = d.default_rule.as_deref().unwrap_or(default_rule::DEFAULT);
            let model = default_rule::Model {
                name: own,
                container_name: &c.name,
                labels: &c.labels,
            };
            match default_rule::render(template, &model) {
                Ok(rule) if !rule.trim().is_empty() => r.rule = rule,
                Ok(_) | Err(_) => {
                    out.errors.push(ProviderError::Container {
                        container: c.name.clone(),
                        message: format!(
                            "router {name}: the default rule {template:?} gives no rule for this container; router left out"
                        ),
                    });
                    continue;
                }
            }
        }
        if r.service.is_empty() {
            r.service = match services.as_slice() {
                [] => own.to_string(),
                [one] => (*one).clone(),
                many => {
                    out.errors.push(ProviderError::Label {
                        container: c.name.clone(),
                        label: format!("traefik.http.routers.{name}.service"),
                        message: format!(
                            "missing, and the container declares several services ({}); router left out",
                            many.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                        ),
                    });
                    continue;
                }
            };
        }
        out.routers.insert(name, r);
    }
}

/// Every container's declarations (in container order) → the provider's `http` section, with
/// the conflicts as errors.
pub(super) fn merge<'a>(
    all: impl IntoIterator<Item = (&'a str, &'a Declared)>,
) -> (HttpConfig, Vec<ProviderError>) {
    let mut routers: BTreeMap<String, Merged<Router>> = BTreeMap::new();
    let mut services: BTreeMap<String, Merged<LoadBalancerService>> = BTreeMap::new();
    let mut middlewares: BTreeMap<String, Merged<Middleware>> = BTreeMap::new();
    for (container, d) in all {
        for (name, r) in &d.routers {
            join(
                &mut routers,
                name,
                container,
                r,
                |a, b| {
                    Router {
                        source: None,
                        ..a.clone()
                    } == Router {
                        source: None,
                        ..b.clone()
                    }
                },
                |_, _| {},
            );
        }
        for (name, s) in &d.services {
            join(
                &mut services,
                name,
                container,
                s,
                same_settings,
                |into, more| {
                    into.backend.servers.extend(more.backend.servers.clone());
                    into.backend.held.extend(more.backend.held.clone());
                },
            );
        }
        for (name, m) in &d.middlewares {
            join(
                &mut middlewares,
                name,
                container,
                m,
                |a, b| a == b,
                |_, _| {},
            );
        }
    }
    let mut errors = Vec::new();
    let mut http = HttpConfig::default();
    let keep = |kind: &str, name: String, m: MergedState, errors: &mut Vec<ProviderError>| match m {
        MergedState::One => true,
        MergedState::Conflict(containers) => {
            errors.push(ProviderError::Container {
                    container: containers.join(", "),
                    message: format!(
                        "{kind} {name:?} is declared with different definitions; Traefik keeps none, and neither does portier"
                    ),
                });
            false
        }
    };
    for (name, m) in routers {
        if keep("router", name.clone(), m.state, &mut errors) {
            http.routers.insert(name, Arc::new(m.item));
        }
    }
    for (name, m) in services {
        if keep("service", name.clone(), m.state, &mut errors) {
            http.services
                .insert(name, Arc::new(Service::LoadBalancer(Box::new(m.item))));
        }
    }
    for (name, m) in middlewares {
        if keep("middleware", name.clone(), m.state, &mut errors) {
            http.middlewares.insert(name, Arc::new(m.item));
        }
    }
    (http, errors)
}

fn same_settings(a: &LoadBalancerService, b: &LoadBalancerService) -> bool {
    let bare = |s: &LoadBalancerService| LoadBalancerService {
        backend: Backend {
            servers: BTreeMap::new(),
            held: BTreeMap::new(),
            ..s.backend.clone()
        },
        ..s.clone()
    };
    bare(a) == bare(b)
}

pub(super) struct Merged<T> {
    pub(super) item: T,
    pub(super) state: MergedState,
}

pub(super) enum MergedState {
    One,
    /// The containers that disagree.
    Conflict(Vec<String>),
}

pub(super) fn join<T: Clone>(
    into: &mut BTreeMap<String, Merged<T>>,
    name: &str,
    container: &str,
    item: &T,
    same: impl Fn(&T, &T) -> bool,
    add: impl Fn(&mut T, &T),
) {
    match into.get_mut(name) {
        None => {
            into.insert(
                name.to_string(),
                Merged {
                    item: item.clone(),
                    state: MergedState::One,
                },
            );
        }
        Some(m) => match &mut m.state {
            MergedState::One if same(&m.item, item) => add(&mut m.item, item),
            MergedState::One => m.state = MergedState::Conflict(vec![container.to_string()]),
            MergedState::Conflict(list) => list.push(container.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> DockerDefaults {
        DockerDefaults {
            exposed_by_default: true,
            ..DockerDefaults::default()
        }
    }

    fn on_net(name: &str, ip: &str, labels: &[(&str, &str)]) -> ContainerInfo {
        let mut c = ContainerInfo::labelled(name, labels);
        c.networks.insert("bridge".into(), ip.into());
        c
    }

    #[test]
    fn detection_follows_the_label_prefixes() {
        let d = defaults();
        let v2 = DockerDefaults {
            labels_v2: true,
            ..defaults()
        };
        let c = |labels: &[(&str, &str)]| on_net("a", "10.0.0.2", labels);
        assert!(is_v2(
            &c(&[("traefik.http.routers.r.rule", "Host(`a`)")]),
            &d
        ));
        assert!(is_v2(
            &c(&[("Traefik.HTTP.services.s.loadbalancer.server.port", "80")]),
            &d
        ));
        assert!(!is_v2(&c(&[("traefik.frontend.rule", "Host:a")]), &d));
        assert!(!is_v2(&c(&[("traefik.enable", "true")]), &d));
        assert!(
            is_v2(&c(&[("traefik.enable", "true")]), &v2),
            "the static configuration's generation"
        );
        assert!(
            !is_v2(&c(&[("traefik.port", "80")]), &v2),
            "1.x labels stay 1.x"
        );
    }

    #[test]
    fn a_whoami_with_router_service_and_middleware() {
        let c = on_net(
            "whoami-1",
            "10.0.0.2",
            &[
                (
                    "traefik.http.routers.who.rule",
                    "Host(`who.local`) && PathPrefix(`/api`)",
                ),
                ("traefik.http.routers.who.entrypoints", "web"),
                ("traefik.http.routers.who.middlewares", "strip"),
                ("traefik.http.services.who.loadbalancer.server.port", "8080"),
                (
                    "traefik.http.middlewares.strip.stripprefix.prefixes",
                    "/api",
                ),
            ],
        );
        let d = declared(&c, &defaults()).expect("declared");
        assert!(d.errors.is_empty(), "{:?}", d.errors);
        let r = &d.routers["who"];
        assert_eq!(r.service, "who", "linked to the only service");
        assert_eq!(r.entry_points, ["web"]);
        assert_eq!(r.source.as_deref(), Some("container whoami-1"));
        let s = &d.services["who"];
        assert_eq!(
            s.backend.servers["server-whoami-1"].url,
            "http://10.0.0.2:8080"
        );
        assert!(s.pass_host_header);
        assert!(matches!(
            d.middlewares["strip"],
            Middleware::StripPrefix { .. }
        ));
    }

    #[test]
    fn a_container_without_routers_gets_the_default_rule_and_its_own_service() {
        let c = on_net(
            "web",
            "10.0.0.3",
            &[
                ("traefik.http.services.web.loadbalancer.server.port", "80"),
                ("com.docker.compose.project", "shop"),
                ("com.docker.compose.service", "front"),
            ],
        );
        let d = declared(&c, &defaults()).expect("declared");
        let r = &d.routers["front-shop"];
        assert_eq!(r.rule, "Host(`front-shop`)");
        assert_eq!(r.service, "web");

        let c = on_net(
            "plain",
            "10.0.0.4",
            &[("traefik.http.routers.p.entrypoints", "web")],
        );
        let d = declared(&c, &defaults()).expect("declared");
        assert_eq!(d.routers["p"].rule, "Host(`plain`)");
        assert_eq!(d.routers["p"].service, "plain");
        assert_eq!(
            d.services["plain"].backend.servers["server-plain"].url,
            "http://10.0.0.4:80"
        );
    }

    #[test]
    fn bad_labels_are_errors_naming_the_label() {
        let c = on_net(
            "bad",
            "10.0.0.5",
            &[
                ("traefik.http.routers.r.rule", "Host(`a`)"),
                ("traefik.http.routers.r.prioity", "3"),
                ("traefik.http.middlewares.m.stripprefix.prefixs", "/a"),
                ("traefik.http.services.s.loadbalancer.server.port", "http"),
                ("traefik.tcp.routers.t.rule", "HostSNI(`*`)"),
                ("traefik.tcp.routers.t.prioity", "3"),
                ("traefik.tcp.serverstransports.x.dialtimeout", "3s"),
                ("traefik.frontend.rule", "Host:old"),
            ],
        );
        let d = declared(&c, &defaults()).expect("declared");
        let text: Vec<String> = d.errors.iter().map(ToString::to_string).collect();
        for want in [
            "label traefik.http.routers.r.prioity: unknown option \"prioity\" of a router (did you mean priority?)",
            "label traefik.http.middlewares.m.stripprefix.prefixs: unknown option",
            "label traefik.http.services.s.loadbalancer.server.port: value \"http\": not a whole number",
            "label traefik.tcp.routers.t.prioity: unknown option \"prioity\" of a TCP router (did you mean priority?)",
            "label traefik.tcp.serverstransports.x.dialtimeout: traefik.tcp.serverstransports: expected routers, services or middlewares",
        ] {
            assert!(
                text.iter().any(|t| t.contains(want)),
                "{want} not in {text:#?}"
            );
        }
        assert!(d.warnings[0].to_string().contains("traefik.frontend.rule"));
    }

    #[test]
    fn replicas_merge_into_one_service_and_conflicts_keep_neither() {
        let labels = [
            ("traefik.http.routers.web.rule", "Host(`web.local`)"),
            ("traefik.http.services.web.loadbalancer.server.port", "80"),
        ];
        let a = declared(&on_net("web-1", "10.0.0.2", &labels), &defaults()).expect("a");
        let b = declared(&on_net("web-2", "10.0.0.3", &labels), &defaults()).expect("b");
        let other = declared(
            &on_net(
                "other",
                "10.0.0.4",
                &[
                    ("traefik.http.routers.web.rule", "Host(`elsewhere`)"),
                    ("traefik.http.services.o.loadbalancer.server.port", "80"),
                ],
            ),
            &defaults(),
        )
        .expect("other");
        let (http, errors) = merge([("web-1", &a), ("web-2", &b)]);
        assert!(errors.is_empty());
        let Service::LoadBalancer(lb) = &*http.services["web"] else {
            panic!("a load balancer")
        };
        assert_eq!(lb.backend.servers.len(), 2);
        let (http, errors) = merge([("web-1", &a), ("web-2", &b), ("other", &other)]);
        assert!(!http.routers.contains_key("web"));
        assert!(
            errors[0]
                .to_string()
                .contains("router \"web\" is declared with different definitions")
        );
    }
}
