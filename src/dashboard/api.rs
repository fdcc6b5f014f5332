//! The JSON API in Traefik 1.x shapes (`/api`, `/api/providers/...`, `/health`) plus what
//! Traefik lacks: each server's state (up, down, ejected, draining, paused, starting,
//! unhealthy) with since when and why, "k of n up" per backend, each route's health, an
//! overview in Traefik 2/3's shape, traffic history, and errors with when they were seen.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, MutexGuard};
use std::time::Instant;

use serde_json::{Map, Value, json};

use super::WebState;
use super::observe::{self, Observer, Standing};
use control::table::{BackendRuntime, CompiledRoute, RoutingTable};
use model::dynamic::{Backend, Frontend, ProviderConfig};

/// Among the last minute's answers, the 5xx share above which a route is a warning, and the
/// fewest answers for the share to count.
const WARN_5XX: f64 = 0.05;
const MIN_ANSWERS: u64 = 10;

/// What one API answer reads, gathered once: the sampled state, and each
/// frontend's compiled route (so 1,000 frontends cost 1,000 lookups, not 1,000 scans).
pub(super) struct View<'a> {
    pub(super) state: &'a WebState,
    pub(super) table: &'a RoutingTable,
    obs: Option<MutexGuard<'a, Observer>>,
    pub(super) compiled: HashMap<(&'a str, &'a str), &'a Arc<CompiledRoute>>,
}

impl<'a> View<'a> {
    pub(super) fn new(state: &'a WebState, table: &'a RoutingTable) -> View<'a> {
        let mut compiled = HashMap::new();
        for r in table.entry_points.values().flat_map(|ep| ep.routes()) {
            compiled
                .entry((r.provider.as_str(), r.frontend.as_str()))
                .or_insert(r);
        }
        View {
            state,
            table,
            obs: state.observer.lock().ok().map(|mut o| {
                o.catch_up(super::unix_ms(), table);
                o
            }),
            compiled,
        }
    }

    fn backend_runtime(&self, provider: &str, name: &str) -> Option<&Arc<BackendRuntime>> {
        self.table.servers.backend(provider, name)
    }
}

/// `{"docker": {...}, "file": {...}}`.
pub(super) fn providers(state: &WebState, table: &RoutingTable) -> Value {
    let view = View::new(state, table);
    let map: Map<String, Value> = table
        .providers
        .iter()
        .map(|(name, p)| (name.clone(), provider(&view, name, p)))
        .collect();
    Value::Object(map)
}

/// One provider: `{"backends": {...}, "frontends": {...}, "errors": [...]}`, plus `warnings`
/// (input portier does not act on yet) when there are any.
pub(super) fn provider(view: &View<'_>, name: &str, p: &ProviderConfig) -> Value {
    let backends: Map<String, Value> = p
        .backends
        .iter()
        .map(|(b, backend)| (b.clone(), self::backend(view, name, b, backend)))
        .collect();
    let frontends: Map<String, Value> = p
        .frontends
        .iter()
        .map(|(f, fe)| (f.clone(), frontend(view, name, f, fe)))
        .collect();
    // The table holds the compile errors, lowering's included (they are in `p` too).
    let errors: Vec<Value> = p
        .errors
        .iter()
        .filter(|e| !e.is_compile_error_of(name))
        .chain(
            view.table
                .errors
                .iter()
                .filter(|e| e.is_compile_error_of(name)),
        )
        .map(|e| json!(e))
        .collect();
    let mut v = json!({"backends": backends, "frontends": frontends, "errors": errors});
    if let (false, Some(obj)) = (p.warnings.is_empty(), v.as_object_mut()) {
        obj.insert("warnings".into(), json!(p.warnings));
    }
    v
}

/// How many of a backend's servers take traffic, of how many it has (held ones included).
struct Count {
    up: usize,
    total: usize,
}

fn count(view: &View<'_>, provider: &str, name: &str, b: &Backend) -> Count {
    let up = b
        .servers
        .values()
        .filter(|s| {
            view.table
                .servers
                .get(&(provider.to_string(), name.to_string(), s.url.clone()))
                .is_none_or(|st| observe::live(st).0 == Standing::Up)
        })
        .count();
    Count {
        up,
        total: b.servers.len() + b.held.len(),
    }
}

fn breaker_state(view: &View<'_>, provider: &str, name: &str) -> Option<&'static str> {
    view.backend_runtime(provider, name)
        .and_then(|r| r.breaker.as_ref().map(|b| b.breaker.state(Instant::now())))
        .map(|s| s.as_str())
}

/// A backend's health for the overview: failing without a usable server or with its breaker
/// tripped, a warning when some servers are out.
pub(super) fn backend_health(
    view: &View<'_>,
    provider: &str,
    name: &str,
    b: &Backend,
) -> (Level, Vec<String>) {
    // `api@internal`: portier itself answers.
    if name.ends_with("@internal") {
        return (Level::Ok, Vec::new());
    }
    let c = count(view, provider, name, b);
    let mut problems = Vec::new();
    let mut level = Level::Ok;
    if c.up == 0 {
        level = Level::Failing;
        problems.push(if c.total == 0 {
            "no server: answers 503".to_string()
        } else {
            format!("0 of {} servers up: answers 503", c.total)
        });
    } else if c.up < c.total {
        level = Level::Warning;
        problems.push(format!("{} of {} servers up", c.up, c.total));
    }
    if let Some(state @ ("tripped" | "recovering")) = breaker_state(view, provider, name) {
        level = level.max(if state == "tripped" {
            Level::Failing
        } else {
            Level::Warning
        });
        problems.push(format!("circuit breaker {state}"));
    }
    if !b.unenforced.is_empty() {
        level = Level::Failing;
        problems.push(format!(
            "503: protection not enforced ({})",
            b.unenforced.join(", ")
        ));
    }
    (level, problems)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Level {
    Ok,
    Warning,
    Failing,
}

impl Level {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warning => "warning",
            Level::Failing => "failing",
        }
    }
}

fn health_json((level, problems): (Level, Vec<String>)) -> Value {
    json!({"level": level.as_str(), "problems": problems})
}

pub(super) fn backend(view: &View<'_>, provider: &str, name: &str, b: &Backend) -> Value {
    let c = count(view, provider, name, b);
    let mut v = json!({
        "servers": servers(view, provider, name, b),
        "loadBalancer": b.load_balancer,
        "up": c.up,
        "total": c.total,
        "health": health_json(backend_health(view, provider, name, b)),
    });
    if let Some(obj) = v.as_object_mut() {
        let held = held(view, provider, name, b);
        if !held.is_empty() {
            obj.insert("held".into(), Value::Object(held));
        }
        if let Some(m) = &b.max_conn {
            obj.insert("maxConn".into(), json!(m));
        }
        if let Some(cb) = &b.circuit_breaker {
            // The breaker lives with the compiled backend.
            obj.insert(
                "circuitBreaker".into(),
                json!({"expression": cb.expression, "state": breaker_state(view, provider, name)}),
            );
        }
        if !b.unenforced.is_empty() {
            obj.insert("unenforced".into(), json!(b.unenforced));
        }
    }
    v
}

fn since_of(view: &View<'_>, key: &observe::ServerKey) -> Option<u64> {
    view.obs
        .as_ref()
        .and_then(|o| o.timeline(key))
        .and_then(|t| t.since_ms())
}

pub(super) fn servers(view: &View<'_>, provider: &str, backend: &str, b: &Backend) -> Value {
    let map: Map<String, Value> = b
        .servers
        .iter()
        .map(|(s, server)| {
            let key = (
                provider.to_string(),
                backend.to_string(),
                server.url.clone(),
            );
            let mut v = json!({"url": server.url, "weight": server.weight});
            let Some(obj) = v.as_object_mut() else {
                return (s.clone(), v);
            };
            if let Some(origin) = &server.origin {
                obj.insert("origin".into(), json!(origin));
            }
            if let Some(st) = view.table.servers.get(&key) {
                let (standing, reason) = observe::live(st);
                let tkey = (provider.to_string(), backend.to_string(), s.clone());
                // The sampler's last change, or the state's own until it has sampled it.
                let since = since_of(view, &tkey).unwrap_or(st.since_ms());
                obj.insert(
                    "status".into(),
                    json!(if st.is_healthy() { "up" } else { "down" }),
                );
                obj.insert("state".into(), json!(standing.as_str()));
                obj.insert("reason".into(), json!(reason));
                obj.insert("since".into(), json!(model::clock::rfc3339_ms(since)));
                obj.insert(
                    "lastError".into(),
                    json!(st.last_error().map(|e| e.to_string())),
                );
                obj.insert(
                    "lastErrorAt".into(),
                    json!(st.last_error_ms().map(model::clock::rfc3339_ms)),
                );
                obj.insert("openConnections".into(), json!(st.open_connections()));
                obj.insert("totalRequests".into(), json!(st.total_requests()));
                obj.insert(
                    "requestRate".into(),
                    json!(
                        view.obs
                            .as_ref()
                            .and_then(|o| o.rates.get(&tkey))
                            .map_or(0.0, |r| r.1)
                    ),
                );
            }
            (s.clone(), v)
        })
        .collect();
    Value::Object(map)
}

/// Servers out of rotation: held by the provider (paused, starting, unhealthy, stopping) or
/// dropped with requests still in flight (draining).
fn held(view: &View<'_>, provider: &str, backend: &str, b: &Backend) -> Map<String, Value> {
    let mut out: Map<String, Value> = b
        .held
        .iter()
        .map(|(s, h)| {
            let key = (provider.to_string(), backend.to_string(), s.clone());
            let mut v = json!({
                "url": h.url,
                "state": Standing::of_hold(h.state).as_str(),
                "reason": h.reason,
                "since": since_of(view, &key).map(model::clock::rfc3339_ms),
            });
            if let (Some(origin), Some(obj)) = (&h.origin, v.as_object_mut()) {
                obj.insert("origin".into(), json!(origin));
            }
            (s.clone(), v)
        })
        .collect();
    if let Some(obs) = &view.obs {
        for ((p, b, s), d) in &obs.draining {
            if p == provider && b == backend {
                out.insert(
                    s.clone(),
                    json!({
                        "url": d.url,
                        "state": "draining",
                        "reason": format!("removed from the configuration; {} requests still in flight", d.state.open_connections()),
                        "since": model::clock::rfc3339_ms(d.since_ms),
                        "openConnections": d.state.open_connections(),
                    }),
                );
            }
        }
    }
    out
}

/// Why compiling refused a frontend: its compile errors, or its backend's protection.
fn refusal_reasons(table: &RoutingTable, provider: &str, name: &str) -> Vec<String> {
    let reasons = compile_errors(table, provider, name);
    if reasons.is_empty() {
        vec!["a protection of its backend".to_string()]
    } else {
        reasons
    }
}

fn compile_errors(table: &RoutingTable, provider: &str, name: &str) -> Vec<String> {
    // A lowered 2.x/3.x router's errors name it as a router.
    let items = [format!("frontend {name}"), format!("router {name}")];
    table
        .errors
        .iter()
        .filter_map(|e| match e {
            model::dynamic::ProviderError::Compile {
                provider: p,
                item: i,
                message,
                ..
            } if p == provider && items.contains(i) => Some(message.clone()),
            _ => None,
        })
        .collect()
}

/// A frontend's health: failing when it cannot answer but 503 (or is not routed at all), a
/// warning when some servers are out or more than 5% of the last minute's answers were 5xx.
pub(super) fn frontend_health(
    view: &View<'_>,
    provider: &str,
    name: &str,
    f: &Frontend,
) -> (Level, Vec<String>) {
    let mut problems = Vec::new();
    let mut level = Level::Ok;
    let compiled = view.compiled.get(&(provider, name));
    match compiled {
        None => {
            level = Level::Failing;
            let why = compile_errors(view.table, provider, name);
            problems.push(if why.is_empty() {
                "not routed".to_string()
            } else {
                format!("not routed: {}", why.join("; "))
            });
        }
        Some(r) if r.unenforced => {
            level = Level::Failing;
            problems.push(if f.unenforced.is_empty() {
                "503: protection not enforced".to_string()
            } else {
                format!("503: protection not enforced ({})", f.unenforced.join("; "))
            });
        }
        Some(_) => {}
    }
    if compiled.is_some() {
        let backend = view
            .table
            .providers
            .get(provider)
            .and_then(|p| p.backends.get(&f.backend));
        if let Some(b) = backend {
            let (l, p) = backend_health(view, provider, &f.backend, b);
            level = level.max(l);
            problems.extend(p.into_iter().map(|p| format!("backend {}: {p}", f.backend)));
        }
    }
    if let Some(series) = view
        .obs
        .as_ref()
        .and_then(|o| o.frontends.get(&(provider.to_string(), name.to_string())))
    {
        let s = series.summary();
        let requests = s["window"]["requests"].as_u64().unwrap_or(0);
        let ratio = series.error_ratio();
        if requests >= MIN_ANSWERS && ratio > WARN_5XX {
            level = level.max(if ratio >= 0.99 {
                Level::Failing
            } else {
                Level::Warning
            });
            problems.push(format!(
                "{:.0}% of the last minute's {requests} answers were 5xx",
                ratio * 100.0
            ));
        }
    }
    (level, problems)
}

pub(super) fn frontend(view: &View<'_>, provider: &str, name: &str, f: &Frontend) -> Value {
    let entry_points = if f.entry_points.is_empty() {
        &view.state.default_entry_points
    } else {
        &f.entry_points
    };
    let routes: BTreeMap<&String, Value> = f
        .routes
        .iter()
        .map(|(r, route)| (r, json!({"rule": route.rule})))
        .collect();
    let rules: Vec<&str> = f.routes.values().map(|r| r.rule.as_str()).collect();
    let compiled = view.compiled.get(&(provider, name));
    let active = compiled.is_some();
    let mut v = json!({
        "entryPoints": entry_points,
        "backend": f.backend,
        "routes": routes,
        "passHostHeader": f.pass_host_header,
        "priority": f.priority,
        "effectivePriority": model::rules::priority(f.priority, &rules),
        "basicAuth": null,
        "active": active,
        "health": health_json(frontend_health(view, provider, name, f)),
    });
    if let Some(obj) = v.as_object_mut() {
        // Each middleware's settings in Traefik's shape (users by name only), and their names
        // in the order they run, for the dashboard.
        if let Value::Object(m) = json!(f.middlewares) {
            obj.extend(m);
        }
        // A 2.x/3.x router's middlewares as it names them; a 1.x frontend's by kind.
        let declared = (view.table.providers.get(provider)).and_then(|p| p.http.routers.get(name));
        obj.insert(
            "middlewares".into(),
            declared.map_or_else(|| json!(f.middlewares.names()), |r| json!(r.middlewares)),
        );
        if f.rule_syntax != model::rules::Syntax::V1 {
            obj.insert("ruleSyntax".into(), json!(f.rule_syntax.as_str()));
        }
        // Rule zero: the protections it asked for and portier refuses it over (it answers 503),
        // as its provider found them or, failing that, as compiling it did.
        let refused = compiled.is_some_and(|r| r.unenforced);
        let unenforced: Vec<String> = if !f.unenforced.is_empty() || !refused {
            f.unenforced.clone()
        } else {
            refusal_reasons(view.table, provider, name)
        };
        if !unenforced.is_empty() {
            obj.insert("unenforced".into(), json!(unenforced));
        }
    }
    v
}

#[derive(Default)]
struct Tally {
    total: usize,
    warnings: usize,
    errors: usize,
}

impl Tally {
    fn add(&mut self, level: Level) {
        self.total += 1;
        match level {
            Level::Ok => {}
            Level::Warning => self.warnings += 1,
            Level::Failing => self.errors += 1,
        }
    }

    fn to_json(&self) -> Value {
        json!({"total": self.total, "warnings": self.warnings, "errors": self.errors})
    }
}

/// Traefik 2/3's overview (`http.routers|services|middlewares` with total, warnings and
/// errors; `providers`), plus the routes failing now and the configuration's error counts.
pub(super) fn overview(state: &WebState, table: &RoutingTable) -> Value {
    let view = View::new(state, table);
    let (mut routers, mut services, mut middlewares) =
        (Tally::default(), Tally::default(), Tally::default());
    let mut failing = Vec::new();
    for (p, cfg) in &table.providers {
        for (name, f) in cfg.frontends.iter() {
            let (level, problems) = frontend_health(&view, p, name, f);
            routers.add(level);
            if level == Level::Failing {
                failing.push(json!({"provider": p, "frontend": name, "problems": problems}));
            }
            // A lowered 2.x/3.x router's middlewares are counted as declared, below.
            if cfg.http.routers.contains_key(name) {
                continue;
            }
            let refused = !f.unenforced.is_empty();
            for _ in f.middlewares.names() {
                middlewares.add(if refused { Level::Failing } else { Level::Ok });
            }
        }
        for (name, b) in cfg.backends.iter() {
            services.add(backend_health(&view, p, name, b).0);
        }
        for _ in cfg.http.middlewares.iter() {
            middlewares.add(Level::Ok);
        }
    }
    let (errors, warnings) = view.obs.as_ref().map_or((0, 0), |o| {
        let e = o.errors.keys().filter(|k| k.0 == "error").count();
        (e, o.errors.len() - e)
    });
    json!({
        "http": {
            "routers": routers.to_json(),
            "services": services.to_json(),
            "middlewares": middlewares.to_json(),
        },
        "providers": table.providers.keys().collect::<Vec<_>>(),
        "features": {"tracing": "", "metrics": "prometheus", "accessLog": false},
        "failing": failing,
        "configuration": {
            "generation": table.generation,
            "errors": errors,
            "warnings": warnings + state.config_warnings.len(),
        },
    })
}

/// Current errors and warnings with when they were first and last seen and how many
/// configurations carried them, then the recently resolved ones.
pub(super) fn errors(state: &WebState, table: &RoutingTable) -> Value {
    let Ok(mut obs) = state.observer.lock() else {
        return json!({"current": [], "resolved": []});
    };
    obs.catch_up(super::unix_ms(), table);
    let mut current: Vec<&observe::Seen> = obs.errors.values().collect();
    current.sort_by(|a, b| b.last_ms.cmp(&a.last_ms).then(a.first_ms.cmp(&b.first_ms)));
    json!({
        "current": current.iter().map(|s| s.to_json()).collect::<Vec<_>>(),
        "resolved": obs.resolved.iter().map(observe::Seen::to_json).collect::<Vec<_>>(),
        "config": state.config_warnings,
    })
}

/// The whole proxy's history, and each frontend's and backend's summary by provider and name.
pub(super) fn traffic(state: &WebState) -> Value {
    let Ok(obs) = state.observer.lock() else {
        return json!({});
    };
    let group = |m: &HashMap<observe::Key, super::history::Series>| {
        let mut out: BTreeMap<&str, Map<String, Value>> = BTreeMap::new();
        for ((p, n), s) in m {
            out.entry(p.as_str())
                .or_default()
                .insert(n.clone(), s.summary());
        }
        json!(out)
    };
    json!({
        "now": obs.now,
        "proxy": obs.proxy.detail(),
        "frontends": group(&obs.frontends),
        "backends": group(&obs.backends),
        "historyBytes": obs.history_bytes(),
    })
}

/// One frontend's or backend's history; a backend's with each server's state timeline.
pub(super) fn traffic_of(
    state: &WebState,
    table: &RoutingTable,
    kind: &str,
    provider: &str,
    name: &str,
) -> Option<Value> {
    let obs = state.observer.lock().ok()?;
    let key = (provider.to_string(), name.to_string());
    let cfg = table.providers.get(provider)?;
    match kind {
        "frontends" => {
            cfg.frontends.get(name)?;
            Some(
                obs.frontends
                    .get(&key)
                    .map_or_else(|| json!({"total": 0}), |s| s.detail()),
            )
        }
        "backends" => {
            let b = cfg.backends.get(name)?;
            let mut v = obs
                .backends
                .get(&key)
                .map_or_else(|| json!({"total": 0}), |s| s.detail());
            let timelines: Map<String, Value> = b
                .servers
                .keys()
                .chain(b.held.keys())
                .chain(
                    obs.draining
                        .keys()
                        .filter(|(p, bk, _)| p == provider && bk == name)
                        .map(|(_, _, s)| s),
                )
                .filter_map(|s| {
                    let t = obs.timeline(&(provider.to_string(), name.to_string(), s.clone()))?;
                    Some((s.clone(), t.to_json()))
                })
                .collect();
            if let Some(obj) = v.as_object_mut() {
                obj.insert("timelines".into(), Value::Object(timelines));
            }
            Some(v)
        }
        _ => None,
    }
}
