//! Origins for framing tests: one that records every byte portier sends it (and the requests
//! a strict HTTP/1 server parses from them), and one that answers any request head with raw
//! bytes no HTTP library would write. Plus `raw()`, a client that sends bytes as given.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use super::TestBody;

/// Sends `bytes` on a fresh connection and returns everything the peer answers until it
/// closes (or 5 s pass with nothing more).
pub async fn raw(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(bytes).await.expect("write");
    read_all(&mut s, Duration::from_secs(5)).await
}

/// Everything `s` sends until it closes or `quiet` passes with nothing more.
pub async fn read_all(s: &mut TcpStream, quiet: Duration) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(quiet, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// The status code of a raw HTTP/1 answer (`""` when there is none).
pub fn status(answer: &str) -> &str {
    answer.get(9..12).unwrap_or("")
}

/// What an origin has seen so far.
#[derive(Debug, Default)]
struct Seen {
    /// The raw bytes read on each connection, in accept order.
    connections: Vec<Arc<Mutex<Vec<u8>>>>,
    /// `METHOD target body-length` of each request parsed whole (recording origin).
    requests: Vec<String>,
}

/// A loopback origin and what it saw. Dropping it stops it.
pub struct RawOrigin {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Seen>>,
    task: tokio::task::JoinHandle<()>,
}

impl RawOrigin {
    /// A strict HTTP/1 server (hyper's) that records the bytes it reads and answers each
    /// request it parses whole with `200 ok`.
    pub async fn recording() -> RawOrigin {
        RawOrigin::start(None).await
    }

    /// Answers every request head (everything up to the first blank line) with `response`,
    /// then keeps the connection open, still recording, until the peer closes it.
    pub async fn answering(response: &'static [u8]) -> RawOrigin {
        RawOrigin::start(Some(response)).await
    }

    async fn start(response: Option<&'static [u8]>) -> RawOrigin {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind origin");
        let addr = listener.local_addr().expect("addr");
        let seen = Arc::new(Mutex::new(Seen::default()));
        let s = Arc::clone(&seen);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let log = Arc::new(Mutex::new(Vec::new()));
                if let Ok(mut seen) = s.lock() {
                    seen.connections.push(Arc::clone(&log));
                }
                let s = Arc::clone(&s);
                tokio::spawn(async move {
                    match response {
                        Some(bytes) => answer_raw(stream, log, bytes).await,
                        None => serve_recorded(stream, log, s).await,
                    }
                });
            }
        });
        RawOrigin { addr, seen, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many connections portier opened to it.
    pub fn connections(&self) -> usize {
        self.seen.lock().map_or(0, |s| s.connections.len())
    }

    /// The requests parsed whole, as `METHOD target body-length`.
    pub fn requests(&self) -> Vec<String> {
        self.seen
            .lock()
            .map_or_else(|_| Vec::new(), |s| s.requests.clone())
    }

    /// The bytes read on each connection, in accept order.
    pub fn per_connection(&self) -> Vec<String> {
        let Ok(seen) = self.seen.lock() else {
            return Vec::new();
        };
        seen.connections
            .iter()
            .filter_map(|c| {
                c.lock()
                    .ok()
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
            })
            .collect()
    }

    /// Every byte read on every connection, joined.
    pub fn bytes(&self) -> String {
        self.per_connection().concat()
    }
}

impl Drop for RawOrigin {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve_recorded(stream: TcpStream, log: Arc<Mutex<Vec<u8>>>, seen: Arc<Mutex<Seen>>) {
    let io = TokioIo::new(Tee { inner: stream, log });
    let svc = service_fn(move |req: Request<Incoming>| {
        let seen = Arc::clone(&seen);
        async move {
            let line = format!("{} {}", req.method(), req.uri());
            let Ok(body) = req.into_body().collect().await else {
                let mut r = Response::new(TestBody::text("bad body"));
                *r.status_mut() = http::StatusCode::BAD_REQUEST;
                return Ok::<_, Infallible>(r);
            };
            let body: Bytes = body.to_bytes();
            if let Ok(mut s) = seen.lock() {
                s.requests.push(format!("{line} {}", body.len()));
            }
            Ok(Response::new(TestBody::text("ok")))
        }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, svc)
        .await;
}

async fn answer_raw(mut stream: TcpStream, log: Arc<Mutex<Vec<u8>>>, response: &[u8]) {
    let mut buf = [0u8; 4096];
    let mut head = Vec::new();
    let mut answered = false;
    loop {
        let n = match tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => n,
            _ => return,
        };
        if let Ok(mut l) = log.lock() {
            l.extend_from_slice(&buf[..n]);
        }
        if answered {
            continue;
        }
        head.extend_from_slice(&buf[..n]);
        if head.windows(4).any(|w| w == b"\r\n\r\n") {
            answered = true;
            if stream.write_all(response).await.is_err() {
                return;
            }
        }
    }
}

/// A stream whose reads are copied into `log`.
struct Tee {
    inner: TcpStream,
    log: Arc<Mutex<Vec<u8>>>,
}

impl AsyncRead for Tee {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            if let Ok(mut l) = self.log.lock() {
                l.extend_from_slice(&buf.filled()[before..]);
            }
        }
        polled
    }
}

impl tokio::io::AsyncWrite for Tee {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
