//! The per-request pipeline: route → rewrite path → pick a server → forward → stream back.
//! Reads the routing table once (no lock) and holds no table guard across an await.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use http::uri::{PathAndQuery, Uri};
use http::{HeaderValue, Method, Request, Response, StatusCode, Version, header};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;

use super::context::EntryPointContext;
use std::sync::atomic::Ordering;

use super::body::{Completion, ProxyBody};
use super::error::ProxyError;
use super::headers::{self, Forwarded, X_FORWARDED_PREFIX, X_REPLACED_PATH};
use super::upstream_body::{BodySlot, UpstreamBody};
use control::table::{CompiledRoute, ServerRuntime};
use model::metrics;
use model::rules::{RequestView, Rewrite, matcher_host};
use model::update::Protocol;

/// Most tries per request, whatever `[retry] attempts` says.
const MAX_ATTEMPTS: usize = 8;

/// Details kept for the access log, taken before the request is consumed.
struct LogInfo {
    method: String,
    uri: String,
    version: &'static str,
    referer: String,
    user_agent: String,
}

pub(super) async fn handle(
    ep: Arc<EntryPointContext>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Response<ProxyBody> {
    let started = Instant::now();
    let method = metrics::method_index(req.method());
    let log_info = ep.proxy.access_log.as_ref().map(|_| log_info(&req));
    let mut routed = Routed::default();
    let mut resp = match forward(&ep, peer, req, &mut routed).await {
        Ok(resp) => resp,
        Err(e) => {
            if !matches!(e, ProxyError::NoRoute) {
                tracing::debug!(entry_point = %ep.name, "{} caused by: {e}", e.status());
            }
            e.response()
        }
    };
    let status = resp.status().as_u16();
    let log = match (&ep.proxy.access_log, log_info) {
        (Some(log), Some(info)) => {
            let route = routed.route.as_deref();
            let url = route
                .zip(routed.server)
                .map_or("", |(r, i)| r.backend.servers[i].url.as_str());
            Some(log.begin(
                peer.ip(),
                &info.method,
                &info.uri,
                info.version,
                status,
                &info.referer,
                &info.user_agent,
                route.map_or("", |r| r.frontend.as_str()),
                url,
                started,
            ))
        }
        _ => None,
    };
    resp.body_mut().set_completion(Completion {
        started,
        status,
        method,
        entry_point: Arc::clone(&ep.metrics),
        route: routed.route.map(|r| Arc::clone(&r.metrics)),
        stats: Arc::clone(&ep.proxy.stats),
        log,
    });
    resp
}

/// Which route and server a request went to, for the metrics and the access log.
#[derive(Default)]
struct Routed {
    route: Option<Arc<CompiledRoute>>,
    server: Option<usize>,
}

fn log_info(req: &Request<Incoming>) -> LogInfo {
    let h = |name| {
        req.headers()
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    LogInfo {
        method: req.method().to_string(),
        uri: req
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string(),
        version: version_str(req.version()),
        referer: h(header::REFERER),
        user_agent: h(header::USER_AGENT),
    }
}

fn version_str(v: Version) -> &'static str {
    match v {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
}

async fn forward(
    ep: &EntryPointContext,
    peer: SocketAddr,
    mut req: Request<Incoming>,
    routed: &mut Routed,
) -> Result<Response<ProxyBody>, ProxyError> {
    if let Some(to) = &ep.redirect {
        return Ok(redirect(&req, to));
    }
    normalize_path(&mut req)?;
    let route = find_route(ep, &req).ok_or(ProxyError::NoRoute)?;
    // Counted open until the response body ends (see `Completion`).
    route.metrics.open.fetch_add(1, Ordering::Relaxed);
    routed.route = Some(Arc::clone(&route));
    if route.unenforced {
        return Err(ProxyError::Unenforced);
    }
    if let Some(to) = route.redirect.as_ref().filter(|r| r.entry_point != ep.name) {
        return Ok(redirect(&req, to));
    }
    // WebSocket and other HTTP/1.1 upgrades: keep the client side to splice it later.
    let upgrade = headers::upgrade_protocol(req.headers());
    // gRPC needs `TE: trailers` end to end; it is hop-by-hop, so it is put back explicitly.
    let te_trailers = req
        .headers()
        .get_all(header::TE)
        .iter()
        .any(|v| v.to_str().is_ok_and(|v| v.contains("trailers")));
    let mut client_upgrade = upgrade.is_some().then(|| hyper::upgrade::on(&mut req));
    let backend = &route.backend;
    let (mut parts, body) = req.into_parts();

    let rewrite = route.rule.modifiers.apply(parts.uri.path());
    let path_and_query =
        upstream_path(&parts.uri, rewrite.as_ref()).map_err(ProxyError::BadRequest)?;
    let client_host = parts.headers.get(header::HOST).cloned().or_else(|| {
        parts
            .uri
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
    });
    let h = &mut parts.headers;
    headers::remove_hop_by_hop(h);
    headers::set_forwarded(
        h,
        &Forwarded {
            client_ip: peer.ip(),
            host: client_host.as_ref().and_then(|v| v.to_str().ok()),
            proto: match (upgrade.is_some(), ep.tls.is_some()) {
                (false, false) => "http",
                (false, true) => "https",
                (true, false) => "ws",
                (true, true) => "wss",
            },
            trusted: ep.forwarded.trusts(peer.ip()),
            server: &ep.proxy.server_name,
        },
    );
    if let Some(rw) = &rewrite {
        if let Some(prefix) = rw
            .forwarded_prefix
            .as_deref()
            .and_then(|p| HeaderValue::from_str(p).ok())
        {
            h.append(&X_FORWARDED_PREFIX, prefix);
        }
        if let Some(old) = rw
            .replaced_path
            .as_deref()
            .and_then(|p| HeaderValue::from_str(p).ok())
        {
            h.insert(&X_REPLACED_PATH, old);
        }
    }
    if let (true, Some(host)) = (route.pass_host_header, client_host) {
        h.insert(header::HOST, host);
    }
    if let Some(protocol) = &upgrade {
        headers::set_upgrade(h, protocol.clone());
    }
    if te_trailers {
        h.insert(header::TE, HeaderValue::from_static("trailers"));
    }

    let body = BodySlot::new(body);
    let attempts = ep
        .proxy
        .retry_attempts
        .min(backend.servers.len())
        .clamp(1, MAX_ATTEMPTS);
    let idempotent = matches!(
        parts.method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE | Method::TRACE
    );
    // Servers already tried, on the stack: no allocation per request.
    let mut tried_buf = [usize::MAX; MAX_ATTEMPTS];
    let mut n_tried = 0;
    loop {
        let index =
            backend
                .pick_index(&tried_buf[..n_tried])
                .ok_or_else(|| ProxyError::NoServer {
                    backend: backend.name.clone(),
                })?;
        routed.server = Some(index);
        tried_buf[n_tried] = index;
        n_tried += 1;
        let server = &backend.servers[index];
        // The last attempt may take the prepared headers; earlier ones need a copy.
        let headers = if n_tried >= attempts {
            std::mem::take(&mut parts.headers)
        } else {
            parts.headers.clone()
        };
        let request = upstream_request(
            &parts.method,
            headers,
            &path_and_query,
            server,
            route.pass_host_header,
            body.body(),
        )?;
        let in_flight = server.state.start_request().await;
        let pending = match server.protocol {
            Protocol::Http1 => ep.proxy.client.request(request),
            Protocol::H2c => ep.proxy.h2c_client.request(request),
            Protocol::Https => ep.proxy.https_client.request(request),
        };
        let result = match ep.proxy.response_header_timeout {
            Some(t) => match tokio::time::timeout(t, pending).await {
                Ok(r) => r,
                Err(_) => {
                    let e = ProxyError::Timeout {
                        url: server.url.clone(),
                        timeout: t,
                    };
                    server.state.set_last_error(e.to_string());
                    return Err(e);
                }
            },
            None => pending.await,
        };
        match result {
            Ok(resp) => {
                server.state.record_success();
                if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
                    if let Some(client) = client_upgrade.take() {
                        return Ok(switch_protocols(resp, client, in_flight));
                    }
                }
                let (mut parts, body) = resp.into_parts();
                headers::remove_hop_by_hop(&mut parts.headers);
                return Ok(Response::from_parts(
                    parts,
                    ProxyBody::upstream(body, in_flight),
                ));
            }
            Err(source) => {
                // Safe to send again: nothing reached the server (failed connect, body still
                // here), or an idempotent request without body was reset before any answer.
                let retryable =
                    (source.is_connect() && body.available()) || (idempotent && body.is_empty());
                let e = ProxyError::Upstream {
                    url: server.url.clone(),
                    source,
                };
                server.state.set_last_error(e.to_string());
                if !retryable {
                    return Err(e);
                }
                let cool = server.state.eject();
                if n_tried >= attempts || n_tried >= backend.servers.len() {
                    return Err(e);
                }
                route.metrics.retries.fetch_add(1, Ordering::Relaxed);
                tracing::info!(
                    frontend = %route.frontend,
                    "retrying {} {} on another server (attempt {}/{attempts}): {e}; {} sits out {cool:?}",
                    parts.method,
                    path_and_query,
                    n_tried + 1,
                    server.url
                );
            }
        }
    }
}

/// Routes and forwards the normalised path (see `proxy::path`); 400 above the root.
fn normalize_path(req: &mut Request<Incoming>) -> Result<(), ProxyError> {
    let path = req.uri().path();
    let normalized = match super::path::normalize(path) {
        None => {
            return Err(ProxyError::BadRequest(format!(
                "path {path:?} climbs above the root"
            )));
        }
        Some(std::borrow::Cow::Borrowed(_)) => return Ok(()),
        Some(std::borrow::Cow::Owned(p)) => p,
    };
    let pq = match req.uri().query() {
        Some(q) => format!("{normalized}?{q}"),
        None => normalized,
    };
    let mut parts = req.uri().clone().into_parts();
    parts.path_and_query =
        Some(PathAndQuery::try_from(pq).map_err(|e| ProxyError::BadRequest(e.to_string()))?);
    *req.uri_mut() = Uri::from_parts(parts).map_err(|e| ProxyError::BadRequest(e.to_string()))?;
    Ok(())
}

/// `[entryPoints.NAME.redirect]`: the same host, path and query on the target entrypoint.
/// 302/307 (GET and HEAD / others), or 301/308 when permanent, as Traefik 1.x answers.
fn redirect(req: &Request<Incoming>, to: &config::Redirect) -> Response<ProxyBody> {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()))
        .map(matcher_host)
        .unwrap_or("localhost");
    let (scheme, default_port) = if to.https {
        ("https", 443)
    } else {
        ("http", 80)
    };
    let port = if to.port == default_port {
        String::new()
    } else {
        format!(":{}", to.port)
    };
    let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let location = format!("{scheme}://{host}{port}{path}");
    let safe = matches!(*req.method(), Method::GET | Method::HEAD);
    let status = match (to.permanent, safe) {
        (true, true) => StatusCode::MOVED_PERMANENTLY,
        (true, false) => StatusCode::PERMANENT_REDIRECT,
        (false, true) => StatusCode::FOUND,
        (false, false) => StatusCode::TEMPORARY_REDIRECT,
    };
    let mut resp = Response::new(ProxyBody::full(status.canonical_reason().unwrap_or("")));
    *resp.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// Answers 101 to the client and splices both upgraded connections together until either side
/// closes. The server counts the tunnel as one request in flight for its whole life.
fn switch_protocols(
    mut resp: Response<Incoming>,
    client: hyper::upgrade::OnUpgrade,
    in_flight: control::server::InFlight,
) -> Response<ProxyBody> {
    let upstream = hyper::upgrade::on(&mut resp);
    let protocol = headers::upgrade_protocol(resp.headers());
    let (mut parts, _) = resp.into_parts();
    headers::remove_hop_by_hop(&mut parts.headers);
    if let Some(p) = protocol {
        headers::set_upgrade(&mut parts.headers, p);
    }
    tokio::spawn(async move {
        let _in_flight = in_flight;
        match tokio::try_join!(client, upstream) {
            Ok((client, upstream)) => {
                let mut client = TokioIo::new(client);
                let mut upstream = TokioIo::new(upstream);
                if let Err(e) = tokio::io::copy_bidirectional(&mut client, &mut upstream).await {
                    tracing::debug!("upgraded connection ended: {e}");
                }
            }
            Err(e) => tracing::debug!("upgrade failed: {e}"),
        }
    });
    Response::from_parts(parts, ProxyBody::empty())
}

/// One attempt's request: the prepared head aimed at `server`.
fn upstream_request(
    method: &Method,
    headers: http::HeaderMap,
    path_and_query: &PathAndQuery,
    server: &ServerRuntime,
    pass_host_header: bool,
    body: UpstreamBody,
) -> Result<Request<UpstreamBody>, ProxyError> {
    let uri = Uri::builder()
        .scheme(server.scheme.clone())
        .authority(server.authority.clone())
        .path_and_query(path_and_query.clone())
        .build()
        .map_err(|e| ProxyError::BadRequest(e.to_string()))?;
    let mut req = Request::new(body);
    *req.method_mut() = method.clone();
    *req.uri_mut() = uri;
    *req.version_mut() = match server.protocol {
        Protocol::Http1 | Protocol::Https => Version::HTTP_11,
        Protocol::H2c => Version::HTTP_2,
    };
    *req.headers_mut() = headers;
    if !pass_host_header || !req.headers().contains_key(header::HOST) {
        if let Ok(v) = HeaderValue::from_str(server.authority.as_str()) {
            req.headers_mut().insert(header::HOST, v);
        }
    }
    Ok(req)
}

/// Looks the request up in the current table; the table guard ends with this function.
fn find_route(ep: &EntryPointContext, req: &Request<Incoming>) -> Option<Arc<CompiledRoute>> {
    let raw_host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()))
        .unwrap_or("");
    let host = matcher_host(raw_host);
    let host: Cow<str> = if host.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(host.to_ascii_lowercase())
    } else {
        Cow::Borrowed(host)
    };
    let view = RequestView {
        host: &host,
        path: req.uri().path(),
        query: req.uri().query(),
        method: req.method(),
        headers: req.headers(),
    };
    let table = ep.proxy.table.load();
    table.route(&ep.name, &view).cloned()
}

fn upstream_path(uri: &Uri, rewrite: Option<&Rewrite>) -> Result<PathAndQuery, String> {
    match rewrite {
        None => Ok(uri
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"))),
        Some(rw) => {
            let pq = match uri.query() {
                Some(q) => format!("{}?{q}", rw.path),
                None => rw.path.clone(),
            };
            PathAndQuery::try_from(pq).map_err(|e| e.to_string())
        }
    }
}
