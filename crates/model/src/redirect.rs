//! Traefik 1.x redirects, compiled once and answered per request: to another entrypoint (same
//! host, path and query, that entrypoint's scheme and port) or by a regex over the full URL
//! (`scheme://host/path?query`) with a `$1` replacement. Used by the entrypoint's `redirect` and
//! a frontend's; the data plane asks `location` and `status` and answers.

use http::{Method, StatusCode};
use regex::Regex;
use serde::Serialize;

/// Where a redirect sends requests, and with which status family.
#[derive(Debug, Clone)]
pub struct Redirect {
    pub to: RedirectTo,
    /// 301/308 instead of 302/307.
    pub permanent: bool,
}

#[derive(Debug, Clone)]
pub enum RedirectTo {
    /// `redirect.entryPoint`: the target entrypoint's scheme and port.
    EntryPoint {
        name: String,
        https: bool,
        port: u16,
    },
    /// `redirect.regex` and `redirect.replacement`: Go's `ReplaceAllString` over the full URL.
    Regex { regex: Regex, replacement: String },
}

/// Why a regex redirect cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedirectError {
    #[error("regex {0:?} does not compile: {1}")]
    Regex(String, String),
    #[error(
        "replacement {0:?} uses a Go template ({{{{…}}}}), which portier does not evaluate; use $1-style groups"
    )]
    Template(String),
}

impl RedirectError {
    /// Whether the replacement is at fault (else the regex), to name the right key or label.
    pub fn in_replacement(&self) -> bool {
        matches!(self, RedirectError::Template(_))
    }
}

impl Redirect {
    /// A regex redirect, checked: the regex compiles (RE2 syntax, as Go's) and the replacement
    /// has no Go template, which Traefik evaluates and portier does not.
    pub fn regex(regex: &str, replacement: &str, permanent: bool) -> Result<Self, RedirectError> {
        if replacement.contains("{{") {
            return Err(RedirectError::Template(replacement.to_string()));
        }
        let compiled = Regex::new(regex)
            .map_err(|e| RedirectError::Regex(regex.to_string(), reason(&e.to_string())))?;
        Ok(Self {
            to: RedirectTo::Regex {
                regex: compiled,
                replacement: replacement.to_string(),
            },
            permanent,
        })
    }

    /// The target entrypoint's name, for an entrypoint redirect.
    pub fn entry_point(&self) -> Option<&str> {
        match &self.to {
            RedirectTo::EntryPoint { name, .. } => Some(name),
            RedirectTo::Regex { .. } => None,
        }
    }

    /// The `Location` for a request, or `None` when the request goes on unredirected (a regex
    /// that does not match, or whose replacement leaves the URL as it was, as Traefik's
    /// handler). `host` is the Host header as sent (port included); `target` the path and query.
    pub fn location(&self, https: bool, host: &str, target: &str) -> Option<String> {
        match &self.to {
            RedirectTo::EntryPoint {
                https: to_https,
                port,
                ..
            } => {
                let (scheme, default_port) = if *to_https {
                    ("https", 443)
                } else {
                    ("http", 80)
                };
                let port = if *port == default_port {
                    String::new()
                } else {
                    format!(":{port}")
                };
                let host = host_without_port(host);
                let host = if host.is_empty() { "localhost" } else { host };
                Some(format!("{scheme}://{host}{port}{target}"))
            }
            RedirectTo::Regex { regex, replacement } => {
                let scheme = if https { "https" } else { "http" };
                let url = format!("{scheme}://{host}{target}");
                if !regex.is_match(&url) {
                    return None;
                }
                let new = regex.replace_all(&url, replacement.as_str());
                (new != url).then(|| new.into_owned())
            }
        }
    }

    /// Traefik's statuses: 302 for GET and 307 for other methods, 301 and 308 when permanent.
    /// HEAD counts as GET (portier answers it as GET; Traefik's Go check says 307).
    pub fn status(&self, method: &Method) -> StatusCode {
        let safe = matches!(*method, Method::GET | Method::HEAD);
        match (self.permanent, safe) {
            (true, true) => StatusCode::MOVED_PERMANENTLY,
            (true, false) => StatusCode::PERMANENT_REDIRECT,
            (false, true) => StatusCode::FOUND,
            (false, false) => StatusCode::TEMPORARY_REDIRECT,
        }
    }
}

/// Shown by the API and `portier check` in Traefik's shape.
impl Serialize for Redirect {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Redirect", 3)?;
        match &self.to {
            RedirectTo::EntryPoint { name, .. } => st.serialize_field("entryPoint", name)?,
            RedirectTo::Regex { regex, replacement } => {
                st.serialize_field("regex", regex.as_str())?;
                st.serialize_field("replacement", replacement)?;
            }
        }
        st.serialize_field("permanent", &self.permanent)?;
        st.end()
    }
}

impl std::fmt::Display for Redirect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.to {
            RedirectTo::EntryPoint { name, .. } => write!(f, "-> {name}")?,
            RedirectTo::Regex { regex, replacement } => {
                write!(f, "{:?} -> {replacement:?}", regex.as_str())?
            }
        }
        if self.permanent {
            f.write_str(" (permanent)")?;
        }
        Ok(())
    }
}

/// `host` without `:port` (an IPv6 literal keeps its brackets).
fn host_without_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').map_or(host, |i| &host[..=i]);
    }
    host.rsplit_once(':').map_or(host, |(h, _)| h)
}

/// The regex crate's reason (`unclosed group`) without its drawing of the pattern.
fn reason(message: &str) -> String {
    message
        .lines()
        .find_map(|l| l.trim().strip_prefix("error: "))
        .unwrap_or(message)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(https: bool, port: u16) -> Redirect {
        Redirect {
            to: RedirectTo::EntryPoint {
                name: "https".into(),
                https,
                port,
            },
            permanent: false,
        }
    }

    #[test]
    fn entry_point_keeps_host_path_query_and_drops_default_port() {
        assert_eq!(
            ep(true, 443).location(false, "web.local:80", "/a?b=1"),
            Some("https://web.local/a?b=1".into())
        );
        assert_eq!(
            ep(true, 8443).location(false, "web.local", "/"),
            Some("https://web.local:8443/".into())
        );
        assert_eq!(
            ep(false, 80).location(true, "[::1]:443", "/x"),
            Some("http://[::1]/x".into())
        );
    }

    #[test]
    fn regex_over_the_full_url_with_groups() {
        // Traefik's documented example.
        let r = Redirect::regex("^http://localhost/(.*)", "http://mydomain/$1", false)
            .expect("compiles");
        assert_eq!(
            r.location(false, "localhost", "/api/x?y=1"),
            Some("http://mydomain/api/x?y=1".into())
        );
        // Not matched (https, another host): the request goes on.
        assert_eq!(r.location(true, "localhost", "/api"), None);
        assert_eq!(r.location(false, "other", "/api"), None);
        // www → apex, named groups, the port kept in the Host.
        let r = Redirect::regex(r"^https?://www\.(?P<rest>.*)", "https://${rest}", true)
            .expect("compiles");
        assert_eq!(
            r.location(false, "www.example.com:8080", "/p"),
            Some("https://example.com:8080/p".into())
        );
        assert_eq!(r.status(&Method::GET), StatusCode::MOVED_PERMANENTLY);
        assert_eq!(r.status(&Method::POST), StatusCode::PERMANENT_REDIRECT);
    }

    #[test]
    fn a_replacement_that_changes_nothing_passes_the_request_on() {
        let r = Redirect::regex("^(.*)$", "$1", false).expect("compiles");
        assert_eq!(r.location(false, "a", "/"), None);
        assert_eq!(r.status(&Method::GET), StatusCode::FOUND);
        assert_eq!(r.status(&Method::PUT), StatusCode::TEMPORARY_REDIRECT);
    }

    #[test]
    fn bad_regex_and_go_templates_are_refused() {
        assert!(matches!(
            Redirect::regex("^(unclosed", "x", false),
            Err(RedirectError::Regex(..))
        ));
        let e =
            Redirect::regex("^(.*)", "https://{{.Request.Host}}/$1", false).expect_err("template");
        assert!(e.to_string().contains("Go template ({{…}})"), "{e}");
    }
}
