//! The per-request pipeline: route (rule zero and redirects first) → the route's middlewares
//! (`guard`: allowlist, headers, auth, connection and rate limits) → prepare the upstream head
//! (`prepare`) → pick a server and send, retrying (`attempts`) → stream back, counted and
//! logged. Reads the routing table once (no lock) and holds no table guard across an await.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use std::sync::atomic::Ordering;

use http::uri::{PathAndQuery, Uri};
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use hyper::body::Incoming;

use control::table::CompiledRoute;
use model::metrics;
use model::rules::{RequestView, matcher_host};

use super::attempts;
use super::body::{Completion, ProxyBody};
use super::compress;
use super::context::EntryPointContext;
use super::error::ProxyError;
use super::error_page;
use super::guard;
use super::prepare::prepare;
use crate::accesslog::{Origin, Outcome};

pub(super) async fn handle(
    ep: Arc<EntryPointContext>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Response<ProxyBody> {
    let started = Instant::now();
    let method = metrics::method_index(req.method());
    let encoding = ep
        .compress
        .then(|| compress::negotiate(req.headers()))
        .flatten()
        .map(|e| (e, req.method().clone()));

    let arrival = ep
        .proxy
        .access_log
        .as_ref()
        .map(|log| log.arrive(&req, peer, ep.forwarded.trusts(peer.ip()), started));
    let mut routed = Routed::default();
    let mut resp = match forward(&ep, peer, req, &mut routed).await {
        Ok(resp) => resp,
        Err(e) => {
            report(&ep, &routed, &e);
            e.response()
        }
    };
    if routed.route.as_ref().is_some_and(|r| r.content_type) {
        Box::pin(sniff_content_type(&mut resp)).await;
    }
    // A route may compress on an entrypoint that does not (a 2.x/3.x `compress` middleware).
    match (encoding, routed.compress.take()) {
        (Some((encoding, method)), _) => compress::apply(encoding, &method, &mut resp, None),
        (None, Some((encoding, method, policy))) => {
            compress::apply(encoding, &method, &mut resp, Some(&policy));
        }
        (None, None) => {}
    }
    let status = resp.status().as_u16();
    let log = match (&ep.proxy.access_log, arrival) {
        (Some(log), Some(arrival)) => {
            let outcome = outcome(
                &mut routed,
                status,
                log.wants_headers().then(|| resp.headers()),
            );
            Some(log.begin(arrival, outcome))
        }
        _ => None,
    };
    if let Some(slot) = routed.slot.take() {
        resp.body_mut().hold(slot);
    }
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

/// `GET /.well-known/acme-challenge/TOKEN` for a host whose certificate is being ordered
/// with HTTP-01: the key authorization (`None` for anything else, which is routed as usual).
fn acme_http_01(
    certs: &crate::acme::AcmeCerts,
    req: &Request<Incoming>,
) -> Option<Response<ProxyBody>> {
    let token = req
        .uri()
        .path()
        .strip_prefix("/.well-known/acme-challenge/")?;
    let raw_host = (req.headers().get(header::HOST))
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()))?;
    let host = matcher_host(raw_host).to_ascii_lowercase();
    let answer = certs.http_01(&host, token)?;
    let mut resp = Response::new(ProxyBody::full(answer));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    Some(resp)
}

/// A 2.x/3.x `contentType` middleware: an answer with a body and no `Content-Type` gets the
/// type of its first bytes (Go's `DetectContentType`, as Traefik); the bytes still go first.
async fn sniff_content_type(resp: &mut Response<ProxyBody>) {
    let status = resp.status();
    if resp.headers().contains_key(header::CONTENT_TYPE)
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        return;
    }
    let Some(first) = resp.body_mut().first_data().await else {
        return;
    };
    if first.is_empty() {
        return;
    }
    let ct = middleware::detect_content_type(first);
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
}

/// Which route and server a request went to, for the metrics and the access log.
#[derive(Default)]
struct Routed {
    route: Option<Arc<CompiledRoute>>,
    upstream: attempts::Upstream,
    /// The authenticated user, for the access log.
    user: Option<String>,
    /// The request's `maxconn` slot, held until the response body ends.
    slot: Option<middleware::ConnSlot>,
    /// What its route's `compress` middleware negotiated (only on such routes).
    compress: Option<(compress::Encoding, Method, Arc<model::middleware::Compress>)>,
}

/// How the request was answered, for its access-log line.
fn outcome(routed: &mut Routed, status: u16, headers: Option<&http::HeaderMap>) -> Outcome {
    let up = &mut routed.upstream;
    let route = routed.route.as_deref();
    let server = route
        .zip(up.server)
        .and_then(|(r, i)| r.backend.servers.get(i));
    let backend_url = match (server, &up.path) {
        (Some(s), Some(p)) => format!("{}{}", s.url.trim_end_matches('/'), p),
        (Some(s), None) => s.url.clone(),
        _ => String::new(),
    };
    Outcome {
        frontend: route.map_or_else(String::new, |r| r.frontend.clone()),
        backend: match server {
            Some(_) => route.map_or_else(String::new, |r| r.backend.name.clone()),
            None => String::new(),
        },
        backend_url,
        backend_addr: server.map_or_else(String::new, |s| s.authority.to_string()),
        username: routed.user.take(),
        retries: up.tries.saturating_sub(1),
        origin: up.status.zip(up.sent).map(|(status, sent)| Origin {
            status,
            sent,
            headers: up.headers.take(),
        }),
        request_bytes: up.request_bytes.take(),
        status,
        headers: headers.cloned(),
    }
}

/// A request portier could not forward: a 502 names its cause chain at WARN (at most once
/// per server every few seconds); other failures at DEBUG.
fn report(ep: &EntryPointContext, routed: &Routed, e: &ProxyError) {
    match e {
        ProxyError::NoRoute => {}
        ProxyError::Upstream { url, source } => {
            let server = routed
                .route
                .as_deref()
                .zip(routed.upstream.server)
                .and_then(|(r, i)| r.backend.servers.get(i));
            let suppressed = match server {
                Some(s) => s.state.warn_allowed(),
                None => Some(0),
            };
            if let Some(suppressed) = suppressed {
                let frontend = routed.route.as_deref().map_or("", |r| r.frontend.as_str());
                let more = if suppressed > 0 {
                    format!(" ({suppressed} more like it not logged)")
                } else {
                    String::new()
                };
                tracing::warn!(
                    entry_point = %ep.name,
                    frontend,
                    "502 Bad Gateway: {url}: {}{more}",
                    super::error::cause_chain(source)
                );
            }
        }
        ProxyError::BadResponse { .. } => {
            let frontend = routed.route.as_deref().map_or("", |r| r.frontend.as_str());
            tracing::warn!(entry_point = %ep.name, frontend, "502 Bad Gateway: {e}");
        }
        _ => tracing::debug!(entry_point = %ep.name, "{} caused by: {e}", e.status()),
    }
}

async fn forward(
    ep: &EntryPointContext,
    peer: SocketAddr,
    mut req: Request<Incoming>,
    routed: &mut Routed,
) -> Result<Response<ProxyBody>, ProxyError> {
    super::host::check(&mut req).map_err(|e| ProxyError::BadRequest(e.to_string()))?;
    super::framing::check(&req)?;
    super::target::check(&req)?;
    if !ep.forwarded.trusts(peer.ip()) {
        super::headers::distrust(req.headers_mut());
    }
    // ACME's HTTP-01 answers come first, before an entrypoint redirect (as Traefik's
    // challenge router outranks every other).
    if let Some(resp) = ep.acme_http.as_ref().and_then(|a| acme_http_01(a, &req)) {
        return Ok(resp);
    }
    if let Some(resp) = ep.redirect.as_ref().and_then(|to| redirect(ep, &req, to)) {
        return Ok(resp);
    }
    if !matches!(ep.guards, Ok(None)) {
        let (mut parts, body) = req.into_parts();
        routed.user = guard::entry_point(ep, peer, &mut parts).await?;
        req = Request::from_parts(parts, body);
    }
    if let Some(internal) = ep.internal.get().filter(|i| i.claims(req.uri().path())) {
        let resp = (internal.handler)(req).await;
        return Ok(resp.map(ProxyBody::internal));
    }
    normalize_path(&mut req)?;
    let (route, slash) = find_route(ep, peer, &req).ok_or(ProxyError::NoRoute)?;
    // Counted open until the response body ends (see `Completion`).
    route.metrics.open.fetch_add(1, Ordering::Relaxed);
    routed.route = Some(Arc::clone(&route));
    if route.unenforced {
        return Err(ProxyError::Unenforced);
    }
    if let Some(path) = slash {
        return Ok(slash_redirect(&req, &path));
    }
    if route.error_pages.is_empty() {
        return serve_route(ep, peer, req, &route, routed).await;
    }
    // Kept for the error page's request, only on routes that have one.
    let request = req.headers().clone();
    let answer = serve_route(ep, peer, req, &route, routed)
        .await
        .unwrap_or_else(|e| e.response());
    Ok(error_page::apply(ep, &route, request, answer).await)
}

/// A routed request through its middlewares (when it has any) to its backend.
async fn serve_route(
    ep: &EntryPointContext,
    peer: SocketAddr,
    req: Request<Incoming>,
    route: &Arc<CompiledRoute>,
    routed: &mut Routed,
) -> Result<Response<ProxyBody>, ProxyError> {
    if let (Some(policy), false) = (&route.compress, ep.compress) {
        routed.compress = compress::negotiate_for(req.headers(), policy)
            .map(|e| (e, req.method().clone(), Arc::clone(policy)));
    }
    // gRPC-Web's CORS preflights are answered before the other middlewares (browsers send
    // them without credentials).
    if let Some(resp) = (route.grpc_web.as_ref()).and_then(|o| super::grpc_web::preflight(o, &req))
    {
        return Ok(resp);
    }
    let Some(guards) = route.guards.clone() else {
        if let Some(resp) = route_redirect(ep, &req, route) {
            return Ok(resp);
        }
        routed.slot = guard::limit_connections(route, peer, req.headers())?;
        if let Some(service) = route.internal {
            return internal(ep, service, req).await;
        }
        let head = prepare(ep, peer, req, route)?;
        return send(ep, route, head, routed).await;
    };
    let (mut parts, body) = req.into_parts();
    let facts = guard::admit(ep, &guards, peer, &mut parts)?;
    let req = Request::from_parts(parts, body);
    let answer = guarded(ep, peer, req, route, &guards, routed).await;
    let mut resp = answer.unwrap_or_else(|e| e.response());
    guards.on_response(resp.headers_mut(), &facts);
    Ok(resp)
}

/// Sends the prepared request: through the rare middlewares first when the route has them,
/// in a boxed future so that the plain path's future stays as small as it was.
async fn send(
    ep: &EntryPointContext,
    route: &CompiledRoute,
    head: super::prepare::Prepared,
    routed: &mut Routed,
) -> Result<Response<ProxyBody>, ProxyError> {
    if route.grpc_web.is_some() || route.backend.mirroring.is_some() {
        return Box::pin(send_special(ep, route, head, routed)).await;
    }
    through_breaker(ep, route, head, routed).await
}

/// A `grpcWeb` route's gRPC-Web call goes as gRPC and its answer comes back as gRPC-Web; a
/// mirroring service's copies go once the main servers answered (`super::mirror`).
async fn send_special(
    ep: &EntryPointContext,
    route: &CompiledRoute,
    mut head: super::prepare::Prepared,
    routed: &mut Routed,
) -> Result<Response<ProxyBody>, ProxyError> {
    let call = (route.grpc_web.as_ref())
        .and_then(|o| super::grpc_web::call(o, &head.parts.method, &head.parts.headers));
    if let Some(c) = &call {
        super::grpc_web::request(c, &mut head).await?;
    }
    let copies = super::mirror::prepare(&route.backend, &mut head).await?;
    let mut answer = through_breaker(ep, route, head, routed).await;
    if let (Some(c), true) = (copies, answer.is_ok()) {
        super::mirror::send(
            Arc::clone(&ep.proxy),
            Arc::clone(&route.backend),
            route.pass_host_header,
            c,
        );
    }
    if let (Some(c), Ok(resp)) = (&call, &mut answer) {
        super::grpc_web::response(c, resp);
    }
    answer
}

/// Sends to the backend unless its circuit breaker has tripped (503), and tells the breaker
/// how the backend answered (its status, or portier's for a failure such as 502 or 504).
async fn through_breaker(
    ep: &EntryPointContext,
    route: &CompiledRoute,
    head: super::prepare::Prepared,
    routed: &mut Routed,
) -> Result<Response<ProxyBody>, ProxyError> {
    let Some(b) = &route.backend.breaker else {
        return buffered(ep, route, head, routed).await;
    };
    let started = Instant::now();
    if !b.breaker.allow(started) {
        let code = (b.spec.options.response_code)
            .and_then(|c| StatusCode::from_u16(c).ok())
            .unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        return Err(ProxyError::Refused(middleware::Refusal::status(code)));
    }
    let answer = buffered(ep, route, head, routed).await;
    let status = match &answer {
        Ok(r) => r.status(),
        Err(e) => e.status(),
    };
    let now = Instant::now();
    b.breaker
        .record(status.as_u16(), now.duration_since(started), now);
    answer
}

/// Backend `buffering`: the request read whole first (413 above its limit), then the response
/// (502 above its limit); without it, both stream.
async fn buffered(
    ep: &EntryPointContext,
    route: &CompiledRoute,
    mut head: super::prepare::Prepared,
    routed: &mut Routed,
) -> Result<Response<ProxyBody>, ProxyError> {
    use super::buffering::{BufferError, Buffered};
    use super::upstream_body::RequestBody;
    let Some(limits) = &route.backend.buffering else {
        return attempts::send(ep, route, head, &mut routed.upstream).await;
    };
    if let RequestBody::Stream(body) = head.body {
        let data = Buffered::read(
            body,
            limits.mem_request_body_bytes,
            limits.max_request_body_bytes,
        )
        .await
        .map_err(|e| match e {
            BufferError::TooLarge(_) => {
                ProxyError::Refused(middleware::Refusal::status(StatusCode::PAYLOAD_TOO_LARGE))
            }
            other => ProxyError::BadRequest(other.to_string()),
        })?;
        head.parts.headers.remove(header::TRANSFER_ENCODING);
        head.parts
            .headers
            .insert(header::CONTENT_LENGTH, HeaderValue::from(data.len()));
        head.body = RequestBody::Buffered(Arc::new(data));
    }
    let resp = match &route.backend.retry {
        None => attempts::send(ep, route, head, &mut routed.upstream).await?,
        Some(retry) => with_retries(ep, route, head, retry, routed).await?,
    };
    if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
        return Ok(resp);
    }
    let (mut parts, body) = resp.into_parts();
    let data = Buffered::read(
        body,
        limits.mem_response_body_bytes,
        limits.max_response_body_bytes,
    )
    .await
    .map_err(|e| {
        tracing::warn!(frontend = %route.frontend, "buffering the response: {e}; answering 502");
        ProxyError::Refused(middleware::Refusal::status(StatusCode::BAD_GATEWAY))
    })?;
    parts.headers.remove(header::TRANSFER_ENCODING);
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(data.len()));
    Ok(Response::from_parts(
        parts,
        ProxyBody::replay(Arc::new(data)),
    ))
}

/// `buffering.retryExpression`: sends the buffered request again while the expression asks
/// for it after an attempt (at most `MAX_RETRY_ATTEMPTS` in all).
async fn with_retries(
    ep: &EntryPointContext,
    route: &CompiledRoute,
    mut head: super::prepare::Prepared,
    retry: &middleware::RetryCondition,
    routed: &mut Routed,
) -> Result<Response<ProxyBody>, ProxyError> {
    let mut attempt = 1;
    loop {
        let next = head.replay();
        let answer = attempts::send(ep, route, head, &mut routed.upstream).await;
        let status = match &answer {
            Ok(r) => r.status(),
            Err(e) => e.status(),
        };
        match next {
            Some(n) if retry.again(attempt, status.as_u16()) => {
                attempt += 1;
                route.metrics.retries.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(frontend = %route.frontend, "retryExpression: attempt {attempt} after {status}");
                head = n;
            }
            _ => return answer,
        }
    }
}

/// The part of a guarded route after the allowlist and request headers: redirect, auth,
/// limits, then forwarding. Its answers get the route's response headers.
async fn guarded(
    ep: &EntryPointContext,
    peer: SocketAddr,
    req: Request<Incoming>,
    route: &Arc<CompiledRoute>,
    guards: &control::guards::RouteGuards,
    routed: &mut Routed,
) -> Result<Response<ProxyBody>, ProxyError> {
    if let Some(resp) = route_redirect(ep, &req, route) {
        return Ok(resp);
    }
    let (mut parts, body) = req.into_parts();
    guard::tls_client_headers(guards, &mut parts);
    if let Some(user) = guard::authenticate(ep, guards, peer, &mut parts)? {
        routed.user = Some(user);
    }
    let admitted = guard::forward_auth(ep, guards, peer, &mut parts).await?;
    routed.slot = guard::limit_connections(route, peer, &parts.headers)?;
    guard::limit_rate(ep, guards, peer, &mut parts)?;
    let req = Request::from_parts(parts, body);
    let answer = match route.internal {
        Some(service) => internal(ep, service, req).await,
        None => {
            let head = prepare(ep, peer, req, route)?;
            send(ep, route, head, routed).await
        }
    };
    // `addAuthCookiesToResponse`: the auth server's cookies on the backend's answer.
    answer.map(|mut resp| {
        admitted.apply(resp.headers_mut());
        resp
    })
}

/// A route to portier's own service, once its middlewares passed: `api@internal` (the API and
/// dashboard), `ping@internal`, `prometheus@internal`, or `noop@internal` (418, as Traefik).
async fn internal(
    ep: &EntryPointContext,
    service: model::dynamic::InternalService,
    req: Request<Incoming>,
) -> Result<Response<ProxyBody>, ProxyError> {
    use model::dynamic::InternalService as S;
    // `ping@internal` and `prometheus@internal` are the web application's `/ping` and
    // `/metrics`, whatever the path the router matched.
    let path = match service {
        S::Noop => {
            let mut resp = Response::new(ProxyBody::empty());
            *resp.status_mut() = http::StatusCode::IM_A_TEAPOT;
            return Ok(resp);
        }
        S::Api => None,
        S::Ping => Some("/ping"),
        S::Prometheus => Some("/metrics"),
    };
    let Some(api) = ep.proxy.internal_api.get() else {
        return Err(ProxyError::NoRoute);
    };
    let mut req = req;
    if let Some(p) = path {
        *req.uri_mut() = http::Uri::from_static(p);
    }
    Ok((api.handler)(req).await.map(ProxyBody::internal))
}

/// Routes and forwards the normalised path (see `model::path`); 400 above the root. An
/// `OPTIONS *` keeps its `*`.
fn normalize_path(req: &mut Request<Incoming>) -> Result<(), ProxyError> {
    if super::target::is_asterisk(req.uri()) {
        return Ok(());
    }
    let path = req.uri().path();
    let normalized = match model::path::normalize(path) {
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

/// A frontend's redirect, unless it names the entrypoint the request came in on.
fn route_redirect(
    ep: &EntryPointContext,
    req: &Request<Incoming>,
    route: &CompiledRoute,
) -> Option<Response<ProxyBody>> {
    let to = route.redirect.as_ref()?;
    if to.entry_point() == Some(ep.name.as_str()) {
        return None;
    }
    redirect(ep, req, to)
}

/// The redirect's answer, or `None` when the request goes on (a regex that does not rewrite
/// its URL). The URL is Traefik's: https on TLS or with `X-Forwarded-Proto: https`, the Host as
/// sent, the path and query.
fn redirect(
    ep: &EntryPointContext,
    req: &Request<Incoming>,
    to: &model::redirect::Redirect,
) -> Option<Response<ProxyBody>> {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()))
        .unwrap_or("");
    let https = ep.tls.is_some()
        || req
            .headers()
            .get("x-forwarded-proto")
            .is_some_and(|v| v.as_bytes() == b"https");
    let target = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let location = to.location(https, host, target)?;
    let Ok(value) = HeaderValue::from_str(&location) else {
        let mut resp = Response::new(ProxyBody::full("redirect: not a valid Location"));
        *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        return Some(resp);
    };
    let status = to.status(req.method());
    let mut resp = Response::new(ProxyBody::full(status.canonical_reason().unwrap_or("")));
    *resp.status_mut() = status;
    resp.headers_mut().insert(header::LOCATION, value);
    Some(resp)
}

/// Looks the request up in the current table; the table guard ends with this function. The
/// path is set when the request meets its route only with its trailing slash toggled.
fn find_route(
    ep: &EntryPointContext,
    peer: SocketAddr,
    req: &Request<Incoming>,
) -> Option<(Arc<CompiledRoute>, Option<String>)> {
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
        client_ip: Some(peer.ip()),
    };
    let table = ep.proxy.table.load();
    table
        .route(&ep.name, &view)
        .map(|m| (Arc::clone(m.route), m.slash))
}

/// gorilla/mux's strict slash (Traefik's `keepTrailingSlash = false`): 301 to the path the
/// route spells, with the query kept, as Go's `http.Redirect` answers it.
fn slash_redirect(req: &Request<Incoming>, path: &str) -> Response<ProxyBody> {
    let location = match req.uri().query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    };
    let body = if matches!(*req.method(), Method::GET | Method::HEAD) {
        format!(
            "<a href=\"{}\">Moved Permanently</a>.\n\n",
            html_escape(&location)
        )
    } else {
        String::new()
    };
    let mut resp = Response::new(ProxyBody::full(body));
    *resp.status_mut() = StatusCode::MOVED_PERMANENTLY;
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp
}

/// Go's `htmlEscape` for the redirect body.
fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}
