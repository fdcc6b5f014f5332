//! `headers.*`: custom request and response headers (an empty value deletes), then the
//! secure-headers set of unrolled/secure as Traefik 1.7 applies it: allowed hosts (500 "Bad
//! Host"), the SSL redirect (301, or 307 when temporary), and STS, frame, sniffing, XSS, CSP,
//! HPKP and referrer headers on the response. Built once per routing table.

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use model::middleware::Headers;

use crate::error::MiddlewareError;
use crate::refusal::Refusal;

type Edits = Vec<(HeaderName, Option<HeaderValue>)>;

#[derive(Debug)]
pub struct HeaderRules {
    request: Edits,
    response: Edits,
    /// Added to every response (secure headers other than STS).
    secure_response: Vec<(HeaderName, HeaderValue)>,
    /// `Strict-Transport-Security`, sent on TLS requests (always when forced).
    sts: Option<(HeaderValue, bool)>,
    allowed_hosts: Vec<String>,
    hosts_proxy_headers: Vec<HeaderName>,
    ssl_redirect: Option<StatusCode>,
    ssl_host: String,
    ssl_force_host: bool,
    ssl_proxy_headers: Vec<(HeaderName, String)>,
    cors: Option<CorsRules>,
}

/// CORS compiled: the header values built once.
#[derive(Debug)]
struct CorsRules {
    credentials: bool,
    allow_headers: Option<HeaderValue>,
    allow_methods: Option<HeaderValue>,
    any_origin: bool,
    origins: Vec<String>,
    origin_regex: Vec<regex::Regex>,
    expose_headers: Option<HeaderValue>,
    max_age: Option<HeaderValue>,
    vary: bool,
}

impl CorsRules {
    fn compile(c: &model::middleware::Cors) -> Result<CorsRules, MiddlewareError> {
        let joined = |n: &str, list: &[String]| -> Result<Option<HeaderValue>, MiddlewareError> {
            if list.is_empty() {
                return Ok(None);
            }
            value(n, &list.join(",")).map(Some)
        };
        Ok(CorsRules {
            credentials: c.access_control_allow_credentials,
            allow_headers: joined(
                "Access-Control-Allow-Headers",
                &c.access_control_allow_headers,
            )?,
            allow_methods: joined(
                "Access-Control-Allow-Methods",
                &c.access_control_allow_methods,
            )?,
            any_origin: c.access_control_allow_origin_list.iter().any(|o| o == "*"),
            origins: c.access_control_allow_origin_list.clone(),
            origin_regex: c
                .access_control_allow_origin_list_regex
                .iter()
                .map(|r| {
                    regex::Regex::new(r).map_err(|e| MiddlewareError::HeaderValue {
                        name: "accessControlAllowOriginListRegex".into(),
                        value: format!("{r}: {e}"),
                    })
                })
                .collect::<Result<_, _>>()?,
            expose_headers: joined(
                "Access-Control-Expose-Headers",
                &c.access_control_expose_headers,
            )?,
            max_age: c
                .access_control_max_age
                .map(|s| value("Access-Control-Max-Age", &s.to_string()))
                .transpose()?,
            vary: c.add_vary_header,
        })
    }

    /// The `Access-Control-Allow-Origin` for a request's `Origin`, when it is allowed.
    fn allowed(&self, headers: &HeaderMap) -> Option<HeaderValue> {
        let origin = headers.get(header::ORIGIN)?;
        if self.any_origin {
            return Some(HeaderValue::from_static("*"));
        }
        let text = origin.to_str().ok()?;
        (self.origins.iter().any(|o| o == text)
            || self.origin_regex.iter().any(|r| r.is_match(text)))
        .then(|| origin.clone())
    }
}

/// What the request-side rules decided.
#[derive(Debug, PartialEq, Eq)]
pub struct RequestFacts {
    /// Whether the request counts as TLS (for STS on the response).
    pub secure: bool,
    /// The `Access-Control-Allow-Origin` the response gets (CORS), if any.
    pub cors_origin: Option<HeaderValue>,
}

fn name(n: &str) -> Result<HeaderName, MiddlewareError> {
    HeaderName::from_bytes(n.trim().as_bytes())
        .map_err(|_| MiddlewareError::HeaderName(n.to_string()))
}

fn value(n: &str, v: &str) -> Result<HeaderValue, MiddlewareError> {
    HeaderValue::from_str(v).map_err(|_| MiddlewareError::HeaderValue {
        name: n.to_string(),
        value: v.to_string(),
    })
}

fn edits(map: &std::collections::BTreeMap<String, String>) -> Result<Edits, MiddlewareError> {
    map.iter()
        .map(|(n, v)| {
            let v = if v.is_empty() {
                None
            } else {
                Some(value(n, v)?)
            };
            Ok((name(n)?, v))
        })
        .collect()
}

fn apply(edits: &Edits, headers: &mut HeaderMap) {
    for (n, v) in edits {
        match v {
            Some(v) => {
                headers.insert(n.clone(), v.clone());
            }
            None => {
                headers.remove(n);
            }
        }
    }
}

impl HeaderRules {
    pub fn compile(h: &Headers) -> Result<HeaderRules, MiddlewareError> {
        let dev = h.is_development;
        let mut secure_response = Vec::new();
        let mut add = |n: HeaderName, v: &str| -> Result<(), MiddlewareError> {
            secure_response.push((n.clone(), value(n.as_str(), v)?));
            Ok(())
        };
        if !h.custom_frame_options_value.is_empty() {
            add(header::X_FRAME_OPTIONS, &h.custom_frame_options_value)?;
        } else if h.frame_deny {
            add(header::X_FRAME_OPTIONS, "DENY")?;
        }
        if h.content_type_nosniff {
            add(header::X_CONTENT_TYPE_OPTIONS, "nosniff")?;
        }
        if !h.custom_browser_xss_value.is_empty() {
            add(header::X_XSS_PROTECTION, &h.custom_browser_xss_value)?;
        } else if h.browser_xss_filter {
            add(header::X_XSS_PROTECTION, "1; mode=block")?;
        }
        if !h.content_security_policy.is_empty() {
            add(header::CONTENT_SECURITY_POLICY, &h.content_security_policy)?;
        }
        if !h.public_key.is_empty() {
            add(HeaderName::from_static("public-key-pins"), &h.public_key)?;
        }
        if !h.referrer_policy.is_empty() {
            add(header::REFERRER_POLICY, &h.referrer_policy)?;
        }
        let p = &h.policies;
        for (n, v) in [
            ("feature-policy", &p.feature_policy),
            ("permissions-policy", &p.permissions_policy),
            (
                "content-security-policy-report-only",
                &p.content_security_policy_report_only,
            ),
        ] {
            if !v.is_empty() {
                add(HeaderName::from_static(n), v)?;
            }
        }
        let sts = (h.sts_seconds > 0 && !dev)
            .then(|| {
                let mut v = format!("max-age={}", h.sts_seconds);
                if h.sts_include_subdomains {
                    v.push_str("; includeSubdomains");
                }
                if h.sts_preload {
                    v.push_str("; preload");
                }
                value("Strict-Transport-Security", &v).map(|v| (v, h.force_sts_header))
            })
            .transpose()?;
        let ssl_redirect = match (h.ssl_redirect, h.ssl_temporary_redirect) {
            _ if dev => None,
            (_, true) => Some(StatusCode::TEMPORARY_REDIRECT),
            (true, false) => Some(StatusCode::MOVED_PERMANENTLY),
            (false, false) => None,
        };
        Ok(HeaderRules {
            request: edits(&h.custom_request_headers)?,
            response: edits(&h.custom_response_headers)?,
            secure_response,
            sts,
            allowed_hosts: if dev {
                Vec::new()
            } else {
                h.allowed_hosts.clone()
            },
            hosts_proxy_headers: h
                .hosts_proxy_headers
                .iter()
                .map(|n| name(n))
                .collect::<Result<_, _>>()?,
            ssl_redirect,
            ssl_host: h.ssl_host.clone(),
            ssl_force_host: h.ssl_force_host,
            ssl_proxy_headers: h
                .ssl_proxy_headers
                .iter()
                .map(|(n, v)| Ok((name(n)?, v.clone())))
                .collect::<Result<_, MiddlewareError>>()?,
            cors: h.cors.as_ref().map(CorsRules::compile).transpose()?,
        })
    }

    /// A CORS preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) is
    /// answered here, 200 with what is allowed, as Traefik does; `None` for any other request.
    pub fn preflight(&self, method: &http::Method, headers: &HeaderMap) -> Option<Refusal> {
        let cors = self.cors.as_ref()?;
        let asks = method == http::Method::OPTIONS
            && headers.contains_key(header::ORIGIN)
            && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
        if !asks {
            return None;
        }
        let mut answer = Refusal {
            status: StatusCode::OK,
            headers: Vec::new(),
            body: bytes::Bytes::new(),
        };
        if cors.credentials {
            answer.headers.push((
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            ));
        }
        for (n, v) in [
            (header::ACCESS_CONTROL_ALLOW_HEADERS, &cors.allow_headers),
            (header::ACCESS_CONTROL_ALLOW_METHODS, &cors.allow_methods),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, &cors.allowed(headers)),
            (header::ACCESS_CONTROL_MAX_AGE, &cors.max_age),
        ] {
            if let Some(v) = v {
                answer.headers.push((n, v.clone()));
            }
        }
        Some(answer)
    }

    /// Custom request headers, then the host check and the SSL redirect. `tls` says whether
    /// the request came over TLS; `path_and_query` is the request URI for the redirect.
    pub fn on_request(
        &self,
        headers: &mut HeaderMap,
        tls: bool,
        path_and_query: &str,
    ) -> Result<RequestFacts, Refusal> {
        apply(&self.request, headers);
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        if !self.allowed_hosts.is_empty() {
            let proxied = self
                .hosts_proxy_headers
                .iter()
                .find_map(|n| headers.get(n).and_then(|v| v.to_str().ok()))
                .filter(|v| !v.is_empty());
            let checked = proxied.unwrap_or(&host);
            if !self.allowed_hosts.iter().any(|a| a == checked) {
                let mut r = Refusal::status(StatusCode::INTERNAL_SERVER_ERROR);
                r.body = bytes::Bytes::from_static(b"Bad Host");
                return Err(r);
            }
        }
        let secure = tls
            || self.ssl_proxy_headers.iter().any(|(n, v)| {
                headers
                    .get(n)
                    .and_then(|h| h.to_str().ok())
                    .is_some_and(|h| h == v)
            });
        if let Some(status) = self.ssl_redirect {
            let wrong_host =
                self.ssl_force_host && !self.ssl_host.is_empty() && host != self.ssl_host;
            if !secure || wrong_host {
                let target = if self.ssl_host.is_empty() {
                    &host
                } else {
                    &self.ssl_host
                };
                let location = format!("https://{target}{path_and_query}");
                let mut r = Refusal::status(status);
                if let Ok(v) = HeaderValue::from_str(&location) {
                    r.headers.push((header::LOCATION, v));
                }
                return Err(r);
            }
        }
        let cors_origin = self.cors.as_ref().and_then(|c| c.allowed(headers));
        Ok(RequestFacts {
            secure,
            cors_origin,
        })
    }

    /// Custom response headers, then the secure headers.
    pub fn on_response(&self, headers: &mut HeaderMap, facts: &RequestFacts) {
        apply(&self.response, headers);
        if let Some(cors) = &self.cors {
            if let Some(origin) = &facts.cors_origin {
                headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
                if cors.credentials {
                    headers.insert(
                        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                        HeaderValue::from_static("true"),
                    );
                }
                if let Some(v) = &cors.expose_headers {
                    headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, v.clone());
                }
            }
            if cors.vary {
                headers.append(header::VARY, HeaderValue::from_static("Origin"));
            }
        }
        for (n, v) in &self.secure_response {
            headers.insert(n.clone(), v.clone());
        }
        if let Some((v, forced)) = &self.sts {
            if facts.secure || *forced {
                headers.insert(header::STRICT_TRANSPORT_SECURITY, v.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(h: Headers) -> HeaderRules {
        HeaderRules::compile(&h).expect("valid")
    }

    fn host(h: &str) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert(header::HOST, h.parse().expect("v"));
        m
    }

    #[test]
    fn custom_headers_set_and_delete() {
        let r = rules(Headers {
            custom_request_headers: [
                ("X-Script-Name".into(), "test".into()),
                ("X-Drop".into(), "".into()),
            ]
            .into(),
            custom_response_headers: [("Server".into(), "".into()), ("X-A".into(), "1".into())]
                .into(),
            ..Headers::default()
        });
        let mut req = host("a");
        req.insert("x-drop", "x".parse().expect("v"));
        let facts = r.on_request(&mut req, false, "/").expect("passes");
        assert_eq!(req["x-script-name"], "test");
        assert!(req.get("x-drop").is_none());
        let mut resp = HeaderMap::new();
        resp.insert("server", "nginx".parse().expect("v"));
        r.on_response(&mut resp, &facts);
        assert!(resp.get("server").is_none());
        assert_eq!(resp["x-a"], "1");
    }

    #[test]
    fn ssl_redirect_and_proxy_headers() {
        let r = rules(Headers {
            ssl_redirect: true,
            ssl_proxy_headers: [("X-Forwarded-Proto".into(), "https".into())].into(),
            ..Headers::default()
        });
        let e = r
            .on_request(&mut host("a.test"), false, "/p?q=1")
            .expect_err("redirect");
        assert_eq!(e.status, 301);
        assert_eq!(e.headers[0].1, "https://a.test/p?q=1");
        assert!(r.on_request(&mut host("a.test"), true, "/").is_ok());
        let mut proxied = host("a.test");
        proxied.insert("x-forwarded-proto", "https".parse().expect("v"));
        assert!(r.on_request(&mut proxied, false, "/").is_ok());
        let temp = rules(Headers {
            ssl_temporary_redirect: true,
            ssl_host: "secure.test".into(),
            ..Headers::default()
        });
        let e = temp
            .on_request(&mut host("a.test"), false, "/")
            .expect_err("307");
        assert_eq!(e.status, 307);
        assert_eq!(e.headers[0].1, "https://secure.test/");
    }

    #[test]
    fn allowed_hosts_and_development() {
        let h = Headers {
            allowed_hosts: vec!["good.test".into()],
            hosts_proxy_headers: vec!["X-Forwarded-Host".into()],
            ..Headers::default()
        };
        let r = rules(h.clone());
        let e = r
            .on_request(&mut host("bad.test"), false, "/")
            .expect_err("500");
        assert_eq!((e.status.as_u16(), &e.body[..]), (500, &b"Bad Host"[..]));
        assert!(r.on_request(&mut host("good.test"), false, "/").is_ok());
        let mut proxied = host("bad.test");
        proxied.insert("x-forwarded-host", "good.test".parse().expect("v"));
        assert!(r.on_request(&mut proxied, false, "/").is_ok());
        let dev = rules(Headers {
            is_development: true,
            cors: None,
            ..h
        });
        assert!(dev.on_request(&mut host("bad.test"), false, "/").is_ok());
    }

    #[test]
    fn secure_response_headers() {
        let r = rules(Headers {
            sts_seconds: 315360000,
            sts_include_subdomains: true,
            sts_preload: true,
            frame_deny: true,
            content_type_nosniff: true,
            browser_xss_filter: true,
            content_security_policy: "default-src 'self'".into(),
            referrer_policy: "no-referrer".into(),
            policies: model::middleware::HeaderPolicies {
                permissions_policy: "camera=()".into(),
                feature_policy: "vibrate 'none'".into(),
                content_security_policy_report_only: "default-src https:".into(),
            },
            ..Headers::default()
        });
        let mut plain = HeaderMap::new();
        r.on_response(
            &mut plain,
            &RequestFacts {
                secure: false,
                cors_origin: None,
            },
        );
        assert!(plain.get("strict-transport-security").is_none());
        assert_eq!(plain["x-frame-options"], "DENY");
        assert_eq!(plain["x-content-type-options"], "nosniff");
        assert_eq!(plain["x-xss-protection"], "1; mode=block");
        assert_eq!(plain["content-security-policy"], "default-src 'self'");
        assert_eq!(plain["referrer-policy"], "no-referrer");
        assert_eq!(plain["permissions-policy"], "camera=()");
        assert_eq!(plain["feature-policy"], "vibrate 'none'");
        assert_eq!(
            plain["content-security-policy-report-only"],
            "default-src https:"
        );
        let mut tls = HeaderMap::new();
        r.on_response(
            &mut tls,
            &RequestFacts {
                secure: true,
                cors_origin: None,
            },
        );
        assert_eq!(
            tls["strict-transport-security"],
            "max-age=315360000; includeSubdomains; preload"
        );
    }

    #[test]
    fn bad_header_names_are_named() {
        let e = HeaderRules::compile(&Headers {
            custom_request_headers: [("Bad Name".into(), "x".into())].into(),
            ..Headers::default()
        })
        .expect_err("bad");
        assert_eq!(
            e.to_string(),
            "header name \"Bad Name\" is not a valid HTTP header name"
        );
    }
}
