//! `portier migrate`: a Traefik 1.x configuration → its Traefik 3 equivalent, for users who
//! want to move forward (portier keeps running the 1.x one as it is). The static configuration
//! becomes a `traefik.yml`; a container's 1.x labels (read from standard input as `KEY=VALUE`
//! lines) become `traefik.http.*` labels. What has no 3.x equivalent, or that portier does not
//! read in 3.x form yet, is said in a `#` comment, never dropped silently.

use std::collections::BTreeMap;
use std::fmt::Write;

use config::{Config, FileProviderConfig, ForwardedHeaders};
use model::rules::{PathRewrite, migrate_rule};

/// A YAML double-quoted string.
fn q(s: &str) -> String {
    format!("{:?}", s)
}

/// The 1.x static configuration as a Traefik 3 `traefik.yml`.
pub fn static_yaml(c: &Config) -> String {
    let mut y = String::from(
        "# traefik.yml: written by `portier migrate` from a Traefik 1.x configuration\n",
    );
    let all: Vec<&str> = c.entry_points.iter().map(|e| e.name.as_str()).collect();
    let some_default = c.default_entry_points.len() < all.len();
    let _ = writeln!(y, "entryPoints:");
    for ep in &c.entry_points {
        let _ = writeln!(y, "  {}:", ep.name);
        let _ = writeln!(y, "    address: {}", q(&ep.address.text));
        if some_default && c.default_entry_points.contains(&ep.name) {
            let _ = writeln!(y, "    asDefault: true");
        }
        let redirect = ep.redirect.as_ref().and_then(|r| r.entry_point());
        if redirect.is_some() || ep.tls.is_some() {
            let _ = writeln!(y, "    http:");
        }
        if let Some(to) = redirect {
            let _ = writeln!(
                y,
                "      redirections:\n        entryPoint:\n          to: {to}"
            );
        } else if ep.redirect.is_some() {
            let _ = writeln!(
                y,
                "      # redirect.regex: a redirectRegex middleware on the routers"
            );
        }
        if let Some(tls) = &ep.tls {
            let acme_here = c.acme.as_ref().is_some_and(|a| a.entry_point == ep.name);
            if acme_here {
                let _ = writeln!(y, "      tls:\n        certResolver: default");
            } else {
                let _ = writeln!(y, "      tls: {{}}");
            }
            if !tls.certificates.is_empty() {
                let _ = writeln!(
                    y,
                    "      # certificates: tls.certificates in a dynamic file (portier reads them from the 1.x configuration only, so far)"
                );
            }
        }
        for (key, fh) in [
            ("forwardedHeaders", Some(&ep.forwarded_headers)),
            ("proxyProtocol", ep.proxy_protocol.as_ref()),
        ] {
            match fh {
                Some(ForwardedHeaders::Insecure) => {
                    let _ = writeln!(y, "    {key}:\n      insecure: true");
                }
                Some(ForwardedHeaders::Trusted(nets)) if !nets.is_empty() => {
                    let list: Vec<String> = nets
                        .iter()
                        .map(|n| q(&format!("{}/{}", n.addr, n.prefix)))
                        .collect();
                    let _ = writeln!(y, "    {key}:\n      trustedIPs: [{}]", list.join(", "));
                }
                _ => {}
            }
        }
        if ep.compress {
            let _ = writeln!(y, "    # compress: a compress middleware on the routers");
        }
        if !ep.middlewares.is_empty() {
            let _ = writeln!(
                y,
                "    # auth / whiteList: middlewares in a dynamic file, named in http.middlewares"
            );
        }
    }
    providers(c, &mut y);
    if let Some(w) = &c.web {
        let _ = writeln!(y, "api:\n  insecure: true\n  dashboard: {}", w.dashboard);
        if w.entry_point.is_none() && w.address.text != ":8080" {
            let _ = writeln!(
                y,
                "# the API's address: add entryPoints.traefik.address: {}",
                q(&w.address.text)
            );
        }
    }
    if let Some(ep) = &c.ping_entry_point {
        let _ = writeln!(y, "ping:\n  entryPoint: {ep}");
    }
    let _ = writeln!(
        y,
        "log:\n  level: {}",
        c.log_level.as_filter().to_ascii_uppercase()
    );
    if let Some(f) = &c.traefik_log_file {
        let _ = writeln!(y, "  filePath: {}", q(&f.display().to_string()));
    }
    if let Some(a) = &c.access_log {
        let _ = writeln!(y, "accessLog:");
        match &a.file_path {
            Some(p) => {
                let _ = writeln!(y, "  filePath: {}", q(&p.display().to_string()));
            }
            None => {
                let _ = writeln!(y, "  {{}}");
            }
        }
    }
    if let Some(a) = &c.acme {
        let _ = writeln!(y, "certificatesResolvers:\n  default:\n    acme:");
        if let Some(e) = &a.email {
            let _ = writeln!(y, "      email: {}", q(e));
        }
        let _ = writeln!(y, "      storage: {}", q(&a.storage.display().to_string()));
        let _ = writeln!(y, "      caServer: {}", q(&a.ca_server));
        let _ = writeln!(y, "      tlsChallenge: {{}}");
    }
    if c.insecure_skip_verify || !c.root_cas.is_empty() {
        let _ = writeln!(y, "serversTransport:");
        if c.insecure_skip_verify {
            let _ = writeln!(y, "  insecureSkipVerify: true");
        }
        if !c.root_cas.is_empty() {
            let list: Vec<String> = c.root_cas.iter().map(|r| q(r)).collect();
            let _ = writeln!(y, "  rootCAs: [{}]", list.join(", "));
        }
    }
    if c.retry_attempts > 1 {
        let _ = writeln!(
            y,
            "# retries ({}): a retry middleware on the routers (portier does not read it yet)",
            c.retry_attempts
        );
    }
    y
}

fn providers(c: &Config, y: &mut String) {
    if c.docker.is_none() && c.file.is_none() {
        return;
    }
    let _ = writeln!(y, "providers:");
    if let Some(d) = &c.docker {
        let _ = writeln!(y, "  docker:");
        let _ = writeln!(y, "    endpoint: {}", q(&d.endpoint));
        let _ = writeln!(y, "    exposedByDefault: {}", d.exposed_by_default);
        let _ = writeln!(y, "    watch: {}", d.watch);
        if !d.network.is_empty() {
            let _ = writeln!(y, "    network: {}", q(&d.network));
        }
        if d.use_bind_port_ip {
            let _ = writeln!(y, "    useBindPortIP: true");
        }
        if d.swarm_mode {
            let _ = writeln!(y, "    swarmMode: true");
        }
        if !d.domain.is_empty() {
            let _ = writeln!(
                y,
                "    defaultRule: {}",
                q(&format!("Host(`{{{{ normalize .Name }}}}.{}`)", d.domain))
            );
        }
        if !d.constraints.is_empty() {
            // 1.x tags are the comma-separated `traefik.tags` label.
            let parts: Vec<String> = d
                .constraints
                .iter()
                .map(|k| {
                    let re = regex_escape(&k.pattern).replace("\\*", ".*");
                    let one = format!("LabelRegex(`traefik.tags`, `(^|,)\\s*{re}\\s*(,|$)`)");
                    if k.negate { format!("!{one}") } else { one }
                })
                .collect();
            let _ = writeln!(y, "    constraints: {}", q(&parts.join(" && ")));
        }
    }
    match &c.file {
        None => {}
        Some(FileProviderConfig::Inline) => {
            let _ = writeln!(
                y,
                "  # file: the frontends and backends written in traefik.toml go to a dynamic file"
            );
        }
        Some(FileProviderConfig::File { path, watch }) => {
            let _ = writeln!(
                y,
                "  file:\n    filename: {}\n    watch: {watch}",
                q(&path.display().to_string())
            );
        }
        Some(FileProviderConfig::Directory { path, watch }) => {
            let _ = writeln!(
                y,
                "  file:\n    directory: {}\n    watch: {watch}",
                q(&path.display().to_string())
            );
        }
    }
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$".contains(c);
            special
                .then_some('\\')
                .into_iter()
                .chain(std::iter::once(c))
        })
        .collect()
}

/// A container's 1.x labels → 3.x labels (`KEY=VALUE` lines) and `#` notes for what does not
/// carry over. `name` names the router and service when `traefik.backend` does not.
pub fn labels(name: &str, labels: &BTreeMap<String, String>) -> String {
    let mut out = Vec::new();
    let mut notes = Vec::new();
    let n = model::rules::default_rule::normalize(
        labels.get("traefik.backend").map_or(name, String::as_str),
    );
    let r = format!("traefik.http.routers.{n}");
    let s = format!("traefik.http.services.{n}.loadbalancer");
    let mut middlewares: Vec<String> = Vec::new();
    let mut mw = |kind: &str, opts: Vec<(String, String)>, out: &mut Vec<(String, String)>| {
        let m = format!("{n}-{}", kind.to_ascii_lowercase());
        for (k, v) in opts {
            out.push((format!("traefik.http.middlewares.{m}.{kind}.{k}"), v));
        }
        middlewares.push(m);
    };
    for (key, value) in labels {
        let lower = key.to_ascii_lowercase();
        match lower.as_str() {
            "traefik.enable" | "traefik.docker.network" | "traefik.tags" => {
                out.push((key.clone(), value.clone()))
            }
            "traefik.backend" => {}
            "traefik.port" => out.push((format!("{s}.server.port"), value.clone())),
            "traefik.protocol" => out.push((format!("{s}.server.scheme"), value.clone())),
            "traefik.weight" => out.push((format!("{s}.server.weight"), value.clone())),
            "traefik.frontend.rule" => match migrate_rule(value) {
                Ok(m) => {
                    out.push((format!("{r}.rule"), m.rule));
                    if m.syntax == model::rules::Syntax::V2 {
                        out.push((format!("{r}.ruleSyntax"), "v2".into()));
                    }
                    for rw in m.rewrites {
                        let (kind, opts) = match rw {
                            PathRewrite::StripPrefix(p) => ("stripprefix", vec![("prefixes".into(), p.join(","))]),
                            PathRewrite::StripPrefixRegex(p) => ("stripprefixregex", vec![("regex".into(), p.join(","))]),
                            PathRewrite::AddPrefix(p) => ("addprefix", vec![("prefix".into(), p)]),
                            PathRewrite::ReplacePath(p) => ("replacepath", vec![("path".into(), p)]),
                            PathRewrite::ReplacePathRegex(re, with) => (
                                "replacepathregex",
                                vec![("regex".into(), re), ("replacement".into(), with)],
                            ),
                        };
                        mw(kind, opts, &mut out);
                    }
                }
                Err(e) => notes.push(format!("{key}: the 1.x rule does not parse ({e}); not migrated")),
            },
            "traefik.frontend.entrypoints" => out.push((format!("{r}.entrypoints"), value.clone())),
            "traefik.frontend.priority" => out.push((format!("{r}.priority"), value.clone())),
            "traefik.frontend.passhostheader" => out.push((format!("{s}.passhostheader"), value.clone())),
            "traefik.frontend.redirect.entrypoint" => mw(
                "redirectscheme",
                vec![
                    ("scheme".into(), "https".into()),
                    ("permanent".into(), labels.get("traefik.frontend.redirect.permanent").cloned().unwrap_or_else(|| "false".into())),
                ],
                &mut out,
            ),
            "traefik.frontend.redirect.regex" => mw(
                "redirectregex",
                vec![
                    ("regex".into(), value.clone()),
                    ("replacement".into(), labels.get("traefik.frontend.redirect.replacement").cloned().unwrap_or_default()),
                    ("permanent".into(), labels.get("traefik.frontend.redirect.permanent").cloned().unwrap_or_else(|| "false".into())),
                ],
                &mut out,
            ),
            "traefik.frontend.redirect.replacement" | "traefik.frontend.redirect.permanent" => {}
            "traefik.frontend.auth.basic.users" | "traefik.frontend.auth.basic" => {
                mw("basicauth", vec![("users".into(), value.clone())], &mut out)
            }
            "traefik.frontend.auth.digest.users" => {
                mw("digestauth", vec![("users".into(), value.clone())], &mut out)
            }
            "traefik.frontend.auth.forward.address" => {
                mw("forwardauth", vec![("address".into(), value.clone())], &mut out)
            }
            "traefik.frontend.whitelist.sourcerange" | "traefik.frontend.whitelistsourcerange" => {
                mw("ipallowlist", vec![("sourcerange".into(), value.clone())], &mut out)
            }
            "traefik.frontend.headers.customrequestheaders"
            | "traefik.frontend.headers.customresponseheaders" => {
                let which = if lower.ends_with("requestheaders") {
                    "customrequestheaders"
                } else {
                    "customresponseheaders"
                };
                let opts = value
                    .split("||")
                    .filter_map(|kv| kv.split_once(':'))
                    .map(|(k, v)| (format!("{which}.{}", k.trim()), v.trim().to_string()))
                    .collect();
                mw("headers", opts, &mut out);
            }
            "traefik.backend.healthcheck.path" => out.push((format!("{s}.healthcheck.path"), value.clone())),
            "traefik.backend.healthcheck.interval" => out.push((format!("{s}.healthcheck.interval"), value.clone())),
            "traefik.backend.healthcheck.port" => out.push((format!("{s}.healthcheck.port"), value.clone())),
            "traefik.backend.healthcheck.hostname" => out.push((format!("{s}.healthcheck.hostname"), value.clone())),
            "traefik.backend.loadbalancer.stickiness" | "traefik.backend.loadbalancer.sticky" => {
                out.push((format!("{s}.sticky.cookie"), value.clone()))
            }
            "traefik.backend.loadbalancer.stickiness.cookiename" => {
                out.push((format!("{s}.sticky.cookie.name"), value.clone()))
            }
            "traefik.backend.circuitbreaker.expression" | "traefik.backend.circuitbreaker" => {
                mw("circuitbreaker", vec![("expression".into(), value.clone())], &mut out)
            }
            "traefik.backend.maxconn.amount" => mw("inflightreq", vec![("amount".into(), value.clone())], &mut out),
            _ if lower.starts_with("traefik.") => notes.push(format!(
                "{key}={value}: not migrated automatically; see the README's Traefik 2.x / 3.x section"
            )),
            _ => {}
        }
    }
    // Two header labels make one headers middleware; its name appears once.
    middlewares.dedup();
    if !middlewares.is_empty() {
        out.push((format!("{r}.middlewares"), middlewares.join(",")));
    }
    out.sort();
    out.dedup();
    let mut text = String::new();
    for (k, v) in out {
        let _ = writeln!(text, "{k}={v}");
    }
    for note in notes {
        let _ = writeln!(text, "# {note}");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_become_routers_services_and_middlewares() {
        let l: BTreeMap<String, String> = [
            ("traefik.backend", "web"),
            ("traefik.port", "8080"),
            ("traefik.frontend.rule", "Host:a.com;PathPrefixStrip:/api"),
            ("traefik.frontend.auth.basic.users", "u:$apr1$x$y"),
            (
                "traefik.frontend.headers.customRequestHeaders",
                "X-A:1||X-B:2",
            ),
            ("traefik.backend.healthcheck.path", "/health"),
            ("traefik.frontend.rateLimit.extractorFunc", "client.ip"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let text = labels("ignored", &l);
        for line in [
            "traefik.http.routers.web.rule=Host(`a.com`) && PathPrefix(`/api`)",
            "traefik.http.services.web.loadbalancer.server.port=8080",
            "traefik.http.middlewares.web-stripprefix.stripprefix.prefixes=/api",
            "traefik.http.middlewares.web-basicauth.basicauth.users=u:$apr1$x$y",
            "traefik.http.middlewares.web-headers.headers.customrequestheaders.X-A=1",
            "traefik.http.services.web.loadbalancer.healthcheck.path=/health",
            "traefik.http.routers.web.middlewares=web-basicauth,web-headers,web-stripprefix",
            "# traefik.frontend.rateLimit.extractorFunc=client.ip: not migrated",
        ] {
            assert!(text.contains(line), "{line} not in\n{text}");
        }
    }
}
