//! `/metrics` in the Prometheus text format (0.0.4).

use std::fmt::Write;
use std::sync::atomic::Ordering;

use super::WebState;
use crate::metrics::{encode_duration, encode_traffic, header, label};
use crate::router::RoutingTable;

pub fn render(s: &WebState, table: &RoutingTable) -> String {
    let mut out = String::new();
    header(
        &mut out,
        "portier_entrypoint_requests_total",
        "counter",
        "Requests by entrypoint, status code and method.",
    );
    for (name, m) in &s.entry_points {
        encode_traffic(
            &mut out,
            "portier_entrypoint_requests_total",
            m,
            &format!("entrypoint=\"{}\",", label(name)),
        );
    }
    header(
        &mut out,
        "portier_entrypoint_request_duration_seconds",
        "histogram",
        "Request duration by entrypoint, until the response body ended.",
    );
    for (name, m) in &s.entry_points {
        encode_duration(
            &mut out,
            "portier_entrypoint_request_duration_seconds",
            m,
            &format!("entrypoint=\"{}\",", label(name)),
        );
    }
    header(
        &mut out,
        "portier_entrypoint_open_connections",
        "gauge",
        "Open client connections by entrypoint.",
    );
    for (name, m) in &s.entry_points {
        let _ = writeln!(
            out,
            "portier_entrypoint_open_connections{{entrypoint=\"{}\"}} {}",
            label(name),
            m.open.load(Ordering::Relaxed)
        );
    }

    // Each frontend once, even when it is on several entrypoints.
    let mut routes: Vec<_> = table
        .entry_points
        .values()
        .flat_map(|ep| ep.routes().iter())
        .collect();
    routes.sort_by(|a, b| (&a.provider, &a.frontend).cmp(&(&b.provider, &b.frontend)));
    routes.dedup_by(|a, b| a.provider == b.provider && a.frontend == b.frontend);
    let route_labels = |r: &crate::router::CompiledRoute| {
        format!(
            "provider=\"{}\",frontend=\"{}\",backend=\"{}\",",
            label(&r.provider),
            label(&r.frontend),
            label(&r.backend.name)
        )
    };
    header(
        &mut out,
        "portier_backend_requests_total",
        "counter",
        "Requests by frontend, backend, status code and method.",
    );
    for r in &routes {
        encode_traffic(
            &mut out,
            "portier_backend_requests_total",
            &r.metrics,
            &route_labels(r),
        );
    }
    header(
        &mut out,
        "portier_backend_request_duration_seconds",
        "histogram",
        "Request duration by frontend and backend.",
    );
    for r in &routes {
        encode_duration(
            &mut out,
            "portier_backend_request_duration_seconds",
            &r.metrics,
            &route_labels(r),
        );
    }
    header(
        &mut out,
        "portier_backend_open_requests",
        "gauge",
        "Requests in flight by frontend and backend.",
    );
    for r in &routes {
        let labels = route_labels(r);
        let _ = writeln!(
            out,
            "portier_backend_open_requests{{{}}} {}",
            labels.trim_end_matches(','),
            r.metrics.open.load(Ordering::Relaxed)
        );
    }

    header(
        &mut out,
        "portier_backend_retries_total",
        "counter",
        "Requests retried on another server after a failed connect or reset.",
    );
    for r in &routes {
        let labels = route_labels(r);
        let _ = writeln!(
            out,
            "portier_backend_retries_total{{{}}} {}",
            labels.trim_end_matches(','),
            r.metrics.retries.load(Ordering::Relaxed)
        );
    }

    let mut servers: Vec<_> = table.servers.iter().collect();
    servers.sort_by(|a, b| a.0.cmp(b.0));
    header(
        &mut out,
        "portier_backend_server_up",
        "gauge",
        "1 when the server takes traffic, 0 when it does not.",
    );
    for ((p, b, url), st) in &servers {
        let _ = writeln!(
            out,
            "portier_backend_server_up{{provider=\"{}\",backend=\"{}\",url=\"{}\"}} {}",
            label(p),
            label(b),
            label(url),
            u8::from(st.is_healthy())
        );
    }
    header(
        &mut out,
        "portier_backend_server_open_connections",
        "gauge",
        "Requests in flight to the server.",
    );
    for ((p, b, url), st) in &servers {
        let _ = writeln!(
            out,
            "portier_backend_server_open_connections{{provider=\"{}\",backend=\"{}\",url=\"{}\"}} {}",
            label(p),
            label(b),
            label(url),
            st.open_connections()
        );
    }

    let c = &s.control;
    header(
        &mut out,
        "portier_config_reloads_total",
        "counter",
        "Routing tables built from provider snapshots.",
    );
    let _ = writeln!(
        out,
        "portier_config_reloads_total {}",
        c.config_reloads.load(Ordering::Relaxed)
    );
    header(
        &mut out,
        "portier_config_last_reload_duration_seconds",
        "gauge",
        "Time the last table took to build.",
    );
    let _ = writeln!(
        out,
        "portier_config_last_reload_duration_seconds {}",
        c.last_reload_ns.load(Ordering::Relaxed) as f64 / 1e9
    );
    header(
        &mut out,
        "portier_config_last_reload_success",
        "gauge",
        "Unix time of the last table swap.",
    );
    let _ = writeln!(
        out,
        "portier_config_last_reload_success {}",
        c.last_reload_unix.load(Ordering::Relaxed)
    );
    header(
        &mut out,
        "portier_config_errors",
        "gauge",
        "Provider and compile errors in the current configuration.",
    );
    let _ = writeln!(out, "portier_config_errors {}", table.errors.len());
    header(
        &mut out,
        "portier_docker_events_total",
        "counter",
        "Docker events received.",
    );
    let _ = writeln!(
        out,
        "portier_docker_events_total {}",
        c.docker_events.load(Ordering::Relaxed)
    );
    header(
        &mut out,
        "portier_docker_connected",
        "gauge",
        "1 connected to the Docker engine, 0 not connected, -1 provider not configured.",
    );
    let _ = writeln!(
        out,
        "portier_docker_connected {}",
        c.docker_connected.load(Ordering::Relaxed)
    );
    out
}
