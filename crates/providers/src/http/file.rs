//! A 2.x/3.x dynamic configuration file, YAML or TOML (read by `config::document` into an
//! option tree whose keys know their `file:line:col`) → the provider's `http` section, through
//! the builders labels use.

use std::path::Path;
use std::sync::Arc;

use config::ConfigError;
use config::document::Document;
use model::dynamic::{
    Backend, LoadBalancer, ProviderConfig, ProviderError, Server, TlsCertificate, TlsSection,
};
use model::http::{
    FailoverService, LoadBalancerService, MirrorChild, MirroringService, Service, WeightedChild,
    WeightedService,
};

use config::tree::{Entry, Node, OptionError, Tree};

/// Whether a TOML dynamic file is written for Traefik 2.x/3.x: it has `[http]` (or `[tcp]`,
/// `[udp]`), or a `[tls]` table where 1.x has `[[tls]]`.
pub(crate) fn is_v2_toml(text: &str) -> bool {
    config::document::is_v2_dynamic_toml(text)
}

/// Reads a 2.x/3.x dynamic file; a syntax error is the whole file's error with its position.
pub(crate) fn read(path: &Path, text: &str, yaml: bool) -> Result<ProviderConfig, ConfigError> {
    let doc = if yaml {
        config::document::read_yaml(path, text)?
    } else {
        config::document::read_toml(path, text)?
    };
    Ok(translate(path, &doc))
}

/// The file's routers, services and middlewares; what cannot be read is an error at its key.
fn translate(path: &Path, doc: &Document) -> ProviderConfig {
    let mut out = ProviderConfig::default();
    let err = |e: OptionError| {
        let (line, column) = doc.positions.get(&e.at).copied().unwrap_or((1, 1));
        ProviderError::FileAt {
            path: path.to_path_buf(),
            line,
            column,
            item: format!("key {}", e.at),
            message: e.message,
        }
    };
    let source = |at: &str| {
        let (line, column) = doc.positions.get(at).copied().unwrap_or((1, 1));
        format!("{}:{line}:{column}", path.display())
    };
    for e in doc.root.entries() {
        match e.name.to_ascii_lowercase().as_str() {
            "http" => {}
            "tcp" | "udp" => {}
            "tls" => match &e.node {
                Node::Tree(t) => match tls(t, &source) {
                    Ok(section) => out.tls = section,
                    Err(e) => out.errors.push(err(e)),
                },
                _ => out
                    .errors
                    .push(err(OptionError::new(&e.at, "tls takes options"))),
            },
            _ => out.errors.push(err(OptionError::new(
                &e.at,
                format!(
                    "unknown section {:?}; expected http, tcp, udp or tls",
                    e.name
                ),
            ))),
        }
    }
    crate::l4::read_file_sections(&doc.root, &mut out, &err, &source);
    let http = match doc.root.tree("http") {
        Ok(Some(h)) => h,
        Ok(None) => return out,
        Err(e) => {
            out.errors.push(err(e));
            return out;
        }
    };
    if let Err(e) = http.only(
        &["routers", "services", "middlewares", "serversTransports"],
        "http",
    ) {
        out.errors.push(err(e));
    }
    if let Some(e) = http.get("serversTransports") {
        out.errors.push(err(OptionError::new(
            &e.at,
            "serversTransports are not supported by portier yet",
        )));
    }
    for (name, t, _) in section(http, "routers", &mut out, &err) {
        match super::router(t, &format!("http.routers.{name}")) {
            Ok(mut r) => {
                r.source = Some(source(&format!("http.routers.{name}")));
                if r.service.is_empty() {
                    out.errors.push(err(OptionError::new(
                        &format!("http.routers.{name}"),
                        "service is required; router left out",
                    )));
                    continue;
                }
                if r.rule.is_empty() {
                    out.errors.push(err(OptionError::new(
                        &format!("http.routers.{name}"),
                        "rule is required; router left out",
                    )));
                    continue;
                }
                out.http.routers.insert(name.clone(), Arc::new(r));
            }
            Err(e) => out.errors.push(err(e)),
        }
    }
    for (name, t, _) in section(http, "middlewares", &mut out, &err) {
        let mut types = t.entries();
        let m = match (types.next(), types.next()) {
            (Some(first), None) => super::middleware(first),
            _ => Err(OptionError::new(
                &format!("http.middlewares.{name}"),
                "a middleware has exactly one type (stripPrefix:, basicAuth:, …)",
            )),
        };
        match m {
            Ok(m) => {
                out.http.middlewares.insert(name.clone(), Arc::new(m));
            }
            Err(e) => out.errors.push(err(e)),
        }
    }
    for (name, t, _) in section(http, "services", &mut out, &err) {
        match service(t, &format!("http.services.{name}")) {
            Ok(s) => {
                out.http.services.insert(name.clone(), Arc::new(s));
            }
            Err(e) => out.errors.push(err(e)),
        }
    }
    out
}

/// `tls`: `certificates` (`certFile`, `keyFile`: a path or the PEM itself; `stores`), the
/// default store's `defaultCertificate`, and the `options` sets; other stores are refused.
fn tls(t: &Tree, source: &impl Fn(&str) -> String) -> Result<TlsSection, OptionError> {
    let mut options = std::collections::BTreeMap::new();
    if let Some(opts) = t.tree("options")? {
        for e in opts.entries() {
            let Node::Tree(o) = &e.node else {
                return Err(OptionError::new(&e.at, "an options set takes options"));
            };
            options.insert(e.name.clone(), tls_options(o, &source(&e.at))?);
        }
    }
    let (certs, rest) = t.split_indexed("certificates");
    rest.only(&["certificates", "stores", "options"], "tls")?;
    if let Some(e) = rest.get("certificates") {
        return Err(OptionError::new(
            &e.at,
            "certificates is a list (certificates: - certFile: …)",
        ));
    }
    let mut out = TlsSection {
        options,
        ..TlsSection::default()
    };
    for (i, c) in certs {
        let at = format!("tls.certificates[{i}]");
        c.only(&["certFile", "keyFile", "stores"], "a certificate")?;
        if c.list("stores")?.iter().any(|s| s != "default") {
            let at = c.get("stores").map_or(at.as_str(), |e| e.at.as_str());
            return Err(OptionError::new(at, "portier has the default store only"));
        }
        out.certificates.push(certificate(c, &at, source)?);
    }
    if let Some(stores) = t.tree("stores")? {
        for e in stores.entries() {
            let Node::Tree(store) = &e.node else {
                return Err(OptionError::new(&e.at, "a store takes options"));
            };
            if !e.name.eq_ignore_ascii_case("default") {
                return Err(OptionError::new(
                    &e.at,
                    "portier has the default store only",
                ));
            }
            store.only(&["defaultCertificate", "defaultGeneratedCert"], "a store")?;
            if let Some(g) = store.get("defaultGeneratedCert") {
                return Err(OptionError::new(
                    &g.at,
                    "defaultGeneratedCert is not supported by portier yet",
                ));
            }
            if let Some(d) = store.tree("defaultCertificate")? {
                d.only(&["certFile", "keyFile"], "defaultCertificate")?;
                let at = format!("{}.defaultCertificate", e.at);
                out.default_certificate = Some(certificate(d, &at, source)?);
            }
        }
    }
    Ok(out)
}

/// One options set, checked now (CA files read now, as certificates are).
fn tls_options(o: &Tree, source: &str) -> Result<model::dynamic::TlsOptions, OptionError> {
    o.only(
        &[
            "minVersion",
            "maxVersion",
            "cipherSuites",
            "curvePreferences",
            "clientAuth",
            "sniStrict",
            "alpnProtocols",
            "preferServerCipherSuites",
            "disableSessionTickets",
        ],
        "tls.options",
    )?;
    let at = |key: &str| o.get(key).map(|e| e.at.clone()).unwrap_or_default();
    let version = |key: &str| -> Result<Option<u8>, OptionError> {
        match o.text(key)? {
            None => Ok(None),
            Some("VersionTLS12") => Ok(Some(12)),
            Some("VersionTLS13") => Ok(Some(13)),
            Some(v @ ("VersionTLS10" | "VersionTLS11")) => Err(OptionError::new(
                &at(key),
                format!(
                    "{v} is not offered (TLS 1.0 and 1.1 are insecure): VersionTLS12 or VersionTLS13"
                ),
            )),
            Some(v) => Err(OptionError::new(
                &at(key),
                format!("{v:?} is not a TLS version (VersionTLS12 or VersionTLS13)"),
            )),
        }
    };
    let (min, max) = (version("minVersion")?, version("maxVersion")?);
    if let (Some(13), Some(12)) = (min, max) {
        return Err(OptionError::new(
            &at("maxVersion"),
            "maxVersion is below minVersion",
        ));
    }
    let names = o.list("cipherSuites")?;
    let cipher_suites = if names.is_empty() {
        Vec::new()
    } else {
        config::rustls_suites(&names).map_err(|e| OptionError::new(&at("cipherSuites"), e))?
    };
    let mut curves = Vec::new();
    for c in o.list("curvePreferences")? {
        let group = match c.as_str() {
            "X25519" => "X25519",
            "CurveP256" | "secp256r1" => "secp256r1",
            "CurveP384" | "secp384r1" => "secp384r1",
            other => {
                return Err(OptionError::new(
                    &at("curvePreferences"),
                    format!(
                        "curve {other:?}: portier's TLS offers X25519, CurveP256 and CurveP384"
                    ),
                ));
            }
        };
        curves.push(group.to_string());
    }
    let client_auth = match o.tree("clientAuth")? {
        None => None,
        Some(c) => client_auth(c)?,
    };
    if let Some(e) = o.get("preferServerCipherSuites") {
        return Err(OptionError::new(
            &e.at,
            "preferServerCipherSuites is deprecated and ignored by Traefik (and Go): remove it",
        ));
    }
    if o.bool("disableSessionTickets")? == Some(true) {
        return Err(OptionError::new(
            &at("disableSessionTickets"),
            "disableSessionTickets is not supported by portier yet",
        ));
    }
    Ok(model::dynamic::TlsOptions {
        source: source.to_string(),
        tls13_only: min == Some(13),
        tls12_only: max == Some(12),
        cipher_suites,
        curves,
        client_auth,
        sni_strict: o.bool("sniStrict")?.unwrap_or(false),
        alpn_protocols: o.list("alpnProtocols")?,
    })
}

/// `clientAuth`: `caFiles` (paths or PEM, read now) and `clientAuthType`; the types that ask
/// for a certificate without verifying it are refused (portier always verifies).
fn client_auth(c: &Tree) -> Result<Option<model::dynamic::TlsClientAuth>, OptionError> {
    c.only(&["caFiles", "clientAuthType"], "clientAuth")?;
    let at = |key: &str| c.get(key).map(|e| e.at.clone()).unwrap_or_default();
    // Traefik: CA files without a type mean RequireAndVerifyClientCert.
    let default = if c.get("caFiles").is_some() {
        "RequireAndVerifyClientCert"
    } else {
        "NoClientCert"
    };
    let optional = match c.text("clientAuthType")?.unwrap_or(default) {
        "NoClientCert" => return Ok(None),
        "VerifyClientCertIfGiven" => true,
        "RequireAndVerifyClientCert" => false,
        t @ ("RequestClientCert" | "RequireAnyClientCert") => {
            return Err(OptionError::new(
                &at("clientAuthType"),
                format!(
                    "{t} takes certificates without verifying them, which portier does not do: use VerifyClientCertIfGiven or RequireAndVerifyClientCert"
                ),
            ));
        }
        t => {
            return Err(OptionError::new(
                &at("clientAuthType"),
                format!(
                    "{t:?} is not a client auth type (NoClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert)"
                ),
            ));
        }
    };
    let mut ca_pem = Vec::new();
    for f in c.list("caFiles")? {
        if f.contains("-----BEGIN") {
            ca_pem.push(f);
            continue;
        }
        ca_pem.push(
            std::fs::read_to_string(&f)
                .map_err(|e| OptionError::new(&at("caFiles"), format!("cannot read {f}: {e}")))?,
        );
    }
    if ca_pem.is_empty() {
        let at = c
            .get("clientAuthType")
            .map_or("clientAuth", |e| e.at.as_str());
        return Err(OptionError::new(
            at,
            "caFiles is required to verify client certificates",
        ));
    }
    Ok(Some(model::dynamic::TlsClientAuth { ca_pem, optional }))
}

/// `certFile` and `keyFile` read now: each is the PEM itself or a file holding it.
fn certificate(
    c: &Tree,
    at: &str,
    source: &impl Fn(&str) -> String,
) -> Result<TlsCertificate, OptionError> {
    let read = |key: &str| -> Result<String, OptionError> {
        let value = c.required(key, at)?;
        if value.contains("-----BEGIN") {
            return Ok(value.to_string());
        }
        std::fs::read_to_string(value).map_err(|e| {
            let at = c.get(key).map_or(at, |e| e.at.as_str());
            OptionError::new(at, format!("cannot read {value}: {e}"))
        })
    };
    Ok(TlsCertificate {
        source: source(at),
        cert_pem: read("certFile")?,
        key_pem: read("keyFile")?,
    })
}

/// The named tables of `SECTION.KEY` (`http.routers`, `tcp.services`, …), each with where it
/// is written; an entry that is not a table is an error.
pub(crate) fn section<'t>(
    http: &'t Tree,
    key: &str,
    out: &mut ProviderConfig,
    err: &impl Fn(OptionError) -> ProviderError,
) -> Vec<(String, &'t Tree, String)> {
    let t = match http.tree(key) {
        Ok(Some(t)) => t,
        Ok(None) => return Vec::new(),
        Err(e) => {
            out.errors.push(err(e));
            return Vec::new();
        }
    };
    let mut items = Vec::new();
    for e in t.entries() {
        match &e.node {
            Node::Tree(inner) => items.push((e.name.clone(), inner, e.at.clone())),
            _ => out.errors.push(err(OptionError::new(
                &e.at,
                format!("{key}.{} takes options", e.name),
            ))),
        }
    }
    items
}

/// `services.NAME`: a `loadBalancer` with its `servers`; the other kinds are refused for now.
fn service(t: &Tree, at: &str) -> Result<Service, OptionError> {
    let mut kinds = t.entries();
    let (Some(kind), None) = (kinds.next(), kinds.next()) else {
        return Err(OptionError::new(
            at,
            "a service has exactly one kind (loadBalancer, weighted, mirroring, failover)",
        ));
    };
    let Entry {
        node: Node::Tree(lb),
        ..
    } = kind
    else {
        return Err(OptionError::new(
            &kind.at,
            format!("{} takes options", kind.name),
        ));
    };
    match kind.name.to_ascii_lowercase().as_str() {
        "loadbalancer" => load_balancer(lb, &kind.at),
        "weighted" => weighted(lb, &kind.at),
        "failover" => failover(lb, &kind.at),
        "mirroring" => mirroring(lb, &kind.at),
        _ => Err(OptionError::new(
            &kind.at,
            format!(
                "unknown service kind {:?}; expected loadBalancer, weighted, mirroring or failover",
                kind.name
            ),
        )),
    }
}

/// `weighted`: `services` (name, weight) and an optional sticky cookie.
fn weighted(t: &Tree, at: &str) -> Result<Service, OptionError> {
    let (children, rest) = t.split_indexed("services");
    rest.only(&["sticky", "healthCheck"], "weighted")?;
    empty_health_check(&rest, "weighted")?;
    if children.is_empty() {
        return Err(OptionError::new(
            at,
            "services is required (services: - name: … weight: …)",
        ));
    }
    let mut services = Vec::new();
    for (i, c) in children {
        c.only(&["name", "weight"], "a weighted service")?;
        let weight = c.u64("weight")?.unwrap_or(1);
        services.push(WeightedChild {
            name: c
                .required("name", &format!("{at}.services[{i}]"))?
                .to_string(),
            weight: u32::try_from(weight).map_err(|_| {
                let at = c.get("weight").map_or(at, |e| e.at.as_str());
                OptionError::new(at, format!("value {weight}: too large"))
            })?,
        });
    }
    Ok(Service::Weighted(WeightedService {
        services,
        sticky: super::sticky(&rest)?,
    }))
}

/// `failover`: `service` while it has a server up, else `fallback`. An empty `healthCheck`
/// (Traefik's switch to report the failover's own state to a parent) is accepted; `errors`
/// (fall back on some answers, not only when down) is refused for now.
fn failover(t: &Tree, at: &str) -> Result<Service, OptionError> {
    t.only(
        &["service", "fallback", "healthCheck", "errors"],
        "failover",
    )?;
    empty_health_check(t, "failover")?;
    if let Some(e) = t.get("errors") {
        return Err(OptionError::new(
            &e.at,
            "failover.errors (falling back on some answers) is not supported by portier yet; the fallback takes requests while the service has no server up",
        ));
    }
    Ok(Service::Failover(FailoverService {
        service: t.required("service", at)?.to_string(),
        fallback: t.required("fallback", at)?.to_string(),
    }))
}

/// `mirroring`: `service`, `mirrors` (name, percent 0–100), `mirrorBody` (default true),
/// `maxBodySize` (bytes; -1 or absent: no limit).
fn mirroring(t: &Tree, at: &str) -> Result<Service, OptionError> {
    let (children, rest) = t.split_indexed("mirrors");
    rest.only(
        &["service", "mirrorBody", "maxBodySize", "healthCheck"],
        "mirroring",
    )?;
    empty_health_check(&rest, "mirroring")?;
    let mut mirrors = Vec::new();
    for (i, c) in children {
        c.only(&["name", "percent"], "a mirror")?;
        let percent = c.u64("percent")?.unwrap_or(0);
        if percent > 100 {
            let at = c.get("percent").map_or(at, |e| e.at.as_str());
            return Err(OptionError::new(
                at,
                format!("value {percent}: percent is between 0 and 100"),
            ));
        }
        mirrors.push(MirrorChild {
            name: c
                .required("name", &format!("{at}.mirrors[{i}]"))?
                .to_string(),
            percent: percent as u32,
        });
    }
    let max_body_size = match rest.i64("maxBodySize")? {
        None => None,
        Some(n) if n < 0 => None,
        Some(n) => Some(n as u64),
    };
    Ok(Service::Mirroring(MirroringService {
        service: rest.required("service", at)?.to_string(),
        mirrors,
        mirror_body: rest.bool("mirrorBody")?.unwrap_or(true),
        max_body_size,
    }))
}

/// `healthCheck: {}` on a weighted, failover or mirroring service: the switch that makes it
/// report its state to a parent, which portier's flattened services do anyway. Options in it
/// are refused.
fn empty_health_check(t: &Tree, kind: &str) -> Result<(), OptionError> {
    if let Some(e) = t.tree("healthCheck")?.and_then(|h| h.entries().next()) {
        return Err(OptionError::new(
            &e.at,
            format!(
                "{kind}.healthCheck takes no options (an empty healthCheck: the children's health decides)"
            ),
        ));
    }
    Ok(())
}

fn load_balancer(t: &Tree, at: &str) -> Result<Service, OptionError> {
    let (servers, rest) = t.split_indexed("servers");
    if let Some(e) = rest.get("server") {
        return Err(OptionError::new(
            &e.at,
            "a file's loadBalancer lists servers (servers: - url: …), not server",
        ));
    }
    let options = super::load_balancer(&rest, at)?;
    if servers.is_empty() {
        return Err(OptionError::new(
            at,
            "servers is required (servers: - url: …)",
        ));
    }
    let mut backend = Backend {
        load_balancer: LoadBalancer {
            stickiness: options.stickiness.clone(),
            ..LoadBalancer::default()
        },
        health_check: options.health_check.clone(),
        flush_interval: options.flush_interval,
        ..Backend::default()
    };
    for (i, s) in servers {
        s.only(&["url", "weight", "preservePath"], "a server")?;
        if let Some(e) = s.get("preservePath") {
            return Err(OptionError::new(
                &e.at,
                "servers[N].preservePath is not supported by portier yet",
            ));
        }
        let url = s.required("url", &format!("{at}.servers[{i}]"))?;
        if let Err(e) = model::update::parse_server_url(url) {
            let at = s.get("url").map_or(at, |e| e.at.as_str());
            return Err(OptionError::new(at, e.to_string()));
        }
        backend.servers.insert(
            format!("server-{i}"),
            Server {
                url: url.trim_end_matches('/').to_string(),
                weight: s.i64("weight")?.unwrap_or(1),
                origin: None,
            },
        );
    }
    Ok(Service::LoadBalancer(Box::new(LoadBalancerService {
        backend,
        pass_host_header: options.pass_host_header,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = "\
http:
  routers:
    canary:
      rule: Host(`a.com`) && PathPrefix(`/api`)
      entryPoints: [web]
      middlewares:
        - strip
        - auth@docker
      service: app
  middlewares:
    strip:
      stripPrefix:
        prefixes:
          - /api
  services:
    app:
      loadBalancer:
        passHostHeader: false
        healthCheck:
          path: /health
          interval: 5s
        servers:
          - url: http://10.0.0.2:8080/
          - url: http://10.0.0.3:8080
            weight: 3
";

    const TOML: &str = r#"
[http.routers.canary]
rule = "Host(`a.com`) && PathPrefix(`/api`)"
entryPoints = ["web"]
middlewares = ["strip", "auth@docker"]
service = "app"

[http.middlewares.strip.stripPrefix]
prefixes = ["/api"]

[http.services.app.loadBalancer]
passHostHeader = false
[http.services.app.loadBalancer.healthCheck]
path = "/health"
interval = "5s"
[[http.services.app.loadBalancer.servers]]
url = "http://10.0.0.2:8080/"
[[http.services.app.loadBalancer.servers]]
url = "http://10.0.0.3:8080"
weight = 3
"#;

    #[test]
    fn yaml_and_toml_read_the_same() {
        let p = Path::new("dyn");
        let y = read(p, YAML, true).expect("yaml");
        let t = read(p, TOML, false).expect("toml");
        assert!(y.errors.is_empty(), "{:?}", y.errors);
        assert!(t.errors.is_empty(), "{:?}", t.errors);
        let strip = |c: &ProviderConfig| {
            let mut h = c.http.clone();
            for (name, r) in c.http.routers.iter() {
                let mut r = (**r).clone();
                r.source = None;
                h.routers.insert(name.clone(), Arc::new(r));
            }
            h
        };
        assert_eq!(strip(&y), strip(&t));
        let r = &y.http.routers["canary"];
        assert_eq!(r.middlewares, ["strip", "auth@docker"]);
        assert_eq!(r.source.as_deref(), Some("dyn:3:5"));
        let Service::LoadBalancer(lb) = &*y.http.services["app"] else {
            panic!("a load balancer")
        };
        assert!(!lb.pass_host_header);
        assert_eq!(lb.backend.servers["server-0"].url, "http://10.0.0.2:8080");
        assert_eq!(lb.backend.servers["server-1"].weight, 3);
        assert!(is_v2_toml(TOML));
        assert!(!is_v2_toml("[frontends.f]\nbackend = \"b\"\n[[tls]]\n"));
    }

    #[test]
    fn client_auth_with_ca_files_verifies_by_default_as_traefik() {
        let ca = "-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----";
        let file = |kind: &str| {
            format!(
                "tls:\n  options:\n    default:\n      clientAuth:\n        caFiles: [\"{ca}\"]\n{kind}"
            )
        };
        let auth = |text: &str| {
            let c = read(Path::new("d.yml"), text, true).expect("parses");
            (c.tls.options["default"].client_auth.clone(), c.errors)
        };
        let (a, errors) = auth(&file(""));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            a.map(|a| a.optional),
            Some(false),
            "required without a type"
        );
        let (a, _) = auth(&file("        clientAuthType: VerifyClientCertIfGiven\n"));
        assert_eq!(a.map(|a| a.optional), Some(true));
        let c = read(
            Path::new("d.yml"),
            &file("        clientAuthType: RequestClientCert\n"),
            true,
        )
        .expect("parses");
        assert!(
            c.errors[0]
                .to_string()
                .contains("takes certificates without verifying them"),
            "{:?}",
            c.errors
        );
    }

    #[test]
    fn errors_point_at_the_key() {
        let bad = "\
http:
  middlewares:
    strip:
      stripPrefix:
        prefixs: [/api]
  services:
    app:
      failover:
        service: x
        fallback: y
        errors:
          status: [\"500\"]
";
        let c = read(Path::new("d.yml"), bad, true).expect("parses");
        let text: Vec<String> = c.errors.iter().map(ToString::to_string).collect();
        assert!(
            text.iter().any(|t| t.starts_with(
                "file d.yml:5:9 key http.middlewares.strip.stripPrefix.prefixs: unknown option"
            )),
            "{text:#?}"
        );
        assert!(
            text.iter().any(|t| t.starts_with(
                "file d.yml:11:9 key http.services.app.failover.errors: failover.errors (falling back on some answers) is not supported"
            )),
            "{text:#?}"
        );
        let e = read(Path::new("d.yml"), "http:\n  routers: [\n", true).expect_err("syntax");
        assert!(e.to_string().starts_with("d.yml:"), "{e}");
        let e = read(Path::new("d.toml"), "[http\n", false).expect_err("syntax");
        assert!(e.to_string().starts_with("d.toml:1:"), "{e}");
    }
}
