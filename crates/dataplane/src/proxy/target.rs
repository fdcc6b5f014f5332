//! The request target's form (RFC 9112 §3.2): origin-form (`/path`) and absolute-form go on;
//! asterisk-form (`*`) only with OPTIONS, and it is forwarded as `*`; authority-form, which
//! only CONNECT uses, is refused with 405, as portier is not a forward proxy (an HTTP/2
//! extended CONNECT, which names a `:protocol`, is not refused here). Pure.

use http::{Method, Request, StatusCode};

/// Why a request target is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum TargetError {
    #[error("`*` is a target only for OPTIONS, not {0}")]
    Asterisk(Method),
    #[error("CONNECT: portier is not a forward proxy")]
    Connect,
}

impl TargetError {
    pub(super) fn status(&self) -> StatusCode {
        match self {
            TargetError::Asterisk(_) => StatusCode::BAD_REQUEST,
            TargetError::Connect => StatusCode::METHOD_NOT_ALLOWED,
        }
    }
}

/// Whether the target is `*` (an `OPTIONS *`, once `check` has passed).
pub(super) fn is_asterisk(uri: &http::Uri) -> bool {
    uri.path() == "*"
}

/// Refuses what portier cannot forward as sent.
pub(super) fn check<B>(req: &Request<B>) -> Result<(), TargetError> {
    if req.method() == Method::CONNECT && req.extensions().get::<hyper::ext::Protocol>().is_none() {
        return Err(TargetError::Connect);
    }
    if is_asterisk(req.uri()) && req.method() != Method::OPTIONS {
        return Err(TargetError::Asterisk(req.method().clone()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: Method, uri: &str) -> Request<()> {
        Request::builder()
            .method(method)
            .uri(uri)
            .body(())
            .expect("request")
    }

    #[test]
    fn asterisk_only_for_options_and_no_connect() {
        assert_eq!(check(&req(Method::GET, "/x")), Ok(()));
        assert_eq!(check(&req(Method::GET, "http://a.local/x")), Ok(()));
        assert_eq!(check(&req(Method::OPTIONS, "*")), Ok(()));
        assert!(is_asterisk(req(Method::OPTIONS, "*").uri()));
        assert_eq!(
            check(&req(Method::GET, "*")),
            Err(TargetError::Asterisk(Method::GET))
        );
        let e = check(&req(Method::CONNECT, "a.local:443")).expect_err("refused");
        assert_eq!(e.status(), StatusCode::METHOD_NOT_ALLOWED);
        let mut extended = req(Method::CONNECT, "/chat");
        extended
            .extensions_mut()
            .insert(hyper::ext::Protocol::from_static("websocket"));
        assert_eq!(check(&extended), Ok(()));
    }
}
