//! The request's Host, checked as RFC 9112 §3.2 asks before anything routes on it: an HTTP/1.1
//! request has exactly one Host header, well-formed (`host[:port]`, no path, space or
//! userinfo); an absolute-form target (`GET http://a.local/x`) wins over the Host header and
//! replaces it (§3.2.2), so routing and the backend see the same host. Pure.

use http::header::HOST;
use http::{HeaderValue, Request, Version};

/// Why a request's Host is refused (400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum HostError {
    #[error("{0} Host headers (exactly one is allowed)")]
    Several(usize),
    #[error("no Host header (HTTP/1.1 requires one)")]
    Missing,
    #[error("Host {0:?} is not host[:port]")]
    Malformed(String),
}

/// Checks the Host and, for an absolute-form target, sets it from the target's authority.
pub(super) fn check<B>(req: &mut Request<B>) -> Result<(), HostError> {
    let count = req.headers().get_all(HOST).iter().count();
    if count > 1 {
        return Err(HostError::Several(count));
    }
    let http1 = matches!(req.version(), Version::HTTP_10 | Version::HTTP_11);
    if http1 {
        if let Some(authority) = req.uri().authority() {
            // Absolute form: the target's authority is the host (already parsed by `http`).
            let value = HeaderValue::from_str(authority.as_str())
                .map_err(|_| HostError::Malformed(authority.as_str().to_string()))?;
            if !well_formed(value.as_bytes()) {
                return Err(HostError::Malformed(authority.as_str().to_string()));
            }
            req.headers_mut().insert(HOST, value);
            return Ok(());
        }
    }
    match req.headers().get(HOST) {
        Some(v) if !well_formed(v.as_bytes()) => Err(HostError::Malformed(
            String::from_utf8_lossy(v.as_bytes()).into_owned(),
        )),
        Some(_) => Ok(()),
        None if req.version() == Version::HTTP_11 => Err(HostError::Missing),
        None => Ok(()),
    }
}

/// `uri-host [":" port]` (RFC 3986): a reg-name (unreserved, sub-delims, pct-encoded) or an IP
/// literal in brackets, then digits after one colon. Empty is allowed (RFC 9112 §3.2).
fn well_formed(host: &[u8]) -> bool {
    let (name, port) = if host.first() == Some(&b'[') {
        let Some(end) = host.iter().position(|&b| b == b']') else {
            return false;
        };
        let literal = &host[1..end];
        if !literal
            .iter()
            .all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return false;
        }
        match &host[end + 1..] {
            [] => (&host[..0], None),
            [b':', port @ ..] => (&host[..0], Some(port)),
            _ => return false,
        }
    } else {
        match host.iter().position(|&b| b == b':') {
            Some(i) => (&host[..i], Some(&host[i + 1..])),
            None => (host, None),
        }
    };
    let name_ok = name
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=%".contains(&b));
    let port_ok = port.is_none_or(|p| p.iter().all(u8::is_ascii_digit));
    name_ok && port_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(version: Version, target: &str, hosts: &[&str]) -> Request<()> {
        let mut b = Request::get(target).version(version);
        for h in hosts {
            b = b.header(HOST, *h);
        }
        b.body(()).expect("request")
    }

    #[test]
    fn one_well_formed_host() {
        for ok in [
            "t.local",
            "t.local:8080",
            "127.0.0.1",
            "[::1]:80",
            "[::1]",
            "xn--bcher-kva.example",
            "",
        ] {
            assert_eq!(
                check(&mut req(Version::HTTP_11, "/", &[ok])),
                Ok(()),
                "{ok:?}"
            );
        }
        for bad in [
            "t.local/evil",
            "t.local evil",
            "user@t.local",
            "t.local:80x",
            "[::1",
            "[::1]x",
            "a\\b",
        ] {
            assert!(
                matches!(
                    check(&mut req(Version::HTTP_11, "/", &[bad])),
                    Err(HostError::Malformed(_))
                ),
                "{bad:?}"
            );
        }
        assert_eq!(
            check(&mut req(Version::HTTP_11, "/", &["a", "b"])),
            Err(HostError::Several(2))
        );
        assert_eq!(
            check(&mut req(Version::HTTP_11, "/", &[])),
            Err(HostError::Missing)
        );
        assert_eq!(check(&mut req(Version::HTTP_10, "/", &[])), Ok(()));
    }

    #[test]
    fn absolute_form_replaces_the_host_header() {
        let mut r = req(Version::HTTP_11, "http://admin.local/x", &["t.local"]);
        assert_eq!(check(&mut r), Ok(()));
        assert_eq!(r.headers()[HOST], "admin.local");
        let mut r = req(Version::HTTP_11, "http://user@admin.local/x", &["t.local"]);
        assert!(matches!(check(&mut r), Err(HostError::Malformed(_))));
    }
}
