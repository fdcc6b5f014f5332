//! Sticky sessions as Traefik 1.7 keeps them: a cookie whose value is the URL of the server
//! that answered. Built once per backend: the cookie's name (as configured, sanitised, or
//! derived from the backend's name), each server's ready `Set-Cookie` value, and the servers
//! by URL; per request only the client's `Cookie` header is read.

use std::collections::HashMap;

use http::{HeaderMap, HeaderValue, header};
use model::dynamic::Stickiness;
use sha1::{Digest, Sha1};

use crate::table::ServerRuntime;

/// A backend's sticky cookie.
#[derive(Debug)]
pub struct StickyCookie {
    name: String,
    /// `Set-Cookie` for each server, by index.
    set_cookie: Vec<Option<HeaderValue>>,
    by_url: HashMap<String, usize>,
}

impl StickyCookie {
    pub fn new(spec: &Stickiness, backend: &str, servers: &[ServerRuntime]) -> StickyCookie {
        let name = cookie_name(&spec.cookie_name, backend);
        let attributes = attributes(spec);
        StickyCookie {
            set_cookie: servers
                .iter()
                .map(|s| HeaderValue::from_str(&format!("{name}={}{attributes}", s.url)).ok())
                .collect(),
            by_url: servers
                .iter()
                .enumerate()
                .map(|(i, s)| (s.url.clone(), i))
                .collect(),
            name,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The server the request's cookie names, when it is one of this backend's.
    pub fn server(&self, headers: &HeaderMap) -> Option<usize> {
        let url = cookie_value(headers, &self.name)?;
        self.by_url.get(url).copied()
    }

    /// The `Set-Cookie` value that sends later requests to server `index`.
    pub fn set_cookie(&self, index: usize) -> Option<&HeaderValue> {
        self.set_cookie.get(index)?.as_ref()
    }
}

/// Traefik's cookie name: the configured one with characters outside RFC 2616's token set
/// replaced by `_`, else `_` and the first 5 hex digits of SHA-1(`_TRAEFIK_BACKEND_<backend>`).
pub fn cookie_name(configured: &str, backend: &str) -> String {
    if !configured.is_empty() {
        return configured
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "!#$%&'*+-.^`|~".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
    }
    let digest = Sha1::digest(format!("_TRAEFIK_BACKEND_{backend}").as_bytes());
    let hex: String = digest.iter().take(3).map(|b| format!("{b:02x}")).collect();
    format!("_{}", &hex[..5])
}

/// `; Path=/` (or the configured path), `Domain`, `Max-Age` and the flags, in Go's order
/// (`http.Cookie.String`: Path, Domain, Max-Age, HttpOnly, Secure, SameSite).
fn attributes(spec: &Stickiness) -> String {
    let mut a = format!("; Path={}", spec.path.as_deref().unwrap_or("/"));
    if let Some(d) = spec.domain.as_deref().map(|d| d.trim_start_matches('.')) {
        if !d.is_empty() {
            a.push_str(&format!("; Domain={d}"));
        }
    }
    match spec.max_age {
        0 => {}
        n if n < 0 => a.push_str("; Max-Age=0"),
        n => a.push_str(&format!("; Max-Age={n}")),
    }
    if spec.http_only {
        a.push_str("; HttpOnly");
    }
    if spec.secure {
        a.push_str("; Secure");
    }
    match spec.same_site.to_ascii_lowercase().as_str() {
        "none" => a.push_str("; SameSite=None"),
        "lax" => a.push_str("; SameSite=Lax"),
        "strict" => a.push_str("; SameSite=Strict"),
        _ => {}
    }
    a
}

/// The value of cookie `name` in the request's `Cookie` headers (`a=1; b=2`), quotes removed.
fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k.trim() == name).then(|| v.trim().trim_matches('"'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::ServerState;
    use http::uri::Scheme;
    use model::update::Protocol;
    use std::sync::Arc;

    fn server(url: &str) -> ServerRuntime {
        ServerRuntime {
            name: url.into(),
            url: url.into(),
            scheme: Scheme::HTTP,
            protocol: Protocol::Http1,
            authority: url
                .trim_start_matches("http://")
                .parse()
                .expect("authority"),
            weight: 1,
            state: Arc::new(ServerState::with_limit(0)),
        }
    }

    #[test]
    fn names_follow_traefik() {
        // sha1("_TRAEFIK_BACKEND_backend1") starts with 73be0 (Python's hashlib agrees).
        assert_eq!(cookie_name("", "backend1"), "_73be0");
        assert_eq!(cookie_name("my cookie/1", "b"), "my_cookie_1");
        assert_eq!(cookie_name("_TRAEFIK_BACKEND", "b"), "_TRAEFIK_BACKEND");
    }

    #[test]
    fn the_cookie_names_a_server_and_is_set_with_its_flags() {
        let servers = [server("http://10.0.0.1:80"), server("http://10.0.0.2:80")];
        let spec = Stickiness {
            cookie_name: "sticky".into(),
            secure: true,
            http_only: true,
            same_site: "Lax".into(),
            ..Stickiness::default()
        };
        let c = StickyCookie::new(&spec, "backend-web", &servers);
        assert_eq!(
            c.set_cookie(1).expect("value"),
            "sticky=http://10.0.0.2:80; Path=/; HttpOnly; Secure; SameSite=Lax"
        );
        let spec = Stickiness {
            path: Some("/app".into()),
            domain: Some(".example.com".into()),
            max_age: 3600,
            ..spec.clone()
        };
        let c = StickyCookie::new(&spec, "backend-web", &servers);
        assert_eq!(
            c.set_cookie(0).expect("value"),
            "sticky=http://10.0.0.1:80; Path=/app; Domain=example.com; Max-Age=3600; HttpOnly; Secure; SameSite=Lax"
        );
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "a=1; sticky=\"http://10.0.0.2:80\"; b=2"
                .parse()
                .expect("v"),
        );
        assert_eq!(c.server(&h), Some(1));
        h.insert(
            header::COOKIE,
            "sticky=http://10.0.0.9:80".parse().expect("v"),
        );
        assert_eq!(c.server(&h), None, "a removed server's cookie falls back");
        assert_eq!(c.server(&HeaderMap::new()), None);
        let plain = StickyCookie::new(&Stickiness::default(), "backend1", &servers);
        assert_eq!(
            plain.set_cookie(0).expect("value"),
            "_73be0=http://10.0.0.1:80; Path=/"
        );
    }
}
