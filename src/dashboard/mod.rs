//! The dashboard and API on `[web] address`: read-only by design (every route is GET), with
//! optional basic auth on everything but `/ping`.
//!
//! Routes: `/ping`, `/health`, `/metrics`, `/api`, `/api/providers[/{p}[/backends|frontends…]]`,
//! `/api/version`, `/api/overview` (counts and what is failing), `/api/traffic[/frontends|
//! backends/{p}/{name}]` (history), `/api/errors` (first and last seen), `/api/events`
//! (Server-Sent Events on every new table, health change and traffic sample), `/dashboard/`
//! (the page from `static/`, embedded in the binary).

mod api;
mod history;
mod http_api;
mod metrics_text;
mod observe;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::Stream;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use control::table::RoutingTable;
use dataplane::stats::Stats;
use model::metrics::{ControlMetrics, TrafficMetrics};

/// How often `/health` per-second counts and server request rates are sampled.
const SAMPLE_EVERY: Duration = Duration::from_secs(1);

/// Everything the dashboard reads. Shared with the data plane only through atomics and the
/// published table.
#[derive(Debug)]
pub(crate) struct WebState {
    pub table: Arc<ArcSwap<RoutingTable>>,
    pub tables: watch::Receiver<Arc<RoutingTable>>,
    /// Bumped by the health checker on every server health change.
    pub health: watch::Receiver<u64>,
    pub stats: Arc<Stats>,
    pub control: Arc<ControlMetrics>,
    pub entry_points: Vec<(String, Arc<TrafficMetrics>)>,
    pub default_entry_points: Vec<String>,
    /// Each entrypoint's name and address as configured, for `/api/entrypoints`.
    pub entry_point_addresses: Vec<(String, String)>,
    pub users: ::middleware::users::Users,
    /// What loading traefik.toml and the flags warned about (unknown keys and the like).
    pub config_warnings: Vec<String>,
    /// Set on SIGTERM: `/ping` answers 503 while in-flight requests drain.
    pub draining: Arc<std::sync::atomic::AtomicBool>,
    /// `[api] dashboard`: whether `/dashboard/` is served.
    pub dashboard: bool,
    /// `[web] path`: the prefix of every path (`/test`), or empty.
    pub prefix: String,
    /// Traffic history, server timelines and errors seen, sampled once a second.
    pub observer: Mutex<observe::Observer>,
    /// The last traffic sample of the whole proxy, for `/api/events`.
    pub traffic: watch::Sender<Value>,
}

/// What a new `WebState` starts observing with.
pub(crate) fn new_observer() -> Mutex<observe::Observer> {
    Mutex::new(observe::Observer::new(unix_ms() / 1000))
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[derive(rust_embed::Embed)]
#[folder = "static/"]
struct Assets;

pub(crate) type Shared = Arc<WebState>;

/// Starts sampling `/health` counts and server rates until `stop` is cancelled.
pub(crate) fn start_sampling(state: &Shared, stop: CancellationToken) {
    tokio::spawn(sample(Arc::clone(state), stop));
}

/// Serves `app` on its own listener until `stop` is cancelled.
pub(crate) async fn serve(listener: TcpListener, app: Router, stop: CancellationToken) {
    let shutdown = stop.clone();
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
    {
        tracing::error!("web: {e}");
    }
}

/// The web application: the page, the API, `/health`, `/metrics` and `/ping`, under
/// `[web] path` when it has one.
pub(crate) fn app(state: &Shared) -> Router {
    let state = Arc::clone(state);
    let pages = if state.dashboard {
        Router::new()
            .route("/", get(to_dashboard))
            .route("/dashboard", get(to_dashboard))
            .route("/dashboard/", get(|| asset(Path("index.html".to_string()))))
            .route("/dashboard/{*file}", get(asset))
    } else {
        // `[api] dashboard = false`: the API without the page.
        Router::new()
    };
    let protected = pages
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/api", get(all))
        .route("/api/providers", get(all))
        .route(
            "/api/version",
            get(|| async {
                axum::Json(json!({"Version": env!("CARGO_PKG_VERSION"), "Codename": "portier"}))
            }),
        )
        .route("/api/events", get(events))
        .route("/api/overview", get(overview))
        .route("/api/entrypoints", get(entry_points))
        .route("/api/entrypoints/{name}", get(entry_point))
        .route("/api/rawdata", get(rawdata))
        .route("/api/tcp/{kind}", get(tcp_list))
        .route("/api/udp/{kind}", get(udp_list))
        .route("/api/http/{kind}", get(http_list))
        .route("/api/http/{kind}/{name}", get(http_one))
        .route("/api/errors", get(errors))
        .route("/api/traffic", get(traffic))
        .route("/api/traffic/{kind}/{p}/{name}", get(traffic_of))
        .route(
            "/api/config/warnings",
            get(|State(s): State<Shared>| async move { axum::Json(s.config_warnings.clone()) }),
        )
        .route("/api/providers/{p}", get(one_provider))
        .route("/api/providers/{p}/{kind}", get(provider_part))
        .route("/api/providers/{p}/{kind}/{name}", get(provider_item))
        .route(
            "/api/providers/{p}/{kind}/{name}/{sub}",
            get(provider_item_part),
        )
        .route(
            "/api/providers/{p}/{kind}/{name}/{sub}/{item}",
            get(provider_item_sub),
        )
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            require_auth,
        ));
    let not_found = || async { (StatusCode::NOT_FOUND, "404 page not found\n") };
    let prefix = state.prefix.clone();
    let dashboard = state.dashboard;
    let app = Router::new()
        .route("/ping", get(ping))
        .merge(protected)
        .fallback(not_found)
        .with_state(state);
    if prefix.is_empty() {
        return app;
    }
    let outer = Router::new().nest(&prefix, app).fallback(not_found);
    if !dashboard {
        return outer;
    }
    // `PREFIX/` as well as `PREFIX` leads to the page.
    let location = format!("{prefix}/dashboard/");
    outer.route(
        &format!("{prefix}/"),
        get(move || async move { (StatusCode::FOUND, [(header::LOCATION, location)]) }),
    )
}

/// `OK`, or 503 while portier drains before exiting (Traefik's terminating status).
async fn ping(State(s): State<Shared>) -> Response {
    if s.draining.load(std::sync::atomic::Ordering::Relaxed) {
        (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable").into_response()
    } else {
        "OK".into_response()
    }
}

async fn require_auth(State(s): State<Shared>, req: Request, next: Next) -> Response {
    if s.users.is_empty()
        || s.users.check(
            req.headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok()),
        )
    {
        return next.run(req).await;
    }
    let mut resp = (StatusCode::UNAUTHORIZED, "401 Unauthorized\n").into_response();
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_str(&format!("Basic realm=\"{}\"", ::middleware::users::REALM))
            .unwrap_or(HeaderValue::from_static("Basic")),
    );
    resp
}

/// Once a second: per-second `/health` counts, and the observer's sample (history, server
/// states and request rates, errors seen).
async fn sample(state: Shared, stop: CancellationToken) {
    let mut tick = tokio::time::interval(SAMPLE_EVERY);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        state.stats.tick();
        let table = state.table.load_full();
        if let Ok(mut obs) = state.observer.lock() {
            obs.sample(unix_ms(), &table, &state.entry_points);
            let (requests, errors, p99) = obs.proxy.last_second();
            let total = obs.proxy.summary()["total"].clone();
            state.traffic.send_replace(json!({
                "t": obs.now, "requests": requests, "5xx": errors, "p99": p99, "total": total,
            }));
        }
    }
}

/// Traefik answers `/` with a 302 to the dashboard.
async fn to_dashboard(State(state): State<Shared>) -> Response {
    let location = format!("{}/dashboard/", state.prefix);
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

fn json_response(v: Value) -> Response {
    let mut resp = axum::Json(v).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    resp
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "404 page not found\n").into_response()
}

async fn all(State(s): State<Shared>) -> Response {
    let table = s.table.load_full();
    json_response(api::providers(&s, &table))
}

async fn one_provider(State(s): State<Shared>, Path(p): Path<String>) -> Response {
    let table = s.table.load_full();
    let p = if p == "rest" { "web".to_string() } else { p };
    match table.providers.get(&p) {
        Some(cfg) => json_response(api::provider(&api::View::new(&s, &table), &p, cfg)),
        None => not_found(),
    }
}

/// `/api/providers/{p}/backends` or `/frontends` (or `/errors`).
async fn provider_part(
    State(s): State<Shared>,
    Path((p, kind)): Path<(String, String)>,
) -> Response {
    let table = s.table.load_full();
    let Some(cfg) = table.providers.get(&p) else {
        return not_found();
    };
    let v = api::provider(&api::View::new(&s, &table), &p, cfg);
    match v.get(kind.as_str()) {
        Some(part) => json_response(part.clone()),
        None => not_found(),
    }
}

async fn provider_item(
    State(s): State<Shared>,
    Path((p, kind, name)): Path<(String, String, String)>,
) -> Response {
    item_path(&s, &p, &[&kind, &name])
}

async fn provider_item_part(
    State(s): State<Shared>,
    Path((p, kind, name, sub)): Path<(String, String, String, String)>,
) -> Response {
    item_path(&s, &p, &[&kind, &name, &sub])
}

async fn provider_item_sub(
    State(s): State<Shared>,
    Path((p, kind, name, sub, item)): Path<(String, String, String, String, String)>,
) -> Response {
    item_path(&s, &p, &[&kind, &name, &sub, &item])
}

fn item_path(s: &WebState, p: &str, path: &[&str]) -> Response {
    let table = s.table.load_full();
    let Some(cfg) = table.providers.get(p) else {
        return not_found();
    };
    let root = api::provider(&api::View::new(s, &table), p, cfg);
    let mut v = &root;
    for key in path {
        match v.get(*key) {
            Some(next) => v = next,
            None => return not_found(),
        }
    }
    json_response(v.clone())
}

async fn overview(State(s): State<Shared>) -> Response {
    let table = s.table.load_full();
    json_response(api::overview(&s, &table))
}

async fn entry_points(State(s): State<Shared>) -> Response {
    json_response(http_api::entry_points(&s))
}

async fn entry_point(State(s): State<Shared>, Path(name): Path<String>) -> Response {
    let all = http_api::entry_points(&s);
    let found = (all.as_array().into_iter().flatten()).find(|e| e["name"] == name.as_str());
    match found {
        Some(e) => json_response(e.clone()),
        None => not_found(),
    }
}

async fn rawdata(State(s): State<Shared>) -> Response {
    let table = s.table.load_full();
    json_response(http_api::rawdata(&s, &table))
}

/// `/api/http/routers`, `/api/http/services`, `/api/http/middlewares`.
async fn http_list(State(s): State<Shared>, Path(kind): Path<String>) -> Response {
    let table = s.table.load_full();
    match http_api::list(&s, &table, &kind) {
        Some(v) => json_response(v),
        None => not_found(),
    }
}

/// `/api/tcp/routers`, `/api/tcp/services`: as compiled, with live counters and states.
async fn tcp_list(State(s): State<Shared>, Path(kind): Path<String>) -> Response {
    l4_list(&s, "tcp", &kind)
}

/// `/api/udp/routers`, `/api/udp/services`.
async fn udp_list(State(s): State<Shared>, Path(kind): Path<String>) -> Response {
    l4_list(&s, "udp", &kind)
}

fn l4_list(s: &Shared, proto: &str, kind: &str) -> Response {
    let table = s.table.load_full();
    let l4 = &table.l4;
    match kind {
        "routers" => json_response(
            l4.routers
                .iter()
                .filter(|r| r.kind == proto)
                .map(|r| {
                    let mut v = serde_json::to_value(r).unwrap_or_default();
                    v["name"] = format!("{}@{}", r.name, r.provider).into();
                    v
                })
                .collect::<Vec<_>>()
                .into(),
        ),
        "services" => json_response(
            serde_json::to_value(
                l4.services
                    .iter()
                    .filter(|v| v.kind == proto)
                    .collect::<Vec<_>>(),
            )
            .unwrap_or_default(),
        ),
        _ => not_found(),
    }
}

/// One router, service or middleware by `name@provider`.
async fn http_one(State(s): State<Shared>, Path((kind, name)): Path<(String, String)>) -> Response {
    let table = s.table.load_full();
    match http_api::one(&s, &table, &kind, &name) {
        Some(v) => json_response(v),
        None => not_found(),
    }
}

async fn errors(State(s): State<Shared>) -> Response {
    let table = s.table.load_full();
    json_response(api::errors(&s, &table))
}

async fn traffic(State(s): State<Shared>) -> Response {
    json_response(api::traffic(&s))
}

/// `/api/traffic/frontends/{p}/{name}` or `/api/traffic/backends/{p}/{name}`.
async fn traffic_of(
    State(s): State<Shared>,
    Path((kind, p, name)): Path<(String, String, String)>,
) -> Response {
    let table = s.table.load_full();
    match api::traffic_of(&s, &table, &kind, &p, &name) {
        Some(v) => json_response(v),
        None => not_found(),
    }
}

async fn health(State(s): State<Shared>) -> Response {
    json_response(s.stats.to_json())
}

async fn metrics(State(s): State<Shared>) -> Response {
    let table = s.table.load_full();
    let body = metrics_text::render(&s, &table);
    let mut resp = body.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp
}

/// One `table` event per new routing table (with its generation), starting with the current
/// one, one `health` event per server health change, and one `traffic` event per second (the
/// proxy's last second: requests, 5xx, p99, total), so a page can refetch without polling.
async fn events(State(s): State<Shared>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let mut traffic = s.traffic.subscribe();
    traffic.mark_unchanged();
    let state = (s.tables.clone(), s.health.clone(), traffic, true);
    let stream = futures_util::stream::unfold(
        state,
        |(mut tables, mut health, mut traffic, first)| async move {
            let event = if first {
                table_event(&mut tables)
            } else {
                // A channel whose sender is gone (the aggregator ends once a static
                // configuration is loaded) sends nothing more; the stream goes on.
                tokio::select! {
                    () = changed(&mut tables) => table_event(&mut tables),
                    () = changed(&mut health) => {
                        let n = *health.borrow_and_update();
                        Event::default().event("health").data(json!({"changes": n}).to_string())
                    }
                    () = changed(&mut traffic) => {
                        let sample = traffic.borrow_and_update().to_string();
                        Event::default().event("traffic").data(sample)
                    }
                }
            };
            Some((Ok(event), (tables, health, traffic, false)))
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// Resolves when `rx` sees a new value; never, once its sender is gone.
async fn changed<T>(rx: &mut watch::Receiver<T>) {
    if rx.changed().await.is_err() {
        std::future::pending::<()>().await;
    }
}

fn table_event(tables: &mut watch::Receiver<Arc<RoutingTable>>) -> Event {
    let generation = tables.borrow_and_update().generation;
    Event::default()
        .event("table")
        .data(json!({"generation": generation}).to_string())
}

async fn asset(Path(file): Path<String>) -> Response {
    let file = if file.is_empty() || file.ends_with('/') {
        format!("{file}index.html")
    } else {
        file
    };
    match Assets::get(&file) {
        Some(content) => {
            let mime = match file.rsplit('.').next() {
                Some("html") => "text/html; charset=utf-8",
                Some("js") => "text/javascript; charset=utf-8",
                Some("css") => "text/css; charset=utf-8",
                Some("svg") => "image/svg+xml",
                _ => "application/octet-stream",
            };
            let mut resp = content.data.into_owned().into_response();
            let h = resp.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'",
                ),
            );
            resp
        }
        None => not_found(),
    }
}
