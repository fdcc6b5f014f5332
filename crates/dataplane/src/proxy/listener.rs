//! Accepting connections on one entrypoint and serving HTTP/1.1 (and h2c) on them until
//! shutdown; in-flight requests are tracked for a graceful drain.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::context::EntryPointContext;
use super::head_wait::{ClientIo, HeadLimits, HeadTimer, HeadWait};
use super::service::handle;

/// Most header lines in one request (hyper's default; more → 431).
const MAX_HEADERS: usize = 100;
/// Largest request head (request line plus headers); larger → 431. Also caps the per-connection
/// read buffer, so a slow or hostile client holds at most this much memory.
const MAX_HEAD_BYTES: usize = 32 * 1024;
/// The TLS handshake and PROXY header bound when `readHeaderTimeout` is 0 (no bound on heads).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(60);
/// Back-off after an accept error such as EMFILE, so the loop does not spin.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(50);

/// How one entrypoint accepts: head timeout and connection cap.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// `[respondingTimeouts] readHeaderTimeout`: the first request head, and each later one
    /// from its first byte, must arrive within it (408 and close); `None`: no limit.
    pub read_header_timeout: Option<Duration>,
    /// `[respondingTimeouts] idleTimeout`: a keep-alive connection may wait this long for its
    /// next request; `None`: no limit.
    pub idle_timeout: Option<Duration>,
    /// `[respondingTimeouts] readTimeout`: a read from the client may wait this long for data
    /// (no progress → the connection closes); `None`: no limit.
    pub read_timeout: Option<Duration>,
    /// `[respondingTimeouts] writeTimeout`: the same for writes to the client.
    pub write_timeout: Option<Duration>,
    /// 0: no limit.
    pub max_connections: usize,
}

/// Serves `listener` until `stop` is cancelled; connections are registered with `graceful`.
/// At `max_connections`, accepting pauses and new clients wait in the listen backlog.
pub async fn serve(
    listener: TcpListener,
    ep: Arc<EntryPointContext>,
    limits: Limits,
    stop: CancellationToken,
    graceful: Arc<GracefulShutdown>,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .keep_alive(true)
        // Any value: it makes hyper report its head waits to the connection's `HeadTimer`,
        // and `ClientIo` enforces the real bounds.
        .header_read_timeout(Duration::from_secs(1))
        .max_buf_size(MAX_HEAD_BYTES)
        .max_headers(MAX_HEADERS);
    let slots =
        (limits.max_connections > 0).then(|| Arc::new(Semaphore::new(limits.max_connections)));
    builder.http2().timer(TokioTimer::new());
    let mut last_error_logged = false;
    loop {
        let permit = match &slots {
            Some(slots) => tokio::select! {
                _ = stop.cancelled() => return,
                p = Arc::clone(slots).acquire_owned() => p.ok(),
            },
            None => None,
        };
        let accepted = tokio::select! {
            _ = stop.cancelled() => return,
            a = listener.accept() => a,
        };
        let (stream, peer) = match accepted {
            Ok(a) => {
                last_error_logged = false;
                a
            }
            Err(e) => {
                if !last_error_logged {
                    tracing::error!(entry_point = %ep.name, "accept failed: {e}; backing off");
                    last_error_logged = true;
                }
                tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        // Registered now, so a shutdown waits for this connection even mid-handshake.
        let (ep, builder, watcher) = (Arc::clone(&ep), builder.clone(), graceful.watcher());
        let handshake_timeout = limits.read_header_timeout.unwrap_or(HANDSHAKE_TIMEOUT);
        tokio::spawn(async move {
            ep.metrics.open.fetch_add(1, Ordering::Relaxed);
            let mut stream = stream;
            let peer = match client_behind_proxy(&ep, &mut stream, peer, handshake_timeout).await {
                Some(p) => p,
                None => {
                    ep.metrics.open.fetch_sub(1, Ordering::Relaxed);
                    return;
                }
            };
            // Most setups have no TCP router: then no lookup by name per connection.
            let l4 = {
                let table = ep.proxy.table.load();
                let tcp = &table.l4.tcp;
                (!tcp.is_empty())
                    .then(|| tcp.get(&ep.name).cloned())
                    .flatten()
            };
            let stream = match l4 {
                None => crate::l4::Rewind::new(stream),
                Some(routes) => {
                    match crate::l4::tcp::route(&ep, routes, stream, peer, handshake_timeout).await
                    {
                        Some(s) => s,
                        None => {
                            ep.metrics.open.fetch_sub(1, Ordering::Relaxed);
                            drop(watcher);
                            return;
                        }
                    }
                }
            };
            let mut io = tokio_io_timeout::TimeoutStream::new(stream);
            io.set_read_timeout(limits.read_timeout);
            io.set_write_timeout(limits.write_timeout);
            let io = Box::pin(io);
            let heads = HeadLimits {
                head: limits.read_header_timeout,
                idle: limits.idle_timeout,
            };
            let tls = ep.tls.as_ref().map(|slot| slot.load_full());
            match tls {
                None => serve_io(io, peer, None, &ep, builder, heads, watcher).await,
                Some(choice) => {
                    match tokio::time::timeout(handshake_timeout, handshake(&choice, io)).await {
                        Ok(Ok(tls)) => {
                            let chain = client_chain(&tls);
                            serve_io(tls, peer, chain, &ep, builder, heads, watcher).await
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(entry_point = %ep.name, "TLS handshake with {peer} failed: {e}")
                        }
                        Err(_) => {
                            tracing::debug!(entry_point = %ep.name, "TLS handshake with {peer} timed out")
                        }
                    }
                }
            }
            ep.metrics.open.fetch_sub(1, Ordering::Relaxed);
            drop(permit);
        });
    }
}

/// The client: the peer, or who a trusted peer's PROXY header names. `None`: the header was
/// bad or did not come in time, and the connection is dropped.
async fn client_behind_proxy(
    ep: &EntryPointContext,
    stream: &mut tokio::net::TcpStream,
    peer: std::net::SocketAddr,
    within: Duration,
) -> Option<std::net::SocketAddr> {
    let trusted = ep
        .proxy_protocol
        .as_ref()
        .is_some_and(|t| t.trusts(peer.ip()));
    if !trusted {
        return Some(peer);
    }
    match tokio::time::timeout(within, super::proxy_protocol::read_header(stream)).await {
        Ok(Ok(client)) => Some(client.unwrap_or(peer)),
        Ok(Err(e)) => {
            tracing::debug!(entry_point = %ep.name, "connection from {peer}: {e}; closed");
            None
        }
        Err(_) => {
            tracing::debug!(entry_point = %ep.name, "connection from {peer}: no PROXY header in time; closed");
            None
        }
    }
}

/// The TLS handshake with the configuration for the client's SNI: read from its ClientHello
/// first when some hosts have their own options set. No configuration (options that could
/// not be built): the handshake is refused.
async fn handshake<IO>(
    choice: &crate::tls::TlsChoice,
    io: IO,
) -> std::io::Result<tokio_rustls::server::TlsStream<IO>>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let refused = || std::io::Error::other("the TLS options of this entrypoint cannot be applied");
    if choice.by_host.is_empty() {
        let config = choice.default.clone().ok_or_else(refused)?;
        return tokio_rustls::TlsAcceptor::from(config).accept(io).await;
    }
    let start =
        tokio_rustls::LazyConfigAcceptor::new(rustls::server::Acceptor::default(), io).await?;
    let config = choice
        .pick(start.client_hello().server_name())
        .ok_or_else(refused)?;
    start.into_stream(config).await
}

/// The certificates a client showed in the handshake (mTLS), leaf first.
#[derive(Debug)]
pub(super) struct ClientChain(pub(super) Vec<rustls::pki_types::CertificateDer<'static>>);

fn client_chain<I>(tls: &tokio_rustls::server::TlsStream<I>) -> Option<Arc<ClientChain>> {
    let certs = tls.get_ref().1.peer_certificates()?;
    Some(Arc::new(ClientChain(
        certs.iter().map(|c| c.clone().into_owned()).collect(),
    )))
}

/// Serves HTTP/1.1 (with upgrades) or HTTP/2 on one accepted connection until it closes; every
/// request carries the connection's client certificates, when it has some.
async fn serve_io<I>(
    io: I,
    peer: std::net::SocketAddr,
    chain: Option<Arc<ClientChain>>,
    ep: &Arc<EntryPointContext>,
    mut builder: auto::Builder<TokioExecutor>,
    heads: HeadLimits,
    watcher: Watcher,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let wait = HeadWait::new();
    builder.http1().timer(HeadTimer(Arc::clone(&wait)));
    let io = ClientIo::new(io, wait, heads);
    let ep = Arc::clone(ep);
    let svc = service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        let ep = Arc::clone(&ep);
        if let Some(c) = &chain {
            req.extensions_mut().insert(Arc::clone(c));
        }
        async move { Ok::<_, Infallible>(handle(ep, peer, req).await) }
    });
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), svc);
    if let Err(e) = watcher.watch(conn.into_owned()).await {
        tracing::trace!("connection from {peer}: {e}");
    }
}
