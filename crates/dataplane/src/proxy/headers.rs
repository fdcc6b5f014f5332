//! Header rules on the way through: hop-by-hop fields removed both ways, X-Forwarded-* and
//! X-Real-Ip dropped from peers `forwardedHeaders` does not trust, then set for the backend.

use std::net::IpAddr;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
static X_FORWARDED_PORT: HeaderName = HeaderName::from_static("x-forwarded-port");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
static X_FORWARDED_SERVER: HeaderName = HeaderName::from_static("x-forwarded-server");
pub(super) static X_FORWARDED_PREFIX: HeaderName = HeaderName::from_static("x-forwarded-prefix");
static X_REAL_IP: HeaderName = HeaderName::from_static("x-real-ip");
pub(super) static X_REPLACED_PATH: HeaderName = HeaderName::from_static("x-replaced-path");
static KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
static PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");

/// Fields that only make sense on one connection (RFC 9110 §7.6.1 plus common extras).
fn hop_by_hop() -> [&'static HeaderName; 9] {
    [
        &header::CONNECTION,
        &KEEP_ALIVE,
        &PROXY_CONNECTION,
        &header::PROXY_AUTHENTICATE,
        &header::PROXY_AUTHORIZATION,
        &header::TE,
        &header::TRAILER,
        &header::TRANSFER_ENCODING,
        &header::UPGRADE,
    ]
}

/// Headers a `Connection: …` token may never remove: framing, routing and what portier sets.
fn protected(name: &str) -> bool {
    name.eq_ignore_ascii_case("host")
        || name.eq_ignore_ascii_case("content-length")
        || name.eq_ignore_ascii_case("x-real-ip")
        || name.len() > 12 && name[..12].eq_ignore_ascii_case("x-forwarded-")
}

/// Whether a `Connection` token names nothing beyond the fixed hop-by-hop list (the usual
/// `keep-alive`, `close`, `upgrade`): then no name is built for it.
fn fixed(token: &str) -> bool {
    token.eq_ignore_ascii_case("close")
        || hop_by_hop()
            .iter()
            .any(|n| token.eq_ignore_ascii_case(n.as_str()))
}

/// Removes hop-by-hop fields, including those named by `Connection`.
pub(super) fn remove_hop_by_hop(headers: &mut HeaderMap) {
    let named = |v: &HeaderValue| {
        let tokens = v.to_str().ok().into_iter().flat_map(|v| v.split(','));
        tokens
            .map(str::trim)
            .any(|t| !t.is_empty() && !protected(t) && !fixed(t))
    };
    if headers.get_all(&header::CONNECTION).iter().any(named) {
        let named: Vec<HeaderName> = headers
            .get_all(&header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|t| !t.is_empty() && !protected(t) && !fixed(t))
            .filter_map(|t| HeaderName::from_bytes(t.as_bytes()).ok())
            .collect();
        for name in named {
            headers.remove(name);
        }
    }
    for name in hop_by_hop() {
        if headers.contains_key(name) {
            headers.remove(name);
        }
    }
}

/// The protocol a client asks to switch to (`Connection: upgrade` + `Upgrade: websocket`).
pub(super) fn upgrade_protocol(headers: &HeaderMap) -> Option<HeaderValue> {
    let wants = headers
        .get_all(&header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("upgrade"));
    if wants {
        headers.get(&header::UPGRADE).cloned()
    } else {
        None
    }
}

/// Puts back the two hop-by-hop fields an upgrade needs on the next hop.
pub(super) fn set_upgrade(headers: &mut HeaderMap, protocol: HeaderValue) {
    headers.insert(&header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(&header::UPGRADE, protocol);
}

/// What the backend should be told about the client.
#[derive(Debug, Clone, Copy)]
pub(super) struct Forwarded<'a> {
    pub client_ip: IpAddr,
    /// The client's Host (with port, as sent).
    pub host: Option<&'a HeaderValue>,
    pub proto: &'static str,
    pub server: &'a HeaderValue,
}

/// Removes what only a trusted proxy may tell: every `X-Forwarded-*` (Traefik 2's list and
/// any other, such as `X-Forwarded-Ssl`), `X-Real-Ip` and `Forwarded`. Done first, before any
/// middleware reads them (an allowlist's `useXForwardedFor`, forward auth's
/// `trustForwardHeader`). One pass over the names when there is none to remove.
pub(super) fn distrust(headers: &mut HeaderMap) {
    if !headers.keys().any(only_from_proxies) {
        return;
    }
    let names: Vec<HeaderName> = headers
        .keys()
        .filter(|n| only_from_proxies(n))
        .cloned()
        .collect();
    for name in names {
        headers.remove(name);
    }
}

fn only_from_proxies(name: &HeaderName) -> bool {
    let n = name.as_str();
    n.starts_with("x-forwarded-") || n == "x-real-ip" || n == "forwarded"
}

/// Sets X-Forwarded-For (appended to what is left of the client's), X-Real-Ip and
/// X-Forwarded-Host/-Port/-Proto/-Server (the client's kept when left).
pub(super) fn set_forwarded(headers: &mut HeaderMap, f: &Forwarded) {
    let ip = f.client_ip.to_canonical().to_string();
    let xff = match headers.get(&X_FORWARDED_FOR).and_then(|v| v.to_str().ok()) {
        Some(prev) if !prev.trim().is_empty() => Some(format!("{prev}, {ip}")),
        _ => None,
    };
    // One buffer for the address, shared by X-Real-Ip and (alone) X-Forwarded-For.
    let Ok(ip) = HeaderValue::from_maybe_shared(bytes::Bytes::from(ip)) else {
        return;
    };
    match xff.map(HeaderValue::try_from) {
        Some(Ok(v)) => {
            headers.insert(&X_FORWARDED_FOR, v);
        }
        Some(Err(_)) => {}
        None => {
            headers.insert(&X_FORWARDED_FOR, ip.clone());
        }
    }
    if !headers.contains_key(&X_REAL_IP) {
        headers.insert(&X_REAL_IP, ip);
    }
    if !headers.contains_key(&X_FORWARDED_PROTO) {
        headers.insert(&X_FORWARDED_PROTO, HeaderValue::from_static(f.proto));
    }
    if let Some((value, host)) = f.host.and_then(|v| Some((v, v.to_str().ok()?))) {
        if !headers.contains_key(&X_FORWARDED_HOST) {
            headers.insert(&X_FORWARDED_HOST, value.clone());
        }
        if !headers.contains_key(&X_FORWARDED_PORT) {
            let port = match port_of(host) {
                Some(p) => HeaderValue::from_str(p).ok(),
                None if f.proto == "https" || f.proto == "wss" => {
                    Some(HeaderValue::from_static("443"))
                }
                None => Some(HeaderValue::from_static("80")),
            };
            if let Some(v) = port {
                headers.insert(&X_FORWARDED_PORT, v);
            }
        }
    }
    if !headers.contains_key(&X_FORWARDED_SERVER) {
        headers.insert(&X_FORWARDED_SERVER, f.server.clone());
    }
}

fn port_of(host: &str) -> Option<&str> {
    let (h, p) = host.rsplit_once(':')?;
    (!p.is_empty()
        && p.bytes().all(|b| b.is_ascii_digit())
        && (!h.contains(':') || h.ends_with(']')))
    .then_some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).expect("name"),
                v.parse().expect("value"),
            );
        }
        h
    }

    #[test]
    fn removes_hop_by_hop_and_connection_named_fields() {
        let mut h = map(&[
            ("connection", "close, X-Custom, X-Forwarded-For, Host"),
            ("x-custom", "1"),
            ("keep-alive", "timeout=5"),
            ("te", "trailers"),
            ("proxy-authorization", "Basic eA=="),
            ("upgrade", "foo"),
            ("x-forwarded-for", "6.6.6.6"),
            ("host", "a.com"),
            ("accept", "*/*"),
        ]);
        remove_hop_by_hop(&mut h);
        let mut left: Vec<&str> = h.keys().map(|k| k.as_str()).collect();
        left.sort_unstable();
        assert_eq!(left, ["accept", "host", "x-forwarded-for"]);
    }

    #[test]
    fn detects_upgrades() {
        let h = map(&[
            ("connection", "keep-alive, Upgrade"),
            ("upgrade", "websocket"),
        ]);
        assert_eq!(
            upgrade_protocol(&h).as_ref().map(|v| v.as_bytes()),
            Some(&b"websocket"[..])
        );
        let h = map(&[("upgrade", "websocket")]);
        assert_eq!(
            upgrade_protocol(&h),
            None,
            "Upgrade without Connection: upgrade is not one"
        );
    }

    #[test]
    fn sets_forwarded_headers_and_appends_to_a_trusted_xff() {
        let server = HeaderValue::from_static("portier-host");
        let mut h = map(&[("x-forwarded-for", "10.0.0.1")]);
        let f = Forwarded {
            client_ip: "127.0.0.1".parse().expect("ip"),
            host: Some(&HeaderValue::from_static("web.local:8080")),
            proto: "http",
            server: &server,
        };
        set_forwarded(&mut h, &f);
        assert_eq!(h["x-forwarded-for"], "10.0.0.1, 127.0.0.1");
        assert_eq!(h["x-real-ip"], "127.0.0.1");
        assert_eq!(h["x-forwarded-proto"], "http");
        assert_eq!(h["x-forwarded-host"], "web.local:8080");
        assert_eq!(h["x-forwarded-port"], "8080");
        assert_eq!(h["x-forwarded-server"], "portier-host");
    }

    #[test]
    fn untrusted_peers_cannot_spoof() {
        let server = HeaderValue::from_static("p");
        let mut h = map(&[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-real-ip", "6.6.6.6"),
            ("x-forwarded-proto", "https"),
        ]);
        let f = Forwarded {
            client_ip: "::ffff:192.0.2.7".parse().expect("ip"),
            host: Some(&HeaderValue::from_static("a.com")),
            proto: "http",
            server: &server,
        };
        h.insert("forwarded", "for=6.6.6.6".parse().expect("v"));
        h.insert("x-forwarded-tls-client-cert", "MII".parse().expect("v"));
        h.insert("x-forwarded-ssl", "on".parse().expect("v"));
        h.insert("x-kept", "1".parse().expect("v"));
        distrust(&mut h);
        assert!(!h.contains_key("forwarded"));
        assert!(!h.contains_key("x-forwarded-tls-client-cert"));
        assert!(!h.contains_key("x-forwarded-ssl"));
        assert!(!h.contains_key("x-forwarded-for"));
        assert_eq!(h["x-kept"], "1");
        set_forwarded(&mut h, &f);
        assert_eq!(h["x-forwarded-for"], "192.0.2.7");
        assert_eq!(h["x-real-ip"], "192.0.2.7");
        assert_eq!(h["x-forwarded-proto"], "http");
        assert_eq!(h["x-forwarded-port"], "80");
    }
}
