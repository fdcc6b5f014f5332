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
    #[error("{url} sent no response headers within {timeout:?}")]
    Timeout {
        url: String,
        timeout: std::time::Duration,
    },
    #[error("cannot build the upstream request: {0}")]
    BadRequest(String),
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
            ProxyError::Upstream { .. } => StatusCode::BAD_GATEWAY,
            ProxyError::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            ProxyError::BadRequest(_) => StatusCode::BAD_REQUEST,
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

#[cfg(test)]
mod tests {
    use super::*;

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
