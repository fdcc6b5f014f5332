//! portier: a Traefik-style reverse proxy driven by configuration files and Docker labels.
//!
//! # Layout
//! - [`config`]: traefik.toml and flags → a checked [`config::Config`].
//! - [`dynamic`]: the provider output model (frontends, backends, servers).
//! - [`provider`]: tasks that watch a source and send whole snapshots (`file`, `docker`).
//! - [`aggregator`]: merges snapshots, compiles them, publishes the [`router::RoutingTable`].
//! - [`rules`]: the frontend rule grammar, matching and path rewriting (pure).
//! - [`router`]: the immutable, host-indexed routing table.
//! - [`balancer`]: smooth weighted round robin and per-server state.
//! - [`proxy`]: listeners and the per-request pipeline.
//! - [`accesslog`]: Common Log Format lines written off the request path.
//! - [`dashboard`]: the dashboard, JSON API, `/health`, `/metrics` and SSE on `[web] address`.
//! - [`metrics`], [`stats`]: lock-free counters behind `/metrics` and `/health`.

pub mod accesslog;
pub mod acme;
pub mod aggregator;
pub mod balancer;
pub mod config;
pub mod dashboard;
pub mod dynamic;
pub mod metrics;
pub mod provider;
pub mod proxy;
pub mod router;
pub mod rules;
pub mod stats;
pub mod tls;

use std::future::Future;
use std::sync::Arc;

use arc_swap::ArcSwap;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::model::DynamicToml;
use crate::config::{Config, EntryPoint};

/// Failures that stop portier from starting.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("entrypoint {name}: cannot listen on {address}: {source}")]
    Bind {
        name: String,
        address: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error(transparent)]
    UpstreamTls(#[from] proxy::upstream_tls::UpstreamTlsError),
    #[error("access log: cannot open {path}: {source}")]
    AccessLog {
        path: String,
        source: std::io::Error,
    },
}

/// Sockets bound before `run`, so tests can use port 0 and read the real port.
#[derive(Debug)]
pub struct Listeners {
    pub entry_points: Vec<(EntryPoint, TcpListener)>,
    pub web: Option<TcpListener>,
}

/// Binds every entrypoint and the web address.
pub async fn bind(config: &Config) -> Result<Listeners, RunError> {
    let mut entry_points = Vec::new();
    for ep in &config.entry_points {
        let l = TcpListener::bind(ep.address.socket)
            .await
            .map_err(|source| RunError::Bind {
                name: ep.name.clone(),
                address: ep.address.text.clone(),
                source,
            })?;
        entry_points.push((ep.clone(), l));
    }
    let web = match &config.web {
        Some(w) => Some(
            TcpListener::bind(w.address.socket)
                .await
                .map_err(|source| RunError::Bind {
                    name: "web".into(),
                    address: w.address.text.clone(),
                    source,
                })?,
        ),
        None => None,
    };
    Ok(Listeners { entry_points, web })
}

/// The rustls configuration of every TLS entrypoint (the ACME one consults `acme` first).
/// Certificates are loaded here, so a bad one is reported before anything starts.
pub fn tls_configs(
    config: &Config,
    acme: Option<&Arc<acme::AcmeCerts>>,
) -> Result<std::collections::HashMap<String, Arc<rustls::ServerConfig>>, tls::TlsError> {
    let mut out = std::collections::HashMap::new();
    for ep in &config.entry_points {
        let Some(t) = &ep.tls else { continue };
        let on_acme = config
            .acme
            .as_ref()
            .is_some_and(|a| a.entry_point == ep.name);
        let acme = acme.filter(|_| on_acme).cloned();
        out.insert(ep.name.clone(), tls::server_config(&ep.name, t, acme)?);
    }
    Ok(out)
}

/// The dynamic configuration written inside traefik.toml (served by `[file]` without filename).
#[derive(Debug, Default)]
pub struct Inline {
    pub dynamic: DynamicToml,
    pub text: String,
}

/// Runs portier until `shutdown` resolves, then drains in-flight requests for up to
/// `[lifeCycle] graceTimeOut`.
pub async fn run(
    config: Config,
    inline: Inline,
    listeners: Listeners,
    shutdown: impl Future<Output = ()>,
) -> Result<(), RunError> {
    // Everything that can fail on bad input is checked before any task starts.
    let upstream_tls = proxy::upstream_tls::client_config(&config)?;
    let acme_certs = config
        .acme
        .as_ref()
        .map(|_| Arc::new(acme::AcmeCerts::default()));
    let mut tls_configs = tls_configs(&config, acme_certs.as_ref())?;
    let table = Arc::new(ArcSwap::from_pointee(router::RoutingTable::default()));
    // Redirects name the target's real port (it may have been bound to port 0).
    let bound: std::collections::HashMap<String, u16> = listeners
        .entry_points
        .iter()
        .filter_map(|(ep, l)| Some((ep.name.clone(), l.local_addr().ok()?.port())))
        .collect();
    let settings = aggregator::CompileSettings {
        entry_points: config.entry_points.iter().map(|e| e.name.clone()).collect(),
        default_entry_points: config.default_entry_points.clone(),
        max_conns_per_server: config.max_conns_per_host,
        redirect_targets: config
            .entry_points
            .iter()
            .map(|e| {
                let port = bound
                    .get(&e.name)
                    .copied()
                    .unwrap_or(e.address.socket.port());
                (e.name.clone(), (e.tls.is_some(), port))
            })
            .collect(),
    };
    let control = Arc::new(metrics::ControlMetrics::default());
    control.docker_connected.store(
        if config.docker.is_some() { 0 } else { -1 },
        std::sync::atomic::Ordering::Relaxed,
    );
    let agg = aggregator::spawn(settings, Arc::clone(&table), Arc::clone(&control));
    let (health_tx, health_rx) = tokio::sync::watch::channel(0u64);
    balancer::checker::spawn(agg.tables.clone(), health_tx, Arc::clone(&upstream_tls));
    if let (Some(settings), Some(certs)) = (config.acme.clone(), &acme_certs) {
        acme::spawn(settings, Arc::clone(certs), agg.tables.clone());
    }

    if let Some(file_cfg) = config.file.clone() {
        let path = config.config_file.clone().unwrap_or_default();
        provider::file::spawn(
            file_cfg,
            inline.dynamic,
            path,
            inline.text,
            agg.updates.clone(),
        );
    }
    if let Some(d) = config.docker.clone() {
        tracing::info!(
            provider = "docker",
            "docker provider: endpoint {} watch={} exposedByDefault={} domain={:?}",
            d.endpoint,
            d.watch,
            d.exposed_by_default,
            d.domain
        );
        provider::docker::spawn(d, agg.updates.clone(), Arc::clone(&control));
    }
    drop(agg.updates);

    let access_log = match &config.access_log {
        Some(cfg) => Some(accesslog::AccessLog::start(cfg).map_err(|source| {
            RunError::AccessLog {
                path: cfg
                    .file_path
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "stdout".into()),
                source,
            }
        })?),
        None => None,
    };
    let stats = Arc::new(stats::Stats::default());
    let proxy = Arc::new(proxy::Proxy::new(
        &config,
        Arc::clone(&table),
        access_log,
        Arc::clone(&stats),
        Arc::clone(&upstream_tls),
    ));
    let mut ep_metrics = Vec::new();
    let stop = CancellationToken::new();
    // The dashboard stops last, after the drain.
    let web_stop = CancellationToken::new();
    let draining = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut web_task = None;
    let graceful = Arc::new(GracefulShutdown::new());
    let mut tasks = Vec::new();
    for (ep, listener) in listeners.entry_points {
        let addr = listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        tracing::info!(entry_point = %ep.name, "entrypoint {} listening on {addr}", ep.name);
        let metrics = Arc::new(metrics::TrafficMetrics::default());
        ep_metrics.push((ep.name.clone(), Arc::clone(&metrics)));
        let limits = proxy::Limits {
            read_header_timeout: config.responding_timeouts.read_header_timeout.0,
            read_timeout: Some(config.responding_timeouts.read_timeout.0).filter(|d| !d.is_zero()),
            write_timeout: Some(config.responding_timeouts.write_timeout.0)
                .filter(|d| !d.is_zero()),
            max_connections: ep.max_connections,
        };
        let ctx = Arc::new(proxy::EntryPointContext {
            tls: tls_configs.remove(&ep.name),
            redirect: ep.redirect.clone().map(|mut r| {
                r.port = bound.get(&r.entry_point).copied().unwrap_or(r.port);
                r
            }),
            metrics,
            name: ep.name,
            forwarded: ep.forwarded_headers,
            proxy: Arc::clone(&proxy),
        });
        tasks.push(tokio::spawn(proxy::serve(
            listener,
            ctx,
            limits,
            stop.clone(),
            Arc::clone(&graceful),
        )));
    }
    if let Some(listener) = listeners.web {
        let addr = listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        tracing::info!("web listening on {addr}");
        let state = dashboard::WebState {
            table: Arc::clone(&table),
            tables: agg.tables.clone(),
            health: health_rx.clone(),
            stats: Arc::clone(&stats),
            control: Arc::clone(&control),
            entry_points: ep_metrics.clone(),
            default_entry_points: config.default_entry_points.clone(),
            users: config
                .web
                .as_ref()
                .map(|w| w.users.clone())
                .unwrap_or_default(),
            rates: Default::default(),
            draining: Arc::clone(&draining),
        };
        web_task = Some(tokio::spawn(dashboard::serve(
            listener,
            state,
            web_stop.clone(),
        )));
    }

    shutdown.await;
    // `/ping` answers 503 while draining, so a load balancer in front stops sending traffic.
    draining.store(true, std::sync::atomic::Ordering::Relaxed);
    tracing::info!(
        "shutting down: no new connections; draining for up to {:?}",
        config.grace_timeout.0
    );
    stop.cancel();
    for t in tasks {
        let _ = t.await;
    }
    // The listeners have stopped, so this is the last handle; connections hold watchers only.
    match Arc::try_unwrap(graceful) {
        Ok(graceful) => {
            if tokio::time::timeout(config.grace_timeout.0, graceful.shutdown())
                .await
                .is_err()
            {
                tracing::warn!("grace period over: closing the remaining connections");
            }
        }
        Err(_) => tracing::error!(
            "shutdown: connections could not be drained (a listener still holds them)"
        ),
    }
    web_stop.cancel();
    if let Some(t) = web_task {
        let _ = t.await;
    }
    Ok(())
}
