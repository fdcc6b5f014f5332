//! Wiring: the crates' tasks started in flow order (control, providers, data plane, dashboard)
//! and stopped in reverse, as one [`Portier`] value whose fields are its shutdown steps.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arc_swap::ArcSwap;
use config::schema::DynamicToml;
use config::{Config, EntryPoint};
use control::compile::CompileSettings;
use control::table::RoutingTable;
use dataplane::{accesslog, acme, proxy, stats, tls};
use model::metrics::{ControlMetrics, TrafficMetrics};
use model::redirect::RedirectTo;
use model::update::ProviderUpdate;
use tokio::net::TcpListener;
use tokio::sync::mpsc::Sender;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::dashboard;

/// Failures that stop portier from starting.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(
        "entrypoint {name}: cannot listen on {address}: {source}{}",
        bind_hint(source)
    )]
    Bind {
        name: String,
        address: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error(transparent)]
    UpstreamTls(#[from] control::upstream_tls::UpstreamTlsError),
    #[error("access log: cannot open {path}: {source}")]
    AccessLog {
        path: String,
        source: std::io::Error,
    },
}

/// What to do when a port is refused for lack of privilege.
fn bind_hint(e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::PermissionDenied {
        format!(
            " (ports below 1024 need root or CAP_NET_BIND_SERVICE; pick another port with --entryPoints NAME=:8000, or {}=8000 when running without a configuration file)",
            config::HTTP_PORT_ENV
        )
    } else {
        String::new()
    }
}

/// Sockets bound before `start`, so tests can use port 0 and read the real port.
#[derive(Debug)]
pub struct Listeners {
    pub entry_points: Vec<(EntryPoint, TcpListener)>,
    /// UDP entrypoints (`address: ":53/udp"`): name, socket, session timeout.
    pub udp: Vec<(String, tokio::net::UdpSocket, std::time::Duration)>,
    pub web: Option<TcpListener>,
}

/// Binds every entrypoint and the web address.
pub async fn bind(config: &Config) -> Result<Listeners, RunError> {
    let bind_one = |name: &str, text: &str, socket| {
        let (name, address) = (name.to_string(), text.to_string());
        async move {
            TcpListener::bind(socket)
                .await
                .map_err(|source| RunError::Bind {
                    name,
                    address,
                    source,
                })
        }
    };
    let mut entry_points = Vec::new();
    for ep in &config.entry_points {
        let l = bind_one(&ep.name, &ep.address.text, ep.address.socket).await?;
        entry_points.push((ep.clone(), l));
    }
    let mut udp = Vec::new();
    for (name, u) in &config.generation.udp_entry_points {
        let socket = tokio::net::UdpSocket::bind(u.address.socket)
            .await
            .map_err(|source| RunError::Bind {
                name: name.clone(),
                address: format!("{}/udp", u.address.text),
                source,
            })?;
        udp.push((name.clone(), socket, u.timeout));
    }
    // Served on an entrypoint (`[api] entryPoint`), the dashboard has no listener of its own.
    let web = match config.web.as_ref().filter(|w| w.entry_point.is_none()) {
        Some(w) => Some(bind_one("web", &w.address.text, w.address.socket).await?),
        None => None,
    };
    Ok(Listeners {
        entry_points,
        udp,
        web,
    })
}

/// The rustls configuration of every TLS entrypoint (the ACME one consults `acme` first).
/// Certificates are loaded here, so a bad one is reported before anything starts.
pub fn tls_configs(
    config: &Config,
    acme: Option<&Arc<acme::AcmeCerts>>,
    dynamic: Option<&tls::DynamicCerts>,
) -> Result<HashMap<String, Arc<rustls::ServerConfig>>, tls::TlsError> {
    let mut out = HashMap::new();
    for ep in &config.entry_points {
        let Some(t) = &ep.tls else { continue };
        let acme = acme.filter(|_| serves_acme(config, &ep.name)).cloned();
        out.insert(
            ep.name.clone(),
            tls::server_config(&ep.name, t, acme, dynamic.cloned())?,
        );
    }
    Ok(out)
}

/// Whether TLS entrypoint `name` serves ACME certificates (and answers TLS-ALPN-01): 1.x's
/// `[acme]` entrypoint, or every TLS entrypoint under 2.x/3.x resolvers (a router on any of
/// them may name one).
fn serves_acme(config: &Config, name: &str) -> bool {
    config
        .resolvers()
        .any(|a| a.name.is_some() || a.entry_point == name)
}

/// What a run needs beyond the configuration.
#[derive(Debug, Default)]
pub struct RunOptions {
    /// `--ready-file`: where to announce the bound addresses (see [`announce_ready`]).
    pub ready_file: Option<PathBuf>,
    /// What loading the static configuration warned about (unknown keys, keys it overrides),
    /// shown on the dashboard and in `/api/config/warnings`.
    pub config_warnings: Vec<String>,
    /// portier's own log file, reopened on SIGUSR1 (the access log is reopened too).
    pub reopen_log: Option<Arc<dyn Reopen>>,
}

/// A log file that can be closed and opened again at its path.
pub trait Reopen: std::fmt::Debug + Send + Sync {
    fn reopen(&self);
}

/// The dynamic configuration written inside traefik.toml (served by `[file]` without filename).
#[derive(Debug, Default)]
pub struct Inline {
    pub dynamic: DynamicToml,
    pub text: String,
}

/// A running portier. Shutdown runs down the fields in order: `draining` is raised, `stop`
/// closes the listeners, `entry_points` are awaited, `graceful` drains the open connections
/// within `grace_timeout`, then `web_stop` ends the dashboard. Providers, the aggregator and the
/// health checker end with the runtime.
#[derive(Debug)]
pub struct Portier {
    /// `/ping` answers 503 once set, so a load balancer in front stops sending traffic.
    draining: Arc<AtomicBool>,
    /// Cancelled first: every entrypoint stops accepting.
    stop: CancellationToken,
    /// The accept loops; awaited so that `graceful` is the last handle on the connections.
    entry_points: Vec<JoinHandle<()>>,
    /// Watches every open client connection; drained for at most `grace_timeout`.
    graceful: Arc<proxy::Drain>,
    /// `[lifeCycle] graceTimeOut`.
    grace_timeout: Duration,
    /// `requestAcceptGraceTimeout`: requests still accepted this long after SIGTERM.
    accept_grace: Duration,
    /// Cancelled last, after the drain: the dashboard stays up while connections finish.
    web_stop: CancellationToken,
    web: Option<JoinHandle<()>>,
}

/// Runs portier until `shutdown` resolves, then drains in-flight requests for up to
/// `[lifeCycle] graceTimeOut`.
pub async fn run(
    config: Config,
    inline: Inline,
    listeners: Listeners,
    options: RunOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<(), RunError> {
    let portier = Portier::start(config, inline, listeners, options)?;
    shutdown.await;
    portier.shutdown().await;
    Ok(())
}

/// Each entrypoint's counters, by name, for the dashboard.
type EntryPointMetrics = Vec<(String, Arc<TrafficMetrics>)>;

/// What the control plane hands to the rest: the published table and its change feeds.
struct ControlPlane {
    table: Arc<ArcSwap<RoutingTable>>,
    tables: watch::Receiver<Arc<RoutingTable>>,
    health: watch::Receiver<u64>,
    control: Arc<ControlMetrics>,
}

impl Portier {
    /// Starts every task. Everything that can fail on bad input (TLS material, the access log
    /// file) is checked before the first task starts. With a `ready_file`, the bound addresses
    /// are written there once the first configuration is applied (see [`announce_ready`]).
    pub fn start(
        config: Config,
        inline: Inline,
        listeners: Listeners,
        options: RunOptions,
    ) -> Result<Portier, RunError> {
        let upstream_tls = control::upstream_tls::client_config(&config)?;
        let acme_certs = config
            .acme
            .as_ref()
            .map(|_| Arc::new(acme::AcmeCerts::default()));
        // Certificates from dynamic configuration, kept current by `follow_certs`.
        let dynamic_certs: tls::DynamicCerts = Arc::default();
        let tls: HashMap<String, proxy::TlsSlot> =
            tls_configs(&config, acme_certs.as_ref(), Some(&dynamic_certs))?
                .into_iter()
                .map(|(name, c)| {
                    (
                        name,
                        Arc::new(ArcSwap::from_pointee(tls::TlsChoice::single(c))),
                    )
                })
                .collect();
        // Plain entrypoints end TLS for TCP routers that ask for it, with the dynamic and
        // ACME certificates (built once; the slot follows `tls.options` like the others).
        let mut tcp_tls: HashMap<String, proxy::TlsSlot> = HashMap::new();
        for ep in config.entry_points.iter().filter(|e| e.tls.is_none()) {
            let acme = acme_certs
                .as_ref()
                .filter(|_| serves_acme(&config, &ep.name))
                .cloned();
            let c = tls::server_config(
                &ep.name,
                &config::TlsConfig::plain(),
                acme,
                Some(Arc::clone(&dynamic_certs)),
            )?;
            let slot = Arc::new(ArcSwap::from_pointee(tls::TlsChoice::single(c)));
            tcp_tls.insert(ep.name.clone(), slot);
        }
        let access_log = open_access_log(&config)?;
        reopen_on_sigusr1(access_log.clone(), options.reopen_log.clone());
        // Redirects name the target's real port (it may have been bound to port 0).
        let bound: HashMap<String, u16> = listeners
            .entry_points
            .iter()
            .filter_map(|(ep, l)| Some((ep.name.clone(), l.local_addr().ok()?.port())))
            .collect();

        let ready = Ready::from_listeners(&listeners);
        let (cp, updates) = start_control(&config, &bound, &upstream_tls);
        tokio::spawn(follow_tls_options(
            cp.tables.clone(),
            tls_inputs(&config, acme_certs.as_ref(), &dynamic_certs, &tls, &tcp_tls),
        ));
        tokio::spawn(follow_certs(cp.tables.clone(), dynamic_certs));
        if let Some(path) = options.ready_file {
            let has_provider = config.file.is_some() || config.docker.is_some();
            tokio::spawn(announce_ready(path, ready, cp.tables.clone(), has_provider));
        }
        if let Some(certs) = &acme_certs {
            for settings in config.resolvers() {
                acme::spawn(settings.clone(), Arc::clone(certs), cp.tables.clone());
            }
        }
        // The aggregator ends when the last provider drops its sender.
        start_providers(&config, inline, &updates, &cp.control);
        drop(updates);

        let stats = Arc::new(stats::Stats::default());
        let proxy = Arc::new(proxy::Proxy::new(
            &config,
            Arc::clone(&cp.table),
            access_log,
            Arc::clone(&stats),
            upstream_tls,
        ));
        let stop = CancellationToken::new();
        let graceful = Arc::new(proxy::Drain::new());
        // HTTP-01 is answered on the `httpChallenge` entrypoints.
        let acme_http = (acme_certs.clone()).map(|certs| {
            let eps = config.resolvers().filter_map(|a| a.http_challenge.clone());
            (eps.collect(), certs)
        });
        let (mut entry_points, ep_metrics, internal) = start_entry_points(
            &config,
            listeners.entry_points,
            EntryPointTls {
                slots: tls,
                tcp_slots: tcp_tls,
                acme_http,
            },
            &bound,
            &proxy,
            &stop,
            &graceful,
        );
        for (name, socket, timeout) in listeners.udp {
            tracing::info!(entry_point = %name, "UDP entrypoint {name} listening on {}", socket.local_addr().map(|a| a.to_string()).unwrap_or_default());
            entry_points.push(tokio::spawn(dataplane::l4::udp::serve(
                name,
                socket,
                Arc::clone(&cp.table),
                timeout,
                stop.clone(),
            )));
        }
        let draining = Arc::new(AtomicBool::new(false));
        let web_stop = CancellationToken::new();
        let mut state = web_state(&config, &cp, stats, ep_metrics, Arc::clone(&draining));
        state.config_warnings = options.config_warnings;
        let state = Arc::new(state);
        let mut web = None;
        if config.web.is_some()
            || config.ping_entry_point.is_some()
            || config.generation.api.is_some()
        {
            dashboard::start_sampling(&state, web_stop.clone());
            let app = dashboard::app(&state);
            mount_web(&config, &app, &internal);
            // Routes to `api@internal` (2.x/3.x) call it too.
            let _ = proxy.internal_api.set(proxy::Internal {
                prefixes: Vec::new(),
                root: false,
                handler: internal_handler(app.clone()),
            });
            web = listeners
                .web
                .map(|listener| start_web(listener, app, web_stop.clone()));
        }
        Ok(Portier {
            draining,
            stop,
            entry_points,
            graceful,
            grace_timeout: config.grace_timeout.0,
            accept_grace: config.request_accept_grace_timeout.0,
            web_stop,
            web,
        })
    }

    /// Stops accepting, drains open connections for up to the grace period, then stops the
    /// dashboard.
    pub async fn shutdown(self) {
        self.draining.store(true, Ordering::Relaxed);
        if !self.accept_grace.is_zero() {
            tracing::info!(
                "requestAcceptGraceTimeout: still accepting requests for {:?} (/ping answers 503)",
                self.accept_grace
            );
            tokio::time::sleep(self.accept_grace).await;
        }
        tracing::info!(
            "shutting down: no new connections; draining for up to {:?}",
            self.grace_timeout
        );
        self.stop.cancel();
        for t in self.entry_points {
            let _ = t.await;
        }
        // The listeners have stopped, so this is the last handle; connections hold watchers.
        match Arc::try_unwrap(self.graceful) {
            Ok(graceful) => {
                if tokio::time::timeout(self.grace_timeout, graceful.shutdown())
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
        self.web_stop.cancel();
        if let Some(t) = self.web {
            let _ = t.await;
        }
    }
}

/// What `--ready-file` reports: the address every listener is bound to.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Ready {
    entry_points: std::collections::BTreeMap<String, String>,
    web: Option<String>,
    generation: u64,
}

impl Ready {
    fn from_listeners(l: &Listeners) -> Ready {
        let addr = |t: &TcpListener| t.local_addr().map(|a| a.to_string()).ok();
        Ready {
            entry_points: l
                .entry_points
                .iter()
                .filter_map(|(ep, t)| Some((ep.name.clone(), addr(t)?)))
                .chain(l.udp.iter().filter_map(|(name, u, _)| {
                    Some((name.clone(), u.local_addr().ok()?.to_string()))
                }))
                .collect(),
            web: l.web.as_ref().and_then(addr),
            generation: 0,
        }
    }
}

/// Writes `ready` to `path` (through a temporary file and a rename, so a reader never sees
/// half of it) once the first configuration is applied, or at once when no provider is
/// configured. A provider that never delivers (an unreachable engine alone) keeps it unwritten.
async fn announce_ready(
    path: PathBuf,
    mut ready: Ready,
    mut tables: watch::Receiver<Arc<RoutingTable>>,
    has_provider: bool,
) {
    if has_provider {
        match tables.wait_for(|t| t.generation > 0).await {
            Ok(t) => ready.generation = t.generation,
            Err(_) => return,
        }
    }
    let text = match serde_json::to_string(&ready) {
        Ok(t) => t + "\n",
        Err(e) => {
            tracing::error!("--ready-file: {e}");
            return;
        }
    };
    let tmp = path.with_extension("tmp");
    let written = tokio::fs::write(&tmp, text).await;
    if let Err(e) = written.and(tokio::fs::rename(&tmp, &path).await) {
        tracing::error!("--ready-file {}: {e}", path.display());
    }
}

fn open_access_log(config: &Config) -> Result<Option<accesslog::AccessLog>, RunError> {
    let Some(cfg) = &config.access_log else {
        return Ok(None);
    };
    accesslog::AccessLog::start(cfg)
        .map(Some)
        .map_err(|source| RunError::AccessLog {
            path: cfg
                .file_path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "stdout".into()),
            source,
        })
}

/// SIGUSR1 (as Traefik, for logrotate): the access log and portier's log file are closed and
/// opened again at their paths.
fn reopen_on_sigusr1(
    access_log: Option<accesslog::AccessLog>,
    reopen_log: Option<Arc<dyn Reopen>>,
) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut usr1 = match signal(SignalKind::user_defined1()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("cannot listen for SIGUSR1 (log reopening): {e}");
            return;
        }
    };
    tokio::spawn(async move {
        while usr1.recv().await.is_some() {
            tracing::info!("SIGUSR1: closing and reopening the log files");
            if let Some(file) = &reopen_log {
                file.reopen();
            }
            if let Some(log) = &access_log {
                log.reopen().await;
            }
        }
    });
}

/// The aggregator (with the compiler) and the health checker.
/// Hands each table's dynamic certificates to the TLS entrypoints when they change.
async fn follow_certs(mut tables: watch::Receiver<Arc<RoutingTable>>, certs: tls::DynamicCerts) {
    loop {
        let current = Arc::clone(&tables.borrow_and_update().certs);
        if !Arc::ptr_eq(&certs.load(), &current) {
            certs.store(current);
        }
        if tables.changed().await.is_err() {
            return;
        }
    }
}

/// What rebuilding one TLS entrypoint's configuration needs.
struct TlsInput {
    name: String,
    tls: config::TlsConfig,
    acme: Option<Arc<acme::AcmeCerts>>,
    dynamic: tls::DynamicCerts,
    slot: proxy::TlsSlot,
}

fn tls_inputs(
    config: &Config,
    acme_certs: Option<&Arc<acme::AcmeCerts>>,
    dynamic: &tls::DynamicCerts,
    slots: &HashMap<String, proxy::TlsSlot>,
    tcp_slots: &HashMap<String, proxy::TlsSlot>,
) -> Vec<TlsInput> {
    (config.entry_points.iter())
        .filter_map(|ep| {
            let (tls, slot) = match &ep.tls {
                Some(t) => (t.clone(), slots.get(&ep.name)?),
                None => (config::TlsConfig::plain(), tcp_slots.get(&ep.name)?),
            };
            Some(TlsInput {
                name: ep.name.clone(),
                tls,
                acme: acme_certs
                    .filter(|_| serves_acme(config, &ep.name))
                    .cloned(),
                dynamic: Arc::clone(dynamic),
                slot: Arc::clone(slot),
            })
        })
        .collect()
}

/// Rebuilds every TLS entrypoint's configurations when the table's TLS options policy
/// changes: the default set (or the entrypoint's own settings) for most connections, and one
/// configuration per set its routers' hosts name. One that cannot be built refuses those
/// handshakes (never TLS without the options), and the log says why.
async fn follow_tls_options(mut tables: watch::Receiver<Arc<RoutingTable>>, inputs: Vec<TlsInput>) {
    let mut applied: Arc<control::tls_policy::TlsPolicy> = Arc::default();
    loop {
        let current = Arc::clone(&tables.borrow_and_update().tls_policy);
        if !Arc::ptr_eq(&applied, &current) && *applied != *current {
            for i in &inputs {
                i.slot.store(Arc::new(tls_choice(i, &current)));
            }
        }
        applied = current;
        if tables.changed().await.is_err() {
            return;
        }
    }
}

/// One entrypoint's configurations under `policy`.
fn tls_choice(i: &TlsInput, policy: &control::tls_policy::TlsPolicy) -> tls::TlsChoice {
    let build = |what: &str, options: Option<&model::dynamic::TlsOptions>| {
        let built = tls::server_config_with(
            &i.name,
            &i.tls,
            i.acme.clone(),
            Some(Arc::clone(&i.dynamic)),
            options,
        );
        match built {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::error!(entry_point = %i.name, "TLS options {what} cannot be applied: {e}; those TLS connections are refused until they are fixed");
                None
            }
        }
    };
    let mut choice = tls::TlsChoice {
        default: build("default", policy.default.as_deref()),
        by_host: HashMap::new(),
    };
    let mut by_set: HashMap<&str, Option<Arc<rustls::ServerConfig>>> = HashMap::new();
    for (host, (set, options)) in policy.hosts.get(&i.name).into_iter().flatten() {
        let config = by_set
            .entry(set.as_str())
            .or_insert_with(|| build(set, Some(options)))
            .clone();
        choice.by_host.insert(host.clone(), config);
    }
    choice
}

fn start_control(
    config: &Config,
    bound: &HashMap<String, u16>,
    upstream_tls: &Arc<rustls::ClientConfig>,
) -> (ControlPlane, Sender<ProviderUpdate>) {
    let settings = CompileSettings::new(config, bound);
    let control = Arc::new(ControlMetrics::default());
    let docker = if config.docker.is_some() { 0 } else { -1 };
    control.docker_connected.store(docker, Ordering::Relaxed);
    let table = Arc::new(ArcSwap::from_pointee(RoutingTable::default()));
    let agg = control::aggregator::spawn(
        settings,
        Arc::clone(&table),
        Arc::clone(&control),
        config.providers_throttle.0,
    );
    let (health_tx, health) = watch::channel(0u64);
    control::checker::spawn(agg.tables.clone(), health_tx, Arc::clone(upstream_tls));
    control::l4_check::spawn(agg.tables.clone());
    let cp = ControlPlane {
        table,
        tables: agg.tables,
        health,
        control,
    };
    (cp, agg.updates)
}

/// The file and Docker providers, each sending snapshots on `updates`.
fn start_providers(
    config: &Config,
    inline: Inline,
    updates: &Sender<ProviderUpdate>,
    control: &Arc<ControlMetrics>,
) {
    if let Some(file_cfg) = config.file.clone() {
        let path = config.config_file.clone().unwrap_or_default();
        providers::file::spawn(file_cfg, inline.dynamic, path, inline.text, updates.clone());
    }
    if let Some(d) = config.docker.clone() {
        tracing::info!(
            provider = "docker",
            "docker provider: endpoint {} watch={} exposedByDefault={} domain={:?}{}",
            d.endpoint,
            d.watch,
            d.exposed_by_default,
            d.domain,
            if d.swarm_mode {
                format!(" swarmMode=true (refresh every {:?})", d.swarm_refresh)
            } else {
                String::new()
            }
        );
        providers::docker::spawn(d, updates.clone(), Arc::clone(control));
    }
}

/// One accept loop per entrypoint; returns them with each entrypoint's counters.
/// `[entryPoints.NAME.auth]` / `whiteList`, compiled once. They were checked when the
/// configuration loaded; should compiling fail anyway, the entrypoint refuses every request.
fn entry_point_guards(
    name: &str,
    m: &model::middleware::FrontendMiddlewares,
) -> Result<Option<Arc<control::guards::RouteGuards>>, String> {
    if m.is_empty() {
        return Ok(None);
    }
    control::guards::compile(m)
        .map(|g| {
            let g = Arc::new(g);
            control::guards::start_jwks(&g);
            Some(g)
        })
        .map_err(|e| {
        tracing::error!(entry_point = %name, "entrypoint middlewares: {e}; every request answers 503");
        e.to_string()
    })
}

/// What TLS entrypoints get: their configurations, and ACME's HTTP-01 answers for the
/// `httpChallenge` entrypoint (its name).
struct EntryPointTls {
    slots: HashMap<String, proxy::TlsSlot>,
    /// Plain entrypoints' configurations, for TCP routers that end TLS there.
    tcp_slots: HashMap<String, proxy::TlsSlot>,
    acme_http: Option<(Vec<String>, Arc<acme::AcmeCerts>)>,
}

/// Each entrypoint's slot for the dashboard served on it (`[api] entryPoint`, `[ping]`).
type InternalSlots = HashMap<String, Arc<OnceLock<proxy::Internal>>>;

fn start_entry_points(
    config: &Config,
    listeners: Vec<(EntryPoint, TcpListener)>,
    mut tls: EntryPointTls,
    bound: &HashMap<String, u16>,
    proxy: &Arc<proxy::Proxy>,
    stop: &CancellationToken,
    graceful: &Arc<proxy::Drain>,
) -> (Vec<JoinHandle<()>>, EntryPointMetrics, InternalSlots) {
    let mut tasks = Vec::new();
    let mut metrics_by_ep = Vec::new();
    let mut internal = InternalSlots::new();
    let rt = &config.responding_timeouts;
    for (ep, listener) in listeners {
        let addr = listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        tracing::info!(entry_point = %ep.name, "entrypoint {} listening on {addr}", ep.name);
        let metrics = Arc::new(TrafficMetrics::default());
        metrics_by_ep.push((ep.name.clone(), Arc::clone(&metrics)));
        let limits = proxy::Limits {
            read_header_timeout: Some(rt.read_header_timeout.0).filter(|d| !d.is_zero()),
            idle_timeout: Some(rt.idle_timeout.0).filter(|d| !d.is_zero()),
            read_timeout: Some(rt.read_timeout.0).filter(|d| !d.is_zero()),
            write_timeout: Some(rt.write_timeout.0).filter(|d| !d.is_zero()),
            max_connections: ep.max_connections,
        };
        let guards = entry_point_guards(&ep.name, &ep.middlewares);
        let slot = Arc::new(OnceLock::new());
        internal.insert(ep.name.clone(), Arc::clone(&slot));
        let ctx = Arc::new(proxy::EntryPointContext {
            internal: slot,
            acme_http: (tls.acme_http.as_ref())
                .filter(|(names, _)| names.contains(&ep.name))
                .map(|(_, certs)| Arc::clone(certs)),
            guards,
            tcp_tls: (tls.slots.get(&ep.name).cloned()).or_else(|| tls.tcp_slots.remove(&ep.name)),
            tls: tls.slots.remove(&ep.name),
            redirect: ep.redirect.clone().map(|mut r| {
                if let RedirectTo::EntryPoint { name, port, .. } = &mut r.to {
                    *port = bound.get(name.as_str()).copied().unwrap_or(*port);
                }
                r
            }),
            metrics,
            name: ep.name,
            forwarded: ep.forwarded_headers,
            compress: ep.compress,
            proxy_protocol: ep.proxy_protocol,
            proxy: Arc::clone(proxy),
        });
        tasks.push(tokio::spawn(proxy::serve(
            listener,
            ctx,
            limits,
            stop.clone(),
            Arc::clone(graceful),
        )));
    }
    (tasks, metrics_by_ep, internal)
}

/// Mounts the web application on the entrypoints that serve it beside their routes: the
/// `[api] entryPoint` (its paths; `/` too when no frontend uses it by default) and the
/// `[ping] entryPoint` (`/ping`).
fn mount_web(config: &Config, app: &axum::Router, slots: &InternalSlots) {
    let mut mounts: Vec<(&str, proxy::Internal)> = Vec::new();
    let handler = internal_handler(app.clone());
    if let Some(name) = config.web.as_ref().and_then(|w| w.entry_point.as_deref()) {
        let prefixes = ["/api", "/dashboard", "/health", "/metrics", "/ping"];
        mounts.push((
            name,
            proxy::Internal {
                prefixes: prefixes.iter().map(|p| p.to_string()).collect(),
                root: !config.default_entry_points.iter().any(|d| d == name),
                handler: Arc::clone(&handler),
            },
        ));
    }
    if let Some(name) = config.ping_entry_point.as_deref() {
        if !mounts.iter().any(|(n, _)| *n == name) {
            mounts.push((
                name,
                proxy::Internal {
                    prefixes: vec!["/ping".to_string()],
                    root: false,
                    handler: Arc::clone(&handler),
                },
            ));
        }
    }
    for (name, internal) in mounts {
        tracing::info!(
            entry_point = name,
            "dashboard paths {:?} served on entrypoint {name}, beside its routes",
            internal.prefixes
        );
        if let Some(slot) = slots.get(name) {
            let _ = slot.set(internal);
        }
    }
}

/// The web application as the data plane calls it.
fn internal_handler(app: axum::Router) -> proxy::InternalHandler {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    Arc::new(move |req| {
        let app = app.clone();
        Box::pin(async move {
            let resp = match app.oneshot(req.map(axum::body::Body::new)).await {
                Ok(r) => r,
                Err(never) => match never {},
            };
            resp.map(|body| {
                body.map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)
                    .boxed_unsync()
            })
        })
    })
}

fn web_state(
    config: &Config,
    cp: &ControlPlane,
    stats: Arc<stats::Stats>,
    entry_points: EntryPointMetrics,
    draining: Arc<AtomicBool>,
) -> dashboard::WebState {
    dashboard::WebState {
        table: Arc::clone(&cp.table),
        tables: cp.tables.clone(),
        health: cp.health.clone(),
        stats,
        control: Arc::clone(&cp.control),
        entry_points,
        default_entry_points: config.default_entry_points.clone(),
        entry_point_addresses: config
            .entry_points
            .iter()
            .map(|e| (e.name.clone(), e.address.text.clone()))
            .collect(),
        users: config
            .web
            .as_ref()
            .map(|w| w.users.clone())
            .unwrap_or_default(),
        observer: dashboard::new_observer(),
        traffic: tokio::sync::watch::channel(serde_json::Value::Null).0,
        draining,
        config_warnings: Vec::new(),
        dashboard: match &config.web {
            Some(w) => w.dashboard,
            None => config.generation.api.unwrap_or(true),
        },
        prefix: config
            .web
            .as_ref()
            .map(|w| w.path.clone())
            .unwrap_or_default(),
    }
}

fn start_web(listener: TcpListener, app: axum::Router, stop: CancellationToken) -> JoinHandle<()> {
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    tracing::info!("web listening on {addr}");
    tokio::spawn(dashboard::serve(listener, app, stop))
}
