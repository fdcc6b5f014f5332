//! Why a request could not be forwarded, and the answer the client gets (Traefik 1.x codes and
//! bodies).

use http::{HeaderValue, Response, StatusCode, header};

use super::body::ProxyBody;

#[derive(Debug, thiserror::Error)]
pub(super) enum ProxyError {
    #[error("no frontend matches")]
    NoRoute,
    #[error("backend {backend} has no usable server")]
    NoServer { backend: String },
    #[error("cannot reach {url}: {source}")]
    Upstream {
        url: String,
        #[source]
        source: hyper_util::client::legacy::Error,
    },
    /// A response whose framing portier does not relay (an unknown transfer coding).
    #[error("{url} sent a response portier does not relay: {reason}")]
    BadResponse {
        url: String,
        reason: super::framing::FramingError,
    },
    #[error("{url} sent no response headers within {timeout:?}")]
    Timeout {
        url: String,
        timeout: std::time::Duration,
    },
    /// A target portier cannot forward as sent (`GET *`, CONNECT).
    #[error(transparent)]
    Target(#[from] super::target::TargetError),
    /// The client's body broke its framing (a malformed chunk) while it was being sent.
    #[error("the request body is malformed: {0}")]
    ClientBody(#[source] hyper_util::client::legacy::Error),
    #[error("cannot build the upstream request: {0}")]
    BadRequest(String),
    /// Body framing that could be read two ways (RFC 9112 §6); the connection is closed.
    #[error(transparent)]
    Framing(#[from] super::framing::FramingError),
    #[error("the frontend asks for a protection portier does not enforce yet")]
    Unenforced,
    /// A middleware answered instead of the backend (401, 403, 429, a redirect, …).
    #[error("refused by a middleware: {}", .0.status)]
    Refused(middleware::Refusal),
}

impl ProxyError {
    pub(super) fn status(&self) -> StatusCode {
        match self {
            ProxyError::NoRoute => StatusCode::NOT_FOUND,
            ProxyError::NoServer { .. } | ProxyError::Unenforced => StatusCode::SERVICE_UNAVAILABLE,
            ProxyError::Upstream { .. } | ProxyError::BadResponse { .. } => StatusCode::BAD_GATEWAY,
            ProxyError::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            ProxyError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ProxyError::Framing(e) => e.status(),
            ProxyError::ClientBody(_) => StatusCode::BAD_REQUEST,
            ProxyError::Target(e) => e.status(),
            ProxyError::Refused(r) => r.status,
        }
    }

    /// The plain-text answer: Go's `http.StatusText`, or `404 page not found\n` as Traefik sends.
    pub(super) fn response(&self) -> Response<ProxyBody> {
        let status = self.status();
        let body = match self {
            ProxyError::NoRoute => "404 page not found\n",
            ProxyError::Refused(r) => return refusal(r),
            _ => status.canonical_reason().unwrap_or(""),
        };
        let mut resp = Response::new(ProxyBody::full(body.to_string()));
        *resp.status_mut() = status;
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        if let ProxyError::Framing(_) | ProxyError::ClientBody(_) = self {
            h.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        resp
    }
}

/// A middleware's answer: its status, body and headers (every value of a repeated one, such
/// as `Set-Cookie`), over the plain-text defaults.
fn refusal(r: &middleware::Refusal) -> Response<ProxyBody> {
    let mut resp = Response::new(ProxyBody::full(r.body.clone()));
    *resp.status_mut() = r.status;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    for (name, _) in &r.headers {
        h.remove(name);
    }
    for (name, value) in &r.headers {
        h.append(name.clone(), value.clone());
    }
    resp
}

/// Why a connection to a server failed, for the operator: the kind first (DNS failure,
/// connection refused, reset, TLS, …), then each error of the chain, repeated text skipped.
pub(super) fn cause_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut kind = None;
    let mut next = Some(e);
    while let Some(err) = next {
        if kind.is_none() {
            kind = cause_kind(err);
        }
        let text = err.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = err.source();
    }
    let chain = parts.join(": ");
    match kind {
        Some(k) => format!("{k} ({chain})"),
        None => chain,
    }
}

fn cause_kind(e: &(dyn std::error::Error + 'static)) -> Option<&'static str> {
    if let Some(io) = e.downcast_ref::<std::io::Error>() {
        use std::io::ErrorKind as K;
        return Some(match io.kind() {
            K::ConnectionRefused => "connection refused",
            K::ConnectionReset => "connection reset",
            K::ConnectionAborted => "connection aborted",
            K::TimedOut => "timed out",
            K::HostUnreachable | K::NetworkUnreachable => "unreachable",
            K::UnexpectedEof => "closed before answering",
            K::InvalidData if io.get_ref().is_some_and(|i| i.is::<rustls::Error>()) => "TLS",
            _ => return None,
        });
    }
    if e.is::<rustls::Error>() {
        return Some("TLS");
    }
    let text = e.to_string();
    if text.contains("dns error") || text.contains("failed to lookup address") {
        return Some("DNS failure");
    }
    if let Some(h) = e.downcast_ref::<hyper::Error>() {
        if h.is_incomplete_message() {
            return Some("closed before answering");
        }
        if h.is_parse() {
            return Some("bad response");
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_cause_first() {
        #[derive(Debug, thiserror::Error)]
        #[error("client error (Connect)")]
        struct Outer(#[source] std::io::Error);
        let e = Outer(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "Connection refused (os error 111)",
        ));
        assert_eq!(
            cause_chain(&e),
            "connection refused (client error (Connect): Connection refused (os error 111))"
        );
    }

    #[test]
    fn statuses_follow_traefik() {
        assert_eq!(ProxyError::NoRoute.status(), 404);
        assert_eq!(
            ProxyError::NoServer {
                backend: "b".into()
            }
            .status(),
            503
        );
        let t = ProxyError::Timeout {
            url: "u".into(),
            timeout: std::time::Duration::from_secs(1),
        };
        assert_eq!(t.status(), 504);
    }
}
