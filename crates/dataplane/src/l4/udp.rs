//! A UDP entrypoint: each client address is a session with one server (picked by weighted
//! round robin when its first datagram comes) over a socket of its own, ended after `timeout`
//! without a datagram either way. Datagrams are passed on without waiting: one that cannot be
//! sent at once is dropped, as UDP may. Sessions are capped, so memory stays bounded.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use control::l4::{L4Server, UdpRoute};
use control::table::RoutingTable;
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

/// The largest datagram.
const MAX_DATAGRAM: usize = 65_535;
/// Sessions at once per entrypoint; datagrams of new clients beyond are dropped.
pub const MAX_SESSIONS: usize = 65_536;

thread_local! {
    /// The buffer server answers are read into (never held across an await).
    static ANSWER: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0u8; MAX_DATAGRAM]);
}

/// One client's session.
struct Session {
    upstream: UdpSocket,
    /// Milliseconds since `epoch` of the last datagram either way.
    last: AtomicU64,
    route: Arc<UdpRoute>,
    server: Arc<L4Server>,
}

type Sessions = Arc<Mutex<HashMap<SocketAddr, Arc<Session>>>>;

/// Serves UDP entrypoint `name` on `socket` until `stop`.
pub async fn serve(
    name: String,
    socket: UdpSocket,
    table: Arc<ArcSwap<RoutingTable>>,
    timeout: Duration,
    stop: CancellationToken,
) {
    let socket = Arc::new(socket);
    let sessions: Sessions = Arc::default();
    let epoch = Instant::now();
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let (n, client) = tokio::select! {
            _ = stop.cancelled() => return,
            r = socket.recv_from(&mut buf) => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::debug!(entry_point = %name, "receiving: {e}");
                    continue;
                }
            },
        };
        let now = epoch.elapsed().as_millis() as u64;
        let found = sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&client)
            .cloned();
        let session = match found {
            Some(s) => s,
            None => match open(&name, &table, &sessions, &socket, client, timeout, epoch).await {
                Some(s) => s,
                None => continue,
            },
        };
        session.last.store(now, Ordering::Relaxed);
        if session.upstream.try_send(&buf[..n]).is_ok() {
            session
                .route
                .stats
                .bytes_in
                .fetch_add(n as u64, Ordering::Relaxed);
        }
    }
}

/// A new session for `client`, or `None` (no route, no server, too many sessions).
async fn open(
    name: &str,
    table: &Arc<ArcSwap<RoutingTable>>,
    sessions: &Sessions,
    socket: &Arc<UdpSocket>,
    client: SocketAddr,
    timeout: Duration,
    epoch: Instant,
) -> Option<Arc<Session>> {
    let route = table.load().l4.udp.get(name).cloned()?;
    route.stats.total.fetch_add(1, Ordering::Relaxed);
    if sessions.lock().unwrap_or_else(|p| p.into_inner()).len() >= MAX_SESSIONS {
        route.stats.refused.fetch_add(1, Ordering::Relaxed);
        return None;
    }
    let Some(server) = route.pick().cloned() else {
        route.stats.refused.fetch_add(1, Ordering::Relaxed);
        return None;
    };
    let target: SocketAddr = match tokio::net::lookup_host(server.address.as_str()).await {
        Ok(mut addrs) => addrs.next()?,
        Err(e) => {
            tracing::warn!(entry_point = %name, "UDP server {}: {e}", server.address);
            return None;
        }
    };
    let local: SocketAddr = if target.is_ipv4() {
        "0.0.0.0:0".parse().ok()?
    } else {
        "[::]:0".parse().ok()?
    };
    let upstream = UdpSocket::bind(local).await.ok()?;
    upstream.connect(target).await.ok()?;
    let session = Arc::new(Session {
        upstream,
        last: AtomicU64::new(epoch.elapsed().as_millis() as u64),
        route: Arc::clone(&route),
        server,
    });
    sessions
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(client, Arc::clone(&session));
    route.stats.open.fetch_add(1, Ordering::Relaxed);
    session.server.open.fetch_add(1, Ordering::Relaxed);
    tokio::spawn(answers(
        Arc::clone(&session),
        Arc::clone(socket),
        Arc::clone(sessions),
        client,
        timeout,
        epoch,
    ));
    Some(session)
}

/// Passes the server's datagrams back to the client until the session is idle for `timeout`.
async fn answers(
    s: Arc<Session>,
    socket: Arc<UdpSocket>,
    sessions: Sessions,
    client: SocketAddr,
    timeout: Duration,
    epoch: Instant,
) {
    loop {
        let idle =
            (epoch.elapsed().as_millis() as u64).saturating_sub(s.last.load(Ordering::Relaxed));
        let left = timeout.saturating_sub(Duration::from_millis(idle));
        if left.is_zero() {
            break;
        }
        match tokio::time::timeout(left, s.upstream.readable()).await {
            Err(_) => continue,
            Ok(Err(_)) => break,
            Ok(Ok(())) => {}
        }
        let sent = ANSWER.with(|b| {
            let mut b = b.borrow_mut();
            match s.upstream.try_recv(&mut b) {
                Ok(n) => socket.try_send_to(&b[..n], client).map(|_| n).ok(),
                Err(_) => None,
            }
        });
        if let Some(n) = sent {
            s.last
                .store(epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
            s.route
                .stats
                .bytes_out
                .fetch_add(n as u64, Ordering::Relaxed);
        }
    }
    let mut map = sessions.lock().unwrap_or_else(|p| p.into_inner());
    if map.get(&client).is_some_and(|x| Arc::ptr_eq(x, &s)) {
        map.remove(&client);
    }
    drop(map);
    s.route.stats.open.fetch_sub(1, Ordering::Relaxed);
    s.server.open.fetch_sub(1, Ordering::Relaxed);
}
