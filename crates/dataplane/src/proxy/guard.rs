//! Runs a route's compiled middlewares on a request head, in Traefik's order: allowlist and
//! request headers (`admit`), auth, connection limit, rate limit. A refusal becomes the
//! client's answer (`ProxyError::Refused`).

use std::net::SocketAddr;

use http::HeaderMap;
use http::request::Parts;

use control::table::CompiledRoute;
use middleware::{ConnSlot, Guards, RequestFacts, RequestHead};

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

/// The entrypoint's auth, then its allowlist (Traefik's entrypoint order), before routing.
pub(super) fn entry_point(
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
