//! The wait for a request head on a client connection, as Go's server (and so Traefik) bounds
//! it: the first head must arrive within `readHeaderTimeout` of the connection; between
//! keep-alive requests the client may stay silent for `idleTimeout`, and once the next head's
//! first byte arrives the rest must follow within `readHeaderTimeout`.
//!
//! hyper says when it waits for a head: it asks its `Timer` for a header-read timer when the
//! wait starts and drops it when the head is parsed. `HeadTimer` hands it a marker that never
//! fires and records the wait in `HeadWait`; `ClientIo`, the connection's IO, enforces the
//! deadline. A client that sent part of a head gets `408 Request Timeout` before the close (as
//! HAProxy answers); an idle one is closed silently.
//!
//! An HTTP/1 connection idle between requests for [`PARK_AFTER`] is marked for parking: the
//! connection's driver (`super::connection`) then lets hyper close its side (its buffers go, the
//! socket stays open: `ClientIo` ignores the shutdown while parking) and waits for the next byte
//! without any buffer; `ClientIo` gives that byte back to the next hyper connection.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// How an HTTP/2 connection (prior knowledge, or TLS with ALPN h2) starts; such a connection
/// has no heads to wait for.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// How long an HTTP/1 keep-alive connection waits for its next request before its buffers are
/// released (it is parked).
pub(super) const PARK_AFTER: Duration = Duration::from_millis(500);
/// Bytes read ahead of hyper: the HTTP/2 preface's length.
const PREFIX: usize = H2_PREFACE.len();
/// Written, before the close, to a client whose head did not complete in time.
const REQUEST_TIMEOUT: &[u8] = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 15\r\nconnection: close\r\ncontent-type: text/plain; charset=utf-8\r\n\r\nRequest Timeout";

/// The two bounds on a head wait; `None` is no bound.
#[derive(Debug, Clone, Copy)]
pub(super) struct HeadLimits {
    /// `readHeaderTimeout`.
    pub(super) head: Option<Duration>,
    /// `idleTimeout`.
    pub(super) idle: Option<Duration>,
}

/// One connection's head wait, shared by hyper's timer and the connection's IO (both polled by
/// the connection's task). Times are nanoseconds since `origin`; 0 in `first_byte` is "none".
#[derive(Debug)]
pub(super) struct HeadWait {
    origin: Instant,
    /// Before hyper's first wait (while the HTTP version is read), the connection waits for
    /// its first head.
    waiting: AtomicBool,
    /// An HTTP/2 connection: nothing is bounded here.
    h2: AtomicBool,
    /// Waits started by hyper; 0 before the first.
    waits: AtomicU32,
    started: AtomicU64,
    first_byte: AtomicU64,
    /// Set by `ClientIo` when the connection has been idle for `PARK_AFTER`; taken by the driver.
    park: AtomicBool,
    /// While set, `ClientIo` does not shut the socket down (hyper closing its idle side).
    parking: AtomicBool,
}

impl HeadWait {
    pub(super) fn new() -> Arc<HeadWait> {
        Arc::new(HeadWait {
            origin: Instant::now(),
            waiting: AtomicBool::new(true),
            h2: AtomicBool::new(false),
            waits: AtomicU32::new(0),
            started: AtomicU64::new(0),
            first_byte: AtomicU64::new(0),
            park: AtomicBool::new(false),
            parking: AtomicBool::new(false),
        })
    }

    /// Whether the connection should park now (asked once: the mark is taken).
    pub(super) fn take_park(&self) -> bool {
        self.park.swap(false, Ordering::Relaxed)
    }

    /// While `on`, hyper's shutdown of the socket is ignored: the connection is being parked.
    pub(super) fn set_parking(&self, on: bool) {
        self.parking.store(on, Ordering::Relaxed);
    }

    /// When the current wait ends for lack of a head (the idle timeout between requests).
    pub(super) fn idle_deadline(&self, limits: HeadLimits) -> Option<Instant> {
        self.deadline(limits).map(|(at, _)| at)
    }

    /// When an idle HTTP/1 keep-alive wait (no byte of the next head yet) should park; `None`
    /// outside such a wait or once marked.
    fn park_at(&self) -> Option<Instant> {
        let idle = self.waiting.load(Ordering::Relaxed)
            && !self.h2.load(Ordering::Relaxed)
            && self.waits.load(Ordering::Relaxed) > 1
            && self.first_byte.load(Ordering::Relaxed) == 0
            && !self.park.load(Ordering::Relaxed);
        idle.then(|| {
            self.origin + Duration::from_nanos(self.started.load(Ordering::Relaxed)) + PARK_AFTER
        })
    }

    fn since_origin(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_nanos())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    /// hyper starts waiting for a head; returns the wait's number.
    fn begin(&self) -> u32 {
        let id = self.waits.fetch_add(1, Ordering::Relaxed) + 1;
        if id > 1 {
            self.started.store(self.since_origin(), Ordering::Relaxed);
            self.first_byte.store(0, Ordering::Relaxed);
        }
        self.waiting.store(true, Ordering::Relaxed);
        id
    }

    /// The head of wait `id` arrived (hyper dropped its timer).
    fn end(&self, id: u32) {
        if self.waits.load(Ordering::Relaxed) == id {
            self.waiting.store(false, Ordering::Relaxed);
        }
    }

    /// Bytes came in; the first of a head starts its `readHeaderTimeout`.
    fn bytes_arrived(&self) {
        if self.waiting.load(Ordering::Relaxed) && self.first_byte.load(Ordering::Relaxed) == 0 {
            self.first_byte
                .store(self.since_origin(), Ordering::Relaxed);
        }
    }

    /// When the current wait expires, and whether part of a head has come; `None`: no wait,
    /// or no bound on it.
    fn deadline(&self, limits: HeadLimits) -> Option<(Instant, bool)> {
        if !self.waiting.load(Ordering::Relaxed) || self.h2.load(Ordering::Relaxed) {
            return None;
        }
        let at = |nanos: u64, d: Duration| self.origin + Duration::from_nanos(nanos) + d;
        let first_byte = self.first_byte.load(Ordering::Relaxed);
        let partial = first_byte != 0;
        // The first head: from the connection's start, as Go's ReadHeaderTimeout.
        if self.waits.load(Ordering::Relaxed) <= 1 {
            return limits.head.map(|d| (self.origin + d, partial));
        }
        if partial {
            return limits.head.map(|d| (at(first_byte, d), true));
        }
        limits
            .idle
            .map(|d| (at(self.started.load(Ordering::Relaxed), d), false))
    }
}

/// hyper's HTTP/1 timer for one connection: its header-read "timer" only records the wait.
#[derive(Debug, Clone)]
pub(super) struct HeadTimer(pub(super) Arc<HeadWait>);

impl hyper::rt::Timer for HeadTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        // Not asked by hyper's HTTP/1 server, which only times head reads; a real sleep anyway.
        Box::pin(RealSleep(Box::pin(tokio::time::sleep(duration))))
    }

    fn sleep_until(&self, _deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        let id = self.0.begin();
        Box::pin(WaitMarker {
            wait: Arc::clone(&self.0),
            id,
        })
    }
}

/// Stands for hyper's header-read timer: never fires (`ClientIo` enforces the deadline), and
/// marks the wait over when dropped.
struct WaitMarker {
    wait: Arc<HeadWait>,
    id: u32,
}

impl Future for WaitMarker {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

impl hyper::rt::Sleep for WaitMarker {}

impl Drop for WaitMarker {
    fn drop(&mut self) {
        self.wait.end(self.id);
    }
}

struct RealSleep(Pin<Box<tokio::time::Sleep>>);

impl Future for RealSleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.0.as_mut().poll(cx)
    }
}

impl hyper::rt::Sleep for RealSleep {}

/// A client connection's IO that ends a head wait past its deadline.
pub(super) struct ClientIo<I> {
    inner: I,
    wait: Arc<HeadWait>,
    limits: HeadLimits,
    /// Armed while a read waits inside a head wait.
    timer: Option<(Instant, Pin<Box<tokio::time::Sleep>>)>,
    /// Everything written has been flushed (a 408 must not cut into a response's tail).
    flushed: bool,
    /// Bytes of the 408 written so far, once the deadline passed on a partial head.
    answering: Option<usize>,
    /// How many of the first bytes match the HTTP/2 preface; `None` once decided.
    preface: Option<usize>,
    /// Bytes read ahead of hyper (the version check, a parked connection's first byte), served
    /// before the socket's: `prefix[at..len]`.
    prefix: [u8; PREFIX],
    at: u8,
    len: u8,
}

impl<I> ClientIo<I> {
    pub(super) fn new(inner: I, wait: Arc<HeadWait>, limits: HeadLimits) -> Self {
        ClientIo {
            inner,
            wait,
            limits,
            timer: None,
            flushed: true,
            answering: None,
            preface: Some(0),
            prefix: [0; PREFIX],
            at: 0,
            len: 0,
        }
    }

    /// Gives `bytes` back, to be read before the socket's; `false` (and nothing kept) when
    /// they are longer than the preface.
    pub(super) fn unread(&mut self, bytes: &[u8]) -> bool {
        let Some(room) = self.prefix.get_mut(..bytes.len()) else {
            return false;
        };
        room.copy_from_slice(bytes);
        self.at = 0;
        self.len = bytes.len() as u8;
        true
    }

    /// Drops the head-wait timer (a parked connection needs none).
    pub(super) fn release_timer(&mut self) {
        self.timer = None;
    }

    /// Follows the connection's first bytes until they match the HTTP/2 preface or not.
    fn check_preface(&mut self, new: &[u8]) {
        let Some(seen) = self.preface else {
            return;
        };
        let want = &H2_PREFACE[seen..];
        let n = new.len().min(want.len());
        if new[..n] != want[..n] {
            self.preface = None;
        } else if seen + n == H2_PREFACE.len() {
            self.preface = None;
            self.wait.h2.store(true, Ordering::Relaxed);
        } else {
            self.preface = Some(seen + n);
        }
    }
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "request head not received in time")
}

impl<I: AsyncRead + AsyncWrite + Unpin> ClientIo<I> {
    /// Writes the rest of the 408 and flushes it; then the read fails and hyper closes.
    fn poll_answer(&mut self, cx: &mut Context<'_>, mut done: usize) -> Poll<io::Result<()>> {
        while done < REQUEST_TIMEOUT.len() {
            match Pin::new(&mut self.inner).poll_write(cx, &REQUEST_TIMEOUT[done..]) {
                Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => return Poll::Ready(Err(timed_out())),
                Poll::Ready(Ok(n)) => {
                    done += n;
                    self.answering = Some(done);
                }
                Poll::Pending => return Poll::Pending,
            }
        }
        ready!(Pin::new(&mut self.inner).poll_flush(cx)).ok();
        Poll::Ready(Err(timed_out()))
    }

    /// Reads the connection's first bytes until they show whether it speaks HTTP/2 (its
    /// preface) or HTTP/1; they are read again by hyper. `Ok(None)`: the client closed first.
    pub(super) async fn detect_h2(&mut self) -> io::Result<Option<bool>> {
        let mut first = [0u8; PREFIX];
        let mut filled = 0;
        while self.preface.is_some() {
            let mut buf = ReadBuf::new(&mut first[filled..]);
            std::future::poll_fn(|cx| Pin::new(&mut *self).poll_read(cx, &mut buf)).await?;
            let n = buf.filled().len();
            if n == 0 {
                return Ok(None);
            }
            filled += n;
        }
        self.unread(&first[..filled]);
        Ok(Some(self.wait.h2.load(Ordering::Relaxed)))
    }

    /// The read found nothing: is the head wait over, or the idle connection due to park?
    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            let bound = self.wait.deadline(self.limits);
            let park_at = self.wait.park_at();
            let at = match (bound, park_at) {
                (None, None) => return Poll::Pending,
                (Some((b, _)), None) => b,
                (None, Some(p)) => p,
                (Some((b, _)), Some(p)) => b.min(p),
            };
            ready!(self.poll_timer(cx, at));
            match (bound, park_at) {
                (Some((b, _)), Some(p)) if p < b => {}
                (None, Some(_)) => {}
                (Some((_, partial)), _) => {
                    if partial && self.flushed {
                        self.answering = Some(0);
                        return self.poll_answer(cx, 0);
                    }
                    return Poll::Ready(Err(timed_out()));
                }
                (None, None) => return Poll::Pending,
            }
            // Idle long enough: marked for the driver, which parks once hyper is pending; the
            // loop arms the timer for the real bound, if any.
            self.wait.park.store(true, Ordering::Relaxed);
        }
    }

    /// Polls the head-wait timer set to `deadline`.
    fn poll_timer(&mut self, cx: &mut Context<'_>, deadline: Instant) -> Poll<()> {
        let timer = match &mut self.timer {
            Some((at, sleep)) => {
                if *at != deadline {
                    sleep.as_mut().reset(deadline.into());
                    *at = deadline;
                }
                sleep
            }
            None => {
                let sleep = Box::pin(tokio::time::sleep_until(deadline.into()));
                &mut self.timer.insert((deadline, sleep)).1
            }
        };
        timer.as_mut().poll(cx)
    }
}

impl<I: AsyncRead + AsyncWrite + Unpin> AsyncRead for ClientIo<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if let Some(done) = this.answering {
            return this.poll_answer(cx, done);
        }
        if this.at < this.len {
            let ahead = &this.prefix[usize::from(this.at)..usize::from(this.len)];
            let n = ahead.len().min(buf.remaining());
            buf.put_slice(&ahead[..n]);
            this.at += n as u8;
            this.wait.bytes_arrived();
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.check_preface(&buf.filled()[before..]);
                    this.wait.bytes_arrived();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => this.poll_deadline(cx),
        }
    }
}

impl<I: AsyncRead + AsyncWrite + Unpin> AsyncWrite for ClientIo<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let n = ready!(Pin::new(&mut self.inner).poll_write(cx, buf))?;
        if n > 0 {
            self.flushed = false;
        }
        Poll::Ready(Ok(n))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let n = ready!(Pin::new(&mut self.inner).poll_write_vectored(cx, bufs))?;
        if n > 0 {
            self.flushed = false;
        }
        Poll::Ready(Ok(n))
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(Pin::new(&mut self.inner).poll_flush(cx))?;
        self.flushed = true;
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.wait.parking.load(Ordering::Relaxed) {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: HeadLimits = HeadLimits {
        head: Some(Duration::from_secs(10)),
        idle: Some(Duration::from_secs(180)),
    };

    #[test]
    fn first_head_from_the_start_then_idle_then_head_from_the_first_byte() {
        let w = HeadWait::new();
        let (at, partial) = w.deadline(LIMITS).expect("bounded");
        assert_eq!((at, partial), (w.origin + Duration::from_secs(10), false));
        let first = w.begin();
        w.bytes_arrived();
        let (at, partial) = w.deadline(LIMITS).expect("bounded");
        assert!(partial);
        assert_eq!(
            at,
            w.origin + Duration::from_secs(10),
            "still from the start"
        );
        w.end(first);
        assert!(
            w.deadline(LIMITS).is_none(),
            "a request in flight has no head wait"
        );
        let before = w.first_byte.load(Ordering::Relaxed);
        w.bytes_arrived();
        assert_eq!(
            w.first_byte.load(Ordering::Relaxed),
            before,
            "a body is not a head"
        );
        let second = w.begin();
        let (at, partial) = w.deadline(LIMITS).expect("bounded");
        assert!(!partial);
        assert!(at >= w.origin + Duration::from_secs(180), "idle keep-alive");
        w.bytes_arrived();
        let (at, partial) = w.deadline(LIMITS).expect("bounded");
        assert!(partial);
        assert!(
            at < w.origin + Duration::from_secs(11),
            "head time from its first byte"
        );
        w.end(second);
        assert!(w.deadline(LIMITS).is_none());
    }

    #[test]
    fn an_http2_preface_lifts_the_bounds() {
        let io = |chunks: &[&[u8]]| {
            let mut c = ClientIo::new((), HeadWait::new(), LIMITS);
            for chunk in chunks {
                c.check_preface(chunk);
            }
            c.wait.deadline(LIMITS).is_none()
        };
        assert!(io(&[H2_PREFACE]));
        assert!(io(&[
            &H2_PREFACE[..3],
            &H2_PREFACE[3..10],
            &H2_PREFACE[10..]
        ]));
        assert!(!io(&[b"PRI * HTTP/1.1\r\n"]), "HTTP/1");
        assert!(
            !io(&[b"GET / HTTP/1.1\r\n", H2_PREFACE]),
            "decided by the start"
        );
    }

    #[test]
    fn a_replaced_marker_does_not_end_the_newer_wait() {
        let w = HeadWait::new();
        let old = w.begin();
        let _new = w.begin();
        w.end(old);
        assert!(w.deadline(LIMITS).is_some());
        let none = HeadLimits {
            head: None,
            idle: None,
        };
        assert!(w.deadline(none).is_none(), "no bound");
    }
}
