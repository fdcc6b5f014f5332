//! Matching a request against a [`Rule`] and rewriting its path: pure, allocation-free on the
//! matching side, run on every request.

use http::{HeaderMap, Method};

use super::rule::{Matcher, Modifiers, PathPattern, PathStep, QueryValue, Rule};

/// The parts of a request that rules look at.
#[derive(Debug, Clone, Copy)]
pub struct RequestView<'a> {
    /// Lower-case host without port (from `Host`, or the URI authority for HTTP/2).
    pub host: &'a str,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub method: &'a Method,
    pub headers: &'a HeaderMap,
    /// The connection's peer, for `ClientIP` (`None`: no rule with `ClientIP` matches).
    pub client_ip: Option<std::net::IpAddr>,
}

/// The result of applying modifiers: the path the backend sees and the headers that say so.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rewrite {
    pub path: String,
    /// `X-Forwarded-Prefix`: the prefix that was stripped, as written in the rule.
    pub forwarded_prefix: Option<String>,
    /// `X-Replaced-Path`: the path before ReplacePath/ReplacePathRegex.
    pub replaced_path: Option<String>,
}

/// `web.local:8080` → `web.local`, `[::1]:80` → `[::1]`; leaves `::1` and names alone.
pub fn host_without_port(host: &str) -> &str {
    if host.starts_with('[') {
        return match host.find(']') {
            Some(end) => &host[..=end],
            None => host,
        };
    }
    match host.rsplit_once(':') {
        Some((h, port)) if !h.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

/// How a request meets a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matching {
    No,
    Yes,
    /// Only with the path's trailing slash added or removed, on a rule with a `Path` matcher:
    /// with Traefik's default `keepTrailingSlash = false` (gorilla/mux's strict slash) the
    /// request is answered 301 to this path.
    Slash(String),
}

impl Rule {
    pub fn matches(&self, req: &RequestView) -> bool {
        self.matchers.iter().all(|m| m.matches(req))
    }

    /// Like [`matches`](Self::matches); with `strict_slash`, a rule with a `Path` matcher also
    /// meets the request whose path differs only by a trailing slash.
    pub fn matching(&self, req: &RequestView, strict_slash: bool) -> Matching {
        if self.matches(req) {
            return Matching::Yes;
        }
        if !strict_slash {
            return Matching::No;
        }
        match toggle_slash(req.path) {
            Some(toggled) if self.matches_toggled(req, &toggled) => Matching::Slash(toggled),
            _ => Matching::No,
        }
    }

    /// Whether the rule, having a `Path` matcher, meets the request with its path `toggled`
    /// (see [`toggle_slash`]). Route lookup computes `toggled` once per request.
    pub fn matches_toggled(&self, req: &RequestView, toggled: &str) -> bool {
        self.has_path()
            && self.matches(&RequestView {
                path: toggled,
                ..*req
            })
    }
}

impl Rule {
    /// Whether the rule has a `Path` (or `PathStrip`) matcher: the rules strict slash applies to.
    pub fn has_path(&self) -> bool {
        self.syntax == super::rule::Syntax::V1
            && self.matchers.iter().any(|m| matches!(m, Matcher::Path(_)))
    }
}

/// `path` with its trailing slash removed, or added; `None` for `/`.
pub fn toggle_slash(path: &str) -> Option<String> {
    match path.strip_suffix('/') {
        Some("") => None,
        Some(without) => Some(without.to_string()),
        None => Some(format!("{path}/")),
    }
}

impl Matcher {
    fn matches(&self, req: &RequestView) -> bool {
        match self {
            Matcher::Host(hosts) => hosts.iter().any(|h| h == req.host),
            Matcher::HostRegexp(res) => res.iter().any(|re| re.is_match(req.host)),
            Matcher::Path(pats) => pats.iter().any(|p| match p {
                PathPattern::Literal(l) => l == req.path,
                PathPattern::Template(re) => re.is_match(req.path),
            }),
            Matcher::PathPrefix(pats) => pats.iter().any(|p| match p {
                PathPattern::Literal(l) => req.path.starts_with(l.as_str()),
                PathPattern::Template(re) => re.is_match(req.path),
            }),
            Matcher::Method(methods) => methods.iter().any(|m| m == req.method.as_str()),
            Matcher::Headers(pairs) => pairs.iter().all(|(k, v)| {
                req.headers
                    .get_all(k)
                    .iter()
                    .any(|got| got.as_bytes() == v.as_bytes())
            }),
            Matcher::HeadersRegexp(pairs) => pairs.iter().all(|(k, re)| {
                req.headers
                    .get_all(k)
                    .iter()
                    .any(|got| got.to_str().is_ok_and(|s| re.is_match(s)))
            }),
            Matcher::Query(pairs) => pairs.iter().all(|(k, want)| {
                query_values(req.query, k).any(|got| match want {
                    QueryValue::Exact(v) => &got == v,
                    QueryValue::Template(re) => re.is_match(&got),
                })
            }),
            Matcher::PathRegexp(re) => re.is_match(req.path),
            Matcher::ClientIp(nets) => req.client_ip.is_some_and(|ip| {
                let ip = ip.to_canonical();
                nets.iter().any(|n| n.contains(&ip))
            }),
            Matcher::Any(ms) => ms.iter().any(|m| m.matches(req)),
            Matcher::All(ms) => ms.iter().all(|m| m.matches(req)),
            Matcher::Not(m) => !m.matches(req),
        }
    }
}

/// Decoded values of `key` in a query string.
fn query_values<'a>(query: Option<&'a str>, key: &'a str) -> impl Iterator<Item = String> + 'a {
    query.unwrap_or("").split('&').filter_map(move |pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(k) == key).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Modifiers {
    /// Rewrites `path` as Traefik 1.x does. Returns `None` when the rule changes nothing.
    pub fn apply(&self, path: &str) -> Option<Rewrite> {
        if self.is_empty() {
            return None;
        }
        let mut out = Rewrite {
            path: path.to_string(),
            ..Rewrite::default()
        };
        if let Some(m) = self.strip_regex.iter().find_map(|re| re.find(&out.path)) {
            let (prefix, rest) = (m.as_str().to_string(), out.path[m.end()..].to_string());
            out.path = leading_slash(&rest);
            out.forwarded_prefix = Some(prefix);
        }
        if let Some(prefix) = self.strip.iter().find(|p| out.path.starts_with(p.as_str())) {
            out.path = leading_slash(&out.path[prefix.len()..]);
            out.forwarded_prefix = Some(prefix.clone());
        }
        if let Some(prefix) = &self.add_prefix {
            out.path = format!("{prefix}{}", out.path);
        }
        if let Some((re, replacement)) = &self.replace_path_regex {
            if re.is_match(&out.path) {
                let new = re.replace_all(&out.path, replacement.as_str()).into_owned();
                out.replaced_path = Some(std::mem::replace(&mut out.path, new));
            }
        }
        if let Some(new) = &self.replace_path {
            out.replaced_path = Some(std::mem::replace(&mut out.path, new.clone()));
        }
        for step in &self.steps {
            step.apply(&mut out);
        }
        Some(out)
    }
}

impl PathStep {
    /// One 2.x/3.x path middleware, as Traefik 3 runs it.
    fn apply(&self, out: &mut Rewrite) {
        match self {
            PathStep::StripPrefix(prefixes) => {
                if let Some(p) = prefixes.iter().find(|p| out.path.starts_with(p.as_str())) {
                    out.path = ensure_slash(&out.path[p.len()..]);
                    out.forwarded_prefix = Some(p.clone());
                }
            }
            PathStep::StripPrefixRegex(res) => {
                let found = res
                    .iter()
                    .filter_map(|re| re.find(&out.path))
                    .find(|m| m.start() == 0 && !m.is_empty());
                if let Some(m) = found {
                    let prefix = m.as_str().to_string();
                    out.path = ensure_slash(&out.path[m.end()..]);
                    out.forwarded_prefix = Some(prefix);
                }
            }
            PathStep::AddPrefix(p) => out.path = format!("{p}{}", out.path),
            PathStep::ReplacePath(p) => {
                out.replaced_path = Some(std::mem::replace(&mut out.path, p.clone()));
            }
            PathStep::ReplacePathRegex(re, with) => {
                if re.is_match(&out.path) {
                    let new = re.replace_all(&out.path, with.as_str()).into_owned();
                    out.replaced_path = Some(std::mem::replace(&mut out.path, new));
                }
            }
        }
    }
}

/// Traefik 3's `ensureLeadingSlash`, with an empty path made `/`.
fn ensure_slash(rest: &str) -> String {
    if rest.starts_with('/') {
        rest.to_string()
    } else {
        format!("/{rest}")
    }
}

/// `"/" + TrimLeft(rest, "/")`, as Traefik's strip middleware does.
fn leading_slash(rest: &str) -> String {
    format!("/{}", rest.trim_start_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;

    fn view<'a>(
        host: &'a str,
        path: &'a str,
        method: &'a Method,
        headers: &'a HeaderMap,
    ) -> RequestView<'a> {
        let (path, query) = match path.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path, None),
        };
        RequestView {
            host,
            path,
            query,
            method,
            headers,
            client_ip: None,
        }
    }

    fn matches(rule: &str, host: &str, path: &str) -> bool {
        let headers = HeaderMap::new();
        let r = parse(rule).expect("parses");
        r.matches(&view(host, path, &Method::GET, &headers))
    }

    #[test]
    fn host_matching_is_exact_and_any_of() {
        assert!(matches("Host:web.local,b.com", "web.local", "/"));
        assert!(matches("Host:web.local,b.com", "b.com", "/x"));
        assert!(!matches("Host:web.local", "www.web.local", "/"));
        assert!(matches("Host:WEB.local", "web.local", "/"));
        assert!(matches(
            "HostRegexp:{sub:[a-z]+}.example.com",
            "api.example.com",
            "/"
        ));
        assert!(!matches(
            "HostRegexp:{sub:[a-z]+}.example.com",
            "example.com",
            "/"
        ));
    }

    #[test]
    fn strict_slash_meets_the_other_spelling_of_a_path() {
        let headers = HeaderMap::new();
        let at = |rule: &str, path: &str, strict: bool| {
            parse(rule)
                .expect("parses")
                .matching(&view("h", path, &Method::GET, &headers), strict)
        };
        assert_eq!(at("Path:/test/foo", "/test/foo", true), Matching::Yes);
        assert_eq!(
            at("Path:/test/foo", "/test/foo/", true),
            Matching::Slash("/test/foo".into())
        );
        assert_eq!(
            at("Path:/test/foo/", "/test/foo", true),
            Matching::Slash("/test/foo/".into())
        );
        assert_eq!(
            at("PathStrip:/api", "/api/", true),
            Matching::Slash("/api".into())
        );
        assert_eq!(at("Path:/test/foo", "/test/foo/", false), Matching::No);
        assert_eq!(at("PathPrefix:/test/foo", "/test/fo/", true), Matching::No);
        assert_eq!(at("Path:/a;Host:other", "/a/", true), Matching::No);
        assert_eq!(
            at("Path:/{id:[0-9]+}", "/12/", true),
            Matching::Slash("/12".into())
        );
    }

    #[test]
    fn path_matchers() {
        assert!(matches("Path:/a,/b/{id:[0-9]+}", "h", "/b/12"));
        assert!(!matches("Path:/a", "h", "/a/"));
        assert!(
            matches("PathPrefix:/music", "h", "/musical"),
            "Traefik 1.x prefixes are string prefixes"
        );
        assert!(!matches("PathPrefix:/music", "h", "/Music"));
        assert!(!matches("PathPrefixStrip:/music/", "h", "/music"));
        assert!(matches("PathPrefixStripRegex:/{v:[a-z]+}", "h", "/foo/bar"));
    }

    #[test]
    fn method_headers_query() {
        let mut headers = HeaderMap::new();
        headers.insert("x-env", "prod".parse().expect("value"));
        let r = parse("Method:GET,POST;Headers:X-Env,prod;Query:page={n:[0-9]+},q=a b")
            .expect("parses");
        assert!(r.matches(&view("h", "/?page=2&q=a%20b", &Method::POST, &headers)));
        assert!(!r.matches(&view("h", "/?page=x&q=a%20b", &Method::POST, &headers)));
        assert!(!r.matches(&view("h", "/?page=2&q=a%20b", &Method::DELETE, &headers)));
        let empty = HeaderMap::new();
        assert!(!r.matches(&view("h", "/?page=2&q=a+b", &Method::GET, &empty)));
        let r = parse("HeadersRegexp:X-Env,^pr").expect("parses");
        assert!(r.matches(&view("h", "/", &Method::GET, &headers)));
    }

    fn rewrite(rule: &str, path: &str) -> Option<(String, Option<String>)> {
        parse(rule)
            .expect("parses")
            .modifiers
            .apply(path)
            .map(|r| (r.path, r.forwarded_prefix))
    }

    #[test]
    fn path_prefix_strip_follows_traefik_1x() {
        let m = |p: &str| Some(p.to_string());
        let cases = [
            ("PathPrefixStrip:/music", "/music", "/", "/music"),
            ("PathPrefixStrip:/music", "/music/", "/", "/music"),
            ("PathPrefixStrip:/music", "/music/1", "/1", "/music"),
            ("PathPrefixStrip:/music", "/musical", "/al", "/music"),
            ("PathPrefixStrip:/music/", "/music/1", "/1", "/music/"),
            ("PathPrefixStrip:/api,/api/v1", "/api/v1/x", "/x", "/api/v1"),
            ("PathStrip:/music", "/music", "/", "/music"),
            (
                "PathPrefixStripRegex:/{v:[a-z]+}",
                "/foo/bar",
                "/bar",
                "/foo",
            ),
        ];
        for (rule, path, want_path, want_prefix) in cases {
            assert_eq!(
                rewrite(rule, path),
                Some((want_path.to_string(), m(want_prefix))),
                "{rule} {path}"
            );
        }
    }

    #[test]
    fn add_and_replace_path() {
        let r = parse("AddPrefix:/v1")
            .expect("parses")
            .modifiers
            .apply("/x");
        assert_eq!(r.map(|r| r.path).as_deref(), Some("/v1/x"));
        let r = parse("ReplacePath:/new")
            .expect("parses")
            .modifiers
            .apply("/old")
            .expect("rewrites");
        assert_eq!(
            (r.path.as_str(), r.replaced_path.as_deref()),
            ("/new", Some("/old"))
        );
        let r = parse("ReplacePathRegex:^/api/v2/(.*) /api/$1")
            .expect("parses")
            .modifiers
            .apply("/api/v2/users")
            .expect("rewrites");
        assert_eq!(r.path, "/api/users");
        assert_eq!(r.replaced_path.as_deref(), Some("/api/v2/users"));
        let r = parse("PathPrefixStrip:/s;AddPrefix:/p")
            .expect("parses")
            .modifiers
            .apply("/s/x")
            .expect("rewrites");
        assert_eq!(
            r.path, "/p/x",
            "strip runs before AddPrefix whatever the order"
        );
        assert!(
            parse("Host:a")
                .expect("parses")
                .modifiers
                .apply("/x")
                .is_none()
        );
    }

    #[test]
    fn ports_are_ignored_in_hosts() {
        assert_eq!(host_without_port("web.local:8080"), "web.local");
        assert_eq!(host_without_port("web.local"), "web.local");
        assert_eq!(host_without_port("[::1]:80"), "[::1]");
        assert_eq!(host_without_port("::1"), "::1");
    }
}
