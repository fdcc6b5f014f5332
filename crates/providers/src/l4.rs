//! Traefik 2.x/3.x TCP and UDP routers, services and middlewares read from option trees
//! (labels and files share these builders; `docker::l4` and the file reader call them).

use std::sync::Arc;
use std::time::Duration;

use config::tree::{Entry, Node, OptionError, Tree};

use crate::http::file::section;
use model::dynamic::{ProviderConfig, ProviderError};
use model::http::TlsDomain;
use model::tcp::{
    TcpHealthCheck, TcpLoadBalancer, TcpMiddleware, TcpRouter, TcpRouterTls, TcpServer, TcpService,
    UdpRouter, UdpService, WeightedName,
};

/// Traefik's default `terminationDelay` (100 ms).
const TERMINATION_DELAY: Duration = Duration::from_millis(100);
/// A TCP health check's defaults (Traefik's `DefaultHealthCheckInterval` and timeout).
const HEALTH_INTERVAL: Duration = Duration::from_secs(30);
const HEALTH_TIMEOUT: Duration = Duration::from_secs(5);

/// `tcp.routers.NAME`.
pub(crate) fn tcp_router(t: &Tree, at: &str) -> Result<TcpRouter, OptionError> {
    t.only(
        &[
            "rule",
            "ruleSyntax",
            "entryPoints",
            "middlewares",
            "service",
            "priority",
            "tls",
        ],
        "a TCP router",
    )?;
    let tls = match t.get("tls").map(|e| &e.node) {
        None => None,
        Some(Node::Text(_)) => t
            .bool("tls")?
            .filter(|on| *on)
            .map(|_| TcpRouterTls::default()),
        Some(_) => Some(router_tls(t.tree("tls")?.unwrap_or(&Tree::default()))?),
    };
    Ok(TcpRouter {
        source: None,
        entry_points: t.list("entryPoints")?,
        middlewares: t.list("middlewares")?,
        service: t.text("service")?.unwrap_or_default().to_string(),
        rule: t.text("rule")?.unwrap_or_default().to_string(),
        rule_syntax: crate::http::rule_syntax(t, at)?,
        priority: t.i64("priority")?.unwrap_or(0),
        tls,
    })
}

fn router_tls(t: &Tree) -> Result<TcpRouterTls, OptionError> {
    let (domains, rest) = t.split_indexed("domains");
    rest.only(
        &["passthrough", "certResolver", "options"],
        "a TCP router's tls",
    )?;
    let mut out = TcpRouterTls {
        passthrough: rest.bool("passthrough")?.unwrap_or(false),
        cert_resolver: rest.text("certResolver")?.unwrap_or_default().to_string(),
        options: rest.text("options")?.unwrap_or_default().to_string(),
        domains: Vec::new(),
    };
    for (_, d) in domains {
        d.only(&["main", "sans"], "tls.domains[N]")?;
        out.domains.push(TlsDomain {
            main: d.text("main")?.unwrap_or_default().to_string(),
            sans: d.list("sans")?,
        });
    }
    Ok(out)
}

/// A TCP middleware's one type entry (`ipAllowList: {sourceRange: …}`).
pub(crate) fn tcp_middleware(e: &Entry) -> Result<TcpMiddleware, OptionError> {
    let Node::Tree(t) = &e.node else {
        return Err(OptionError::new(&e.at, format!("{} takes options", e.name)));
    };
    match e.name.to_ascii_lowercase().as_str() {
        "ipallowlist" | "ipwhitelist" => {
            t.only(&["sourceRange"], &e.name)?;
            let ranges = t.list("sourceRange")?;
            if ranges.is_empty() {
                return Err(OptionError::new(&e.at, "sourceRange is required"));
            }
            for r in &ranges {
                let ok = r.parse::<ipnet::IpNet>().is_ok() || r.parse::<std::net::IpAddr>().is_ok();
                if !ok {
                    let at = t
                        .get("sourceRange")
                        .map_or(e.at.as_str(), |x| x.at.as_str());
                    return Err(OptionError::new(
                        at,
                        format!("{r:?} is not an IP address or CIDR range"),
                    ));
                }
            }
            Ok(TcpMiddleware::IpAllowList(ranges))
        }
        "inflightconn" => {
            t.only(&["amount"], "inFlightConn")?;
            match t.u64("amount")? {
                Some(n) if n > 0 => Ok(TcpMiddleware::InFlightConn(n)),
                _ => Err(OptionError::new(
                    &e.at,
                    "amount is required (the most connections one client IP may hold open)",
                )),
            }
        }
        _ => Err(OptionError::new(
            &e.at,
            format!(
                "unknown TCP middleware {:?}; portier runs ipAllowList (ipWhiteList) and inFlightConn",
                e.name
            ),
        )),
    }
}

/// A middleware's tree holds exactly one type.
pub(crate) fn one_tcp_middleware(t: &Tree, at: &str) -> Result<TcpMiddleware, OptionError> {
    let mut types = t.entries();
    match (types.next(), types.next()) {
        (Some(first), None) => tcp_middleware(first),
        _ => Err(OptionError::new(
            at,
            "a middleware has exactly one type (ipAllowList or inFlightConn)",
        )),
    }
}

/// A TCP `loadBalancer`'s settings besides its servers; `server.port` and `server.tls` as
/// labels give them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TcpLbOptions {
    pub(crate) port: Option<u16>,
    pub(crate) tls: bool,
    pub(crate) lb: TcpLoadBalancer,
}

/// `loadBalancer` below a TCP service, without `servers` (labels write `server.port`).
pub(crate) fn tcp_load_balancer(t: &Tree, at: &str) -> Result<TcpLbOptions, OptionError> {
    t.only(
        &[
            "server",
            "proxyProtocol",
            "terminationDelay",
            "healthCheck",
            "serversTransport",
        ],
        "a TCP loadBalancer",
    )?;
    if let Some(e) = t.get("serversTransport") {
        return Err(OptionError::new(
            &e.at,
            "TCP serversTransports are not supported by portier yet (proxyProtocol and terminationDelay go on the loadBalancer)",
        ));
    }
    let (port, tls) = match t.tree("server")? {
        Some(s) => {
            s.only(&["port", "tls"], "a TCP server")?;
            let port = match s.u64("port")? {
                Some(p) => Some(u16::try_from(p).ok().filter(|p| *p > 0).ok_or_else(|| {
                    let at = s.get("port").map_or(at, |e| e.at.as_str());
                    OptionError::new(at, format!("value {p}: not a port"))
                })?),
                None => None,
            };
            (port, s.bool("tls")?.unwrap_or(false))
        }
        None => (None, false),
    };
    let proxy_protocol = match t.get("proxyProtocol").map(|e| &e.node) {
        None => None,
        // `proxyProtocol=true` (allowEmpty): version 2, Traefik's default.
        Some(Node::Text(_)) => t.bool("proxyProtocol")?.filter(|on| *on).map(|_| 2),
        Some(_) => {
            let p = t.tree("proxyProtocol")?.cloned().unwrap_or_default();
            p.only(&["version"], "proxyProtocol")?;
            match p.u64("version")? {
                None | Some(2) => Some(2),
                Some(1) => Some(1),
                Some(v) => {
                    let at = p.get("version").map_or(at, |e| e.at.as_str());
                    return Err(OptionError::new(
                        at,
                        format!("value {v}: the PROXY protocol version is 1 or 2"),
                    ));
                }
            }
        }
    };
    let termination_delay = match t.i64("terminationDelay")? {
        None => Some(TERMINATION_DELAY),
        Some(ms) if ms < 0 => None,
        Some(ms) => Some(Duration::from_millis(ms as u64)),
    };
    let health_check = match t.get("healthCheck").map(|e| &e.node) {
        None => None,
        Some(Node::Text(_)) => t
            .bool("healthCheck")?
            .filter(|on| *on)
            .map(|_| health(&Tree::default()))
            .transpose()?,
        Some(_) => Some(health(t.tree("healthCheck")?.unwrap_or(&Tree::default()))?),
    };
    Ok(TcpLbOptions {
        port,
        tls,
        lb: TcpLoadBalancer {
            servers: Vec::new(),
            proxy_protocol,
            termination_delay,
            health_check,
        },
    })
}

fn health(t: &Tree) -> Result<TcpHealthCheck, OptionError> {
    t.only(
        &[
            "port",
            "send",
            "expect",
            "interval",
            "unhealthyInterval",
            "timeout",
        ],
        "a TCP healthCheck",
    )?;
    let port = match t.u64("port")? {
        Some(p) => Some(u16::try_from(p).ok().filter(|p| *p > 0).ok_or_else(|| {
            let at = t.get("port").map_or("", |e| e.at.as_str());
            OptionError::new(at, format!("value {p}: not a port"))
        })?),
        None => None,
    };
    let send = t.text("send")?.unwrap_or_default().to_string();
    let expect = t.text("expect")?.unwrap_or_default().to_string();
    Ok(TcpHealthCheck {
        port,
        send,
        expect,
        interval: t.duration("interval")?.unwrap_or(HEALTH_INTERVAL),
        unhealthy_interval: t.duration("unhealthyInterval")?,
        timeout: t.duration("timeout")?.unwrap_or(HEALTH_TIMEOUT),
    })
}

/// `weighted.services[]` of a TCP or UDP service in a file.
fn weighted(t: &Tree, at: &str) -> Result<Vec<WeightedName>, OptionError> {
    let (children, rest) = t.split_indexed("services");
    rest.only(&[], "weighted")?;
    if children.is_empty() {
        return Err(OptionError::new(
            at,
            "services is required (services: - name: … weight: …)",
        ));
    }
    children
        .into_iter()
        .map(|(i, c)| {
            c.only(&["name", "weight"], "a weighted service")?;
            let weight = c.u64("weight")?.unwrap_or(1);
            Ok(WeightedName {
                name: c
                    .required("name", &format!("{at}.services[{i}]"))?
                    .to_string(),
                weight: u32::try_from(weight).map_err(|_| {
                    let at = c.get("weight").map_or(at, |e| e.at.as_str());
                    OptionError::new(at, format!("value {weight}: too large"))
                })?,
            })
        })
        .collect()
}

/// The one kind of a service in a file: `loadBalancer` or `weighted`.
fn kind<'t>(t: &'t Tree, at: &str) -> Result<(String, &'t Tree, String), OptionError> {
    let mut kinds = t.entries();
    let (Some(kind), None) = (kinds.next(), kinds.next()) else {
        return Err(OptionError::new(
            at,
            "a service has exactly one kind (loadBalancer or weighted)",
        ));
    };
    let Node::Tree(inner) = &kind.node else {
        return Err(OptionError::new(
            &kind.at,
            format!("{} takes options", kind.name),
        ));
    };
    Ok((kind.name.to_ascii_lowercase(), inner, kind.at.clone()))
}

/// `tcp.services.NAME` in a file.
pub(crate) fn tcp_service_file(t: &Tree, at: &str) -> Result<TcpService, OptionError> {
    let (kind, inner, kind_at) = kind(t, at)?;
    match kind.as_str() {
        "loadbalancer" => {
            let (servers, rest) = inner.split_indexed("servers");
            if let Some(e) = rest.get("server") {
                return Err(OptionError::new(
                    &e.at,
                    "a file's loadBalancer lists servers (servers: - address: …), not server",
                ));
            }
            let mut options = tcp_load_balancer(&rest, &kind_at)?;
            if servers.is_empty() {
                return Err(OptionError::new(
                    &kind_at,
                    "servers is required (servers: - address: host:port)",
                ));
            }
            for (i, s) in servers {
                s.only(&["address", "tls"], "a TCP server")?;
                let here = format!("{kind_at}.servers[{i}]");
                let address = s.required("address", &here)?.trim().to_string();
                check_address(&address, s.get("address").map_or(&here, |e| &e.at))?;
                options.lb.servers.push(TcpServer {
                    address,
                    tls: s.bool("tls")?.unwrap_or(false),
                });
            }
            Ok(TcpService::LoadBalancer(options.lb))
        }
        "weighted" => Ok(TcpService::Weighted(weighted(inner, &kind_at)?)),
        other => Err(OptionError::new(
            &kind_at,
            format!("unknown TCP service kind {other:?}; expected loadBalancer or weighted"),
        )),
    }
}

/// `host:port` with a port.
fn check_address(address: &str, at: &str) -> Result<(), OptionError> {
    let port = address
        .rsplit_once(':')
        .and_then(|(host, p)| (!host.is_empty()).then_some(p))
        .and_then(|p| p.parse::<u16>().ok())
        .filter(|p| *p > 0);
    match port {
        Some(_) => Ok(()),
        None => Err(OptionError::new(
            at,
            format!("{address:?}: expected host:port"),
        )),
    }
}

/// `udp.routers.NAME`.
pub(crate) fn udp_router(t: &Tree) -> Result<UdpRouter, OptionError> {
    t.only(&["entryPoints", "service"], "a UDP router")?;
    Ok(UdpRouter {
        source: None,
        entry_points: t.list("entryPoints")?,
        service: t.text("service")?.unwrap_or_default().to_string(),
    })
}

/// `loadBalancer` below a UDP service as labels write it: `server.port`.
pub(crate) fn udp_port(t: &Tree, at: &str) -> Result<Option<u16>, OptionError> {
    t.only(&["server"], "a UDP loadBalancer")?;
    let Some(s) = t.tree("server")? else {
        return Ok(None);
    };
    s.only(&["port"], "a UDP server")?;
    match s.u64("port")? {
        Some(p) => Ok(Some(u16::try_from(p).ok().filter(|p| *p > 0).ok_or_else(
            || {
                let at = s.get("port").map_or(at, |e| e.at.as_str());
                OptionError::new(at, format!("value {p}: not a port"))
            },
        )?)),
        None => Ok(None),
    }
}

/// `udp.services.NAME` in a file.
pub(crate) fn udp_service_file(t: &Tree, at: &str) -> Result<UdpService, OptionError> {
    let (kind, inner, kind_at) = kind(t, at)?;
    match kind.as_str() {
        "loadbalancer" => {
            let (servers, rest) = inner.split_indexed("servers");
            rest.only(&[], "a UDP loadBalancer (servers: - address: …)")?;
            if servers.is_empty() {
                return Err(OptionError::new(
                    &kind_at,
                    "servers is required (servers: - address: host:port)",
                ));
            }
            let mut out = Vec::new();
            for (i, s) in servers {
                s.only(&["address"], "a UDP server")?;
                let here = format!("{kind_at}.servers[{i}]");
                let address = s.required("address", &here)?.trim().to_string();
                check_address(&address, s.get("address").map_or(&here, |e| &e.at))?;
                out.push(address);
            }
            Ok(UdpService::LoadBalancer(out))
        }
        "weighted" => Ok(UdpService::Weighted(weighted(inner, &kind_at)?)),
        other => Err(OptionError::new(
            &kind_at,
            format!("unknown UDP service kind {other:?}; expected loadBalancer or weighted"),
        )),
    }
}

/// A dynamic file's `tcp` and `udp` sections into `out`; each error at its key.
pub(crate) fn read_file_sections(
    root: &Tree,
    out: &mut ProviderConfig,
    err: &impl Fn(OptionError) -> ProviderError,
    source: &impl Fn(&str) -> String,
) {
    match root.tree("tcp") {
        Ok(Some(tcp)) => tcp_file(tcp, out, err, source),
        Ok(None) => {}
        Err(e) => out.errors.push(err(e)),
    }
    match root.tree("udp") {
        Ok(Some(udp)) => udp_file(udp, out, err, source),
        Ok(None) => {}
        Err(e) => out.errors.push(err(e)),
    }
}

fn tcp_file(
    tcp: &Tree,
    out: &mut ProviderConfig,
    err: &impl Fn(OptionError) -> ProviderError,
    source: &impl Fn(&str) -> String,
) {
    if let Err(e) = tcp.only(
        &["routers", "services", "middlewares", "serversTransports"],
        "tcp",
    ) {
        out.errors.push(err(e));
    }
    if let Some(e) = tcp.get("serversTransports") {
        out.errors.push(err(OptionError::new(
            &e.at,
            "TCP serversTransports are not supported by portier yet",
        )));
    }
    for (name, t, at) in section(tcp, "routers", out, err) {
        match tcp_router(t, &at) {
            Ok(mut r) => {
                r.source = Some(source(&at));
                let missing = if r.service.is_empty() {
                    Some("service")
                } else if r.rule.is_empty() {
                    Some("rule")
                } else {
                    None
                };
                if let Some(key) = missing {
                    out.errors.push(err(OptionError::new(
                        &at,
                        format!("{key} is required; router left out"),
                    )));
                    continue;
                }
                out.tcp.routers.insert(name, Arc::new(r));
            }
            Err(e) => out.errors.push(err(e)),
        }
    }
    for (name, t, at) in section(tcp, "services", out, err) {
        match tcp_service_file(t, &at) {
            Ok(s) => {
                out.tcp.services.insert(name, Arc::new(s));
            }
            Err(e) => out.errors.push(err(e)),
        }
    }
    for (name, t, at) in section(tcp, "middlewares", out, err) {
        match one_tcp_middleware(t, &at) {
            Ok(m) => {
                out.tcp.middlewares.insert(name, Arc::new(m));
            }
            Err(e) => out.errors.push(err(e)),
        }
    }
}

fn udp_file(
    udp: &Tree,
    out: &mut ProviderConfig,
    err: &impl Fn(OptionError) -> ProviderError,
    source: &impl Fn(&str) -> String,
) {
    if let Err(e) = udp.only(&["routers", "services"], "udp") {
        out.errors.push(err(e));
    }
    for (name, t, at) in section(udp, "routers", out, err) {
        match udp_router(t) {
            Ok(mut r) if !r.service.is_empty() => {
                r.source = Some(source(&at));
                out.udp.routers.insert(name, Arc::new(r));
            }
            Ok(_) => out.errors.push(err(OptionError::new(
                &at,
                "service is required; router left out",
            ))),
            Err(e) => out.errors.push(err(e)),
        }
    }
    for (name, t, at) in section(udp, "services", out, err) {
        match udp_service_file(t, &at) {
            Ok(s) => {
                out.udp.services.insert(name, Arc::new(s));
            }
            Err(e) => out.errors.push(err(e)),
        }
    }
}
