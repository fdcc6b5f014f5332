//! A 2.x/3.x mirroring service's copies: when a request's turn comes for some mirrors, its
//! body is read whole (`mirrorBody`, up to `maxBodySize`), the request goes to the main
//! servers as usual, and once that is answered one task sends each mirror its copy and drops
//! the answers (Traefik's order). A copy never delays or changes the client's answer.

use std::sync::Arc;

use http::{HeaderValue, header};
use http_body_util::BodyExt;

use control::table::BackendRuntime;

use super::attempts;
use super::buffering::{BufferError, Buffered};
use super::context::Proxy;
use super::error::ProxyError;
use super::prepare::Prepared;
use super::upstream_body::{BodySlot, RequestBody};

/// The copies one request sends once it is answered.
pub(super) struct Copies {
    copy: Prepared,
    targets: Vec<usize>,
}

/// The copy of `head` the mirrors of `backend` get, when it is their turn: `head`'s body is
/// read whole first (put back as a buffered body) unless `mirrorBody` is off; `None` when no
/// mirror is due, for upgrades, and for bodies over `maxBodySize` (not mirrored, as Traefik).
pub(super) async fn prepare(
    backend: &BackendRuntime,
    head: &mut Prepared,
) -> Result<Option<Copies>, ProxyError> {
    let Some(m) = &backend.mirroring else {
        return Ok(None);
    };
    if head.client_upgrade.is_some() {
        return Ok(None);
    }
    let targets = m.targets(&backend.servers);
    if targets.is_empty() {
        return Ok(None);
    }
    if !m.mirror_body {
        let mut copy = copy_head(head, RequestBody::Buffered(Arc::default()));
        copy.parts.headers.remove(header::TRANSFER_ENCODING);
        copy.parts.headers.remove(header::CONTENT_LENGTH);
        return Ok(Some(Copies { copy, targets }));
    }
    if let RequestBody::Stream(body) = &head.body {
        let declared = http_body::Body::size_hint(body).exact();
        if let (Some(max), Some(len)) = (m.max_body_size, declared) {
            if len > max {
                return Ok(None);
            }
        }
        let RequestBody::Stream(body) =
            std::mem::replace(&mut head.body, RequestBody::Buffered(Arc::default()))
        else {
            return Ok(None);
        };
        let data = Buffered::read(body, 0, 0).await.map_err(|e| match e {
            BufferError::TooLarge(_) => ProxyError::BadRequest(e.to_string()),
            other => ProxyError::BadRequest(other.to_string()),
        })?;
        let len = data.len();
        head.parts.headers.remove(header::TRANSFER_ENCODING);
        if len > 0 || head.parts.headers.contains_key(header::CONTENT_LENGTH) {
            head.parts
                .headers
                .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
        }
        head.body = RequestBody::Buffered(Arc::new(data));
        if m.max_body_size.is_some_and(|max| len > max) {
            // A chunked body longer than the limit: the main servers still get all of it.
            return Ok(None);
        }
    }
    Ok(head.replay().map(|copy| Copies { copy, targets }))
}

/// `head`'s method, URI, version, headers and path with `body`.
fn copy_head(head: &Prepared, body: RequestBody) -> Prepared {
    let mut req = http::Request::new(());
    *req.method_mut() = head.parts.method.clone();
    *req.uri_mut() = head.parts.uri.clone();
    *req.version_mut() = head.parts.version;
    *req.headers_mut() = head.parts.headers.clone();
    let (parts, ()) = req.into_parts();
    Prepared {
        parts,
        body,
        path_and_query: head.path_and_query.clone(),
        client_upgrade: None,
    }
}

/// Sends the copies, one mirror after the other, in a task of their own; answers are read
/// and dropped, failures logged at debug level.
pub(super) fn send(
    proxy: Arc<Proxy>,
    backend: Arc<BackendRuntime>,
    pass_host_header: bool,
    copies: Copies,
) {
    tokio::spawn(async move {
        let Copies { copy, targets } = copies;
        for index in targets {
            let Some(server) = backend.servers.get(index) else {
                continue;
            };
            let Some(one) = copy.replay() else {
                return;
            };
            let body = BodySlot::new(one.body).body();
            let request = match attempts::upstream_request(
                &one.parts.method,
                one.parts.headers,
                &one.path_and_query,
                server,
                pass_host_header,
                body,
            ) {
                Ok(r) => r,
                Err(e) => {
                    tracing::debug!(backend = %backend.name, "mirror copy not sent: {e}");
                    return;
                }
            };
            let _in_flight = server.state.start_request().await;
            match attempts::exchange(&proxy, server, request).await {
                Ok(Ok(resp)) => {
                    let mut body = resp.into_body();
                    while let Some(frame) = body.frame().await {
                        if frame.is_err() {
                            break;
                        }
                    }
                }
                Ok(Err(e)) => {
                    tracing::debug!(backend = %backend.name, "mirror {}: {e}", server.url);
                }
                Err(e) => tracing::debug!(backend = %backend.name, "mirror: {e}"),
            }
        }
    });
}
