//! TCP routing on an entrypoint: a connection is matched against the entrypoint's TCP routes
//! (without reading when a plain route needs nothing the client sends; else after its first
//! bytes, and for TLS after its whole ClientHello, read by rustls' `Acceptor`), then either
//! proxied to a server of the route's service (TLS passed through untouched, or ended here)
//! or handed back, with what was read, to the entrypoint's HTTP side. Plain to plain, the bytes
//! move with splice(2); with TLS on a side, through a 32 KiB buffer each way.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use control::l4::{L4Server, TcpRoute, TcpRoutes, TlsMode};
use model::rules::ConnView;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::rewind::Rewind;
use crate::proxy::EntryPointContext;

/// The most a ClientHello may take (rustls' limit for a handshake message is larger, but no
/// real ClientHello comes near this).
const MAX_HELLO: usize = 16 * 1024;
/// Bytes copied per read, each direction: what one connection holds in flight.
const COPY_BUFFER: usize = 32 * 1024;

/// How TCP connections are forwarded (from the static configuration).
#[derive(Debug, Clone)]
pub struct TcpForwarding {
    /// `forwardingTimeouts.dialTimeout`; `None`: no bound.
    pub dial_timeout: Option<Duration>,
    /// `lifeCycle.graceTimeOut`: a connection to a server no longer declared is cut this long
    /// after it left.
    pub grace: Duration,
    /// For servers reached over TLS (`servers[].tls`).
    pub upstream_tls: Arc<rustls::ClientConfig>,
}

/// What a TCP route did not take: the connection, with what was read, for HTTP.
pub type Handback = Rewind<TcpStream>;

/// Routes `stream` by the entrypoint's TCP routes. `Some`: no TCP route takes it, HTTP does.
pub async fn route(
    ep: &Arc<EntryPointContext>,
    routes: Arc<TcpRoutes>,
    stream: TcpStream,
    peer: SocketAddr,
    within: Duration,
) -> Option<Handback> {
    let client = peer.ip();
    if ep.tls.is_none() && !routes.any_tls() {
        if let Some(r) = routes.pick_unread(client) {
            let r = Arc::clone(r);
            serve(ep, &r, Rewind::new(stream), peer, None).await;
            return None;
        }
    }
    let mut stream = stream;
    let mut first = [0u8; 1];
    match tokio::time::timeout(within, stream.peek(&mut first)).await {
        Ok(Ok(1)) => {}
        // Closed, failed or silent: HTTP decides (its own timeouts apply).
        _ => return Some(Rewind::new(stream)),
    }
    if first[0] != 0x16 {
        let view = ConnView {
            sni: None,
            client,
            alpn: &[],
        };
        return match routes.pick(&view, false) {
            Some(r) => {
                let r = Arc::clone(r);
                serve(ep, &r, Rewind::new(stream), peer, None).await;
                None
            }
            None => Some(Rewind::new(stream)),
        };
    }
    let (read, hello) = match tokio::time::timeout(within, client_hello(&mut stream)).await {
        Ok(Ok(x)) => x,
        // Not a ClientHello portier can read: the TLS side says why, as before.
        Ok(Err(read)) => return Some(Rewind::with_prefix(stream, read)),
        Err(_) => return None,
    };
    let view = ConnView {
        sni: hello.sni.as_deref(),
        client,
        alpn: &hello.alpn,
    };
    let picked = routes.pick(&view, true).cloned();
    let stream = Rewind::with_prefix(stream, read);
    match picked {
        // A catch-all TLS route yields to HTTPS routes on a TLS entrypoint that has some.
        Some(r) if !(r.rule.is_catch_all() && ep.tls.is_some() && has_http_routes(ep)) => {
            serve(ep, &r, stream, peer, hello.sni.as_deref()).await;
            None
        }
        _ if ep.tls.is_some() => Some(stream),
        _ => None,
    }
}

fn has_http_routes(ep: &EntryPointContext) -> bool {
    let table = ep.proxy.table.load();
    table
        .entry_points
        .get(&ep.name)
        .is_some_and(|r| !r.is_empty())
}

/// What a ClientHello said.
struct Hello {
    sni: Option<String>,
    alpn: Vec<String>,
}

/// Reads the ClientHello, keeping every byte read. `Err`: the bytes read, when they are not a
/// ClientHello rustls can read.
async fn client_hello(stream: &mut TcpStream) -> Result<(Bytes, Hello), Bytes> {
    let mut read = BytesMut::with_capacity(1024);
    let mut acceptor = rustls::server::Acceptor::default();
    let mut fed = 0;
    loop {
        if read.len() >= MAX_HELLO {
            return Err(read.freeze());
        }
        match stream.read_buf(&mut read).await {
            Ok(0) | Err(_) => return Err(read.freeze()),
            Ok(_) => {}
        }
        let mut more = &read[fed..];
        while !more.is_empty() {
            match acceptor.read_tls(&mut more) {
                Ok(_) => {}
                Err(_) => return Err(read.freeze()),
            }
        }
        fed = read.len();
        match acceptor.accept() {
            Ok(None) => continue,
            Ok(Some(accepted)) => {
                let ch = accepted.client_hello();
                let hello = Hello {
                    sni: ch.server_name().map(|s| s.to_ascii_lowercase()),
                    alpn: ch
                        .alpn()
                        .map(|a| a.map(|p| String::from_utf8_lossy(p).into_owned()).collect())
                        .unwrap_or_default(),
                };
                return Ok((read.freeze(), hello));
            }
            Err(_) => return Err(read.freeze()),
        }
    }
}

/// Serves one connection on route `r`: middlewares, TLS termination, a server, the copy.
async fn serve(
    ep: &Arc<EntryPointContext>,
    r: &Arc<TcpRoute>,
    stream: Handback,
    peer: SocketAddr,
    sni: Option<&str>,
) {
    let stats = &r.stats;
    stats.total.fetch_add(1, Ordering::Relaxed);
    if let Some(why) = &r.refusal {
        stats.refused.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(entry_point = %ep.name, router = %r.name, "connection from {peer} closed: {why}");
        return;
    }
    if !r.allows(peer.ip()) {
        stats.refused.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(entry_point = %ep.name, router = %r.name, "connection from {peer} closed: not in ipAllowList");
        return;
    }
    let mut guards = Vec::with_capacity(r.in_flight.len());
    for limit in &r.in_flight {
        match limit.enter(peer.ip()) {
            Some(g) => guards.push(g),
            None => {
                stats.refused.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(entry_point = %ep.name, router = %r.name, "connection from {peer} closed: inFlightConn {} reached", limit.amount);
                return;
            }
        }
    }
    let local = stream.get_ref().local_addr().ok();
    match r.tls {
        TlsMode::Terminate => {
            let Some(choice) = ep.tcp_tls.as_ref().map(|s| s.load_full()) else {
                stats.refused.fetch_add(1, Ordering::Relaxed);
                return;
            };
            let Some(config) = choice.pick(sni) else {
                stats.refused.fetch_add(1, Ordering::Relaxed);
                return;
            };
            match tokio_rustls::TlsAcceptor::from(config).accept(stream).await {
                Ok(tls) => forward(ep, r, Client::Tls(Box::new(tls)), peer, local).await,
                Err(e) => {
                    tracing::debug!(entry_point = %ep.name, router = %r.name, "TLS handshake with {peer} failed: {e}");
                }
            }
        }
        _ => forward(ep, r, Client::Plain(stream), peer, local).await,
    }
    drop(guards);
}

/// The client side of a routed connection: as accepted (with the bytes read to route it), or
/// with TLS ended here.
enum Client {
    Plain(Handback),
    Tls(Box<tokio_rustls::server::TlsStream<Handback>>),
}

/// Opens a connection to a server of the route's service and forwards both ways: plain to
/// plain with splice(2) (zero-copy), anything with TLS on a side through a buffer.
async fn forward(
    ep: &Arc<EntryPointContext>,
    r: &Arc<TcpRoute>,
    client: Client,
    peer: SocketAddr,
    local: Option<SocketAddr>,
) {
    let fwd = &ep.proxy.tcp;
    let Some(server) = r.service.pick().cloned() else {
        r.stats.refused.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(entry_point = %ep.name, router = %r.name, "connection from {peer} closed: no server up in {}", r.service.name);
        return;
    };
    let dial = TcpStream::connect(server.address.as_str());
    let conn = match fwd.dial_timeout {
        Some(t) => tokio::time::timeout(t, dial).await.unwrap_or_else(|_| {
            Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "dial timeout",
            ))
        }),
        None => dial.await,
    };
    let mut conn = match conn {
        Ok(c) => c,
        Err(e) => {
            r.stats.refused.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(entry_point = %ep.name, router = %r.name, "connecting to {}: {e}; connection from {peer} closed", server.address);
            return;
        }
    };
    let _ = conn.set_nodelay(true);
    if let Some(version) = r.service.proxy_protocol {
        let to = local.unwrap_or_else(|| conn.local_addr().unwrap_or(peer));
        let header = proxy_header(version, peer, to);
        if conn.write_all(&header).await.is_err() {
            return;
        }
    }
    let counted = Counted {
        route: Arc::clone(r),
        server: Arc::clone(&server),
    };
    if !server.tls {
        match client {
            Client::Plain(c) => spliced(c, conn, &counted, fwd.grace).await,
            Client::Tls(c) => pipe(c, conn, &counted, fwd.grace).await,
        }
        return;
    }
    let name = server
        .address
        .rsplit_once(':')
        .map_or(server.address.as_str(), |(h, _)| h)
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let Ok(name) = rustls::pki_types::ServerName::try_from(name) else {
        return;
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::clone(&fwd.upstream_tls));
    match connector.connect(name, conn).await {
        Ok(tls) => match client {
            Client::Plain(c) => pipe(c, tls, &counted, fwd.grace).await,
            Client::Tls(c) => pipe(c, tls, &counted, fwd.grace).await,
        },
        Err(e) => {
            tracing::warn!(entry_point = %ep.name, router = %r.name, "TLS to {}: {e}", server.address);
        }
    }
}

/// A connection counted open on its route and server while it lives.
struct Counted {
    route: Arc<TcpRoute>,
    server: Arc<L4Server>,
}

/// The PROXY header naming `client` (v1 text or v2 binary).
fn proxy_header(version: u8, client: SocketAddr, local: SocketAddr) -> Vec<u8> {
    let (client, local) = match (client, local) {
        (SocketAddr::V4(c), SocketAddr::V6(l)) => (
            SocketAddr::V6(std::net::SocketAddrV6::new(
                c.ip().to_ipv6_mapped(),
                c.port(),
                0,
                0,
            )),
            SocketAddr::V6(l),
        ),
        (SocketAddr::V6(c), SocketAddr::V4(l)) => (
            SocketAddr::V6(c),
            SocketAddr::V6(std::net::SocketAddrV6::new(
                l.ip().to_ipv6_mapped(),
                l.port(),
                0,
                0,
            )),
        ),
        pair => pair,
    };
    if version == 1 {
        return ppp::v1::Addresses::from((client, local))
            .to_string()
            .into_bytes();
    }
    ppp::v2::Builder::with_addresses(
        ppp::v2::Version::Two | ppp::v2::Command::Proxy,
        ppp::v2::Protocol::Stream,
        (client, local),
    )
    .build()
    .unwrap_or_default()
}

/// Copies both ways through a buffer until both sides are done (see [`drive`]).
async fn pipe<C, S>(client: C, server: S, counted: &Counted, grace: Duration)
where
    C: AsyncRead + AsyncWrite + Unpin,
    S: AsyncRead + AsyncWrite + Unpin,
{
    let stats = &counted.route.stats;
    let (cr, cw) = tokio::io::split(client);
    let (sr, sw) = tokio::io::split(server);
    let up = copy_half(cr, sw, &stats.bytes_in);
    let down = copy_half(sr, cw, &stats.bytes_out);
    drive(up, down, counted, grace).await;
}

/// Plain to plain where splice(2) is missing: through a buffer.
#[cfg(not(target_os = "linux"))]
async fn spliced(client: Handback, server: TcpStream, counted: &Counted, grace: Duration) {
    pipe(client, server, counted, grace).await;
}

/// Plain to plain: the bytes read to route the connection first, then splice(2) both ways.
#[cfg(target_os = "linux")]
async fn spliced(client: Handback, server: TcpStream, counted: &Counted, grace: Duration) {
    let stats = &counted.route.stats;
    let (prefix, client) = client.into_parts();
    let mut server = server;
    if !prefix.is_empty() {
        if server.write_all(&prefix).await.is_err() {
            return;
        }
        stats
            .bytes_in
            .fetch_add(prefix.len() as u64, Ordering::Relaxed);
    }
    let up = super::splice::half(&client, &server, &stats.bytes_in);
    let down = super::splice::half(&server, &client, &stats.bytes_out);
    drive(up, down, counted, grace).await;
}

/// Runs both directions until both are done: a side's end of data is passed on as a
/// half-close; once one direction has ended, the other gets the service's
/// `terminationDelay`. A server that leaves the configuration keeps its connections for
/// the grace period, then they are cut. The connection counts open meanwhile.
async fn drive<U, D>(up: U, down: D, counted: &Counted, grace: Duration)
where
    U: std::future::Future,
    D: std::future::Future,
{
    let stats = &counted.route.stats;
    stats.open.fetch_add(1, Ordering::Relaxed);
    counted.server.open.fetch_add(1, Ordering::Relaxed);
    tokio::pin!(up, down);
    let delay = counted.route.service.termination_delay;
    let both = async {
        tokio::select! {
            _ = &mut up => finish(&mut down, delay).await,
            _ = &mut down => finish(&mut up, delay).await,
        }
    };
    let drained = async {
        counted.server.left().await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        _ = both => {}
        _ = drained => {
            tracing::debug!("connection to {} cut: the server left {grace:?} ago", counted.server.address);
        }
    }
    stats.open.fetch_sub(1, Ordering::Relaxed);
    counted.server.open.fetch_sub(1, Ordering::Relaxed);
}

async fn finish<F: std::future::Future + Unpin>(other: &mut F, delay: Option<Duration>) {
    match delay {
        Some(d) => {
            let _ = tokio::time::timeout(d, other).await;
        }
        None => {
            other.await;
        }
    }
}

/// Copies until the end of data (then half-closes the writer) or an error; counts bytes.
async fn copy_half<R, W>(mut r: R, mut w: W, counter: &AtomicU64)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; COPY_BUFFER];
    loop {
        let n = match r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if w.write_all(&buf[..n]).await.is_err() {
            return;
        }
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }
    let _ = w.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_headers_name_the_client_in_both_versions() {
        let client: SocketAddr = "192.0.2.7:41000".parse().expect("addr");
        let local: SocketAddr = "127.0.0.1:5432".parse().expect("addr");
        let v1 = proxy_header(1, client, local);
        assert_eq!(v1, b"PROXY TCP4 192.0.2.7 127.0.0.1 41000 5432\r\n");
        let v2 = proxy_header(2, client, local);
        assert!(v2.starts_with(b"\r\n\r\n\0\r\nQUIT\n"), "{v2:?}");
        assert_eq!(&v2[16..20], &[192, 0, 2, 7]);
        let mixed = proxy_header(1, client, "[::1]:5432".parse().expect("addr"));
        assert!(
            String::from_utf8_lossy(&mixed)
                .starts_with("PROXY TCP6 ::ffff:192.0.2.7 ::1 41000 5432"),
            "{mixed:?}"
        );
    }
}
