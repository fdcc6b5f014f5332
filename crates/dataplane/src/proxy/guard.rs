//! Runs a route's compiled middlewares on a request head, in Traefik's order: allowlist and
//! request headers (`admit`), auth (basic, digest, or the call to a forward-auth server),
//! connection limit, rate limit. A refusal becomes the client's answer (`ProxyError::Refused`).

use std::net::SocketAddr;

use http::request::Parts;
use http::{HeaderMap, StatusCode};
use http_body_util::{BodyExt, Empty, Limited};

use control::guards::RouteGuards;
use control::table::CompiledRoute;
use middleware::{ConnSlot, Guards, Refusal, RequestFacts, RequestHead};

use super::context::EntryPointContext;
use super::error::ProxyError;

fn head<'a>(ep: &EntryPointContext, peer: SocketAddr, parts: &'a mut Parts) -> RequestHead<'a> {
    RequestHead {
        peer: peer.ip(),
        method: &parts.method,
        uri: parts.uri.path_and_query().map_or("/", |p| p.as_str()),
        tls: ep.tls.is_some(),
        headers: &mut parts.headers,
    }
}

/// Allowlist (403), custom request headers, allowed hosts and the SSL redirect.
pub(super) fn admit(
    ep: &EntryPointContext,
    guards: &Guards,
    peer: SocketAddr,
    parts: &mut Parts,
) -> Result<RequestFacts, ProxyError> {
    guards
        .admit(&mut head(ep, peer, parts))
        .map_err(ProxyError::Refused)
}

/// Basic or digest auth (401); the user's name when one authenticated.
pub(super) fn authenticate(
    ep: &EntryPointContext,
    guards: &Guards,
    peer: SocketAddr,
    parts: &mut Parts,
) -> Result<Option<String>, ProxyError> {
    guards
        .authenticate(&mut head(ep, peer, parts))
        .map_err(ProxyError::Refused)
}

/// `passTLSClientCert`: the connection's client certificates into the request's headers
/// (what the client sent in them itself is removed).
pub(super) fn tls_client_headers(guards: &Guards, parts: &mut Parts) {
    if let Some(t) = &guards.tls_client_headers {
        let chain = parts
            .extensions
            .get::<std::sync::Arc<super::listener::ClientChain>>()
            .map(std::sync::Arc::clone);
        let certs: &[rustls::pki_types::CertificateDer<'static>] =
            chain.as_ref().map_or(&[], |c| &c.0);
        t.apply(certs, &mut parts.headers);
    }
}

/// The largest auth-server answer read; a longer one fails the request (500).
const MAX_AUTH_ANSWER: usize = 1 << 20;

/// Forward auth: the auth server's 2xx lets the request through (with its
/// `authResponseHeaders` copied in); any other answer is the client's. An auth server that
/// cannot be reached or answers too much fails the request with 500, as in Traefik, never open.
pub(super) async fn forward_auth(
    ep: &EntryPointContext,
    guards: &RouteGuards,
    peer: SocketAddr,
    parts: &mut Parts,
) -> Result<middleware::Admitted, ProxyError> {
    let (Some(check), Some(client)) = (&guards.forward, &guards.auth_client) else {
        return Ok(middleware::Admitted::default());
    };
    let ask = check.request(&head(ep, peer, parts)).map(|()| Empty::new());
    let failed = |what: &str, e: &dyn std::fmt::Display| {
        tracing::warn!(address = %check.address(), "forward auth: {what}: {e}; answering 500");
        ProxyError::Refused(Refusal::status(StatusCode::INTERNAL_SERVER_ERROR))
    };
    let call = client.request(ask);
    let answer = match ep.proxy.response_header_timeout {
        Some(t) => tokio::time::timeout(t, call)
            .await
            .map_err(|e| failed("no answer", &e))?,
        None => call.await,
    }
    .map_err(|e| failed("call failed", &e))?;
    let (head, body) = answer.into_parts();
    let limit = check.max_answer().map_or(MAX_AUTH_ANSWER, |m| {
        usize::try_from(m).unwrap_or(usize::MAX)
    });
    let body = match Limited::new(body, limit).collect().await {
        Ok(b) => b.to_bytes(),
        // `maxResponseBodySize`: a longer answer is a 401, as Traefik answers it.
        Err(e) if check.max_answer().is_some() && e.is::<http_body_util::LengthLimitError>() => {
            tracing::debug!(address = %check.address(), "forward auth: answer over maxResponseBodySize; answering 401");
            return Err(ProxyError::Refused(Refusal::status(
                StatusCode::UNAUTHORIZED,
            )));
        }
        Err(e) => return Err(failed("reading the answer", &e)),
    };
    check
        .outcome(head.status, &head.headers, body, &mut parts.headers)
        .map_err(ProxyError::Refused)
}

/// The entrypoint's auth, then its allowlist (Traefik's entrypoint order), before routing.
pub(super) async fn entry_point(
    ep: &EntryPointContext,
    peer: SocketAddr,
    parts: &mut Parts,
) -> Result<Option<String>, ProxyError> {
    let guards = match &ep.guards {
        Ok(None) => return Ok(None),
        Ok(Some(g)) => g,
        Err(_) => return Err(ProxyError::Unenforced),
    };
    let user = guards
        .authenticate(&mut head(ep, peer, parts))
        .map_err(ProxyError::Refused)?;
    // The 1.x entrypoint's forward auth has no cookies to pass on.
    forward_auth(ep, guards, peer, parts).await?;
    guards
        .admit(&mut head(ep, peer, parts))
        .map_err(ProxyError::Refused)?;
    Ok(user)
}

/// The backend's `maxconn` slot for this request (429 when full).
pub(super) fn limit_connections(
    route: &CompiledRoute,
    peer: SocketAddr,
    headers: &HeaderMap,
) -> Result<Option<ConnSlot>, ProxyError> {
    match &route.backend.max_conn {
        None => Ok(None),
        Some(m) => m
            .limiter
            .acquire(peer.ip(), headers)
            .map(Some)
            .map_err(ProxyError::Refused),
    }
}

/// The rate limit (429 with `Retry-After`).
pub(super) fn limit_rate(
    ep: &EntryPointContext,
    guards: &Guards,
    peer: SocketAddr,
    parts: &mut Parts,
) -> Result<(), ProxyError> {
    guards
        .limit(&head(ep, peer, parts))
        .map_err(ProxyError::Refused)
}
