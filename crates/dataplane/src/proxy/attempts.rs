//! The retry loop: pick a server (the one a sticky cookie names, else by weighted round
//! robin), send, and on a failure that is safe to repeat (a failed connect with the body still
//! here, or a reset idempotent request without a body) eject the server for a while and try
//! another, up to `[retry] attempts`. A sticky backend's answer from a server the client's
//! cookie did not name sets the cookie.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use http::uri::{PathAndQuery, Uri};
use http::{HeaderValue, Method, Request, Response, StatusCode, Version, header};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;

use control::table::{CompiledRoute, ServerRuntime};
use model::update::Protocol;

use super::body::ProxyBody;
use super::context::EntryPointContext;
use super::error::ProxyError;
use super::headers;
use super::prepare::Prepared;
use super::upstream_body::{BodySlot, UpstreamBody};

/// Most tries per request, whatever `[retry] attempts` says.
const MAX_ATTEMPTS: usize = 8;

/// What the attempts of one request came to, for the metrics and the access log.
#[derive(Debug, Default)]
pub(super) struct Upstream {
    /// The index of the last server tried.
    pub(super) server: Option<usize>,
    /// Attempts sent, over every `send` of the request.
    pub(super) tries: u32,
    /// When the last attempt was sent.
    pub(super) sent: Option<Instant>,
    /// The backend's status and (when the access log shows them) headers.
    pub(super) status: Option<u16>,
    pub(super) headers: Option<http::HeaderMap>,
    /// The path the backend was sent, and the request body bytes read (access log only).
    pub(super) path: Option<PathAndQuery>,
    pub(super) request_bytes: Option<Arc<AtomicU64>>,
}

/// Sends `head` to the servers of `route`'s backend until one answers, recording each try
/// in `up`.
pub(super) async fn send(
    ep: &EntryPointContext,
    route: &CompiledRoute,
    head: Prepared,
    up: &mut Upstream,
) -> Result<Response<ProxyBody>, ProxyError> {
    let Prepared {
        mut parts,
        body,
        path_and_query,
        mut client_upgrade,
    } = head;
    let backend = &route.backend;
    let mut body = BodySlot::new(body);
    let logging = ep.proxy.access_log.is_some();
    let log_headers = match &ep.proxy.access_log {
        Some(log) => {
            up.path = Some(path_and_query.clone());
            up.request_bytes = Some(body.count_reads());
            log.wants_headers()
        }
        None => false,
    };
    let attempts = route
        .retry_attempts
        .unwrap_or(ep.proxy.retry_attempts)
        .min(backend.serving())
        .clamp(1, MAX_ATTEMPTS);
    let idempotent = matches!(
        parts.method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE | Method::TRACE
    );
    // Servers already tried, on the stack: no allocation per request.
    let mut tried_buf = [usize::MAX; MAX_ATTEMPTS];
    let mut n_tried = 0;
    let stuck = backend.sticky_index(&parts.headers);
    loop {
        let index =
            match stuck.filter(|_| n_tried == 0) {
                Some(i) => i,
                None => backend.pick_index(&tried_buf[..n_tried]).ok_or_else(|| {
                    ProxyError::NoServer {
                        backend: backend.name.clone(),
                    }
                })?,
            };
        up.server = Some(index);
        up.tries += 1;
        if logging {
            up.sent = Some(Instant::now());
        }
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
        match exchange(&ep.proxy, server, request).await? {
            Ok(mut resp) => {
                if let Err(reason) = super::framing::response(resp.headers_mut()) {
                    // Dropped unread: the connection closes instead of going back to the pool.
                    let e = ProxyError::BadResponse {
                        url: server.url.clone(),
                        reason,
                    };
                    server.state.set_last_error(e.to_string());
                    return Err(e);
                }
                server.state.record_success();
                up.status = Some(resp.status().as_u16());
                if log_headers {
                    up.headers = Some(resp.headers().clone());
                }
                let mut resp = answer(resp, &mut client_upgrade, in_flight);
                if stuck != Some(index) {
                    let cookie = backend.sticky.as_ref().and_then(|s| s.set_cookie(index));
                    if let Some(c) = cookie {
                        resp.headers_mut().append(header::SET_COOKIE, c.clone());
                    }
                }
                return Ok(resp);
            }
            Err(source) if body.client_failed() => {
                // The client's body broke its framing: its fault, and the upstream connection
                // (left mid-body) is closed by the client pool, never reused.
                return Err(ProxyError::ClientBody(source));
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
                if n_tried >= attempts || n_tried >= backend.serving() {
                    return Err(e);
                }
                route.metrics.retries.fetch_add(1, Ordering::Relaxed);
                if let Some(first) = route.retry_interval {
                    tokio::time::sleep(backoff(first, attempts, n_tried)).await;
                }
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

/// The wait before retry `n` (1 for the first) of `attempts`: Traefik's exponential backoff
/// without its jitter, from `first` up to twice it before the last attempt.
fn backoff(first: std::time::Duration, attempts: usize, n: usize) -> std::time::Duration {
    if attempts < 2 {
        return std::time::Duration::ZERO;
    }
    let multiplier = 2f64.powf(1.0 / (attempts - 1) as f64);
    first.mul_f64(multiplier.powi(n.saturating_sub(1) as i32))
}

/// One attempt: sends `request` to `server` and waits for the response head, at most
/// `responseHeaderTimeout` (a timeout is final: the request may have reached the server).
pub(super) async fn exchange(
    proxy: &super::context::Proxy,
    server: &ServerRuntime,
    request: Request<UpstreamBody>,
) -> Result<Result<Response<Incoming>, hyper_util::client::legacy::Error>, ProxyError> {
    let pending = match server.protocol {
        Protocol::Http1 => proxy.client.request(request),
        Protocol::H2c => proxy.h2c_client.request(request),
        Protocol::Https => proxy.https_client.request(request),
    };
    match proxy.response_header_timeout {
        None => Ok(pending.await),
        Some(t) => tokio::time::timeout(t, pending).await.map_err(|_| {
            let e = ProxyError::Timeout {
                url: server.url.clone(),
                timeout: t,
            };
            server.state.set_last_error(e.to_string());
            e
        }),
    }
}

/// The client's response: a 101 splices the upgraded connections, anything else streams back
/// without hop-by-hop headers. `in_flight` lasts as long as the body (or the tunnel).
pub(super) fn answer(
    resp: Response<Incoming>,
    client_upgrade: &mut Option<hyper::upgrade::OnUpgrade>,
    in_flight: control::server::InFlight,
) -> Response<ProxyBody> {
    if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
        if let Some(client) = client_upgrade.take() {
            return switch_protocols(resp, client, in_flight);
        }
    }
    let (mut parts, body) = resp.into_parts();
    headers::remove_hop_by_hop(&mut parts.headers);
    Response::from_parts(parts, ProxyBody::upstream(body, in_flight))
}

/// One attempt's request: the prepared head aimed at `server`.
pub(super) fn upstream_request(
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

#[cfg(test)]
mod tests {
    use super::backoff;
    use std::time::Duration;

    #[test]
    fn retry_waits_grow_from_the_initial_interval_to_twice_it() {
        let ms = |n| backoff(Duration::from_millis(100), 5, n).as_millis();
        assert_eq!([ms(1), ms(2), ms(3), ms(4)], [100, 118, 141, 168]);
        assert_eq!(backoff(Duration::from_millis(100), 1, 1), Duration::ZERO);
    }
}
