//! Traefik 2.x/3.x TCP and UDP labels on a container (`traefik.tcp.routers.…`,
//! `traefik.udp.services.…`) → the TCP and UDP routers, services and middlewares it declares
//! (pure, as Traefik's Docker provider: a container with TCP labels and no service label gets
//! one named after it, a router without `service` takes the only one); [`merge`] joins every
//! container's, a service's servers added up, different definitions an error.

use std::collections::BTreeMap;
use std::sync::Arc;

use config::tree::{Node, OptionError, Tree};
use model::dynamic::ProviderError;
use model::tcp::{
    TcpConfig, TcpLoadBalancer, TcpMiddleware, TcpRouter, TcpServer, TcpService, UdpConfig,
    UdpRouter, UdpService,
};

use super::container::ContainerInfo;
use super::translate::{DockerDefaults, Upstream, server_name, server_or_held};
use super::v2::{Merged, MergedState, join};

/// The TCP and UDP label trees of one container, by kind and name.
#[derive(Default)]
pub(super) struct L4Trees {
    pub(super) tcp_routers: BTreeMap<String, Tree>,
    pub(super) tcp_services: BTreeMap<String, Tree>,
    pub(super) tcp_middlewares: BTreeMap<String, Tree>,
    pub(super) udp_routers: BTreeMap<String, Tree>,
    pub(super) udp_services: BTreeMap<String, Tree>,
}

impl L4Trees {
    pub(super) fn tcp(&self) -> bool {
        !self.tcp_routers.is_empty() || !self.tcp_services.is_empty()
    }

    pub(super) fn udp(&self) -> bool {
        !self.udp_routers.is_empty() || !self.udp_services.is_empty()
    }
}

/// What one container declares at layer 4.
#[derive(Debug, Default, Clone, PartialEq)]
pub(super) struct L4Declared {
    pub(super) tcp_routers: BTreeMap<String, TcpRouter>,
    pub(super) tcp_services: BTreeMap<String, TcpLoadBalancer>,
    pub(super) tcp_middlewares: BTreeMap<String, TcpMiddleware>,
    pub(super) udp_routers: BTreeMap<String, UdpRouter>,
    pub(super) udp_services: BTreeMap<String, Vec<String>>,
}

/// The container's TCP and UDP declarations; errors name the label.
pub(super) fn declared(
    c: &ContainerInfo,
    d: &DockerDefaults,
    trees: &L4Trees,
    own: &str,
    errors: &mut Vec<ProviderError>,
    notes: &mut Vec<String>,
) -> L4Declared {
    let mut out = L4Declared::default();
    let label_error = |label: &str, message: String| ProviderError::Label {
        container: c.name.clone(),
        label: label.to_string(),
        message,
    };
    for (name, t) in &trees.tcp_middlewares {
        let at = format!("traefik.tcp.middlewares.{name}");
        match crate::l4::one_tcp_middleware(t, &at) {
            Ok(m) => {
                out.tcp_middlewares.insert(name.clone(), m);
            }
            Err(e) => errors.push(label_error(&e.at, e.message)),
        }
    }
    if trees.tcp() {
        tcp(c, d, trees, own, &mut out, errors, notes);
    }
    if trees.udp() {
        udp(c, d, trees, own, &mut out, errors, notes);
    }
    out
}

/// The container's address for `port` as `host:port`; `None` while it is held out of
/// rotation (not running, unhealthy), as Traefik keeps an empty load balancer then.
fn address(
    c: &ContainerInfo,
    d: &DockerDefaults,
    port: u16,
    notes: &mut Vec<String>,
) -> Result<Option<String>, ProviderError> {
    let to = Upstream {
        port,
        protocol: "tcp",
        weight: 1,
        name: server_name(c, None),
    };
    let (server, _) = server_or_held(c, d, &to, notes)?;
    Ok(server.map(|(_, s)| {
        s.url
            .strip_prefix("tcp://")
            .unwrap_or(&s.url)
            .trim_end_matches('/')
            .to_string()
    }))
}

/// The port a service reaches: its `server.port` label, else the container's lowest.
fn port(
    c: &ContainerInfo,
    label: &str,
    given: Option<u16>,
    notes: &mut Vec<String>,
) -> Result<u16, ProviderError> {
    match (given, c.ports.first()) {
        (Some(p), _) => Ok(p),
        (None, Some(p)) => {
            if c.ports.len() > 1 {
                notes.push(format!(
                    "container {}: {label} not set; port {p}, the lowest it exposes, is used",
                    c.name
                ));
            }
            Ok(*p)
        }
        (None, None) => Err(ProviderError::Label {
            container: c.name.clone(),
            label: label.to_string(),
            message: "missing, and the container exposes no port; service left out".into(),
        }),
    }
}

fn tcp(
    c: &ContainerInfo,
    d: &DockerDefaults,
    trees: &L4Trees,
    own: &str,
    out: &mut L4Declared,
    errors: &mut Vec<ProviderError>,
    notes: &mut Vec<String>,
) {
    let mut options = services(
        c,
        &trees.tcp_services,
        "tcp",
        errors,
        crate::l4::tcp_load_balancer,
    );
    if trees.tcp_services.is_empty() {
        let default = crate::l4::tcp_load_balancer(&Tree::default(), "");
        options.extend(default.ok().map(|lb| (own.to_string(), lb)));
    }
    for (name, o) in options {
        let label = format!("traefik.tcp.services.{name}.loadbalancer.server.port");
        let served = port(c, &label, o.port, notes).and_then(|p| address(c, d, p, notes));
        match served {
            Ok(addr) => {
                let mut lb = o.lb;
                lb.servers.extend(addr.map(|address| TcpServer {
                    address,
                    tls: o.tls,
                }));
                out.tcp_services.insert(name, lb);
            }
            Err(e) => errors.push(e),
        }
    }
    let services: Vec<String> = out.tcp_services.keys().cloned().collect();
    for (name, t) in &trees.tcp_routers {
        let at = format!("traefik.tcp.routers.{name}");
        let mut r = match crate::l4::tcp_router(t, &at) {
            Ok(r) => r,
            Err(e) => {
                errors.push(ProviderError::Label {
                    container: c.name.clone(),
                    label: e.at,
                    message: format!("{}; router left out", e.message),
                });
                continue;
            }
        };
        r.source = Some(format!("container {}", c.name));
        if r.rule.is_empty() {
            errors.push(ProviderError::Label {
                container: c.name.clone(),
                label: format!("{at}.rule"),
                message: "missing (a TCP router has no default rule; HostSNI(`*`) takes every connection); router left out".into(),
            });
            continue;
        }
        if r.service.is_empty() {
            match services.as_slice() {
                [one] => r.service = one.clone(),
                many => {
                    errors.push(ProviderError::Label {
                        container: c.name.clone(),
                        label: format!("{at}.service"),
                        message: format!(
                            "missing, and the container declares {} TCP services; router left out",
                            if many.is_empty() {
                                "no".to_string()
                            } else {
                                many.join(", ")
                            }
                        ),
                    });
                    continue;
                }
            }
        }
        out.tcp_routers.insert(name.clone(), r);
    }
}

fn udp(
    c: &ContainerInfo,
    d: &DockerDefaults,
    trees: &L4Trees,
    own: &str,
    out: &mut L4Declared,
    errors: &mut Vec<ProviderError>,
    notes: &mut Vec<String>,
) {
    let mut ports = services(c, &trees.udp_services, "udp", errors, crate::l4::udp_port);
    if trees.udp_services.is_empty() {
        ports.insert(own.to_string(), None);
    }
    for (name, p) in ports {
        let label = format!("traefik.udp.services.{name}.loadbalancer.server.port");
        match port(c, &label, p, notes).and_then(|p| address(c, d, p, notes)) {
            Ok(addr) => {
                out.udp_services.insert(name, addr.into_iter().collect());
            }
            Err(e) => errors.push(e),
        }
    }
    let services: Vec<String> = out.udp_services.keys().cloned().collect();
    for (name, t) in &trees.udp_routers {
        let at = format!("traefik.udp.routers.{name}");
        let mut r = match crate::l4::udp_router(t) {
            Ok(r) => r,
            Err(e) => {
                errors.push(ProviderError::Label {
                    container: c.name.clone(),
                    label: e.at,
                    message: format!("{}; router left out", e.message),
                });
                continue;
            }
        };
        r.source = Some(format!("container {}", c.name));
        if r.service.is_empty() {
            match services.as_slice() {
                [one] => r.service = one.clone(),
                _ => {
                    errors.push(ProviderError::Label {
                        container: c.name.clone(),
                        label: format!("{at}.service"),
                        message: "missing, and the container declares several UDP services; router left out".into(),
                    });
                    continue;
                }
            }
        }
        out.udp_routers.insert(name.clone(), r);
    }
}

/// `traefik.PROTO.services.NAME.loadBalancer…` of every service: the one kind labels declare,
/// each read by `read`; errors name the label.
fn services<T>(
    c: &ContainerInfo,
    trees: &BTreeMap<String, Tree>,
    proto: &str,
    errors: &mut Vec<ProviderError>,
    read: impl Fn(&Tree, &str) -> Result<T, OptionError>,
) -> BTreeMap<String, T> {
    let mut out = BTreeMap::new();
    for (name, t) in trees {
        let at = format!("traefik.{proto}.services.{name}");
        match label_load_balancer(t, &at, proto, &read) {
            Ok(v) => {
                out.insert(name.clone(), v);
            }
            Err(e) => errors.push(ProviderError::Label {
                container: c.name.clone(),
                label: e.at,
                message: e.message,
            }),
        }
    }
    out
}

/// `services.NAME.loadBalancer…`: the one service kind labels declare, read by `read`.
fn label_load_balancer<T>(
    t: &Tree,
    at: &str,
    proto: &str,
    read: impl Fn(&Tree, &str) -> Result<T, OptionError>,
) -> Result<T, OptionError> {
    let mut entries = t.entries();
    match (entries.next(), entries.next()) {
        (Some(e), None) if e.name.eq_ignore_ascii_case("loadBalancer") => match &e.node {
            Node::Tree(lb) => read(lb, &e.at),
            _ => Err(OptionError::new(&e.at, "loadBalancer takes options")),
        },
        _ => Err(OptionError::new(
            at,
            format!(
                "labels declare loadBalancer services (weighted {} services are written in files)",
                proto.to_ascii_uppercase()
            ),
        )),
    }
}

/// Every container's layer-4 declarations → the provider's `tcp` and `udp` sections.
pub(super) fn merge<'a>(
    all: impl IntoIterator<Item = (&'a str, &'a L4Declared)>,
) -> (TcpConfig, UdpConfig, Vec<ProviderError>) {
    let mut tcp_routers: BTreeMap<String, Merged<TcpRouter>> = BTreeMap::new();
    let mut tcp_services: BTreeMap<String, Merged<TcpLoadBalancer>> = BTreeMap::new();
    let mut tcp_middlewares: BTreeMap<String, Merged<TcpMiddleware>> = BTreeMap::new();
    let mut udp_routers: BTreeMap<String, Merged<UdpRouter>> = BTreeMap::new();
    let mut udp_services: BTreeMap<String, Merged<Vec<String>>> = BTreeMap::new();
    let no_source_tcp = |r: &TcpRouter| TcpRouter {
        source: None,
        ..r.clone()
    };
    let no_source_udp = |r: &UdpRouter| UdpRouter {
        source: None,
        ..r.clone()
    };
    for (container, d) in all {
        for (name, r) in &d.tcp_routers {
            let same = |a: &TcpRouter, b: &TcpRouter| no_source_tcp(a) == no_source_tcp(b);
            join(&mut tcp_routers, name, container, r, same, |_, _| {});
        }
        for (name, s) in &d.tcp_services {
            let same = |a: &TcpLoadBalancer, b: &TcpLoadBalancer| {
                TcpLoadBalancer {
                    servers: Vec::new(),
                    ..a.clone()
                } == TcpLoadBalancer {
                    servers: Vec::new(),
                    ..b.clone()
                }
            };
            let add = |into: &mut TcpLoadBalancer, more: &TcpLoadBalancer| {
                for s in &more.servers {
                    if !into.servers.iter().any(|x| x.address == s.address) {
                        into.servers.push(s.clone());
                    }
                }
            };
            join(&mut tcp_services, name, container, s, same, add);
        }
        for (name, m) in &d.tcp_middlewares {
            join(
                &mut tcp_middlewares,
                name,
                container,
                m,
                |a, b| a == b,
                |_, _| {},
            );
        }
        for (name, r) in &d.udp_routers {
            let same = |a: &UdpRouter, b: &UdpRouter| no_source_udp(a) == no_source_udp(b);
            join(&mut udp_routers, name, container, r, same, |_, _| {});
        }
        for (name, s) in &d.udp_services {
            let add = |into: &mut Vec<String>, more: &Vec<String>| {
                for a in more {
                    if !into.contains(a) {
                        into.push(a.clone());
                    }
                }
            };
            join(&mut udp_services, name, container, s, |_, _| true, add);
        }
    }
    let mut errors = Vec::new();
    let mut keep = |kind: &str, name: &str, m: &MergedState| match m {
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
    let mut tcp = TcpConfig::default();
    let mut udp = UdpConfig::default();
    for (name, m) in tcp_routers {
        if keep("TCP router", &name, &m.state) {
            tcp.routers.insert(name, Arc::new(m.item));
        }
    }
    for (name, m) in tcp_services {
        if keep("TCP service", &name, &m.state) {
            tcp.services
                .insert(name, Arc::new(TcpService::LoadBalancer(m.item)));
        }
    }
    for (name, m) in tcp_middlewares {
        if keep("TCP middleware", &name, &m.state) {
            tcp.middlewares.insert(name, Arc::new(m.item));
        }
    }
    for (name, m) in udp_routers {
        if keep("UDP router", &name, &m.state) {
            udp.routers.insert(name, Arc::new(m.item));
        }
    }
    for (name, m) in udp_services {
        if keep("UDP service", &name, &m.state) {
            udp.services
                .insert(name, Arc::new(UdpService::LoadBalancer(m.item)));
        }
    }
    (tcp, udp, errors)
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

    fn l4_of(cs: &[ContainerInfo]) -> (TcpConfig, UdpConfig, Vec<ProviderError>) {
        let declared: Vec<(String, super::super::v2::Declared)> = cs
            .iter()
            .map(|c| {
                let d = super::super::v2::declared(c, &defaults()).expect("declared");
                (c.name.clone(), d)
            })
            .collect();
        let mut errors: Vec<ProviderError> = declared
            .iter()
            .flat_map(|(_, d)| d.errors.clone())
            .collect();
        let (tcp, udp, more) = merge(declared.iter().map(|(n, d)| (n.as_str(), &d.l4)));
        errors.extend(more);
        (tcp, udp, errors)
    }

    #[test]
    fn tcp_and_udp_labels_as_the_issue_writes_them() {
        let pg = |name: &str, ip: &str| {
            on_net(
                name,
                ip,
                &[
                    ("traefik.tcp.routers.pg.rule", "HostSNI(`*`)"),
                    ("traefik.tcp.routers.pg.entrypoints", "postgres"),
                    ("traefik.tcp.services.pg.loadbalancer.server.port", "5432"),
                    (
                        "traefik.tcp.services.pg.loadbalancer.proxyprotocol.version",
                        "1",
                    ),
                ],
            )
        };
        let db = on_net(
            "db",
            "10.0.0.4",
            &[
                ("traefik.tcp.routers.db.rule", "HostSNI(`db.example.com`)"),
                ("traefik.tcp.routers.db.tls", "true"),
                ("traefik.tcp.routers.db.tls.passthrough", "true"),
                ("traefik.tcp.routers.db.middlewares", "lan"),
                (
                    "traefik.tcp.middlewares.lan.ipallowlist.sourcerange",
                    "10.0.0.0/8",
                ),
            ],
        );
        let mut dns = on_net(
            "dns",
            "10.0.0.5",
            &[
                ("traefik.udp.routers.dns.entrypoints", "dns"),
                ("traefik.udp.services.dns.loadbalancer.server.port", "53"),
            ],
        );
        dns.ports = vec![53];
        let (tcp, udp, errors) = l4_of(&[pg("pg-1", "10.0.0.2"), pg("pg-2", "10.0.0.3"), db, dns]);
        assert!(errors.is_empty(), "{errors:?}");
        let r = &tcp.routers["pg"];
        assert_eq!(
            (r.service.as_str(), r.entry_points.as_slice()),
            ("pg", &["postgres".to_string()][..])
        );
        let TcpService::LoadBalancer(lb) = tcp.services["pg"].as_ref() else {
            panic!("a load balancer");
        };
        let addrs: Vec<&str> = lb.servers.iter().map(|s| s.address.as_str()).collect();
        assert_eq!(
            addrs,
            ["10.0.0.2:5432", "10.0.0.3:5432"],
            "servers of both containers"
        );
        assert_eq!(lb.proxy_protocol, Some(1));
        let db = &tcp.routers["db"];
        assert_eq!(db.service, "db", "the container's own service");
        assert!(db.tls.as_ref().is_some_and(|t| t.passthrough));
        assert_eq!(db.middlewares, ["lan"]);
        assert!(
            matches!(tcp.middlewares["lan"].as_ref(), TcpMiddleware::IpAllowList(r) if r == &["10.0.0.0/8"])
        );
        assert_eq!(udp.routers["dns"].service, "dns");
        assert_eq!(
            udp.services["dns"].as_ref(),
            &UdpService::LoadBalancer(vec!["10.0.0.5:53".into()])
        );
    }

    #[test]
    fn tcp_labels_alone_make_no_http_router_and_errors_name_the_label() {
        let c = on_net(
            "db",
            "10.0.0.4",
            &[
                ("traefik.tcp.routers.db.entrypoints", "pg"),
                ("traefik.tcp.services.db.loadbalancer.server.port", "99999"),
            ],
        );
        let d = super::super::v2::declared(&c, &defaults()).expect("declared");
        assert!(d.routers.is_empty() && d.services.is_empty(), "{d:?}");
        let text = format!("{:?}", d.errors);
        assert!(
            text.contains("traefik.tcp.services.db.loadbalancer.server.port")
                && text.contains("not a port"),
            "{text}"
        );
        assert!(text.contains("traefik.tcp.routers.db.rule"), "{text}");
    }
}
