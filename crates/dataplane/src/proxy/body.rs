//! The response body portier sends: a short local body, or the upstream's body streamed frame
//! by frame, optionally compressed chunk by chunk (`compress`). It holds the server's in-flight guard and the pending access-log line until the
//! body ends, so both cover the whole transfer.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::compress::Encoder;
use crate::accesslog::Pending;
use crate::stats::Stats;
use control::server::InFlight;
use model::metrics::TrafficMetrics;

/// Everything recorded when a response ends: metrics, `/health` stats and the access log.
#[derive(Debug)]
pub(super) struct Completion {
    pub started: Instant,
    pub status: u16,
    pub method: u8,
    pub entry_point: Arc<TrafficMetrics>,
    /// The frontend's metrics; its `open` gauge was raised when the request was routed.
    pub route: Option<Arc<TrafficMetrics>>,
    pub stats: Arc<Stats>,
    pub log: Option<Pending>,
}

impl Completion {
    /// `bytes` sent; `origin_bytes` before compression.
    fn finish(self, bytes: u64, origin_bytes: u64) {
        let took = self.started.elapsed();
        self.entry_point.requests.add(self.status, self.method);
        self.entry_point.duration.observe(took);
        if let Some(r) = &self.route {
            r.requests.add(self.status, self.method);
            r.duration.observe(took);
            r.open.fetch_sub(1, Ordering::Relaxed);
        }
        self.stats.record(self.status, took, bytes);
        if let Some(log) = self.log {
            log.finish(bytes, origin_bytes);
        }
    }
}

#[derive(Debug)]
pub(super) struct ProxyBody {
    inner: Inner,
    bytes: u64,
    /// Data bytes before the encoder, when there is one.
    raw_bytes: u64,
    compressed: bool,
    in_flight: Option<InFlight>,
    /// The request's `maxconn` slot: freed when the body ends or is dropped.
    slot: Option<middleware::ConnSlot>,
    done: Option<Completion>,
    /// Entrypoint compression: every data frame goes through it; its tail ends the body.
    encoder: Option<Encoder>,
    /// The first frame, read early to sniff its type (`contentType`); sent first. Boxed: most
    /// bodies never have one, and a frame is large.
    peeked: Option<Box<Polled>>,
}

/// A frame as polled: one, an error, or the end.
type Polled = Option<Result<Frame<Bytes>, hyper::Error>>;

#[derive(Debug)]
enum Inner {
    Full(Option<Bytes>),
    Upstream(Incoming),
    /// A response read whole first (backend `buffering`).
    Replay(super::buffering::Replay),
    /// The dashboard and API's answer on an entrypoint (`[api] entryPoint`).
    Internal(super::context::InternalBody),
}

impl ProxyBody {
    pub(super) fn full(data: impl Into<Bytes>) -> ProxyBody {
        let data = data.into();
        ProxyBody::new(Inner::Full((!data.is_empty()).then_some(data)))
    }

    /// A response read whole first.
    pub(super) fn replay(data: std::sync::Arc<super::buffering::Buffered>) -> ProxyBody {
        ProxyBody::new(Inner::Replay(super::buffering::Replay::new(data)))
    }

    /// An answer of the dashboard and API served on the entrypoint.
    pub(super) fn internal(body: super::context::InternalBody) -> ProxyBody {
        ProxyBody::new(Inner::Internal(body))
    }

    pub(super) fn empty() -> ProxyBody {
        ProxyBody::new(Inner::Full(None))
    }

    pub(super) fn upstream(body: Incoming, in_flight: InFlight) -> ProxyBody {
        let mut b = ProxyBody::new(Inner::Upstream(body));
        b.in_flight = Some(in_flight);
        b
    }

    fn new(inner: Inner) -> ProxyBody {
        ProxyBody {
            inner,
            bytes: 0,
            raw_bytes: 0,
            compressed: false,
            in_flight: None,
            slot: None,
            done: None,
            encoder: None,
            peeked: None,
        }
    }

    /// The body's first data, read now and kept to be sent first (`None`: no data before the
    /// end, or trailers first).
    pub(super) async fn first_data(&mut self) -> Option<&Bytes> {
        if self.peeked.is_none() {
            let inner = &mut self.inner;
            let frame = std::future::poll_fn(|cx| poll_inner(inner, cx)).await;
            self.peeked = Some(Box::new(frame));
        }
        match self.peeked.as_deref() {
            Some(Some(Ok(frame))) => frame.data_ref(),
            _ => None,
        }
    }

    /// Compresses the body from here on (the caller has set the headers).
    pub(super) fn encode(&mut self, encoder: Encoder) {
        self.encoder = Some(encoder);
        self.compressed = true;
    }

    /// Rewrites the body from here on without compressing it (gRPC-Web).
    pub(super) fn transform(&mut self, encoder: Encoder) {
        self.encoder = Some(encoder);
    }

    /// Holds the request's `maxconn` slot until the body ends.
    pub(super) fn hold(&mut self, slot: middleware::ConnSlot) {
        self.slot = Some(slot);
    }

    /// Attaches what to record when the body ends or is dropped.
    pub(super) fn set_completion(&mut self, done: Completion) {
        self.done = Some(done);
    }

    fn finish(&mut self) {
        self.in_flight = None;
        self.slot = None;
        if let Some(done) = self.done.take() {
            let raw = if self.compressed {
                self.raw_bytes
            } else {
                self.bytes
            };
            done.finish(self.bytes, raw);
        }
    }
}

impl Body for ProxyBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = &mut *self;
        loop {
            let polled = match this.peeked.take() {
                Some(first) => Poll::Ready(*first),
                None => poll_inner(&mut this.inner, cx),
            };
            let polled = match (polled, this.encoder.as_mut()) {
                (Poll::Ready(Some(Ok(frame))), Some(encoder)) => match frame.into_data() {
                    Ok(data) => match encoder.chunk(&data).inspect(|_| {
                        this.raw_bytes += data.len() as u64;
                    }) {
                        // Nothing to send yet: read on rather than send an empty frame.
                        Ok(out) if out.is_empty() => continue,
                        Ok(out) => Poll::Ready(Some(Ok(Frame::data(out)))),
                        Err(e) => {
                            tracing::warn!("compressing a response: {e}; body cut short");
                            Poll::Ready(None)
                        }
                    },
                    Err(frame) => match frame.trailers_ref().and_then(|t| encoder.trailers(t)) {
                        Some(data) => Poll::Ready(Some(Ok(Frame::data(data)))),
                        None => Poll::Ready(Some(Ok(frame))),
                    },
                },
                (Poll::Ready(None), Some(_)) => match this.encoder.take().map(Encoder::finish) {
                    Some(Ok(tail)) if !tail.is_empty() => Poll::Ready(Some(Ok(Frame::data(tail)))),
                    _ => continue,
                },
                (polled, _) => polled,
            };
            match &polled {
                Poll::Ready(Some(Ok(frame))) => {
                    if let Some(d) = frame.data_ref() {
                        this.bytes += d.len() as u64;
                    }
                }
                Poll::Ready(None) | Poll::Ready(Some(Err(_))) => this.finish(),
                Poll::Pending => {}
            }
            return polled;
        }
    }

    fn is_end_stream(&self) -> bool {
        if self.encoder.is_some() {
            return false;
        }
        if let Some(first) = &self.peeked {
            return first.is_none();
        }
        match &self.inner {
            Inner::Full(d) => d.is_none(),
            Inner::Upstream(b) => b.is_end_stream(),
            Inner::Replay(r) => r.remaining() == 0,
            Inner::Internal(b) => b.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        if self.encoder.is_some() {
            return SizeHint::default();
        }
        let first = match self.peeked.as_deref() {
            None => return self.rest_hint(),
            Some(Some(Ok(f))) => f.data_ref().map_or(0, |d| d.len() as u64),
            Some(_) => return SizeHint::with_exact(0),
        };
        let rest = self.rest_hint();
        let mut hint = SizeHint::new();
        hint.set_lower(rest.lower() + first);
        if let Some(upper) = rest.upper() {
            hint.set_upper(upper + first);
        }
        hint
    }
}

impl ProxyBody {
    fn rest_hint(&self) -> SizeHint {
        match &self.inner {
            Inner::Full(Some(d)) => SizeHint::with_exact(d.len() as u64),
            Inner::Full(None) => SizeHint::with_exact(0),
            Inner::Upstream(b) => b.size_hint(),
            Inner::Replay(r) => SizeHint::with_exact(r.remaining()),
            Inner::Internal(b) => b.size_hint(),
        }
    }
}

/// The next frame of the body's source (a dashboard answer that fails just ends).
fn poll_inner(
    inner: &mut Inner,
    cx: &mut Context<'_>,
) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
    match inner {
        Inner::Full(data) => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
        Inner::Upstream(body) => Pin::new(body).poll_frame(cx),
        Inner::Replay(r) => Poll::Ready(r.next_chunk().map(|c| Ok(Frame::data(c)))),
        Inner::Internal(b) => match Pin::new(b).poll_frame(cx) {
            Poll::Ready(Some(Err(e))) => {
                tracing::debug!("dashboard answer ended early: {e}");
                Poll::Ready(None)
            }
            Poll::Ready(Some(Ok(frame))) => Poll::Ready(Some(Ok(frame))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        },
    }
}

impl Drop for ProxyBody {
    fn drop(&mut self) {
        self.finish();
    }
}
