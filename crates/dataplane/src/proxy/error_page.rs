//! Custom error pages (`errors.NAME`): an answer whose status is in a page's ranges (from the
//! backend, from portier such as 502 or 504, or from a middleware such as 401) takes the body
//! and headers of `GET <query>` on the page's backend, keeping its status, as in Traefik 1.7.

use http::uri::PathAndQuery;
use http::{HeaderMap, Method, Response, StatusCode, header};

use control::table::{CompiledRoute, ErrorPageRuntime};

use super::attempts;
use super::body::ProxyBody;
use super::context::EntryPointContext;
use super::headers;
use super::upstream_body::UpstreamBody;

/// `resp`, or the error page for its status; `request` is the client's request headers.
pub(super) async fn apply(
    ep: &EntryPointContext,
    route: &CompiledRoute,
    request: HeaderMap,
    resp: Response<ProxyBody>,
) -> Response<ProxyBody> {
    let status = resp.status();
    let Some(page) = route.error_page(status.as_u16()) else {
        return resp;
    };
    match fetch(ep, page, request, status).await {
        Some(body) => body,
        None => {
            // The page could not be fetched: the status with its text, as Traefik answers.
            let mut r = Response::new(ProxyBody::full(status.canonical_reason().unwrap_or("")));
            *r.status_mut() = status;
            r
        }
    }
}

/// The page's answer with `status`; `None` when no server could give one.
async fn fetch(
    ep: &EntryPointContext,
    page: &ErrorPageRuntime,
    mut request: HeaderMap,
    status: StatusCode,
) -> Option<Response<ProxyBody>> {
    let backend = &page.backend;
    let server = &backend.servers[backend.pick_index(&[])?];
    headers::remove_hop_by_hop(&mut request);
    for h in [header::CONTENT_LENGTH, header::HOST] {
        request.remove(h);
    }
    let path = PathAndQuery::try_from(page.page.path(status.as_u16())).ok()?;
    let req = attempts::upstream_request(
        &Method::GET,
        request,
        &path,
        server,
        false,
        UpstreamBody::Empty,
    )
    .ok()?;
    let in_flight = server.state.start_request().await;
    let answer = match attempts::exchange(&ep.proxy, server, req).await {
        Ok(Ok(a)) => a,
        Ok(Err(e)) => return failed(server, &e),
        Err(e) => return failed(server, &e),
    };
    server.state.record_success();
    let mut resp = attempts::answer(answer, &mut None, in_flight);
    *resp.status_mut() = status;
    Some(resp)
}

/// Logs why the page could not be fetched; the caller answers the bare status.
fn failed(
    server: &control::table::ServerRuntime,
    e: &dyn std::fmt::Display,
) -> Option<Response<ProxyBody>> {
    tracing::warn!(page = %server.url, "error page: {e}");
    None
}
