//! One client connection from its first bytes to its close: HTTP/2 (by its preface) or HTTP/1
//! with upgrades, the graceful drain, and the parking of idle HTTP/1 keep-alive connections:
//! after `PARK_AFTER` without a byte, hyper's connection (its read and write buffers, the
//! request future's box) is dropped and only the socket waits, without a buffer, for the next
//! request, which a fresh hyper connection then serves.

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::task::Poll;
use std::time::Instant;

use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper::service::HttpService;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::body::ProxyBody;
use super::drain::DrainWatch;
use super::head_wait::{ClientIo, HeadLimits, HeadTimer, HeadWait};

/// How the connections of one entrypoint speak HTTP (settings shared by all of them).
pub(super) struct Protocols {
    pub(super) http1: http1::Builder,
    pub(super) http2: http2::Builder<hyper_util::rt::TokioExecutor>,
    /// At `maxConnections`, the listener asks one parked connection to close, so that a new
    /// client is served instead of waiting (as nginx reuses idle keep-alive connections).
    pub(super) reclaim: tokio::sync::Notify,
}

/// Why a parked connection stopped waiting.
enum Parked {
    /// A byte came (given back to the IO): serve the next request.
    Resume,
    /// The client closed, the idle timeout passed, a read failed, or the drain began.
    Close,
}

/// Serves one accepted connection until it closes.
pub(super) async fn serve<I, S>(
    io: I,
    svc: S,
    protocols: &Protocols,
    heads: HeadLimits,
    parked: &AtomicI64,
    mut drain: DrainWatch,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: HttpService<Incoming, ResBody = ProxyBody> + Unpin + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let wait = HeadWait::new();
    let mut io = ClientIo::new(io, Arc::clone(&wait), heads);
    let draining = drain.draining();
    let mut draining = pin!(draining);
    let h2 = tokio::select! {
        _ = draining.as_mut() => return,
        h2 = io.detect_h2() => h2,
    };
    match h2 {
        Ok(Some(true)) => {
            // Boxed: HTTP/2's state is large and would size every connection's task.
            let mut conn = Box::pin(protocols.http2.serve_connection(TokioIo::new(io), svc));
            let mut drained = false;
            let done = poll_fn(|cx| {
                if !drained && draining.as_mut().poll(cx).is_ready() {
                    drained = true;
                    conn.as_mut().graceful_shutdown();
                }
                conn.as_mut().poll(cx)
            })
            .await;
            if let Err(e) = done {
                tracing::trace!("HTTP/2 connection: {e}");
            }
        }
        Ok(Some(false)) => serve_http1(io, svc, protocols, &wait, heads, parked, draining).await,
        Ok(None) => {}
        Err(e) => tracing::trace!("connection closed before its first request: {e}"),
    }
}

/// HTTP/1 requests (and upgrades) until the connection closes, parking it when idle.
async fn serve_http1<I, S>(
    mut io: ClientIo<I>,
    mut svc: S,
    protocols: &Protocols,
    wait: &Arc<HeadWait>,
    heads: HeadLimits,
    parked: &AtomicI64,
    mut draining: Pin<&mut impl Future<Output = ()>>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: HttpService<Incoming, ResBody = ProxyBody> + Unpin + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut http1 = protocols.http1.clone();
    http1.timer(HeadTimer(Arc::clone(wait)));
    let mut drained = false;
    loop {
        // Boxed, so that a parked connection holds none of it.
        let mut conn = Box::new(
            http1
                .serve_connection(TokioIo::new(io), svc)
                .with_upgrades(),
        );
        let mut until = None;
        let ended = poll_fn(|cx| {
            if !drained && draining.as_mut().poll(cx).is_ready() {
                drained = true;
                Pin::new(&mut *conn).graceful_shutdown();
            }
            match Pin::new(&mut *conn).poll(cx) {
                Poll::Ready(r) => Poll::Ready(Some(r)),
                Poll::Pending if !drained && wait.take_park() => {
                    until = wait.idle_deadline(heads);
                    Poll::Ready(None)
                }
                Poll::Pending => Poll::Pending,
            }
        })
        .await;
        if let Some(result) = ended {
            if let Err(e) = result {
                tracing::trace!("HTTP/1 connection: {e}");
            }
            return;
        }
        // Idle: hyper closes its side of the connection (no request is in flight, so this
        // completes at once) and gives the socket back, still open.
        wait.set_parking(true);
        Pin::new(&mut *conn).graceful_shutdown();
        let closed = (&mut *conn).await;
        wait.set_parking(false);
        let parts = match (closed, conn.into_parts()) {
            (Ok(()), Some(parts)) => parts,
            _ => return,
        };
        let http1::Parts {
            io: kept,
            read_buf,
            service,
            ..
        } = parts;
        io = kept.into_inner();
        svc = service;
        if !read_buf.is_empty() {
            // Only a complete pause parks, so hyper holds no unread bytes; should it, they
            // are served by a fresh connection right away.
            if io.unread(&read_buf) {
                continue;
            }
            tracing::debug!(
                "a parked connection held {} unread bytes; closed",
                read_buf.len()
            );
            return;
        }
        // Empty, but it may still hold hyper's whole read buffer.
        drop(read_buf);
        io.release_timer();
        parked.fetch_add(1, Ordering::Relaxed);
        let next = park(&mut io, until, &protocols.reclaim, draining.as_mut()).await;
        parked.fetch_sub(1, Ordering::Relaxed);
        match next {
            Parked::Resume => {}
            Parked::Close => return,
        }
    }
}

/// Waits, without a buffer, for the parked connection's next byte (given back to `io`), at
/// most until `until` (the idle timeout), or until the entrypoint needs its slot.
async fn park<I>(
    io: &mut ClientIo<I>,
    until: Option<Instant>,
    reclaim: &tokio::sync::Notify,
    draining: Pin<&mut impl Future<Output = ()>>,
) -> Parked
where
    I: AsyncRead + AsyncWrite + Unpin,
{
    let read = poll_fn(|cx| {
        let mut byte = [0u8; 1];
        let mut buf = ReadBuf::new(&mut byte);
        match Pin::new(&mut *io).poll_read(cx, &mut buf) {
            Poll::Ready(Ok(())) if buf.filled().is_empty() => Poll::Ready(Parked::Close),
            Poll::Ready(Ok(())) => {
                io.unread(&byte);
                Poll::Ready(Parked::Resume)
            }
            Poll::Ready(Err(_)) => Poll::Ready(Parked::Close),
            Poll::Pending => Poll::Pending,
        }
    });
    let idle = async {
        match until {
            Some(at) => tokio::time::sleep_until(at.into()).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        parked = read => parked,
        _ = idle => Parked::Close,
        _ = draining => Parked::Close,
        _ = reclaim.notified() => Parked::Close,
    }
}
