//! `/metrics` in the Prometheus text format (0.0.4).

use std::fmt::Write;
use std::sync::atomic::Ordering;

use super::WebState;
use control::table::{CompiledRoute, RoutingTable};
use model::metrics::{TrafficMetrics, encode_duration, encode_traffic, header, label};

/// One family of single-value samples: `# HELP`, `# TYPE`, then `name{labels} value` per row.
fn family(
    out: &mut String,
    name: &str,
    kind: &str,
    help: &str,
    rows: impl IntoIterator<Item = (String, String)>,
) {
    header(out, name, kind, help);
    for (labels, value) in rows {
        let labels = labels.trim_end_matches(',');
        if labels.is_empty() {
            let _ = writeln!(out, "{name} {value}");
        } else {
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        }
    }
}

/// A requests counter and a duration histogram for each labelled traffic source.
fn traffic(out: &mut String, prefix: &str, what: &str, sources: &[(String, &TrafficMetrics)]) {
    let requests = format!("{prefix}_requests_total");
    header(
        out,
        &requests,
        "counter",
        &format!("Requests by {what}, status code and method."),
    );
    for (labels, m) in sources {
        encode_traffic(out, &requests, m, labels);
    }
    let duration = format!("{prefix}_request_duration_seconds");
    header(
        out,
        &duration,
        "histogram",
        &format!("Request duration by {what}, until the response body ended."),
    );
    for (labels, m) in sources {
        encode_duration(out, &duration, m, labels);
    }
}

pub(super) fn render(s: &WebState, table: &RoutingTable) -> String {
    let mut out = String::new();
    entry_point_families(&mut out, s);
    frontend_families(&mut out, table);
    server_families(&mut out, table);
    l4_families(&mut out, table);
    control_families(&mut out, s, table);
    out
}

/// Traffic and open connections by entrypoint.
fn entry_point_families(out: &mut String, s: &WebState) {
    let eps: Vec<(String, &TrafficMetrics)> = s
        .entry_points
        .iter()
        .map(|(name, m)| (format!("entrypoint=\"{}\",", label(name)), m.as_ref()))
        .collect();
    traffic(out, "portier_entrypoint", "entrypoint", &eps);
    family(
        out,
        "portier_entrypoint_open_connections",
        "gauge",
        "Open client connections by entrypoint.",
        eps.iter()
            .map(|(l, m)| (l.clone(), m.open.load(Ordering::Relaxed).to_string())),
    );
    family(
        out,
        "portier_entrypoint_parked_connections",
        "gauge",
        "Open client connections idle between requests with their buffers released.",
        eps.iter()
            .map(|(l, m)| (l.clone(), m.parked.load(Ordering::Relaxed).to_string())),
    );
}

/// Traffic, requests in flight and retries by frontend and backend.
fn frontend_families(out: &mut String, table: &RoutingTable) {
    // Each frontend once, even when it is on several entrypoints.
    let mut routes: Vec<&CompiledRoute> = table
        .entry_points
        .values()
        .flat_map(|ep| ep.routes().map(AsRef::as_ref))
        .collect();
    routes.sort_by(|a, b| (&a.provider, &a.frontend).cmp(&(&b.provider, &b.frontend)));
    routes.dedup_by(|a, b| a.provider == b.provider && a.frontend == b.frontend);
    let fronts: Vec<(String, &TrafficMetrics)> = routes
        .iter()
        .map(|r| {
            let labels = format!(
                "provider=\"{}\",frontend=\"{}\",backend=\"{}\",",
                label(&r.provider),
                label(&r.frontend),
                label(&r.backend.name)
            );
            (labels, r.metrics.as_ref())
        })
        .collect();
    traffic(out, "portier_backend", "frontend and backend", &fronts);
    family(
        out,
        "portier_backend_open_requests",
        "gauge",
        "Requests in flight by frontend and backend.",
        fronts
            .iter()
            .map(|(l, m)| (l.clone(), m.open.load(Ordering::Relaxed).to_string())),
    );
    family(
        out,
        "portier_backend_retries_total",
        "counter",
        "Requests retried on another server after a failed connect or reset.",
        fronts
            .iter()
            .map(|(l, m)| (l.clone(), m.retries.load(Ordering::Relaxed).to_string())),
    );
}

/// Each server's health and requests in flight.
fn server_families(out: &mut String, table: &RoutingTable) {
    let mut servers: Vec<_> = table.servers.iter().collect();
    servers.sort_by(|a, b| a.0.cmp(&b.0));
    let server_labels = |(p, b, url): &(&str, &str, &str)| {
        format!(
            "provider=\"{}\",backend=\"{}\",url=\"{}\"",
            label(p),
            label(b),
            label(url)
        )
    };
    family(
        out,
        "portier_backend_server_up",
        "gauge",
        "1 when the server takes traffic, 0 when it does not.",
        servers
            .iter()
            .map(|(k, st)| (server_labels(k), u8::from(st.is_healthy()).to_string())),
    );
    family(
        out,
        "portier_backend_server_open_connections",
        "gauge",
        "Requests in flight to the server.",
        servers
            .iter()
            .map(|(k, st)| (server_labels(k), st.open_connections().to_string())),
    );
}

/// TCP and UDP routers: connections (UDP: sessions) open, opened, refused, and bytes.
fn l4_families(out: &mut String, table: &RoutingTable) {
    let routers = &table.l4.routers;
    if routers.is_empty() {
        return;
    }
    let labels = |r: &control::l4::RouterView| {
        format!(
            "protocol=\"{}\",router=\"{}@{}\"",
            r.kind,
            label(&r.name),
            label(&r.provider)
        )
    };
    let rows = |get: fn(&control::l4::L4Stats) -> u64| {
        routers
            .iter()
            .map(move |r| (labels(r), get(&r.stats).to_string()))
            .collect::<Vec<_>>()
    };
    family(
        out,
        "portier_l4_router_open_connections",
        "gauge",
        "TCP connections (UDP sessions) open, by router.",
        rows(|s| s.open.load(Ordering::Relaxed)),
    );
    family(
        out,
        "portier_l4_router_connections_total",
        "counter",
        "TCP connections (UDP sessions) routed, by router.",
        rows(|s| s.total.load(Ordering::Relaxed)),
    );
    family(
        out,
        "portier_l4_router_refused_total",
        "counter",
        "Connections closed by a middleware, a refusal or for want of a server, by router.",
        rows(|s| s.refused.load(Ordering::Relaxed)),
    );
    family(
        out,
        "portier_l4_router_received_bytes_total",
        "counter",
        "Bytes from clients to servers, by router.",
        rows(|s| s.bytes_in.load(Ordering::Relaxed)),
    );
    family(
        out,
        "portier_l4_router_sent_bytes_total",
        "counter",
        "Bytes from servers to clients, by router.",
        rows(|s| s.bytes_out.load(Ordering::Relaxed)),
    );
}

/// The control plane: reloads, configuration errors and warnings, the Docker connection.
fn control_families(out: &mut String, s: &WebState, table: &RoutingTable) {
    let c = &s.control;
    let one = |v: String| [(String::new(), v)];
    family(
        out,
        "portier_config_reloads_total",
        "counter",
        "Routing tables built from provider snapshots.",
        one(c.config_reloads.load(Ordering::Relaxed).to_string()),
    );
    family(
        out,
        "portier_config_last_reload_duration_seconds",
        "gauge",
        "Time the last table took to build.",
        one((c.last_reload_ns.load(Ordering::Relaxed) as f64 / 1e9).to_string()),
    );
    family(
        out,
        "portier_config_last_reload_success",
        "gauge",
        "Unix time of the last table swap.",
        one(c.last_reload_unix.load(Ordering::Relaxed).to_string()),
    );
    family(
        out,
        "portier_config_errors",
        "gauge",
        "Provider and compile errors in the current configuration.",
        one(table.errors.len().to_string()),
    );
    family(
        out,
        "portier_config_warnings",
        "gauge",
        "Keys and labels portier does not act on yet (traefik.toml and providers; served without them).",
        one((s.config_warnings.len()
            + table
                .providers
                .values()
                .map(|p| p.warnings.len())
                .sum::<usize>())
        .to_string()),
    );
    family(
        out,
        "portier_docker_events_total",
        "counter",
        "Docker events received.",
        one(c.docker_events.load(Ordering::Relaxed).to_string()),
    );
    family(
        out,
        "portier_docker_connected",
        "gauge",
        "1 connected to the Docker engine, 0 not connected, -1 provider not configured.",
        one(c.docker_connected.load(Ordering::Relaxed).to_string()),
    );
}
