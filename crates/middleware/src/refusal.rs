//! What a middleware answers instead of forwarding: a status, headers and a short body.

use http::{HeaderName, HeaderValue, StatusCode};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: StatusCode,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: String,
}

impl Refusal {
    /// `status` with Go's `http.StatusText` as the body, as Traefik answers.
    pub fn status(status: StatusCode) -> Refusal {
        Refusal {
            status,
            headers: Vec::new(),
            body: status.canonical_reason().unwrap_or("").to_string(),
        }
    }

    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Refusal {
        self.headers.push((name, value));
        self
    }
}
