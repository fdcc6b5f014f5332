//! Accepting connections on one entrypoint and serving HTTP/1.1 (and h2c) on them until
//! shutdown; in-flight requests are tracked for a graceful drain.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::connection::{self, Protocols};
use super::context::EntryPointContext;
use super::drain::{Drain, DrainWatch};
use super::head_wait::HeadLimits;
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

/// How every connection of an entrypoint speaks HTTP/1 and HTTP/2.
fn protocols() -> Arc<Protocols> {
    let mut http1 = http1::Builder::new();
    http1
        .keep_alive(true)
        // Any value: it makes hyper report its head waits to the connection's `HeadTimer`,
        // and `ClientIo` enforces the real bounds.
        .header_read_timeout(Duration::from_secs(1))
        .max_buf_size(MAX_HEAD_BYTES)
        .max_headers(MAX_HEADERS);
    let mut http2 = http2::Builder::new(TokioExecutor::new());
    http2.timer(TokioTimer::new());
    Arc::new(Protocols {
        http1,
        http2,
        reclaim: tokio::sync::Notify::new(),
    })
}

/// Serves `listener` until `stop` is cancelled; connections watch `drain`. At
/// `max_connections`, a parked (idle keep-alive) connection is closed to make room for a new
/// client; without one, the new client waits (and those after it, in the listen backlog).
pub async fn serve(
    listener: TcpListener,
    ep: Arc<EntryPointContext>,
    limits: Limits,
    stop: CancellationToken,
    drain: Arc<Drain>,
) {
    let protocols = protocols();
    let slots =
        (limits.max_connections > 0).then(|| Arc::new(Semaphore::new(limits.max_connections)));
    let mut last_error_logged = false;
    loop {
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
        // The client is accepted first, so that at the cap it is known to be waiting: an idle
        // (parked) connection then makes room, if there is one; else it waits for a slot.
        let permit = match &slots {
            Some(slots) => match Arc::clone(slots).try_acquire_owned() {
                Ok(p) => Some(p),
                Err(_) => {
                    if ep.metrics.parked.load(Ordering::Relaxed) > 0 {
                        protocols.reclaim.notify_one();
                    }
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        p = Arc::clone(slots).acquire_owned() => p.ok(),
                    }
                }
            },
            None => None,
        };
        let _ = stream.set_nodelay(true);
        // Registered now, so a shutdown waits for this connection even mid-handshake.
        let (ep, protocols, watcher) = (Arc::clone(&ep), Arc::clone(&protocols), drain.watcher());
        let handshake_timeout = limits.read_header_timeout.unwrap_or(HANDSHAKE_TIMEOUT);
        tokio::spawn(async move {
            ep.metrics.open.fetch_add(1, Ordering::Relaxed);
            let conn = Accepted {
                ep: &ep,
                protocols: &protocols,
                limits,
                handshake_timeout,
            };
            conn.serve(stream, peer, watcher).await;
            ep.metrics.open.fetch_sub(1, Ordering::Relaxed);
            drop(permit);
        });
    }
}

/// What serving one accepted connection needs. Its task lives as long as the connection, so
/// the futures of the rare steps (PROXY header, TCP routes, TLS) are boxed: a plain HTTP/1
/// connection's task stays small, which is what an idle (parked) connection costs.
struct Accepted<'a> {
    ep: &'a Arc<EntryPointContext>,
    protocols: &'a Arc<Protocols>,
    limits: Limits,
    handshake_timeout: Duration,
}

impl Accepted<'_> {
    async fn serve(self, mut stream: tokio::net::TcpStream, peer: SocketAddr, watcher: DrainWatch) {
        let ep = self.ep;
        let peer = match ep.proxy_protocol {
            None => peer,
            Some(_) => {
                let client = client_behind_proxy(ep, &mut stream, peer, self.handshake_timeout);
                match Box::pin(client).await {
                    Some(p) => p,
                    None => return,
                }
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
                let routed =
                    crate::l4::tcp::route(ep, routes, stream, peer, self.handshake_timeout);
                match Box::pin(routed).await {
                    Some(s) => s,
                    None => return,
                }
            }
        };
        let limits = self.limits;
        let mut io = tokio_io_timeout::TimeoutStream::new(stream);
        io.set_read_timeout(limits.read_timeout);
        io.set_write_timeout(limits.write_timeout);
        let io = Box::pin(io);
        let heads = HeadLimits {
            head: limits.read_header_timeout,
            idle: limits.idle_timeout,
        };
        match ep.tls.as_ref().map(|slot| slot.load_full()) {
            None => serve_io(io, peer, None, ep, self.protocols, heads, watcher).await,
            Some(choice) => {
                let tls = Box::pin(self.serve_tls(choice, io, peer, heads, watcher));
                tls.await;
            }
        }
    }

    /// The TLS handshake, then HTTP over it.
    async fn serve_tls<I>(
        &self,
        choice: Arc<crate::tls::TlsChoice>,
        io: I,
        peer: SocketAddr,
        heads: HeadLimits,
        watcher: DrainWatch,
    ) where
        I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let ep = self.ep;
        match tokio::time::timeout(self.handshake_timeout, handshake(&choice, io)).await {
            Ok(Ok(tls)) => {
                let chain = client_chain(&tls);
                serve_io(tls, peer, chain, ep, self.protocols, heads, watcher).await
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
    protocols: &Protocols,
    heads: HeadLimits,
    watcher: DrainWatch,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let metrics = Arc::clone(&ep.metrics);
    let ep = Arc::clone(ep);
    let svc = service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        let ep = Arc::clone(&ep);
        if let Some(c) = &chain {
            req.extensions_mut().insert(Arc::clone(c));
        }
        async move { Ok::<_, Infallible>(handle(ep, peer, req).await) }
    });
    connection::serve(io, svc, protocols, heads, &metrics.parked, watcher).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output_size<A, B, C, D, F>(_: impl FnOnce(A, B, C, D) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    /// A connection's task holds its future's largest state for the connection's life (a
    /// parked one too); the rare steps are boxed so that it stays small.
    #[test]
    fn a_connection_task_is_small() {
        let size = output_size(Accepted::serve);
        println!("a connection's task future: {size} bytes");
        assert!(size <= 3072, "{size} bytes");
    }
}
