//! A compiled rule: its matchers, its path modifiers, the parse error type, and priority.

use http::HeaderName;
use regex::Regex;

/// A compiled rule: every matcher must accept the request; modifiers then rewrite its path.
#[derive(Debug, Clone, Default)]
pub struct Rule {
    pub matchers: Vec<Matcher>,
    pub modifiers: Modifiers,
    /// The generation it was written in: only 1.x rules meet the other spelling of a `Path`
    /// (gorilla/mux's strict slash); 2.x/3.x rules have no modifiers.
    pub syntax: Syntax,
}

/// Which grammar a rule is written in: Traefik 1.x (`Host:a.com;Path:/x`), or 2.x / 3.x
/// expressions (``Host(`a.com`) && Path(`/x`)``), which differ in their matchers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Syntax {
    #[default]
    V1,
    V2,
    V3,
}

impl Syntax {
    /// `v2` or `v3` (any case), as `ruleSyntax` and `core.defaultRuleSyntax` write it.
    pub fn parse(text: &str) -> Option<Syntax> {
        match text.trim().to_ascii_lowercase().as_str() {
            "v2" => Some(Syntax::V2),
            "v3" => Some(Syntax::V3),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Syntax::V1 => "v1",
            Syntax::V2 => "v2",
            Syntax::V3 => "v3",
        }
    }
}

#[derive(Debug, Clone)]
pub enum Matcher {
    /// Lower-cased host names, compared exactly (port ignored).
    Host(Vec<String>),
    HostRegexp(Vec<Regex>),
    /// The whole path must match one pattern.
    Path(Vec<PathPattern>),
    /// The path must start with one pattern (a plain string prefix, as in Traefik 1.x).
    PathPrefix(Vec<PathPattern>),
    /// Upper-cased method names.
    Method(Vec<String>),
    Headers(Vec<(HeaderName, String)>),
    HeadersRegexp(Vec<(HeaderName, Regex)>),
    Query(Vec<(String, QueryValue)>),
    /// `PathRegexp` (3.x): an unanchored regular expression on the path.
    PathRegexp(Regex),
    /// `ClientIP`: the connection's peer address is in one of the ranges.
    ClientIp(Vec<ipnet::IpNet>),
    /// `a || b` (2.x/3.x expressions).
    Any(Vec<Matcher>),
    /// `(a && b)` inside an expression; empty: always true (3.x's ``Host(`*`)``).
    All(Vec<Matcher>),
    /// `!a`.
    Not(Box<Matcher>),
}

#[derive(Debug, Clone)]
pub enum PathPattern {
    Literal(String),
    Template(Regex),
}

#[derive(Debug, Clone)]
pub enum QueryValue {
    Exact(String),
    Template(Regex),
}

/// Path rewrites, applied in Traefik's fixed order whatever the order in the rule:
/// regex strip, strip, AddPrefix, ReplacePathRegex, ReplacePath.
#[derive(Debug, Clone, Default)]
pub struct Modifiers {
    /// Literal prefixes to strip, longest first.
    pub strip: Vec<String>,
    /// Prefix-anchored patterns to strip (`PathStripRegex`, `PathPrefixStripRegex`).
    pub strip_regex: Vec<Regex>,
    pub add_prefix: Option<String>,
    pub replace_path: Option<String>,
    pub replace_path_regex: Option<(Regex, String)>,
    /// 2.x/3.x path middlewares, in the router's order, after the 1.x modifiers.
    pub steps: Vec<PathStep>,
}

/// A 2.x/3.x path middleware as declared (`stripPrefix`, `addPrefix`, …): plain data the
/// frontend carries; compiled into a [`PathStep`] with the table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum PathRewrite {
    /// The first prefix the path starts with is removed (`X-Forwarded-Prefix` says which).
    StripPrefix(Vec<String>),
    /// The first expression that matches at the start of the path is removed.
    StripPrefixRegex(Vec<String>),
    AddPrefix(String),
    ReplacePath(String),
    ReplacePathRegex(String, String),
}

/// A compiled [`PathRewrite`].
#[derive(Debug, Clone)]
pub enum PathStep {
    StripPrefix(Vec<String>),
    StripPrefixRegex(Vec<Regex>),
    AddPrefix(String),
    ReplacePath(String),
    ReplacePathRegex(Regex, String),
}

impl PathRewrite {
    /// Compiles the regular expressions; the error names the bad one.
    pub fn compile(&self) -> Result<PathStep, String> {
        let re = |r: &str| {
            Regex::new(r).map_err(|e| {
                format!(
                    "invalid regular expression {r:?}: {}",
                    e.to_string().lines().last().unwrap_or_default().trim()
                )
            })
        };
        Ok(match self {
            PathRewrite::StripPrefix(p) => PathStep::StripPrefix(p.clone()),
            PathRewrite::StripPrefixRegex(rs) => {
                PathStep::StripPrefixRegex(rs.iter().map(|r| re(r)).collect::<Result<_, _>>()?)
            }
            PathRewrite::AddPrefix(p) => PathStep::AddPrefix(p.clone()),
            PathRewrite::ReplacePath(p) => PathStep::ReplacePath(p.clone()),
            PathRewrite::ReplacePathRegex(r, with) => {
                PathStep::ReplacePathRegex(re(r)?, with.clone())
            }
        })
    }
}

impl Modifiers {
    pub fn is_empty(&self) -> bool {
        self.strip.is_empty()
            && self.strip_regex.is_empty()
            && self.add_prefix.is_none()
            && self.replace_path.is_none()
            && self.replace_path_regex.is_none()
            && self.steps.is_empty()
    }
}

impl Rule {
    /// Folds another route's rule into this one: a frontend's routes are AND-ed.
    pub fn merge(&mut self, other: Rule) {
        self.matchers.extend(other.matchers);
        let (m, o) = (&mut self.modifiers, other.modifiers);
        m.strip.extend(o.strip);
        m.strip.sort_by_key(|s| std::cmp::Reverse(s.len()));
        m.strip_regex.extend(o.strip_regex);
        m.add_prefix = o.add_prefix.or(m.add_prefix.take());
        m.replace_path = o.replace_path.or(m.replace_path.take());
        m.replace_path_regex = o.replace_path_regex.or(m.replace_path_regex.take());
        m.steps.extend(o.steps);
        if other.syntax != Syntax::V1 {
            self.syntax = other.syntax;
        }
    }

    /// The exact host names this rule requires, if it has a `Host` matcher; used to index routes.
    pub fn hosts(&self) -> Option<&[String]> {
        self.matchers.iter().find_map(|m| match m {
            Matcher::Host(h) => Some(h.as_slice()),
            _ => None,
        })
    }
}

/// A rule that cannot be parsed: 1-based column in the rule text and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct RuleError {
    pub column: usize,
    pub message: String,
}

/// Traefik 1.x priority: the explicit one when positive, else the total length of the rules.
pub fn priority(explicit: i64, rules: &[&str]) -> i64 {
    if explicit > 0 {
        explicit
    } else {
        rules.iter().map(|r| r.len() as i64).sum()
    }
}
