//! The response body portier sends: a short local body, or the upstream's body streamed frame
//! by frame. It holds the server's in-flight guard and the pending access-log line until the
//! body ends, so both cover the whole transfer.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;

use crate::accesslog::Pending;
use crate::balancer::InFlight;

#[derive(Debug)]
pub struct ProxyBody {
    inner: Inner,
    bytes: u64,
    in_flight: Option<InFlight>,
    log: Option<Pending>,
}

#[derive(Debug)]
enum Inner {
    Full(Option<Bytes>),
    Upstream(Incoming),
}

impl ProxyBody {
    pub fn full(data: impl Into<Bytes>) -> ProxyBody {
        let data = data.into();
        ProxyBody::new(Inner::Full((!data.is_empty()).then_some(data)))
    }

    pub fn empty() -> ProxyBody {
        ProxyBody::new(Inner::Full(None))
    }

    pub fn upstream(body: Incoming, in_flight: InFlight) -> ProxyBody {
        let mut b = ProxyBody::new(Inner::Upstream(body));
        b.in_flight = Some(in_flight);
        b
    }

    fn new(inner: Inner) -> ProxyBody {
        ProxyBody {
            inner,
            bytes: 0,
            in_flight: None,
            log: None,
        }
    }

    /// Attaches an access-log line, written when the body ends or is dropped.
    pub fn set_log(&mut self, log: Pending) {
        self.log = Some(log);
    }

    fn finish(&mut self) {
        self.in_flight = None;
        if let Some(log) = self.log.take() {
            log.finish(self.bytes);
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
        let polled = match &mut this.inner {
            Inner::Full(data) => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
            Inner::Upstream(body) => Pin::new(body).poll_frame(cx),
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
        polled
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            Inner::Full(d) => d.is_none(),
            Inner::Upstream(b) => b.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Inner::Full(Some(d)) => SizeHint::with_exact(d.len() as u64),
            Inner::Full(None) => SizeHint::with_exact(0),
            Inner::Upstream(b) => b.size_hint(),
        }
    }
}

impl Drop for ProxyBody {
    fn drop(&mut self) {
        self.finish();
    }
}
