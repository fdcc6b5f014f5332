//! The request body sent upstream. A body that was never polled can be taken back after a
//! failed connect and sent to another server, so retries never lose or duplicate bytes. A
//! client body that breaks its own framing (a malformed chunk) is remembered, so the failed
//! exchange is answered as the client's fault (400), not the server's.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;

#[derive(Debug)]
pub(super) enum UpstreamBody {
    /// No body (most GET/HEAD requests): always safe to send again.
    Empty,
    /// A body read whole first (backend `buffering`): every attempt sends it all.
    Replay(super::buffering::Replay),
    /// The client's body, left in `slot` until the upstream connection first polls it.
    Reclaimable {
        slot: Arc<Slot>,
        active: Option<Incoming>,
        hint: SizeHint,
        /// Bytes read from the client, counted when the access log asks.
        read: Option<Arc<AtomicU64>>,
    },
}

/// Where a request's body comes from: the client's stream, or a buffered copy.
#[derive(Debug)]
pub(super) enum RequestBody {
    Stream(Incoming),
    Buffered(Arc<super::buffering::Buffered>),
}

/// The client's body until an attempt takes it, and whether reading it failed.
#[derive(Debug)]
pub(super) struct Slot {
    body: Mutex<Option<Incoming>>,
    client_failed: AtomicBool,
}

/// Keeps the client's body until an attempt starts reading it (or, buffered, for every
/// attempt).
#[derive(Debug, Clone)]
pub(super) struct BodySlot {
    slot: Option<Arc<Slot>>,
    hint: SizeHint,
    buffered: Option<Arc<super::buffering::Buffered>>,
    /// Body bytes read from the client so far, once `count_reads` asked for it.
    read: Option<Arc<AtomicU64>>,
}

impl BodySlot {
    pub(super) fn new(body: RequestBody) -> BodySlot {
        let body = match body {
            RequestBody::Stream(b) => b,
            RequestBody::Buffered(data) => {
                let empty = data.len() == 0;
                return BodySlot {
                    slot: None,
                    hint: SizeHint::with_exact(data.len()),
                    read: None,
                    buffered: (!empty).then_some(data),
                };
            }
        };
        if body.is_end_stream() {
            return BodySlot {
                slot: None,
                hint: SizeHint::with_exact(0),
                buffered: None,
                read: None,
            };
        }
        let hint = body.size_hint();
        BodySlot {
            slot: Some(Arc::new(Slot {
                body: Mutex::new(Some(body)),
                client_failed: AtomicBool::new(false),
            })),
            hint,
            buffered: None,
            read: None,
        }
    }

    /// Counts the body bytes read from the client from here on (for the access log, read when
    /// the response ends); a buffered body counts whole at once.
    pub(super) fn count_reads(&mut self) -> Arc<AtomicU64> {
        let already = self.buffered.as_ref().map_or(0, |d| d.len());
        Arc::clone(
            self.read
                .get_or_insert_with(|| Arc::new(AtomicU64::new(already))),
        )
    }

    /// Whether the body can still be sent (it is empty, or no attempt has started reading it).
    pub(super) fn available(&self) -> bool {
        match &self.slot {
            None => true,
            Some(s) => s.body.lock().map(|b| b.is_some()).unwrap_or(false),
        }
    }

    /// Whether the client's body broke its framing (a malformed chunk) while being sent.
    pub(super) fn client_failed(&self) -> bool {
        self.slot
            .as_ref()
            .is_some_and(|s| s.client_failed.load(Ordering::Relaxed))
    }

    pub(super) fn is_empty(&self) -> bool {
        self.slot.is_none() && self.buffered.is_none()
    }

    /// A body for one attempt.
    pub(super) fn body(&self) -> UpstreamBody {
        if let Some(data) = &self.buffered {
            return UpstreamBody::Replay(super::buffering::Replay::new(Arc::clone(data)));
        }
        match &self.slot {
            None => UpstreamBody::Empty,
            Some(slot) => UpstreamBody::Reclaimable {
                slot: Arc::clone(slot),
                active: None,
                hint: self.hint,
                read: self.read.clone(),
            },
        }
    }
}

impl Body for UpstreamBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        match &mut *self {
            UpstreamBody::Empty => Poll::Ready(None),
            UpstreamBody::Replay(r) => Poll::Ready(r.next_chunk().map(|c| Ok(Frame::data(c)))),
            UpstreamBody::Reclaimable {
                slot, active, read, ..
            } => {
                if active.is_none() {
                    *active = slot.body.lock().ok().and_then(|mut b| b.take());
                }
                match active {
                    Some(body) => {
                        let polled = Pin::new(body).poll_frame(cx);
                        match (&polled, read) {
                            (Poll::Ready(Some(Ok(frame))), Some(read)) => {
                                if let Some(d) = frame.data_ref() {
                                    read.fetch_add(d.len() as u64, Ordering::Relaxed);
                                }
                            }
                            (Poll::Ready(Some(Err(_))), _) => {
                                slot.client_failed.store(true, Ordering::Relaxed);
                            }
                            _ => {}
                        }
                        polled
                    }
                    // Another attempt took the body: this one sends nothing more.
                    None => Poll::Ready(None),
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            UpstreamBody::Empty => true,
            UpstreamBody::Replay(r) => r.remaining() == 0,
            UpstreamBody::Reclaimable {
                active: Some(b), ..
            } => b.is_end_stream(),
            UpstreamBody::Reclaimable { .. } => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            UpstreamBody::Empty => SizeHint::with_exact(0),
            UpstreamBody::Replay(r) => SizeHint::with_exact(r.remaining()),
            UpstreamBody::Reclaimable {
                active: Some(b), ..
            } => b.size_hint(),
            UpstreamBody::Reclaimable { hint, .. } => *hint,
        }
    }
}
