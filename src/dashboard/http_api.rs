//! Traefik 2/3's API shapes: `/api/http/routers`, `/api/http/services`,
//! `/api/http/middlewares` (lists, or one by `name@provider`), `/api/entrypoints` and
//! `/api/rawdata`. 2.x/3.x routers, services and middlewares are shown as declared; 1.x
//! frontends and backends as the routers and services they are. Each item says its `status`
//! (`enabled`, `warning`, `disabled`) and its errors.

use std::collections::BTreeMap;

use control::table::RoutingTable;
use model::dynamic::{Backend, Frontend, ProviderError};
use model::http::{Middleware, Router, Service};
use serde_json::{Map, Value, json};

use super::WebState;
use super::api::{Level, View, backend_health, frontend_health};

/// One kind of item, keyed `name@provider`, in name order.
type Items = BTreeMap<String, Value>;

fn status(level: Level) -> &'static str {
    match level {
        Level::Ok => "enabled",
        Level::Warning => "warning",
        Level::Failing => "disabled",
    }
}

/// The errors found for `item` (`router r`) of `provider`, when lowering or compiling it.
fn errors_of(table: &RoutingTable, provider: &str, items: &[String]) -> Vec<String> {
    table
        .errors
        .iter()
        .filter_map(|e| match e {
            ProviderError::Compile {
                provider: p,
                item,
                message,
                ..
            } if p == provider && items.contains(item) => Some(message.clone()),
            _ => None,
        })
        .collect()
}

/// Every router: each provider's 2.x/3.x routers, then its 1.x frontends.
pub(super) fn routers(view: &View<'_>) -> Items {
    let mut out = Items::new();
    for (p, cfg) in &view.table.providers {
        for (name, r) in cfg.http.routers.iter() {
            out.insert(
                format!("{name}@{p}"),
                router(view, p, name, r, cfg.frontends.get(name)),
            );
        }
        for (name, f) in cfg.frontends.iter() {
            if cfg.http.routers.contains_key(name) {
                continue;
            }
            out.insert(format!("{name}@{p}"), v1_router(view, p, name, f));
        }
    }
    out
}

fn qualify(reference: &str, provider: &str) -> String {
    if reference.contains('@') {
        reference.to_string()
    } else {
        format!("{reference}@{provider}")
    }
}

fn router(
    view: &View<'_>,
    p: &str,
    name: &str,
    r: &Router,
    lowered: Option<&std::sync::Arc<Frontend>>,
) -> Value {
    let (level, mut problems) = match lowered {
        Some(f) => frontend_health(view, p, name, f),
        None => (Level::Failing, Vec::new()),
    };
    let mut errors = errors_of(
        view.table,
        p,
        &[format!("router {name}"), format!("frontend {name}")],
    );
    if lowered.is_none() && errors.is_empty() {
        errors.push("not routed".into());
    }
    problems.retain(|p| !errors.iter().any(|e| p.contains(e.as_str())));
    errors.extend(problems.into_iter().filter(|_| level == Level::Failing));
    let using: Vec<&String> = lowered.map_or_else(Vec::new, |f| f.entry_points.iter().collect());
    let mut v = json!({
        "entryPoints": if r.entry_points.is_empty() { json!(using) } else { json!(r.entry_points) },
        "middlewares": r.middlewares.iter().map(|m| qualify(m, p)).collect::<Vec<_>>(),
        "service": qualify(&r.service, p),
        "rule": r.rule,
        "ruleSyntax": r.rule_syntax.unwrap_or(model::rules::Syntax::V3).as_str(),
        "priority": if r.priority == 0 { r.rule.len() as i64 } else { r.priority },
        "status": status(level),
        "using": using,
        "name": format!("{name}@{p}"),
        "provider": p,
    });
    if let Some(obj) = v.as_object_mut() {
        if let Some(tls) = &r.tls {
            obj.insert("tls".into(), json!(tls));
        }
        if !errors.is_empty() {
            obj.insert("error".into(), json!(errors));
        }
    }
    v
}

fn v1_router(view: &View<'_>, p: &str, name: &str, f: &Frontend) -> Value {
    let (level, problems) = frontend_health(view, p, name, f);
    let rules: Vec<&str> = f.routes.values().map(|r| r.rule.as_str()).collect();
    let entry_points = if f.entry_points.is_empty() {
        &view.state.default_entry_points
    } else {
        &f.entry_points
    };
    let mut v = json!({
        "entryPoints": entry_points,
        "middlewares": f.middlewares.names(),
        "service": format!("{}@{p}", f.backend),
        "rule": rules.join(";"),
        "ruleSyntax": "v1",
        "priority": model::rules::priority(f.priority, &rules),
        "status": status(level),
        "using": entry_points,
        "name": format!("{name}@{p}"),
        "provider": p,
    });
    if let (Some(obj), Level::Failing) = (v.as_object_mut(), level) {
        obj.insert("error".into(), json!(problems));
    }
    v
}

/// Every service: load balancers (2.x/3.x services and 1.x backends), with who uses them and
/// each server's status.
pub(super) fn services(view: &View<'_>, routers: &Items) -> Items {
    let mut out = Items::new();
    for (p, cfg) in &view.table.providers {
        for (name, b) in cfg.backends.iter() {
            let key = format!("{name}@{p}");
            let declared = cfg.http.services.get(name).map(|s| &**s);
            out.insert(
                key.clone(),
                service(view, p, name, b, declared, routers, &key),
            );
        }
        for (name, _) in cfg.http.services.iter() {
            let key = format!("{name}@{p}");
            if out.contains_key(&key) {
                continue;
            }
            let errors = errors_of(view.table, p, &[format!("service {name}")]);
            out.insert(
                key.clone(),
                json!({"status": "disabled", "error": errors, "name": key, "provider": p, "type": "loadbalancer"}),
            );
        }
    }
    out
}

fn service(
    view: &View<'_>,
    p: &str,
    name: &str,
    b: &Backend,
    declared: Option<&Service>,
    routers: &Items,
    key: &str,
) -> Value {
    let (level, problems) = backend_health(view, p, name, b);
    let mut server_status = Map::new();
    let servers: Vec<Value> = b
        .servers
        .values()
        .map(|s| {
            let up = view
                .table
                .servers
                .get(&(p.to_string(), name.to_string(), s.url.clone()))
                .is_none_or(|st| st.condition() == control::server::Condition::Up);
            server_status.insert(s.url.clone(), json!(if up { "UP" } else { "DOWN" }));
            json!({"url": s.url, "weight": s.weight})
        })
        .collect();
    let used_by: Vec<&String> = routers
        .iter()
        .filter(|(_, r)| r["service"] == key)
        .map(|(n, _)| n)
        .collect();
    let mut lb = json!({"servers": servers});
    if let Some(obj) = lb.as_object_mut() {
        if let Some(Service::LoadBalancer(l)) = declared {
            obj.insert("passHostHeader".into(), json!(l.pass_host_header));
        }
        if let Some(hc) = &b.health_check {
            obj.insert("healthCheck".into(), json!(hc));
        }
        if let Some(s) = &b.load_balancer.stickiness {
            obj.insert("sticky".into(), json!({"cookie": s}));
        }
    }
    // A weighted, failover or mirroring service as declared; its servers (its children's:
    // weighted, `fallback-…`, `mirrorN-…`) are the ones `serverStatus` reports.
    let (kind, shape) = match declared {
        Some(Service::Weighted(w)) => ("weighted", json!(w)),
        Some(Service::Failover(f)) => ("failover", json!(f)),
        Some(Service::Mirroring(m)) => ("mirroring", json!(m)),
        _ => ("loadBalancer", lb),
    };
    let mut v = json!({
        kind: shape,
        "status": status(level),
        "usedBy": used_by,
        "serverStatus": server_status,
        "name": key,
        "provider": p,
        "type": kind.to_ascii_lowercase(),
    });
    if let (Some(obj), false) = (v.as_object_mut(), problems.is_empty()) {
        obj.insert("error".into(), json!(problems));
    }
    v
}

/// Every 2.x/3.x middleware, with the routers that use it.
pub(super) fn middlewares(view: &View<'_>, routers: &Items) -> Items {
    let mut out = Items::new();
    for (p, cfg) in &view.table.providers {
        for (name, m) in cfg.http.middlewares.iter() {
            let key = format!("{name}@{p}");
            out.insert(key.clone(), middleware(view, p, name, m, routers, &key));
        }
    }
    out
}

fn middleware(
    view: &View<'_>,
    p: &str,
    name: &str,
    m: &Middleware,
    routers: &Items,
    key: &str,
) -> Value {
    let used_by: Vec<&String> = routers
        .iter()
        .filter(|(_, r)| {
            r["middlewares"]
                .as_array()
                .is_some_and(|list| list.iter().any(|n| n == key))
        })
        .map(|(n, _)| n)
        .collect();
    let errors = errors_of(view.table, p, &[format!("middleware {name}")]);
    let mut v = json!(m);
    if let Some(obj) = v.as_object_mut() {
        obj.insert(
            "status".into(),
            json!(if errors.is_empty() {
                "enabled"
            } else {
                "disabled"
            }),
        );
        obj.insert("usedBy".into(), json!(used_by));
        obj.insert("name".into(), json!(key));
        obj.insert("provider".into(), json!(p));
        obj.insert("type".into(), json!(m.type_name().to_ascii_lowercase()));
        if !errors.is_empty() {
            obj.insert("error".into(), json!(errors));
        }
    }
    v
}

/// `/api/http/{kind}`: the list, or `None` for an unknown kind.
pub(super) fn list(state: &WebState, table: &RoutingTable, kind: &str) -> Option<Value> {
    let view = View::new(state, table);
    let routers = routers(&view);
    let items = match kind {
        "routers" => routers,
        "services" => services(&view, &routers),
        "middlewares" => middlewares(&view, &routers),
        _ => return None,
    };
    Some(Value::Array(items.into_values().collect()))
}

/// `/api/http/{kind}/{name@provider}`.
pub(super) fn one(state: &WebState, table: &RoutingTable, kind: &str, name: &str) -> Option<Value> {
    let view = View::new(state, table);
    let routers = routers(&view);
    let mut items = match kind {
        "routers" => routers,
        "services" => services(&view, &routers),
        "middlewares" => middlewares(&view, &routers),
        _ => return None,
    };
    items.remove(name)
}

/// `/api/rawdata`: every router, service and middleware by `name@provider`.
pub(super) fn rawdata(state: &WebState, table: &RoutingTable) -> Value {
    let view = View::new(state, table);
    let routers = routers(&view);
    let services = services(&view, &routers);
    let middlewares = middlewares(&view, &routers);
    json!({"routers": routers, "services": services, "middlewares": middlewares})
}

/// `/api/entrypoints`: each entrypoint's name and address.
pub(super) fn entry_points(state: &WebState) -> Value {
    Value::Array(
        state
            .entry_point_addresses
            .iter()
            .map(|(name, address)| json!({"name": name, "address": address}))
            .collect(),
    )
}
