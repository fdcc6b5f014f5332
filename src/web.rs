//! The `[web]` address. So far it answers `/ping` (Traefik's health probe); the dashboard and
//! API are not built yet, and every other path answers 404.

use std::convert::Infallible;

use http::{Response, StatusCode};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::proxy::body::ProxyBody;

pub async fn serve(listener: TcpListener, stop: CancellationToken) {
    loop {
        let (stream, _) = tokio::select! {
            _ = stop.cancelled() => return,
            a = listener.accept() => match a {
                Ok(a) => a,
                Err(_) => continue,
            },
        };
        tokio::spawn(async move {
            let svc = service_fn(|req: http::Request<hyper::body::Incoming>| async move {
                let resp = match req.uri().path() {
                    "/ping" => Response::new(ProxyBody::full("OK")),
                    _ => {
                        let mut r = Response::new(ProxyBody::full("404 page not found\n"));
                        *r.status_mut() = StatusCode::NOT_FOUND;
                        r
                    }
                };
                Ok::<_, Infallible>(resp)
            });
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}
