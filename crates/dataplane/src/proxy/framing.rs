//! The request's body framing, checked as RFC 9112 §6 asks before anything is forwarded: a
//! body is delimited by one Content-Length or by `Transfer-Encoding: chunked` alone, on
//! HTTP/1.1, never both. Anything else may be read differently by the next hop (request
//! smuggling), so it is refused and the connection closed. hyper has already refused what it
//! cannot parse (a coding list not ending in `chunked`, conflicting lengths); this refuses
//! what it lets through. A response is held to the same rule, as nginx does: a coding other
//! than `chunked` alone is a 502, and a Content-Length beside `chunked` is dropped (RFC 9112
//! §6.3) so the client never sees a length the body does not have. Pure.

use http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderMap, Request, StatusCode, Version};

/// Why a request's framing is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum FramingError {
    #[error("Transfer-Encoding {0:?}: portier implements only `chunked` alone")]
    Unsupported(String),
    #[error("Transfer-Encoding {0:?}: `chunked` more than once")]
    Repeated(String),
    #[error("Transfer-Encoding on an HTTP/1.0 request")]
    Http10,
    #[error("both Transfer-Encoding and Content-Length")]
    Both,
}

impl FramingError {
    /// 501 for a coding portier does not implement (as nginx), 400 for the rest.
    pub(super) fn status(&self) -> StatusCode {
        match self {
            FramingError::Unsupported(_) => StatusCode::NOT_IMPLEMENTED,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// Checks an HTTP/1 request's Transfer-Encoding and Content-Length.
pub(super) fn check<B>(req: &Request<B>) -> Result<(), FramingError> {
    if !matches!(req.version(), Version::HTTP_10 | Version::HTTP_11) {
        return Ok(());
    }
    let h = req.headers();
    if !h.contains_key(TRANSFER_ENCODING) {
        return Ok(());
    }
    chunked_alone(h)?;
    if req.version() == Version::HTTP_10 {
        return Err(FramingError::Http10);
    }
    if h.contains_key(CONTENT_LENGTH) {
        return Err(FramingError::Both);
    }
    Ok(())
}

/// Checks an HTTP/1 response's Transfer-Encoding: `chunked` alone or none. With `chunked`,
/// any Content-Length is removed.
pub(super) fn response(headers: &mut HeaderMap) -> Result<(), FramingError> {
    if !headers.contains_key(TRANSFER_ENCODING) {
        return Ok(());
    }
    chunked_alone(headers)?;
    headers.remove(CONTENT_LENGTH);
    Ok(())
}

/// Every Transfer-Encoding line together must name `chunked`, once, and nothing else.
fn chunked_alone(h: &HeaderMap) -> Result<(), FramingError> {
    let list: Vec<&[u8]> = h
        .get_all(TRANSFER_ENCODING)
        .iter()
        .map(|v| v.as_bytes())
        .collect();
    if let [one] = list[..] {
        if one.trim_ascii().eq_ignore_ascii_case(b"chunked") {
            return Ok(());
        }
    }
    let joined = String::from_utf8_lossy(&list.join(&b", "[..])).into_owned();
    let codings: Vec<&str> = joined
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    if codings.iter().any(|c| !c.eq_ignore_ascii_case("chunked")) || codings.is_empty() {
        return Err(FramingError::Unsupported(joined));
    }
    Err(FramingError::Repeated(joined))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(version: Version, headers: &[(&str, &str)]) -> Request<()> {
        let mut b = Request::builder().version(version).uri("/");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).expect("request")
    }

    #[test]
    fn only_chunked_alone_on_http_1_1() {
        let v11 = Version::HTTP_11;
        let te = "transfer-encoding";
        assert_eq!(check(&req(v11, &[])), Ok(()));
        assert_eq!(check(&req(v11, &[("content-length", "5")])), Ok(()));
        assert_eq!(check(&req(v11, &[(te, "chunked")])), Ok(()));
        assert_eq!(check(&req(v11, &[(te, "Chunked ")])), Ok(()));
        assert_eq!(check(&req(Version::HTTP_2, &[(te, "gzip")])), Ok(()));
        let refused = [
            (vec![(te, "chunked, chunked")], StatusCode::BAD_REQUEST),
            (
                vec![(te, "chunked"), (te, "chunked")],
                StatusCode::BAD_REQUEST,
            ),
            (vec![(te, "gzip, chunked")], StatusCode::NOT_IMPLEMENTED),
            (
                vec![(te, "gzip"), (te, "chunked")],
                StatusCode::NOT_IMPLEMENTED,
            ),
            (
                vec![(te, "chunked"), ("content-length", "5")],
                StatusCode::BAD_REQUEST,
            ),
        ];
        for (headers, status) in refused {
            let e = check(&req(v11, &headers)).expect_err("refused");
            assert_eq!(e.status(), status, "{headers:?}: {e}");
        }
        assert_eq!(
            check(&req(Version::HTTP_10, &[(te, "chunked")])),
            Err(FramingError::Http10)
        );
    }

    #[test]
    fn responses_are_chunked_alone_and_lose_a_stale_length() {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_LENGTH, "3".parse().expect("v"));
        assert_eq!(response(&mut h), Ok(()));
        assert!(
            h.contains_key(CONTENT_LENGTH),
            "no coding: the length stays"
        );
        h.insert(TRANSFER_ENCODING, "chunked".parse().expect("v"));
        assert_eq!(response(&mut h), Ok(()));
        assert!(!h.contains_key(CONTENT_LENGTH));
        for bad in ["xchunked", "gzip, chunked", "chunked, chunked", ""] {
            h.insert(TRANSFER_ENCODING, bad.parse().expect("v"));
            assert!(response(&mut h).is_err(), "{bad:?}");
        }
    }
}
