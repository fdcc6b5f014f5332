//! What a middleware answers instead of forwarding: a status, headers and a body.

use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: StatusCode,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Bytes,
}

impl Refusal {
    /// `status` with Go's `http.StatusText` as the body, as Traefik answers.
    pub fn status(status: StatusCode) -> Refusal {
        Refusal {
            status,
            headers: Vec::new(),
            body: Bytes::from_static(status.canonical_reason().unwrap_or("").as_bytes()),
        }
    }

    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Refusal {
        self.headers.push((name, value));
        self
    }
}
