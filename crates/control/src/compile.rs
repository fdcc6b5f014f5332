//! The compiler: every provider's snapshot → one immutable [`RoutingTable`]. Bad frontends are
//! left out (or, asking for a protection not enforced, kept answering 503) and reported; the
//! [`Registry`] keeps per-server and per-frontend state across generations.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use http::uri::Scheme;
use model::dynamic::{Backend, ProviderConfig, ProviderError};
use model::metrics::TrafficMetrics;
use model::rules;
use model::update::{Protocol, parse_server_url};

use crate::server::ServerState;
use crate::table::{BackendRuntime, CompiledRoute, EntryPointRoutes, RoutingTable, ServerRuntime};

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

/// State that outlives tables: servers by (provider, backend, URL), frontend metrics by
/// (provider, frontend).
#[derive(Debug, Default)]
pub struct Registry {
    pub servers: HashMap<(String, String, String), Arc<ServerState>>,
    pub routes: HashMap<(String, String), Arc<TrafficMetrics>>,
}

impl Registry {
    pub fn new() -> Registry {
        Registry::default()
    }
}

/// Builds a routing table from every provider's snapshot. Bad frontends are left out and
/// recorded in `errors`; everything else is kept.
pub fn compile(
    providers: &BTreeMap<String, Arc<ProviderConfig>>,
    settings: &CompileSettings,
    registry: &mut Registry,
    generation: u64,
) -> RoutingTable {
    let mut errors = Vec::new();
    let mut per_ep: HashMap<String, Vec<Arc<CompiledRoute>>> = HashMap::new();
    let mut used = HashSet::new();
    let mut used_routes = HashSet::new();
    for (pname, config) in providers {
        errors.extend(config.errors.iter().cloned());
        let mut backends: HashMap<&str, Arc<BackendRuntime>> = HashMap::new();
        for (bname, backend) in &config.backends {
            let rt = backend_runtime(
                pname,
                bname,
                backend,
                settings.max_conns_per_server,
                registry,
                &mut used,
                &mut errors,
            );
            backends.insert(bname.as_str(), Arc::new(rt));
        }
        for (fname, f) in &config.frontends {
            let fail = |message: String| ProviderError {
                source: format!("{pname} frontend {fname}"),
                message,
            };
            let Some(backend) = backends.get(f.backend.as_str()) else {
                errors.push(fail(format!("undefined backend {:?}", f.backend)));
                continue;
            };
            if f.routes.is_empty() {
                errors.push(fail("has no routes".to_string()));
                continue;
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
                continue;
            }
            let texts: Vec<&str> = f.routes.values().map(|r| r.rule.as_str()).collect();
            let eps = if f.entry_points.is_empty() {
                &settings.default_entry_points
            } else {
                &f.entry_points
            };
            let (known, unknown): (Vec<&String>, Vec<&String>) =
                eps.iter().partition(|e| settings.entry_points.contains(e));
            if !unknown.is_empty() {
                errors.push(fail(format!(
                    "entrypoints {unknown:?} are not defined; ignored"
                )));
            }
            if known.is_empty() {
                errors.push(fail(
                    "no defined entrypoint left; frontend skipped".to_string(),
                ));
                continue;
            }
            let route_key = (pname.clone(), fname.clone());
            let metrics = Arc::clone(registry.routes.entry(route_key.clone()).or_default());
            used_routes.insert(route_key);
            let redirect = match &f.redirect {
                None => None,
                Some(r) => {
                    match settings.redirect_targets.get(&r.entry_point) {
                        Some(&(https, port)) => Some(config::Redirect {
                            entry_point: r.entry_point.clone(),
                            https,
                            port,
                            permanent: r.permanent,
                        }),
                        None => {
                            errors.push(fail(format!("redirect to entrypoint {:?}, which is not defined; frontend skipped", r.entry_point)));
                            continue;
                        }
                    }
                }
            };
            let route = Arc::new(CompiledRoute {
                redirect,
                metrics,
                frontend: fname.clone(),
                provider: pname.clone(),
                priority: rules::priority(f.priority, &texts),
                rule,
                pass_host_header: f.pass_host_header,
                backend: Arc::clone(backend),
                unenforced: !f.unenforced.is_empty()
                    || config
                        .backends
                        .get(&f.backend)
                        .is_some_and(|b| !b.unenforced.is_empty()),
            });
            for ep in known {
                per_ep
                    .entry(ep.clone())
                    .or_default()
                    .push(Arc::clone(&route));
            }
        }
    }
    registry.servers.retain(|k, _| used.contains(k));
    registry.routes.retain(|k, _| used_routes.contains(k));
    RoutingTable {
        servers: registry.servers.clone(),
        entry_points: settings
            .entry_points
            .iter()
            .map(|ep| {
                (
                    ep.clone(),
                    EntryPointRoutes::new(per_ep.remove(ep).unwrap_or_default()),
                )
            })
            .collect(),
        providers: providers.clone(),
        errors,
        generation,
    }
}

fn backend_runtime(
    pname: &str,
    bname: &str,
    backend: &Backend,
    max_conns: usize,
    registry: &mut Registry,
    used: &mut HashSet<(String, String, String)>,
    errors: &mut Vec<ProviderError>,
) -> BackendRuntime {
    let mut servers = Vec::new();
    for (sname, server) in &backend.servers {
        let fail = |message: String| ProviderError {
            source: format!("{pname} backend {bname} server {sname}"),
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
                errors.push(fail(e));
                continue;
            }
        };
        let key = (pname.to_string(), bname.to_string(), server.url.clone());
        let state = Arc::clone(registry.servers.entry(key.clone()).or_insert_with(|| {
            // Under an active check a new server waits for its first passing probe.
            let s = ServerState::with_limit(max_conns);
            if backend.health_check.is_some() {
                s.set_healthy(false);
            }
            Arc::new(s)
        }));
        used.insert(key);
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
    BackendRuntime::new(bname.to_string(), servers)
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
        assert_eq!(registry.servers.len(), 1);
        assert!(registry.servers.keys().all(|k| k.2 == "http://127.0.0.1:9"));
    }
}
