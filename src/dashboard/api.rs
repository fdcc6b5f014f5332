//! The JSON API in Traefik 1.x shapes (`/api`, `/api/providers/...`, `/health`) plus what
//! Traefik lacks: each server's health, open connections and request rate, and each provider's
//! errors.

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::{Map, Value, json};

use super::WebState;
use control::table::RoutingTable;
use model::dynamic::{Backend, Frontend, ProviderConfig};

/// `{"docker": {...}, "file": {...}}`.
pub(super) fn providers(state: &WebState, table: &RoutingTable) -> Value {
    let map: Map<String, Value> = table
        .providers
        .iter()
        .map(|(name, p)| (name.clone(), provider(state, table, name, p)))
        .collect();
    Value::Object(map)
}

/// One provider: `{"backends": {...}, "frontends": {...}, "errors": [...]}`, plus `warnings`
/// (input portier does not act on yet) when there are any.
pub(super) fn provider(
    state: &WebState,
    table: &RoutingTable,
    name: &str,
    p: &ProviderConfig,
) -> Value {
    let backends: Map<String, Value> = p
        .backends
        .iter()
        .map(|(b, backend)| (b.clone(), self::backend(state, table, name, b, backend)))
        .collect();
    let frontends: Map<String, Value> = p
        .frontends
        .iter()
        .map(|(f, fe)| (f.clone(), frontend(state, table, name, f, fe)))
        .collect();
    let errors: Vec<Value> = p
        .errors
        .iter()
        .chain(table.errors.iter().filter(|e| e.is_compile_error_of(name)))
        .map(|e| json!(e))
        .collect();
    let mut v = json!({"backends": backends, "frontends": frontends, "errors": errors});
    if let (false, Some(obj)) = (p.warnings.is_empty(), v.as_object_mut()) {
        obj.insert("warnings".into(), json!(p.warnings));
    }
    v
}

pub(super) fn backend(
    state: &WebState,
    table: &RoutingTable,
    provider: &str,
    name: &str,
    b: &Backend,
) -> Value {
    let mut v = json!({
        "servers": servers(state, table, provider, name, b),
        "loadBalancer": b.load_balancer,
    });
    if let Some(obj) = v.as_object_mut() {
        if let Some(m) = &b.max_conn {
            obj.insert("maxConn".into(), json!(m));
        }
        if let Some(cb) = &b.circuit_breaker {
            // The breaker lives with the compiled backend; one without a frontend has none.
            let state = compiled_backend(table, provider, name)
                .and_then(|r| r.breaker.as_ref().map(|b| b.breaker.state(Instant::now())))
                .map(|s| s.as_str());
            obj.insert(
                "circuitBreaker".into(),
                json!({"expression": cb.expression, "state": state}),
            );
        }
        if !b.unenforced.is_empty() {
            obj.insert("unenforced".into(), json!(b.unenforced));
        }
    }
    v
}

/// The compiled backend `name` of `provider`, as its routes hold it.
fn compiled_backend(
    table: &RoutingTable,
    provider: &str,
    name: &str,
) -> Option<std::sync::Arc<control::table::BackendRuntime>> {
    table.entry_points.values().find_map(|ep| {
        ep.routes()
            .find(|r| r.provider == provider && r.backend.name == name)
            .map(|r| std::sync::Arc::clone(&r.backend))
    })
}

pub(super) fn servers(
    state: &WebState,
    table: &RoutingTable,
    provider: &str,
    backend: &str,
    b: &Backend,
) -> Value {
    let rates = state.rates.lock().map(|r| r.clone()).unwrap_or_default();
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
            if let (Some(origin), Some(obj)) = (&server.origin, v.as_object_mut()) {
                obj.insert("origin".into(), json!(origin));
            }
            if let (Some(st), Some(obj)) = (table.servers.get(&key), v.as_object_mut()) {
                obj.insert(
                    "status".into(),
                    json!(if st.is_healthy() { "up" } else { "down" }),
                );
                obj.insert(
                    "since".into(),
                    json!(model::clock::rfc3339_ms(st.since_ms())),
                );
                obj.insert(
                    "lastError".into(),
                    json!(st.last_error().map(|e| e.to_string())),
                );
                obj.insert("openConnections".into(), json!(st.open_connections()));
                obj.insert("totalRequests".into(), json!(st.total_requests()));
                obj.insert(
                    "requestRate".into(),
                    json!(rates.get(&key).map_or(0.0, |r| r.1)),
                );
            }
            (s.clone(), v)
        })
        .collect();
    Value::Object(map)
}

/// Why compiling refused a frontend: its compile errors, or its backend's protection.
fn refusal_reasons(table: &RoutingTable, provider: &str, name: &str) -> Vec<String> {
    let item = format!("frontend {name}");
    let reasons: Vec<String> = table
        .errors
        .iter()
        .filter_map(|e| match e {
            model::dynamic::ProviderError::Compile {
                provider: p,
                item: i,
                message,
                ..
            } if p == provider && *i == item => Some(message.clone()),
            _ => None,
        })
        .collect();
    if reasons.is_empty() {
        vec!["a protection of its backend".to_string()]
    } else {
        reasons
    }
}

pub(super) fn frontend(
    state: &WebState,
    table: &RoutingTable,
    provider: &str,
    name: &str,
    f: &Frontend,
) -> Value {
    let entry_points = if f.entry_points.is_empty() {
        &state.default_entry_points
    } else {
        &f.entry_points
    };
    let routes: BTreeMap<&String, Value> = f
        .routes
        .iter()
        .map(|(r, route)| (r, json!({"rule": route.rule})))
        .collect();
    let rules: Vec<&str> = f.routes.values().map(|r| r.rule.as_str()).collect();
    let compiled = table.entry_points.values().find_map(|ep| {
        ep.routes()
            .find(|r| r.provider == provider && r.frontend == name)
            .cloned()
    });
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
    });
    if let Some(obj) = v.as_object_mut() {
        // Each middleware's settings in Traefik's shape (users by name only), and their names
        // in the order they run, for the dashboard.
        if let Value::Object(m) = json!(f.middlewares) {
            obj.extend(m);
        }
        obj.insert("middlewares".into(), json!(f.middlewares.names()));
        // Rule zero: the protections it asked for and portier refuses it over (it answers 503),
        // as its provider found them or, failing that, as compiling it did.
        let refused = compiled.is_some_and(|r| r.unenforced);
        let unenforced: Vec<String> = if !f.unenforced.is_empty() || !refused {
            f.unenforced.clone()
        } else {
            refusal_reasons(table, provider, name)
        };
        if !unenforced.is_empty() {
            obj.insert("unenforced".into(), json!(unenforced));
        }
    }
    v
}
