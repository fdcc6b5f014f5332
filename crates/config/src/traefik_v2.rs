//! Traefik 2.x/3.x static configuration (`traefik.yml`, TOML with `[providers]`, or
//! `--entrypoints.web.address=:80`-style flags) → the 1.x schema the resolver checks, plus what
//! only the later generation says ([`Generation`]: 2.x/3.x labels by default, `defaultRule`,
//! `core.defaultRuleSyntax`). Every key is read or refused at its `file:line:col` (or flag):
//! nothing is silently dropped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use model::rules::Syntax;
use toml::{Table, Value};

use crate::ConfigError;
use crate::document::Document;
use crate::flags::Flag;
use crate::schema::FileConfig;
use crate::tree::{Node, OptionError, Tree};

/// What the 2.x/3.x generation changes in how dynamic configuration is read.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Generation {
    /// Containers with only `traefik.enable` (or no labels) are read as 2.x/3.x ones.
    pub labels_v2: bool,
    /// `providers.docker.defaultRule` (a Go template; `None`: ``Host(`{{ normalize .Name }}`)``).
    pub default_rule: Option<String>,
    /// `core.defaultRuleSyntax` (default v3).
    pub default_rule_syntax: Option<Syntax>,
    /// `providers.docker.constraints`, checked.
    pub docker_constraints: Option<String>,
    /// `api` is on: `Some(dashboard)`; routers may name `api@internal`.
    pub api: Option<bool>,
    /// `entryPoints.NAME.http`: what every router on the entrypoint gets, by entrypoint name.
    pub entry_point_http: BTreeMap<String, EntryPointHttp>,
    /// `certificatesResolvers` names, in order: the first is read as `[acme]`.
    pub resolvers: Vec<String>,
    /// The other resolvers, each as an `[acme]` table.
    pub more_acme: Vec<Table>,
    /// UDP entrypoints (`address: ":53/udp"`), by name; TCP entrypoints are the 1.x ones.
    pub udp_entry_points: BTreeMap<String, UdpEntryPoint>,
}

/// A UDP entrypoint: where it listens, and `udp.timeout`, how long a client's session to its
/// server lives without a datagram either way (Traefik's default 3 s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpEntryPoint {
    pub address: crate::address::ListenAddress,
    pub timeout: std::time::Duration,
}

/// Traefik's default `udp.timeout`.
const UDP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// An address with an optional `/tcp` or `/udp` suffix: the address, and whether it is UDP.
fn split_protocol<'a>(address: &'a str, at: &str) -> Result<(&'a str, bool), OptionError> {
    match address.trim().rsplit_once('/') {
        None => Ok((address.trim(), false)),
        Some((a, p)) if p.eq_ignore_ascii_case("tcp") => Ok((a, false)),
        Some((a, p)) if p.eq_ignore_ascii_case("udp") => Ok((a, true)),
        Some((_, p)) => Err(OptionError::new(
            at,
            format!(
                "{address:?}: unknown protocol {p:?}; expected ADDRESS, ADDRESS/tcp or ADDRESS/udp"
            ),
        )),
    }
}

/// `entryPoints.NAME.http.middlewares` and `http.tls`, applied to each router served there
/// (as Traefik's entrypoint models: the middlewares run before the router's own, and a router
/// without `tls` takes the entrypoint's).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EntryPointHttp {
    /// Middleware references (`name@provider`; a bare name is the router's provider's).
    pub middlewares: Vec<String>,
    /// `http.tls` is set: routers here serve HTTPS with or without their own `tls`.
    pub tls: bool,
    /// `http.tls.certResolver`, for routers without their own `tls`.
    pub cert_resolver: Option<String>,
    /// `http.tls.options`, likewise (a set's name, `name@provider`).
    pub tls_options: Option<String>,
    /// `http.tls.domains` (main and SANs), likewise.
    pub domains: Vec<(String, Vec<String>)>,
}

/// First segments of flags only the later generation has.
const V2_FLAG_ROOTS: [&str; 7] = [
    "providers",
    "certificatesresolvers",
    "log",
    "serverstransport",
    "global",
    "core",
    "experimental",
];

/// Whether the command line is written for Traefik 2.x/3.x.
pub fn flags_are_v2(flags: &[Flag]) -> bool {
    flags.iter().any(|f| {
        let lower = f.name.to_ascii_lowercase();
        let mut parts = lower.split('.');
        let first = parts.next().unwrap_or_default();
        let second = parts.next();
        V2_FLAG_ROOTS.contains(&first)
            || (first == "entrypoints" && second.is_some())
            || (first == "api" && matches!(second, Some("insecure" | "basepath")))
    })
}

/// Whether a configuration file is written for Traefik 2.x/3.x: YAML, or TOML with one of the
/// later generation's sections.
pub fn file_is_v2(path: &Path, text: &str) -> bool {
    if path.extension().is_some_and(|x| x == "yml" || x == "yaml") {
        return true;
    }
    let Ok(t) = text.parse::<Table>() else {
        return false;
    };
    t.keys().any(|k| {
        let k = k.to_ascii_lowercase();
        V2_FLAG_ROOTS.contains(&k.as_str()) || k == "certificatesresolvers"
    }) || t
        .get("entryPoints")
        .and_then(Value::as_table)
        .is_some_and(|eps| {
            eps.values()
                .filter_map(Value::as_table)
                .any(|ep| ep.contains_key("http") || ep.contains_key("asDefault"))
        })
}

/// Reads a 2.x/3.x document (when there is a file) and flags (which win) into the 1.x schema.
/// Warnings are returned for what Traefik itself ignores.
pub fn load(
    path: Option<&Path>,
    doc: Option<&Document>,
    flags: &[Flag],
) -> Result<(FileConfig, Vec<String>), ConfigError> {
    let shown = path.map_or_else(|| PathBuf::from("command line"), Path::to_path_buf);
    let mut root = doc.map(|d| d.root.clone()).unwrap_or_default();
    for f in flags {
        // Traefik 1.x's `--logLevel` still sets the log level.
        let name = if f.name.eq_ignore_ascii_case("loglevel") {
            "log.level"
        } else {
            f.name.as_str()
        };
        let parts: Vec<&str> = name.split('.').collect();
        let value = f.value.clone().unwrap_or_else(|| "true".to_string());
        let at = format!("--{}", f.name);
        set(&mut root, &parts, &at, value).map_err(|e| ConfigError::Flag {
            flag: at.clone(),
            message: e.message,
        })?;
    }
    let fail = |e: OptionError| match doc.and_then(|d| d.positions.get(&e.at)) {
        Some((line, column)) => ConfigError::Parse {
            path: shown.clone(),
            line: *line,
            column: *column,
            message: format!("{}: {}", e.at, e.message),
        },
        None if e.at.starts_with("--") => ConfigError::Flag {
            flag: e.at.clone(),
            message: e.message,
        },
        None => ConfigError::Invalid {
            path: shown.clone(),
            key: e.at.clone(),
            message: e.message,
        },
    };
    // Every key is applied or refused: nothing to warn about yet.
    let warnings = Vec::new();
    let (table, generation) = translate(&root).map_err(fail)?;
    let mut file: FileConfig = Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| ConfigError::Invalid {
            path: shown.clone(),
            key: String::new(),
            message: e.message().trim().to_string(),
        })?;
    file.generation = generation;
    Ok((file, warnings))
}

/// Sets a flag's value in the tree, replacing what the file says there.
fn set(root: &mut Tree, parts: &[&str], at: &str, value: String) -> Result<(), OptionError> {
    let mut t = Tree::default();
    t.insert(parts, at, Node::Text(value))?;
    root.overlay(t);
    Ok(())
}

fn translate(root: &Tree) -> Result<(Table, Generation), OptionError> {
    let later = [
        "experimental",
        "hub",
        "tracing",
        "spiffe",
        "ocsp",
        "tcpServersTransport",
        "abortOnPluginFailure",
    ];
    let mut known = vec![
        "global",
        "entryPoints",
        "providers",
        "api",
        "ping",
        "log",
        "accessLog",
        "metrics",
        "certificatesResolvers",
        "serversTransport",
        "core",
    ];
    known.extend(later);
    root.only(&known, "the static configuration")?;
    refuse(root, &later)?;
    let mut out = Table::new();
    let mut generation = Generation {
        labels_v2: true,
        ..Generation::default()
    };
    if let Some(g) = root.tree("global")? {
        g.only(&["checkNewVersion", "sendAnonymousUsage"], "global")?;
        copy_bool(g, "checkNewVersion", &mut out, "checkNewVersion")?;
        copy_bool(g, "sendAnonymousUsage", &mut out, "sendAnonymousUsage")?;
    }
    if let Some(c) = root.tree("core")? {
        c.only(&["defaultRuleSyntax"], "core")?;
        if let Some(s) = c.text("defaultRuleSyntax")? {
            generation.default_rule_syntax = Some(Syntax::parse(s).ok_or_else(|| {
                at_key(
                    c,
                    "defaultRuleSyntax",
                    format!("value {s:?}: expected v2 or v3"),
                )
            })?);
        }
    }
    let mut resolvers = resolvers(root)?;
    let names: Vec<String> = resolvers.iter().map(|(n, _)| n.clone()).collect();
    let acme_entries = entry_points(
        root,
        &mut out,
        &names,
        &mut generation.entry_point_http,
        &mut generation.udp_entry_points,
    )?;
    for (name, acme) in &mut resolvers {
        if let Some(ep) = acme_entries.get(name).or(acme_entries.get("")) {
            acme.insert("entryPoint".into(), Value::String(ep.clone()));
        }
    }
    generation.resolvers = names;
    providers(root, &mut out, &mut generation)?;
    generation.api = api(root, &mut out)?;
    if let Some(p) = root.get("ping") {
        let mut ping = Table::new();
        if let Node::Tree(t) = &p.node {
            t.only(
                &["entryPoint", "manualRouting", "terminatingStatusCode"],
                "ping",
            )?;
            refuse(t, &["manualRouting", "terminatingStatusCode"])?;
            copy_text(t, "entryPoint", &mut ping, "entryPoint")?;
        }
        out.insert("ping".into(), Value::Table(ping));
    }
    log(root, &mut out)?;
    access_log(root, &mut out)?;
    if let Some(m) = root.tree("metrics")? {
        m.only(&["prometheus"], "metrics")?;
        if let Some(p) = m.get("prometheus") {
            if let Node::Tree(t) = &p.node {
                if let Some(e) = t.entries().next() {
                    return Err(OptionError::new(
                        &e.at,
                        "Prometheus options are not supported by portier yet (/metrics is served on the API's address)",
                    ));
                }
            }
            out.insert(
                "metrics".into(),
                Value::Table(Table::from_iter([(
                    "prometheus".to_string(),
                    Value::Table(Table::new()),
                )])),
            );
        }
    }
    let mut resolvers = resolvers.into_iter();
    if let Some((_, acme)) = resolvers.next() {
        out.insert("acme".into(), Value::Table(acme));
    }
    generation.more_acme = resolvers.map(|(_, t)| t).collect();
    servers_transport(root, &mut out)?;
    Ok((out, generation))
}

fn at_key(t: &Tree, key: &str, message: String) -> OptionError {
    let at = t.get(key).map_or(key.to_string(), |e| e.at.clone());
    OptionError::new(&at, message)
}

/// Keys of Traefik 2.x/3.x that portier refuses while it does not act on them.
fn refuse(t: &Tree, keys: &[&str]) -> Result<(), OptionError> {
    match keys.iter().find_map(|k| t.get(k)) {
        Some(e) => Err(OptionError::new(
            &e.at,
            format!("{} is not supported by portier yet", e.name),
        )),
        None => Ok(()),
    }
}

fn copy_text(t: &Tree, key: &str, out: &mut Table, as_key: &str) -> Result<(), OptionError> {
    if let Some(v) = t.text(key)? {
        out.insert(as_key.into(), Value::String(v.to_string()));
    }
    Ok(())
}

fn copy_bool(t: &Tree, key: &str, out: &mut Table, as_key: &str) -> Result<(), OptionError> {
    if let Some(v) = t.bool(key)? {
        out.insert(as_key.into(), Value::Boolean(v));
    }
    Ok(())
}

fn copy_list(t: &Tree, key: &str, out: &mut Table, as_key: &str) -> Result<(), OptionError> {
    if t.get(key).is_some() {
        let list = t.list(key)?.into_iter().map(Value::String).collect();
        out.insert(as_key.into(), Value::Array(list));
    }
    Ok(())
}

/// The one certificate resolver portier runs: its name and the 1.x `[acme]` table.
/// `certificatesResolvers`: each resolver's `acme` as a 1.x `[acme]` table, in order.
fn resolvers(root: &Tree) -> Result<Vec<(String, Table)>, OptionError> {
    let Some(all) = root.tree("certificatesResolvers")? else {
        return Ok(Vec::new());
    };
    all.entries().map(resolver).collect()
}

fn resolver(first: &crate::tree::Entry) -> Result<(String, Table), OptionError> {
    let Node::Tree(r) = &first.node else {
        return Err(OptionError::new(&first.at, "expected acme options"));
    };
    r.only(&["acme"], "a certificate resolver")?;
    let a = r
        .tree("acme")?
        .ok_or_else(|| OptionError::new(&first.at, "acme is required"))?;
    let later = [
        "dnsChallenge",
        "eab",
        "certificatesDuration",
        "preferredChain",
        "caCertificates",
        "caSystemCertPool",
        "caServerName",
        "clientTimeout",
        "clientResponseHeaderTimeout",
        "profile",
        "emailAddresses",
        "disableCommonName",
    ];
    let mut known = vec![
        "email",
        "storage",
        "caServer",
        "keyType",
        "tlsChallenge",
        "httpChallenge",
    ];
    known.extend(later);
    a.only(&known, "acme")?;
    refuse(a, &later)?;
    let mut acme = Table::new();
    copy_text(a, "email", &mut acme, "email")?;
    copy_text(a, "storage", &mut acme, "storage")?;
    copy_text(a, "caServer", &mut acme, "caServer")?;
    copy_text(a, "keyType", &mut acme, "keyType")?;
    acme.insert("onHostRule".into(), Value::Boolean(true));
    if a.get("tlsChallenge").is_some() {
        acme.insert("tlsChallenge".into(), Value::Table(Table::new()));
    }
    if let Some(h) = a.tree("httpChallenge")? {
        h.only(&["entryPoint", "delay"], "httpChallenge")?;
        refuse(h, &["delay"])?;
        let mut hc = Table::new();
        copy_text(h, "entryPoint", &mut hc, "entryPoint")?;
        acme.insert("httpChallenge".into(), Value::Table(hc));
    }
    Ok((first.name.clone(), acme))
}

/// `entryPoints`: addresses, redirections, forwarded headers, PROXY protocol, timeouts; an
/// entrypoint with `http.tls` (or on port 443) serves TLS, and the resolver's certificates.
/// Returns, for each resolver an entrypoint names, the first such TLS entrypoint, and under
/// `""` the first TLS entrypoint (for resolvers none names).
fn entry_points(
    root: &Tree,
    out: &mut Table,
    resolvers: &[String],
    models: &mut BTreeMap<String, EntryPointHttp>,
    udp: &mut BTreeMap<String, UdpEntryPoint>,
) -> Result<BTreeMap<String, String>, OptionError> {
    let mut eps = Table::new();
    let mut defaults = Vec::new();
    let mut timeouts: Option<(String, Table)> = None;
    let mut life_cycle: Option<(String, Table)> = None;
    let mut acme_entries: BTreeMap<String, String> = BTreeMap::new();
    for e in root
        .tree("entryPoints")?
        .map(|t| t.entries().collect::<Vec<_>>())
        .unwrap_or_default()
    {
        let Node::Tree(t) = &e.node else {
            return Err(OptionError::new(
                &e.at,
                "expected the entrypoint's options (address: …)",
            ));
        };
        let later = [
            "http2",
            "http3",
            "allowACMEByPass",
            "reusePort",
            "observability",
        ];
        let mut known = vec![
            "address",
            "asDefault",
            "http",
            "forwardedHeaders",
            "proxyProtocol",
            "transport",
            "udp",
        ];
        known.extend(later);
        t.only(&known, "an entrypoint")?;
        refuse(t, &later)?;
        let mut ep = Table::new();
        let written = t.required("address", &e.at)?;
        let address_at = t.get("address").map_or(e.at.as_str(), |x| x.at.as_str());
        let (address, is_udp) = split_protocol(written, address_at)?;
        if is_udp {
            udp.insert(e.name.clone(), udp_entry_point(t, address, address_at)?);
            continue;
        }
        if let Some(x) = t.get("udp") {
            return Err(OptionError::new(
                &x.at,
                "udp options on a TCP entrypoint (write the address as :PORT/udp)",
            ));
        }
        ep.insert("address".into(), Value::String(address.to_string()));
        if t.bool("asDefault")? == Some(true) {
            defaults.push(Value::String(e.name.clone()));
        }
        let mut tls = address.trim_end().ends_with(":443");
        if let Some(h) = t.tree("http")? {
            h.only(
                &[
                    "redirections",
                    "tls",
                    "middlewares",
                    "encodeQuerySemicolons",
                    "sanitizePath",
                    "maxHeaderBytes",
                ],
                "entryPoints.NAME.http",
            )?;
            refuse(
                h,
                &["encodeQuerySemicolons", "sanitizePath", "maxHeaderBytes"],
            )?;
            if let Some(r) = h.tree("redirections")? {
                ep.insert("redirect".into(), Value::Table(redirection(r)?));
            }
            let ep_http = models.entry(e.name.clone()).or_default();
            ep_http.middlewares = h.list("middlewares")?;
            if let Some(tls_opts) = h.get("tls") {
                tls = true;
                ep_http.tls = true;
                if let Node::Tree(tt) = &tls_opts.node {
                    let (domains, rest) = tt.split_indexed("domains");
                    rest.only(
                        &["certResolver", "domains", "options"],
                        "entryPoints.NAME.http.tls",
                    )?;
                    ep_http.tls_options = tt.text("options")?.map(str::to_string);
                    for (i, d) in domains {
                        d.only(&["main", "sans"], "entryPoints.NAME.http.tls.domains")?;
                        let at = format!("{}.http.tls.domains[{i}]", e.at);
                        ep_http
                            .domains
                            .push((d.required("main", &at)?.to_string(), d.list("sans")?));
                    }
                    if let Some(r) = tt.text("certResolver")? {
                        if !resolvers.iter().any(|n| n == r) {
                            return Err(at_key(
                                tt,
                                "certResolver",
                                format!(
                                    "certificate resolver {r:?} is not defined in certificatesResolvers"
                                ),
                            ));
                        }
                        acme_entries
                            .entry(r.to_string())
                            .or_insert_with(|| e.name.clone());
                        ep_http.cert_resolver = Some(r.to_string());
                    }
                }
            }
        }
        if tls {
            ep.insert("tls".into(), Value::Table(Table::new()));
        }
        for (key, as_key) in [
            ("forwardedHeaders", "forwardedHeaders"),
            ("proxyProtocol", "proxyProtocol"),
        ] {
            if let Some(fh) = t.tree(key)? {
                fh.only(&["trustedIPs", "insecure", "connection"], key)?;
                refuse(fh, &["connection"])?;
                let mut table = Table::new();
                copy_list(fh, "trustedIPs", &mut table, "trustedIPs")?;
                copy_bool(fh, "insecure", &mut table, "insecure")?;
                ep.insert(as_key.into(), Value::Table(table));
            }
        }
        if let Some(tr) = t.tree("transport")? {
            let later = ["keepAliveMaxRequests", "keepAliveMaxTime"];
            let mut known = vec!["respondingTimeouts", "lifeCycle"];
            known.extend(later);
            tr.only(&known, "transport")?;
            refuse(tr, &later)?;
            if let Some(rt) = tr.tree("respondingTimeouts")? {
                rt.only(
                    &["readTimeout", "writeTimeout", "idleTimeout"],
                    "respondingTimeouts",
                )?;
                let mut table = Table::new();
                for k in ["readTimeout", "writeTimeout", "idleTimeout"] {
                    copy_text(rt, k, &mut table, k)?;
                }
                same_for_all(
                    &mut timeouts,
                    &e.name,
                    table,
                    &rt_at(tr, "respondingTimeouts"),
                )?;
            }
            if let Some(lc) = tr.tree("lifeCycle")? {
                lc.only(&["graceTimeOut", "requestAcceptGraceTimeout"], "lifeCycle")?;
                let mut table = Table::new();
                copy_text(lc, "graceTimeOut", &mut table, "graceTimeOut")?;
                copy_text(
                    lc,
                    "requestAcceptGraceTimeout",
                    &mut table,
                    "requestAcceptGraceTimeout",
                )?;
                same_for_all(&mut life_cycle, &e.name, table, &rt_at(tr, "lifeCycle"))?;
            }
        }
        eps.insert(e.name.clone(), Value::Table(ep));
    }
    if eps.is_empty() && udp.is_empty() {
        // Traefik's default: one `http` entrypoint on :80.
        let mut ep = Table::new();
        ep.insert("address".into(), Value::String(":80".into()));
        eps.insert("http".into(), Value::Table(ep));
    }
    let all: Vec<Value> = eps.keys().map(|k| Value::String(k.clone())).collect();
    out.insert(
        "defaultEntryPoints".into(),
        Value::Array(if defaults.is_empty() { all } else { defaults }),
    );
    if let Some((_, t)) = timeouts {
        out.insert("respondingTimeouts".into(), Value::Table(t));
    }
    if let Some((_, t)) = life_cycle {
        out.insert("lifeCycle".into(), Value::Table(t));
    }
    // A resolver's entrypoint is the first TLS one that names it, else the first TLS one.
    if let Some((k, _)) = eps
        .iter()
        .find(|(_, v)| v.as_table().is_some_and(|t| t.contains_key("tls")))
    {
        acme_entries.insert(String::new(), k.clone());
    }
    out.insert("entryPoints".into(), Value::Table(eps));
    Ok(acme_entries)
}

/// A UDP entrypoint's options: `address` and `udp.timeout`; HTTP and TCP options are refused.
fn udp_entry_point(t: &Tree, address: &str, at: &str) -> Result<UdpEntryPoint, OptionError> {
    t.only(&["address", "udp"], "a UDP entrypoint")?;
    let timeout = match t.tree("udp")? {
        Some(u) => {
            u.only(&["timeout"], "udp")?;
            u.duration("timeout")?.unwrap_or(UDP_TIMEOUT)
        }
        None => UDP_TIMEOUT,
    };
    let address = crate::address::ListenAddress::parse(address)
        .map_err(|e| OptionError::new(at, e.to_string()))?;
    Ok(UdpEntryPoint { address, timeout })
}

fn rt_at(t: &Tree, key: &str) -> String {
    t.get(key).map_or(key.to_string(), |e| e.at.clone())
}

/// 1.x has one set of timeouts for all entrypoints: entrypoints that differ are refused.
fn same_for_all(
    seen: &mut Option<(String, Table)>,
    name: &str,
    table: Table,
    at: &str,
) -> Result<(), OptionError> {
    match seen {
        Some((first, t)) if *t != table => Err(OptionError::new(
            at,
            format!(
                "differs from entrypoint {first}'s; portier applies one setting to every entrypoint so far"
            ),
        )),
        Some(_) => Ok(()),
        None => {
            *seen = Some((name.to_string(), table));
            Ok(())
        }
    }
}

/// `http.redirections.entryPoint`: `to` an entrypoint (its scheme and port), permanent by
/// default as in Traefik 2/3.
fn redirection(r: &Tree) -> Result<Table, OptionError> {
    r.only(&["entryPoint"], "redirections")?;
    let Some(ep) = r.tree("entryPoint")? else {
        return Ok(Table::new());
    };
    ep.only(
        &["to", "scheme", "permanent", "priority"],
        "redirections.entryPoint",
    )?;
    refuse(ep, &["priority"])?;
    let to = ep
        .text("to")?
        .ok_or_else(|| at_key(ep, "to", "to is required".into()))?;
    if to.starts_with(':') {
        return Err(at_key(
            ep,
            "to",
            format!(
                "{to:?}: name the entrypoint to redirect to (portier does not redirect to a bare port yet)"
            ),
        ));
    }
    let mut table = Table::new();
    table.insert("entryPoint".into(), Value::String(to.to_string()));
    table.insert(
        "permanent".into(),
        Value::Boolean(ep.bool("permanent")?.unwrap_or(true)),
    );
    Ok(table)
}

fn providers(root: &Tree, out: &mut Table, g: &mut Generation) -> Result<(), OptionError> {
    let Some(p) = root.tree("providers")? else {
        return Ok(());
    };
    let others = [
        "kubernetesIngress",
        "kubernetesCRD",
        "kubernetesGateway",
        "consulCatalog",
        "nomad",
        "ecs",
        "consul",
        "etcd",
        "zooKeeper",
        "redis",
        "http",
        "plugin",
        "rest",
    ];
    let mut known = vec!["docker", "swarm", "file", "providersThrottleDuration"];
    known.extend(others);
    p.only(&known, "providers")?;
    refuse(p, &others)?;
    copy_text(
        p,
        "providersThrottleDuration",
        out,
        "providersThrottleDuration",
    )?;
    let docker_on = enabled(p, "docker")?;
    let swarm_on = enabled(p, "swarm")?;
    if let (Some(_), Some(_)) = (docker_on, swarm_on) {
        return Err(at_key(
            p,
            "swarm",
            "portier runs one Docker provider: providers.docker or providers.swarm, not both (yet)"
                .into(),
        ));
    }
    if let Some(t) = docker_on {
        let docker = docker(t, false, g)?;
        out.insert("docker".into(), Value::Table(docker));
    }
    if let Some(t) = swarm_on {
        let docker = docker(t, true, g)?;
        out.insert("docker".into(), Value::Table(docker));
    }
    file_provider(p, out)
}

/// `providers.docker` or `providers.swarm` as a table (`providers.docker: {}` or
/// `--providers.docker` switch it on with defaults), unless switched off.
fn enabled<'t>(p: &'t Tree, key: &str) -> Result<Option<&'t Tree>, OptionError> {
    static EMPTY: std::sync::OnceLock<Tree> = std::sync::OnceLock::new();
    match p.get(key).map(|e| &e.node) {
        None => Ok(None),
        Some(Node::Tree(t)) => Ok(Some(t)),
        Some(_) if p.bool(key)? == Some(false) => Ok(None),
        Some(_) => Ok(Some(EMPTY.get_or_init(Tree::default))),
    }
}

/// `providers.docker`, or `providers.swarm` (Traefik 3's swarm provider: 1.x's `swarmMode`,
/// its `refreshSeconds` the refresh period), as 1.x's `[docker]`.
fn docker(t: &Tree, swarm: bool, g: &mut Generation) -> Result<Table, OptionError> {
    let what = if swarm {
        "providers.swarm"
    } else {
        "providers.docker"
    };
    let later = [
        "allowEmptyServices",
        "httpClientTimeout",
        "tls",
        "username",
        "password",
    ];
    let mut known = vec![
        "endpoint",
        "exposedByDefault",
        "network",
        "defaultRule",
        "watch",
        "useBindPortIP",
        "constraints",
    ];
    if swarm {
        known.push("refreshSeconds");
    } else {
        known.extend(["swarmMode", "swarmModeRefreshSeconds"]);
    }
    known.extend(later);
    t.only(&known, what)?;
    refuse(t, &later)?;
    if !swarm {
        refuse(t, &["refreshSeconds"])?;
    }
    let mut docker = Table::new();
    copy_text(t, "endpoint", &mut docker, "endpoint")?;
    copy_bool(t, "exposedByDefault", &mut docker, "exposedByDefault")?;
    copy_text(t, "network", &mut docker, "network")?;
    copy_bool(t, "useBindPortIP", &mut docker, "useBindPortIP")?;
    if swarm {
        docker.insert("swarmMode".into(), Value::Boolean(true));
        if let Some(d) = t.duration("refreshSeconds")? {
            docker.insert(
                "swarmModeRefreshSeconds".into(),
                Value::Integer(d.as_secs().max(1) as i64),
            );
        }
    } else {
        copy_bool(t, "swarmMode", &mut docker, "swarmMode")?;
        if let Some(n) = t.u64("swarmModeRefreshSeconds")? {
            docker.insert("swarmModeRefreshSeconds".into(), Value::Integer(n as i64));
        }
    }
    docker.insert(
        "watch".into(),
        Value::Boolean(t.bool("watch")?.unwrap_or(true)),
    );
    if let Some(c) = t.text("constraints")? {
        model::rules::LabelConstraint::parse(c)
            .map_err(|e| at_key(t, "constraints", format!("{c:?}: {e}")))?;
        g.docker_constraints = Some(c.to_string());
    }
    if let Some(rule) = t.text("defaultRule")? {
        model::rules::default_rule::check(rule).map_err(|m| at_key(t, "defaultRule", m))?;
        g.default_rule = Some(rule.to_string());
    }
    Ok(docker)
}

fn file_provider(p: &Tree, out: &mut Table) -> Result<(), OptionError> {
    let Some(f) = p.tree("file")? else {
        return Ok(());
    };
    f.only(
        &[
            "filename",
            "directory",
            "watch",
            "debugLogGeneratedTemplate",
        ],
        "providers.file",
    )?;
    refuse(f, &["debugLogGeneratedTemplate"])?;
    let mut file = Table::new();
    copy_text(f, "filename", &mut file, "filename")?;
    copy_text(f, "directory", &mut file, "directory")?;
    copy_bool(f, "watch", &mut file, "watch")?;
    out.insert("file".into(), Value::Table(file));
    Ok(())
}

/// `api`: with `insecure`, the API and dashboard on the `traefik` entrypoint (:8080 when it is
/// not defined), as Traefik serves them; either way, routers may name `api@internal`.
fn api(root: &Tree, out: &mut Table) -> Result<Option<bool>, OptionError> {
    let Some(a) = root.get("api") else {
        return Ok(None);
    };
    let empty = Tree::default();
    let t = match &a.node {
        Node::Tree(t) => t,
        _ if root.bool("api")? == Some(false) => return Ok(None),
        _ => &empty,
    };
    t.only(
        &[
            "insecure",
            "dashboard",
            "debug",
            "basePath",
            "disableDashboardAd",
        ],
        "api",
    )?;
    refuse(t, &["basePath"])?;
    let dashboard = t.bool("dashboard")?.unwrap_or(true);
    if t.bool("insecure")? != Some(true) {
        // Served only through routers to `api@internal`, as Traefik does.
        return Ok(Some(dashboard));
    }
    let mut api = Table::new();
    copy_bool(t, "dashboard", &mut api, "dashboard")?;
    copy_bool(t, "debug", &mut api, "debug")?;
    out.insert("api".into(), Value::Table(api));
    Ok(Some(dashboard))
}

fn log(root: &Tree, out: &mut Table) -> Result<(), OptionError> {
    let Some(l) = root.tree("log")? else {
        return Ok(());
    };
    let later = [
        "noColor",
        "maxSize",
        "maxAge",
        "maxBackups",
        "compress",
        "otlp",
    ];
    let mut known = vec!["level", "filePath", "format"];
    known.extend(later);
    l.only(&known, "log")?;
    refuse(l, &later)?;
    copy_text(l, "level", out, "logLevel")?;
    let mut tl = Table::new();
    copy_text(l, "filePath", &mut tl, "filePath")?;
    copy_text(l, "format", &mut tl, "format")?;
    if !tl.is_empty() {
        out.insert("traefikLog".into(), Value::Table(tl));
    }
    Ok(())
}

fn access_log(root: &Tree, out: &mut Table) -> Result<(), OptionError> {
    let Some(a) = root.get("accessLog") else {
        return Ok(());
    };
    let empty = Tree::default();
    let t = match &a.node {
        Node::Tree(t) => t,
        _ if root.bool("accessLog")? == Some(false) => return Ok(()),
        _ => &empty,
    };
    let later = ["addInternals", "otlp"];
    let mut known = vec!["filePath", "format", "bufferingSize", "filters", "fields"];
    known.extend(later);
    t.only(&known, "accessLog")?;
    refuse(t, &later)?;
    let mut al = Table::new();
    copy_text(t, "filePath", &mut al, "filePath")?;
    copy_text(t, "format", &mut al, "format")?;
    if let Some(n) = t.u64("bufferingSize")? {
        al.insert("bufferingSize".into(), Value::Integer(n as i64));
    }
    if let Some(f) = t.tree("filters")? {
        f.only(
            &["statusCodes", "retryAttempts", "minDuration"],
            "accessLog.filters",
        )?;
        let mut ft = Table::new();
        copy_list(f, "statusCodes", &mut ft, "statusCodes")?;
        copy_bool(f, "retryAttempts", &mut ft, "retryAttempts")?;
        copy_text(f, "minDuration", &mut ft, "minDuration")?;
        al.insert("filters".into(), Value::Table(ft));
    }
    if let Some(f) = t.tree("fields")? {
        f.only(&["defaultMode", "names", "headers"], "accessLog.fields")?;
        let mut ft = modes(f)?;
        if let Some(h) = f.tree("headers")? {
            h.only(&["defaultMode", "names"], "accessLog.fields.headers")?;
            ft.insert("headers".into(), Value::Table(modes(h)?));
        }
        al.insert("fields".into(), Value::Table(ft));
    }
    out.insert("accessLog".into(), Value::Table(al));
    Ok(())
}

/// `defaultMode` and `names` (name → mode) of `accessLog.fields` or its `headers`.
fn modes(t: &Tree) -> Result<Table, OptionError> {
    let mut out = Table::new();
    copy_text(t, "defaultMode", &mut out, "defaultMode")?;
    let names = t.map("names")?;
    if !names.is_empty() {
        let names = names.into_iter().map(|(k, v)| (k, Value::String(v)));
        out.insert("names".into(), Value::Table(names.collect()));
    }
    Ok(out)
}

fn servers_transport(root: &Tree, out: &mut Table) -> Result<(), OptionError> {
    let Some(s) = root.tree("serversTransport")? else {
        return Ok(());
    };
    let later = ["spiffe", "maxIdleConnsPerHost"];
    let mut known = vec!["insecureSkipVerify", "rootCAs", "forwardingTimeouts"];
    known.extend(later);
    s.only(&known, "serversTransport")?;
    refuse(s, &["spiffe"])?;
    copy_bool(s, "insecureSkipVerify", out, "insecureSkipVerify")?;
    copy_list(s, "rootCAs", out, "rootCAs")?;
    if let Some(n) = s.u64("maxIdleConnsPerHost")? {
        out.insert("maxIdleConnsPerHost".into(), Value::Integer(n as i64));
    }
    if let Some(f) = s.tree("forwardingTimeouts")? {
        f.only(
            &[
                "dialTimeout",
                "responseHeaderTimeout",
                "idleConnTimeout",
                "readIdleTimeout",
                "pingTimeout",
            ],
            "forwardingTimeouts",
        )?;
        refuse(f, &["idleConnTimeout", "readIdleTimeout", "pingTimeout"])?;
        let mut ft = Table::new();
        copy_text(f, "dialTimeout", &mut ft, "dialTimeout")?;
        copy_text(f, "responseHeaderTimeout", &mut ft, "responseHeaderTimeout")?;
        out.insert("forwardingTimeouts".into(), Value::Table(ft));
    }
    Ok(())
}

/// The static configuration when the file (if any) or the flags are written for Traefik
/// 2.x/3.x; `None` when they are 1.x's, for the 1.x loader.
pub fn try_load(path: Option<&Path>, flags: &[Flag]) -> Result<Option<crate::Loaded>, ConfigError> {
    let text = match path {
        Some(p) => Some(
            std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                path: p.to_path_buf(),
                source,
            })?,
        ),
        None => None,
    };
    let file_v2 = path
        .zip(text.as_deref())
        .is_some_and(|(p, t)| file_is_v2(p, t));
    if !file_v2 && !flags_are_v2(flags) {
        return Ok(None);
    }
    let doc = match (path, text.as_deref()) {
        (Some(p), Some(t)) if file_v2 => Some(
            if p.extension().is_some_and(|x| x == "yml" || x == "yaml") {
                crate::document::read_yaml(p, t)?
            } else {
                crate::document::read_toml(p, t)?
            },
        ),
        (Some(p), Some(_)) => {
            return Err(ConfigError::Invalid {
                path: p.to_path_buf(),
                key: String::new(),
                message: "this file is written for Traefik 1.x and the flags for 2.x/3.x; write both for one generation".into(),
            });
        }
        _ => None,
    };
    let (file, warnings) = load(path, doc.as_ref(), flags)?;
    Ok(Some(crate::Loaded {
        path: path.map(Path::to_path_buf),
        text: String::new(),
        file,
        warnings,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flag(s: &str) -> Flag {
        let s = s.trim_start_matches('-');
        let (name, value) = match s.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (s.to_string(), None),
        };
        Flag { name, value }
    }

    const YML: &str = "\
entryPoints:
  web:
    address: \":80\"
    http:
      redirections:
        entryPoint:
          to: websecure
          scheme: https
  websecure:
    address: \":443\"
    http:
      middlewares:
        - secure-headers@file
        - auth@file
      tls:
        certResolver: le
        options: modern@file
        domains:
          - main: example.com
            sans: [www.example.com]
providers:
  docker:
    exposedByDefault: false
    network: proxy
    defaultRule: Host(`{{ normalize .Name }}.example.com`)
  file:
    filename: /etc/traefik/dynamic.yml
    watch: true
api:
  insecure: true
  dashboard: true
log:
  level: DEBUG
accessLog:
  format: json
certificatesResolvers:
  le:
    acme:
      email: ops@example.com
      storage: /letsencrypt/acme.json
      tlsChallenge: {}
";

    #[test]
    fn a_traefik_yml_reads_into_the_schema() {
        let p = Path::new("traefik.yml");
        let doc = crate::document::read_yaml(p, YML).expect("yaml");
        let (f, warnings) = load(Some(p), Some(&doc), &[]).expect("loads");
        assert!(warnings.is_empty(), "{warnings:?}");
        let eps = f.entry_points.as_ref().expect("entrypoints");
        let web = &eps["web"];
        let redirect = web.redirect.as_ref().expect("redirect");
        assert_eq!(redirect.entry_point.as_deref(), Some("websecure"));
        assert_eq!(redirect.permanent, Some(true));
        assert!(eps["websecure"].tls.is_some());
        assert!(web.tls.is_none());
        let models = &f.generation.entry_point_http;
        let secure = &models["websecure"];
        assert_eq!(secure.middlewares, ["secure-headers@file", "auth@file"]);
        assert!(secure.tls);
        assert_eq!(secure.cert_resolver.as_deref(), Some("le"));
        assert_eq!(secure.tls_options.as_deref(), Some("modern@file"));
        assert_eq!(
            secure.domains,
            [(
                "example.com".to_string(),
                vec!["www.example.com".to_string()]
            )]
        );
        assert!(models["web"].middlewares.is_empty() && !models["web"].tls);
        let d = f.docker.as_ref().expect("docker");
        assert_eq!(d.exposed_by_default, Some(false));
        assert_eq!(d.network.as_deref(), Some("proxy"));
        assert_eq!(d.watch, Some(true));
        assert_eq!(
            f.generation.default_rule.as_deref(),
            Some("Host(`{{ normalize .Name }}.example.com`)")
        );
        assert!(f.generation.labels_v2);
        let acme = f.acme.as_ref().expect("acme");
        assert_eq!(acme.entry_point.as_deref(), Some("websecure"));
        assert_eq!(acme.on_host_rule, Some(true));
        assert!(f.api.is_some());
        assert_eq!(
            f.default_entry_points.as_deref().map(<[String]>::len),
            Some(2)
        );
    }

    #[test]
    fn several_resolvers_each_read_as_acme() {
        let yml = "\
entryPoints:
  web:
    address: \":80\"
  websecure:
    address: \":443\"
    http:
      tls:
        certResolver: le
certificatesResolvers:
  le:
    acme:
      storage: /a
      httpChallenge:
        entryPoint: web
  alpn:
    acme:
      storage: /b
      tlsChallenge: {}
";
        let p = Path::new("traefik.yml");
        let doc = crate::document::read_yaml(p, yml).expect("yaml");
        let (f, _) = load(Some(p), Some(&doc), &[]).expect("loads");
        // Names in order (the option tree keeps them sorted): the first is `[acme]`.
        assert_eq!(f.generation.resolvers, ["alpn", "le"]);
        assert_eq!(f.generation.more_acme.len(), 1);
        let loaded = crate::Loaded {
            path: Some(p.to_path_buf()),
            text: yml.to_string(),
            file: f,
            warnings: Vec::new(),
        };
        let (c, _, _) = crate::resolve(&loaded).expect("resolves");
        let names: Vec<(Option<&str>, &str, Option<&str>, bool)> = c
            .resolvers()
            .map(|a| {
                (
                    a.name.as_deref(),
                    a.entry_point.as_str(),
                    a.http_challenge.as_deref(),
                    a.on_host_rule,
                )
            })
            .collect();
        assert_eq!(
            names,
            [
                (Some("alpn"), "websecure", None, true),
                (Some("le"), "websecure", Some("web"), false)
            ]
        );
    }

    #[test]
    fn flags_alone_configure_as_compose_files_write_them() {
        let flags: Vec<Flag> = [
            "--providers.docker=true",
            "--providers.docker.exposedbydefault=false",
            "--entrypoints.web.address=:8081",
            "--api.insecure=true",
        ]
        .iter()
        .map(|s| flag(s))
        .collect();
        assert!(flags_are_v2(&flags));
        assert!(!flags_are_v2(&[flag("--docker.domain=x"), flag("--api")]));
        let (f, _) = load(None, None, &flags).expect("loads");
        let eps = f.entry_points.as_ref().expect("entrypoints");
        assert_eq!(eps.len(), 1);
        assert_eq!(
            f.docker.as_ref().and_then(|d| d.exposed_by_default),
            Some(false)
        );
    }

    #[test]
    fn keys_portier_does_not_run_are_errors_at_their_place() {
        let p = Path::new("traefik.yml");
        for (text, says) in [
            (
                "entryPoints:\n  web:\n    address: :80\n    http3: {}\n",
                "traefik.yml:4:5: entryPoints.web.http3: http3 is not supported",
            ),
            (
                "providers:\n  docker:\n    constraints: Label(`a`)\n",
                "traefik.yml:3:5: providers.docker.constraints: \"Label(`a`)\": column 1: Label takes two arguments",
            ),
            (
                "providers:\n  kubernetesCRD: {}\n",
                "kubernetesCRD is not supported",
            ),
            (
                "entrypoints:\n  web:\n    adress: :80\n",
                "did you mean address?",
            ),
            ("tracing: {}\n", "tracing is not supported"),
            (
                "providers:\n  docker:\n    defaultRule: Host(`{{ .Name | lower }}`)\n",
                "is not one portier renders",
            ),
        ] {
            let doc = crate::document::read_yaml(p, text).expect("yaml");
            let e = load(Some(p), Some(&doc), &[]).expect_err(text).to_string();
            assert!(e.contains(says), "{text}: {e}");
        }
        let e = load(None, None, &[flag("--entrypoints.web.adress=:80")])
            .expect_err("flag")
            .to_string();
        assert!(e.contains("--entrypoints.web.adress"), "{e}");
    }
}
