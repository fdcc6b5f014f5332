//! Merges the providers' snapshots, compiles them into a [`RoutingTable`] and publishes it.
//!
//! The aggregator task is the only writer of the shared `ArcSwap<RoutingTable>`. Providers send
//! whole snapshots; queued snapshots are coalesced (latest wins per provider) and a snapshot
//! equal to the provider's previous one is skipped. Per-server state lives in a registry keyed
//! by (provider, backend, URL), so a rebuild keeps health and counters.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwap;
use http::Uri;
use http::uri::Scheme;
use tokio::sync::{mpsc, watch};

use crate::balancer::ServerState;
use crate::dynamic::{Backend, ProviderConfig, ProviderError};
use crate::metrics::{ControlMetrics, TrafficMetrics};
use crate::router::{
    BackendRuntime, CompiledRoute, EntryPointRoutes, Protocol, RoutingTable, ServerRuntime,
};
use crate::rules;

/// How many snapshots may wait before a provider's `send` waits.
const UPDATE_QUEUE: usize = 16;

/// A whole new snapshot from one provider.
#[derive(Debug)]
pub struct ProviderUpdate {
    pub provider: String,
    pub config: ProviderConfig,
}

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

/// The aggregator's inputs and outputs.
#[derive(Debug, Clone)]
pub struct Handle {
    pub updates: mpsc::Sender<ProviderUpdate>,
    pub tables: watch::Receiver<Arc<RoutingTable>>,
}

/// Starts the aggregator; it stops when every `updates` sender is dropped.
pub fn spawn(
    settings: CompileSettings,
    table: Arc<ArcSwap<RoutingTable>>,
    control: Arc<ControlMetrics>,
) -> Handle {
    let (tx, mut rx) = mpsc::channel::<ProviderUpdate>(UPDATE_QUEUE);
    let (watch_tx, watch_rx) = watch::channel(table.load_full());
    tokio::spawn(async move {
        let mut providers: BTreeMap<String, Arc<ProviderConfig>> = BTreeMap::new();
        let mut registry = Registry::new();
        let mut generation = 0u64;
        let mut logged: HashSet<String> = HashSet::new();
        while let Some(first) = rx.recv().await {
            let mut changed = apply(&mut providers, first);
            while let Ok(more) = rx.try_recv() {
                changed |= apply(&mut providers, more);
            }
            if !changed {
                tracing::debug!("skipping a configuration equal to the current one");
                continue;
            }
            generation += 1;
            let started = Instant::now();
            let new = compile(&providers, &settings, &mut registry, generation);
            let now: HashSet<String> = new.errors.iter().map(ToString::to_string).collect();
            for e in now.difference(&logged) {
                tracing::error!("configuration error: {e}");
            }
            logged = now;
            let frontends: usize = new.providers.values().map(|p| p.frontends.len()).sum();
            tracing::info!(
                generation,
                frontends,
                errors = new.errors.len(),
                "configuration applied in {:?}",
                started.elapsed()
            );
            let took = started.elapsed();
            control
                .config_reloads
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            control
                .last_reload_ns
                .store(took.as_nanos() as u64, std::sync::atomic::Ordering::Relaxed);
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            control
                .last_reload_unix
                .store(now, std::sync::atomic::Ordering::Relaxed);
            let new = Arc::new(new);
            table.store(Arc::clone(&new));
            watch_tx.send_replace(new);
        }
    });
    Handle {
        updates: tx,
        tables: watch_rx,
    }
}

fn apply(providers: &mut BTreeMap<String, Arc<ProviderConfig>>, u: ProviderUpdate) -> bool {
    if providers
        .get(&u.provider)
        .is_some_and(|old| **old == u.config)
    {
        return false;
    }
    providers.insert(u.provider, Arc::new(u.config));
    true
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
                        Some(&(https, port)) => Some(crate::config::Redirect {
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

/// `http://10.0.0.2:8080` or `h2c://10.0.0.2:50051` → protocol and authority.
pub fn parse_server_url(url: &str) -> Result<(Protocol, http::uri::Authority), String> {
    let uri: Uri = url
        .parse()
        .map_err(|e| format!("url {url:?} is not a valid URL: {e}"))?;
    let scheme = uri
        .scheme()
        .cloned()
        .ok_or_else(|| format!("url {url:?} needs a scheme, e.g. http://{url}"))?;
    let protocol = match scheme.as_str() {
        "http" => Protocol::Http1,
        "h2c" => Protocol::H2c,
        "https" => Protocol::Https,
        other => {
            return Err(format!(
                "url {url:?}: scheme {other:?} is not supported (use http, https or h2c)"
            ));
        }
    };
    let authority = uri
        .authority()
        .cloned()
        .ok_or_else(|| format!("url {url:?} has no host"))?;
    if authority.host().is_empty() {
        return Err(format!("url {url:?} has no host"));
    }
    Ok((protocol, authority))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dynamic::{Frontend, Route, Server};

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
