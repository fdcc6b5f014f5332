//! The per-request pipeline: route → rewrite path → pick a server → forward → stream back.
//! Reads the routing table once (no lock) and holds no table guard across an await.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use http::uri::{PathAndQuery, Uri};
use http::{HeaderValue, Request, Response, Version, header};
use hyper::body::Incoming;

use super::EntryPointContext;
use std::sync::atomic::Ordering;

use super::body::{Completion, ProxyBody};
use super::error::ProxyError;
use super::headers::{self, Forwarded, X_FORWARDED_PREFIX, X_REPLACED_PATH};
use crate::metrics;
use crate::router::CompiledRoute;
use crate::rules::{RequestView, Rewrite, matcher_host};

/// Details kept for the access log, taken before the request is consumed.
struct LogInfo {
    method: String,
    uri: String,
    version: &'static str,
    referer: String,
    user_agent: String,
}

pub async fn handle(
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
    req: Request<Incoming>,
    routed: &mut Routed,
) -> Result<Response<ProxyBody>, ProxyError> {
    let route = find_route(ep, &req).ok_or(ProxyError::NoRoute)?;
    route.metrics.open.fetch_add(1, Ordering::Relaxed);
    routed.route = Some(Arc::clone(&route));
    let index = route
        .backend
        .pick_index()
        .ok_or_else(|| ProxyError::NoServer {
            backend: route.backend.name.clone(),
        })?;
    routed.server = Some(index);
    let server = &route.backend.servers[index];
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
    parts.uri = Uri::builder()
        .scheme(server.scheme.clone())
        .authority(server.authority.clone())
        .path_and_query(path_and_query)
        .build()
        .map_err(|e| ProxyError::BadRequest(e.to_string()))?;
    parts.version = Version::HTTP_11;

    let h = &mut parts.headers;
    headers::remove_hop_by_hop(h);
    let trusted = ep.forwarded.trusts(peer.ip());
    headers::set_forwarded(
        h,
        &Forwarded {
            client_ip: peer.ip(),
            host: client_host.as_ref().and_then(|v| v.to_str().ok()),
            proto: "http",
            trusted,
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
    match (route.pass_host_header, client_host) {
        (true, Some(host)) => {
            h.insert(header::HOST, host);
        }
        _ => {
            if let Ok(v) = HeaderValue::from_str(server.authority.as_str()) {
                h.insert(header::HOST, v);
            }
        }
    }

    let in_flight = server.state.start_request();
    let pending = ep.proxy.client.request(Request::from_parts(parts, body));
    let result = match ep.proxy.response_header_timeout {
        Some(t) => tokio::time::timeout(t, pending)
            .await
            .map_err(|_| ProxyError::Timeout {
                url: server.url.clone(),
                timeout: t,
            }),
        None => Ok(pending.await),
    };
    let resp = match result {
        Ok(Ok(resp)) => resp,
        Ok(Err(source)) => {
            let e = ProxyError::Upstream {
                url: server.url.clone(),
                source,
            };
            server.state.set_last_error(e.to_string());
            return Err(e);
        }
        Err(e) => {
            server.state.set_last_error(e.to_string());
            return Err(e);
        }
    };
    let (mut parts, body) = resp.into_parts();
    headers::remove_hop_by_hop(&mut parts.headers);
    Ok(Response::from_parts(
        parts,
        ProxyBody::upstream(body, in_flight),
    ))
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
