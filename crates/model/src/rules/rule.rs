//! A compiled rule: its matchers, its path modifiers, the parse error type, and priority.

use http::HeaderName;
use regex::Regex;

/// A compiled rule: every matcher must accept the request; modifiers then rewrite its path.
#[derive(Debug, Clone, Default)]
pub struct Rule {
    pub matchers: Vec<Matcher>,
    pub modifiers: Modifiers,
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
}

impl Modifiers {
    pub fn is_empty(&self) -> bool {
        self.strip.is_empty()
            && self.strip_regex.is_empty()
            && self.add_prefix.is_none()
            && self.replace_path.is_none()
            && self.replace_path_regex.is_none()
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
