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

/// A compiled `auth.forward` (and 2.x/3.x `forwardAuth`).
#[derive(Debug)]
pub struct ForwardAuthCheck {
    address: Uri,
    trust_forward_header: bool,
    response_headers: Vec<HeaderName>,
    /// `authRequestHeaders`: only these go to the auth server (all when empty).
    request_headers: Vec<HeaderName>,
    /// `authResponseHeadersRegex`, matched against Go's canonical header names.
    response_regex: Option<regex::Regex>,
    /// `addAuthCookiesToResponse`.
    cookies: Vec<String>,
    /// `maxResponseBodySize`.
    max_answer: Option<u64>,
    preserve_location: bool,
    preserve_method: bool,
    /// `authSigninURL`: where a 401 of the auth server sends the client.
    signin: Option<HeaderValue>,
}

/// What the auth server's answer lets through: nothing more, or cookies for the client's
/// answer (`addAuthCookiesToResponse`).
#[derive(Debug, Default, PartialEq)]
pub struct Admitted {
    /// `Set-Cookie` values of the auth answer to set on the client's answer, by cookie name.
    pub cookies: Vec<(String, HeaderValue)>,
}

impl Admitted {
    /// Puts the auth server's cookies on the client's answer, replacing its own of the same
    /// names (Traefik's order: the answer's other cookies, then the auth server's).
    pub fn apply(&self, response: &mut HeaderMap) {
        if self.cookies.is_empty() {
            return;
        }
        let kept: Vec<HeaderValue> = (response.get_all(header::SET_COOKIE).iter())
            .filter(|v| {
                let name = cookie_name(v);
                !self.cookies.iter().any(|(n, _)| Some(n.as_str()) == name)
            })
            .cloned()
            .collect();
        response.remove(header::SET_COOKIE);
        for v in kept
            .into_iter()
            .chain(self.cookies.iter().map(|(_, v)| v.clone()))
        {
            response.append(header::SET_COOKIE, v);
        }
    }
}

/// The name of a `Set-Cookie` value (`name=value; …`).
fn cookie_name(v: &HeaderValue) -> Option<&str> {
    let s = v.to_str().ok()?;
    let name = s.split(';').next()?.split('=').next()?.trim();
    (!name.is_empty()).then_some(name)
}

/// Go's canonical form of a header name (`x-auth-user` → `X-Auth-User`), which Traefik's
/// regex sees.
fn canonical(name: &str) -> String {
    let mut upper = true;
    name.chars()
        .map(|c| {
            let out = if upper {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            };
            upper = c == '-';
            out
        })
        .collect()
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
        let o = &spec.options;
        let request_headers = (o.auth_request_headers.iter())
            .map(|h| {
                HeaderName::from_bytes(h.trim().as_bytes())
                    .map_err(|_| MiddlewareError::HeaderName(h.clone()))
            })
            .collect::<Result<_, _>>()?;
        let response_regex = match o.auth_response_headers_regex.trim() {
            "" => None,
            re => Some(regex::Regex::new(re).map_err(|e| {
                MiddlewareError::ForwardOption(format!("authResponseHeadersRegex {re:?}: {e}"))
            })?),
        };
        let signin = match o.auth_signin_url.trim() {
            "" => None,
            url => Some(HeaderValue::from_str(url).map_err(|_| {
                MiddlewareError::ForwardOption(format!("authSigninURL {url:?} is not a URL"))
            })?),
        };
        Ok(ForwardAuthCheck {
            address,
            trust_forward_header: spec.trust_forward_header,
            response_headers,
            request_headers,
            response_regex,
            cookies: o.add_auth_cookies_to_response.clone(),
            max_answer: o.max_response_body_size,
            preserve_location: o.preserve_location_header,
            preserve_method: o.preserve_request_method,
            signin,
        })
    }

    /// `maxResponseBodySize`, when set: a longer answer from the auth server is a 401.
    pub fn max_answer(&self) -> Option<u64> {
        self.max_answer
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
        let allowed = |name: &HeaderName| {
            self.request_headers.is_empty() || self.request_headers.contains(name)
        };
        if !self.request_headers.is_empty() {
            let all = std::mem::take(&mut headers);
            let mut last = None;
            for (name, value) in all {
                if let Some(n) = name {
                    last = Some(n);
                }
                if let Some(n) = last.as_ref().filter(|n| allowed(n)) {
                    headers.append(n.clone(), value);
                }
            }
        }
        let trusted = |name: &HeaderName| {
            (self.trust_forward_header && allowed(name))
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
        *out.method_mut() = if self.preserve_method {
            req.method.clone()
        } else {
            Method::GET
        };
        *out.uri_mut() = self.address.clone();
        *out.headers_mut() = headers;
        out
    }

    /// The peer, after the client's own `X-Forwarded-For` when it is trusted.
    fn forwarded_for(&self, req: &RequestHead<'_>) -> Option<HeaderValue> {
        let peer = req.peer.to_string();
        let prior: Vec<&str> = if self.trust_forward_header
            && (self.request_headers.is_empty() || self.request_headers.contains(&X_FORWARDED_FOR))
        {
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
    /// through with the `authResponseHeaders` (and those `authResponseHeadersRegex` matches)
    /// copied in, replacing what the client sent; a 401 with `authSigninURL` is a 302 there;
    /// anything else is the client's answer, as the auth server sent it (a relative
    /// `Location` made absolute against the auth address unless `preserveLocationHeader`).
    pub fn outcome(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        body: Bytes,
        request: &mut HeaderMap,
    ) -> Result<Admitted, Refusal> {
        if !status.is_success() {
            if let (StatusCode::UNAUTHORIZED, Some(url)) = (status, &self.signin) {
                return Err(
                    Refusal::status(StatusCode::FOUND).with_header(header::LOCATION, url.clone())
                );
            }
            let mut r = Refusal::status(status);
            r.body = body;
            r.headers = headers
                .iter()
                .filter(|(n, _)| !HOP_BY_HOP.contains(n) && *n != header::CONTENT_LENGTH)
                .map(|(n, v)| (n.clone(), v.clone()))
                .collect();
            if !self.preserve_location {
                for (n, v) in &mut r.headers {
                    if *n == header::LOCATION {
                        if let Some(abs) = self.absolute(v) {
                            *v = abs;
                        }
                    }
                }
            }
            return Err(r);
        }
        for name in &self.response_headers {
            request.remove(name);
            for v in headers.get_all(name) {
                request.append(name.clone(), v.clone());
            }
        }
        if let Some(re) = &self.response_regex {
            let matches = |n: &HeaderName| re.is_match(&canonical(n.as_str()));
            let stale: Vec<HeaderName> = request.keys().filter(|n| matches(n)).cloned().collect();
            for n in stale {
                request.remove(&n);
            }
            for (n, v) in headers.iter().filter(|(n, _)| matches(n)) {
                request.append(n.clone(), v.clone());
            }
        }
        let cookies = if self.cookies.is_empty() {
            Vec::new()
        } else {
            (headers.get_all(header::SET_COOKIE).iter())
                .filter_map(|v| {
                    let name = cookie_name(v)?;
                    self.cookies
                        .iter()
                        .any(|c| c == name)
                        .then(|| (name.to_string(), v.clone()))
                })
                .collect()
        };
        Ok(Admitted { cookies })
    }

    /// A `Location` resolved against the auth address (Go's `Response.Location`).
    fn absolute(&self, location: &HeaderValue) -> Option<HeaderValue> {
        let base = url::Url::parse(&self.address.to_string()).ok()?;
        let joined = base.join(location.to_str().ok()?).ok()?;
        HeaderValue::from_str(joined.as_str()).ok()
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
            options: Default::default(),
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
    fn traefik_3_options_filter_copy_redirect_and_pass_cookies() {
        let c = ForwardAuthCheck::compile(&ForwardAuth {
            address: "http://auth.test:9000/verify/".into(),
            trust_forward_header: true,
            auth_response_headers: vec![],
            tls: None,
            options: model::middleware::ForwardAuthOptions {
                auth_request_headers: vec!["Cookie".into()],
                auth_response_headers_regex: "^X-Auth-".into(),
                add_auth_cookies_to_response: vec!["sso".into()],
                preserve_request_method: true,
                ..Default::default()
            },
        })
        .expect("compiles");
        let mut h = client_headers();
        let head = RequestHead {
            peer: "10.0.0.7".parse().expect("ip"),
            method: &Method::POST,
            uri: "/p",
            tls: false,
            headers: &mut h,
        };
        let r = c.request(&head);
        assert_eq!(r.method(), Method::POST, "preserveRequestMethod");
        let sent = r.headers();
        assert_eq!(sent["cookie"], "session=1");
        // Only Cookie of the client's headers, then portier's own X-Forwarded-* (the client's
        // are not among the allowed ones, so not trusted either).
        assert_eq!(sent["x-forwarded-for"], "10.0.0.7");
        assert_eq!(sent["x-forwarded-host"], "app.test");
        assert!(sent.get("x-forwarded-port").is_none());

        let mut answer = HeaderMap::new();
        answer.insert("x-auth-user", "alice".parse().expect("v"));
        answer.insert("x-other", "no".parse().expect("v"));
        answer.append("set-cookie", "sso=t; Path=/".parse().expect("v"));
        answer.append("set-cookie", "tracking=1".parse().expect("v"));
        let mut req = HeaderMap::new();
        req.insert("x-auth-roles", "spoofed".parse().expect("v"));
        let admitted = c
            .outcome(StatusCode::OK, &answer, Bytes::new(), &mut req)
            .expect("allowed");
        assert_eq!(req["x-auth-user"], "alice");
        assert!(req.get("x-auth-roles").is_none(), "matching, so replaced");
        assert!(req.get("x-other").is_none());
        let mut resp = HeaderMap::new();
        resp.append("set-cookie", "sso=old".parse().expect("v"));
        resp.append("set-cookie", "app=1".parse().expect("v"));
        admitted.apply(&mut resp);
        let cookies: Vec<&str> = (resp.get_all("set-cookie").iter())
            .filter_map(|v| v.to_str().ok())
            .collect();
        assert_eq!(cookies, ["app=1", "sso=t; Path=/"]);

        // A relative Location is made absolute against the address (Go's Location()).
        let mut answer = HeaderMap::new();
        answer.insert("location", "../login?next=1".parse().expect("v"));
        let e = c
            .outcome(StatusCode::FOUND, &answer, Bytes::new(), &mut req)
            .expect_err("refused");
        assert_eq!(e.headers[0].1, "http://auth.test:9000/login?next=1");
        // authSigninURL: a 401 becomes a 302 there.
        let c = ForwardAuthCheck::compile(&ForwardAuth {
            address: "http://auth.test/".into(),
            trust_forward_header: false,
            auth_response_headers: vec![],
            tls: None,
            options: model::middleware::ForwardAuthOptions {
                auth_signin_url: "https://sso.test/login".into(),
                preserve_location_header: true,
                ..Default::default()
            },
        })
        .expect("compiles");
        let e = c
            .outcome(
                StatusCode::UNAUTHORIZED,
                &HeaderMap::new(),
                Bytes::new(),
                &mut req,
            )
            .expect_err("redirect");
        assert_eq!(e.status, 302);
        assert_eq!(e.headers[0].1, "https://sso.test/login");
        let e = c
            .outcome(StatusCode::FOUND, &answer, Bytes::new(), &mut req)
            .expect_err("refused");
        assert_eq!(e.headers[0].1, "../login?next=1", "preserveLocationHeader");
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
                options: Default::default(),
            };
            assert_eq!(
                ForwardAuthCheck::compile(&spec).map(|_| ()),
                Err(MiddlewareError::ForwardAddress(bad.into())),
                "{bad}"
            );
        }
    }
}
