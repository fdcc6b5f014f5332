//! Request-head preparation: what the backend receives, built once per request before any
//! attempt: the rewritten path, hop-by-hop headers removed, X-Forwarded-*, the Host, and the
//! upgrade and `TE: trailers` headers put back where they must pass.

use std::net::SocketAddr;

use http::request::Parts;
use http::uri::{PathAndQuery, Uri};
use http::{HeaderValue, Request, header};
use hyper::body::Incoming;
use hyper::upgrade::OnUpgrade;

use control::table::CompiledRoute;
use model::rules::Rewrite;

use super::context::EntryPointContext;
use super::error::ProxyError;
use super::headers::{self, Forwarded, X_FORWARDED_PREFIX, X_REPLACED_PATH};

/// A request ready to be sent to any server of its backend.
pub(super) struct Prepared {
    /// Method and headers as the backend receives them (the URI is set per attempt).
    pub(super) parts: Parts,
    pub(super) body: super::upstream_body::RequestBody,
    pub(super) path_and_query: PathAndQuery,
    /// The client side of a WebSocket (or other) upgrade, spliced after a 101.
    pub(super) client_upgrade: Option<OnUpgrade>,
}

impl Prepared {
    /// A copy to send again, when the body is buffered (and there is no upgrade to splice).
    pub(super) fn replay(&self) -> Option<Prepared> {
        let super::upstream_body::RequestBody::Buffered(data) = &self.body else {
            return None;
        };
        if self.client_upgrade.is_some() {
            return None;
        }
        let mut req = http::Request::new(());
        *req.method_mut() = self.parts.method.clone();
        *req.uri_mut() = self.parts.uri.clone();
        *req.version_mut() = self.parts.version;
        *req.headers_mut() = self.parts.headers.clone();
        let (parts, ()) = req.into_parts();
        Some(Prepared {
            parts,
            body: super::upstream_body::RequestBody::Buffered(std::sync::Arc::clone(data)),
            path_and_query: self.path_and_query.clone(),
            client_upgrade: None,
        })
    }
}

/// Builds the upstream head of `req` for `route`.
pub(super) fn prepare(
    ep: &EntryPointContext,
    peer: SocketAddr,
    mut req: Request<Incoming>,
    route: &CompiledRoute,
) -> Result<Prepared, ProxyError> {
    // WebSocket and other HTTP/1.1 upgrades: keep the client side to splice it later.
    let upgrade = headers::upgrade_protocol(req.headers());
    // gRPC needs `TE: trailers` end to end; it is hop-by-hop, so it is put back explicitly.
    let te_trailers = req
        .headers()
        .get_all(header::TE)
        .iter()
        .any(|v| v.to_str().is_ok_and(|v| v.contains("trailers")));
    let client_upgrade = upgrade.is_some().then(|| hyper::upgrade::on(&mut req));
    let (mut parts, body) = req.into_parts();

    let rewrite = match super::target::is_asterisk(&parts.uri) {
        true => None,
        false => rewritten(route, parts.uri.path())?,
    };
    let path_and_query = upstream_path(&parts.uri, rewrite.as_ref())?;
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
            host: client_host.as_ref(),
            proto: match (upgrade.is_some(), ep.tls.is_some()) {
                (false, false) => "http",
                (false, true) => "https",
                (true, false) => "ws",
                (true, true) => "wss",
            },
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

    Ok(Prepared {
        parts,
        body: super::upstream_body::RequestBody::Stream(body),
        path_and_query,
        client_upgrade,
    })
}

/// The route's path modifiers applied, and the result normalised again (a strip can leave
/// `/../admin` from `/music../admin`): 400 when it climbs above the root.
fn rewritten(route: &CompiledRoute, path: &str) -> Result<Option<Rewrite>, ProxyError> {
    let Some(mut rw) = route.rule.modifiers.apply(path) else {
        return Ok(None);
    };
    match model::path::normalize(&rw.path) {
        None => Err(ProxyError::BadRequest(format!(
            "path {path:?} climbs above the root once rewritten to {:?}",
            rw.path
        ))),
        Some(std::borrow::Cow::Borrowed(_)) => Ok(Some(rw)),
        Some(std::borrow::Cow::Owned(p)) => {
            rw.path = p;
            Ok(Some(rw))
        }
    }
}

fn upstream_path(uri: &Uri, rewrite: Option<&Rewrite>) -> Result<PathAndQuery, ProxyError> {
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
            PathAndQuery::try_from(pq).map_err(|e| ProxyError::BadRequest(e.to_string()))
        }
    }
}
