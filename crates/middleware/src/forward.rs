//! Forward authentication as Traefik 1.7 does it, without the call itself: the GET to send
//! to the auth server (the client's headers without hop-by-hop ones, plus
//! `X-Forwarded-For/-Method/-Proto/-Host/-Uri`), and what its answer means (2xx: copy
//! `authResponseHeaders` into the request; anything else: that answer goes to the client).
//! The data plane makes the call.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, Uri, header};
use model::middleware::ForwardAuth;

use crate::{MiddlewareError, Refusal, RequestHead};

/// Headers that belong to one connection, never copied to or from the auth server.
const HOP_BY_HOP: [HeaderName; 9] = [
    header::CONNECTION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
];

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_METHOD: HeaderName = HeaderName::from_static("x-forwarded-method");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_PORT: HeaderName = HeaderName::from_static("x-forwarded-port");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const X_FORWARDED_URI: HeaderName = HeaderName::from_static("x-forwarded-uri");

/// A compiled `auth.forward`.
#[derive(Debug)]
pub struct ForwardAuthCheck {
    address: Uri,
    trust_forward_header: bool,
    response_headers: Vec<HeaderName>,
}

impl ForwardAuthCheck {
    /// The address must be an absolute `http://` or `https://` URL; response header names
    /// must be valid.
    pub fn compile(spec: &ForwardAuth) -> Result<ForwardAuthCheck, MiddlewareError> {
        let bad = || MiddlewareError::ForwardAddress(spec.address.clone());
        let address: Uri = spec.address.trim().parse().map_err(|_| bad())?;
        if !matches!(address.scheme_str(), Some("http" | "https")) || address.host().is_none() {
            return Err(bad());
        }
        let response_headers = spec
            .auth_response_headers
            .iter()
            .map(|h| {
                HeaderName::from_bytes(h.trim().as_bytes())
                    .map_err(|_| MiddlewareError::HeaderName(h.clone()))
            })
            .collect::<Result<_, _>>()?;
        Ok(ForwardAuthCheck {
            address,
            trust_forward_header: spec.trust_forward_header,
            response_headers,
        })
    }

    /// The auth server's URL.
    pub fn address(&self) -> &Uri {
        &self.address
    }

    /// The GET to send to the auth server for the client's request `req`.
    pub fn request(&self, req: &RequestHead<'_>) -> Request<()> {
        let mut headers = req.headers.clone();
        for h in &HOP_BY_HOP {
            headers.remove(h);
        }
        // The auth server's own Host (set by the client from the address); no body is sent.
        for h in [header::HOST, header::CONTENT_LENGTH] {
            headers.remove(h);
        }
        let trusted = |name: &HeaderName| {
            self.trust_forward_header
                .then(|| req.headers.get(name).filter(|v| !v.is_empty()))
                .flatten()
                .cloned()
        };
        let set = |headers: &mut HeaderMap, name: HeaderName, own: Option<HeaderValue>| {
            match trusted(&name).or(own) {
                Some(v) => headers.insert(name, v),
                None => headers.remove(name),
            };
        };
        match self.forwarded_for(req) {
            Some(v) => headers.insert(X_FORWARDED_FOR, v),
            None => headers.remove(X_FORWARDED_FOR),
        };
        set(
            &mut headers,
            X_FORWARDED_METHOD,
            HeaderValue::from_str(req.method.as_str()).ok(),
        );
        let proto = if req.tls { "https" } else { "http" };
        set(
            &mut headers,
            X_FORWARDED_PROTO,
            Some(HeaderValue::from_static(proto)),
        );
        set(&mut headers, X_FORWARDED_PORT, None);
        set(
            &mut headers,
            X_FORWARDED_HOST,
            req.headers.get(header::HOST).cloned(),
        );
        set(
            &mut headers,
            X_FORWARDED_URI,
            HeaderValue::from_str(req.uri).ok(),
        );
        let mut out = Request::new(());
        *out.method_mut() = Method::GET;
        *out.uri_mut() = self.address.clone();
        *out.headers_mut() = headers;
        out
    }

    /// The peer, after the client's own `X-Forwarded-For` when it is trusted.
    fn forwarded_for(&self, req: &RequestHead<'_>) -> Option<HeaderValue> {
        let peer = req.peer.to_string();
        let prior: Vec<&str> = if self.trust_forward_header {
            req.headers
                .get_all(&X_FORWARDED_FOR)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect()
        } else {
            Vec::new()
        };
        let value = if prior.is_empty() {
            peer
        } else {
            format!("{}, {peer}", prior.join(", "))
        };
        HeaderValue::from_str(&value).ok()
    }

    /// The auth server answered `status` with `headers` and `body`: 2xx lets the request
    /// through with the `authResponseHeaders` copied in (replacing what the client sent);
    /// anything else is the client's answer, as the auth server sent it.
    pub fn outcome(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        body: Bytes,
        request: &mut HeaderMap,
    ) -> Result<(), Refusal> {
        if !status.is_success() {
            let mut r = Refusal::status(status);
            r.body = body;
            r.headers = headers
                .iter()
                .filter(|(n, _)| !HOP_BY_HOP.contains(n) && *n != header::CONTENT_LENGTH)
                .map(|(n, v)| (n.clone(), v.clone()))
                .collect();
            return Err(r);
        }
        for name in &self.response_headers {
            request.remove(name);
            for v in headers.get_all(name) {
                request.append(name.clone(), v.clone());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(trust: bool, copy: &[&str]) -> ForwardAuthCheck {
        ForwardAuthCheck::compile(&ForwardAuth {
            address: "http://auth.test:9000/verify?x=1".into(),
            trust_forward_header: trust,
            auth_response_headers: copy.iter().map(|s| s.to_string()).collect(),
            tls: None,
        })
        .expect("compiles")
    }

    fn client_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("host", "app.test"),
            ("cookie", "session=1"),
            ("connection", "keep-alive"),
            ("content-length", "5"),
            ("x-forwarded-for", "203.0.113.9"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "spoofed.test"),
            ("x-forwarded-port", "8443"),
        ] {
            h.append(k, v.parse().expect("v"));
        }
        h
    }

    fn sent(trust: bool) -> Request<()> {
        let mut h = client_headers();
        let head = RequestHead {
            peer: "10.0.0.7".parse().expect("ip"),
            method: &Method::POST,
            uri: "/p?q=1",
            tls: false,
            headers: &mut h,
        };
        check(trust, &[]).request(&head)
    }

    #[test]
    fn the_auth_request_carries_the_clients_headers_and_its_own_forwarded_ones() {
        let r = sent(false);
        assert_eq!(r.method(), Method::GET);
        assert_eq!(r.uri(), "http://auth.test:9000/verify?x=1");
        let h = r.headers();
        assert_eq!(h["cookie"], "session=1");
        assert_eq!(h["x-forwarded-for"], "10.0.0.7");
        assert_eq!(h["x-forwarded-method"], "POST");
        assert_eq!(h["x-forwarded-proto"], "http");
        assert_eq!(h["x-forwarded-host"], "app.test");
        assert_eq!(h["x-forwarded-uri"], "/p?q=1");
        for gone in ["host", "connection", "content-length", "x-forwarded-port"] {
            assert!(h.get(gone).is_none(), "{gone}");
        }
    }

    #[test]
    fn trust_forward_header_keeps_what_the_client_sent() {
        let h = sent(true).headers().clone();
        assert_eq!(h["x-forwarded-for"], "203.0.113.9, 10.0.0.7");
        assert_eq!(h["x-forwarded-proto"], "https");
        assert_eq!(h["x-forwarded-host"], "spoofed.test");
        assert_eq!(h["x-forwarded-port"], "8443");
        assert_eq!(h["x-forwarded-method"], "POST");
    }

    #[test]
    fn success_copies_the_listed_headers_and_replaces_spoofed_ones() {
        let c = check(false, &["X-Auth-User", "X-Auth-Roles"]);
        let mut answer = HeaderMap::new();
        answer.insert("x-auth-user", "alice".parse().expect("v"));
        answer.insert("x-other", "no".parse().expect("v"));
        let mut req = HeaderMap::new();
        req.insert("x-auth-user", "mallory".parse().expect("v"));
        req.insert("x-auth-roles", "admin".parse().expect("v"));
        c.outcome(StatusCode::NO_CONTENT, &answer, Bytes::new(), &mut req)
            .expect("allowed");
        assert_eq!(req["x-auth-user"], "alice");
        assert!(
            req.get("x-auth-roles").is_none(),
            "a spoofed header is removed"
        );
        assert!(req.get("x-other").is_none());
    }

    #[test]
    fn anything_else_is_the_clients_answer() {
        let c = check(false, &[]);
        let mut answer = HeaderMap::new();
        answer.insert("location", "https://login.test/".parse().expect("v"));
        answer.append("set-cookie", "a=1".parse().expect("v"));
        answer.append("set-cookie", "b=2".parse().expect("v"));
        answer.insert("connection", "close".parse().expect("v"));
        answer.insert("content-length", "5".parse().expect("v"));
        let e = c
            .outcome(
                StatusCode::FOUND,
                &answer,
                Bytes::from_static(b"login"),
                &mut HeaderMap::new(),
            )
            .expect_err("refused");
        assert_eq!(e.status, 302);
        assert_eq!(e.body, "login");
        let names: Vec<&str> = e.headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["location", "set-cookie", "set-cookie"]);
    }

    #[test]
    fn the_address_must_be_an_http_url() {
        for bad in ["auth:9000", "ftp://x/", "/verify", "http://"] {
            let spec = ForwardAuth {
                address: bad.into(),
                trust_forward_header: false,
                auth_response_headers: vec![],
                tls: None,
            };
            assert_eq!(
                ForwardAuthCheck::compile(&spec).map(|_| ()),
                Err(MiddlewareError::ForwardAddress(bad.into())),
                "{bad}"
            );
        }
    }
}
