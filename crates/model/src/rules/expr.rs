//! Traefik 2.x / 3.x rule expressions → [`Rule`], with positions.
//!
//! Grammar (Go's, as Traefik's `vulcand/predicate` reads it): `or := and ('||' and)*`,
//! `and := unary ('&&' unary)*`, `unary := '!' unary | '(' or ')' | call`,
//! `call := Name '(' string (',' string)* ')'`; strings in backquotes (raw) or double quotes
//! (Go escapes). A matcher's name is accepted as written, in lower case, in upper case or
//! capitalised (`PathPrefix`, `pathprefix`, `PATHPREFIX`, `Pathprefix`), as Traefik does.
//! The matchers differ by generation: 3.x takes one argument per matcher (two for `Header`,
//! `HeaderRegexp`; one or two for `Query`, `QueryRegexp`) and plain regular expressions; 2.x
//! takes several arguments (any of them) and gorilla/mux `{name:re}` templates.

use std::net::IpAddr;

use http::HeaderName;
use ipnet::IpNet;
use regex::Regex;

use super::parser::{Arg, err, headers, paths, query, templates};
use super::rule::{Matcher, PathPattern, QueryValue, Rule, RuleError, Syntax};
use super::template::{Anchor, Kind};

/// The 3.x matchers and how many arguments each takes.
const V3: &[(&str, &[usize])] = &[
    ("ClientIP", &[1]),
    ("Method", &[1]),
    ("Host", &[1]),
    ("HostRegexp", &[1]),
    ("Path", &[1]),
    ("PathRegexp", &[1]),
    ("PathPrefix", &[1]),
    ("Header", &[2]),
    ("HeaderRegexp", &[2]),
    ("Query", &[1, 2]),
    ("QueryRegexp", &[1, 2]),
];

/// The 2.x matchers (any number of arguments, at least one).
const V2: &[&str] = &[
    "Host",
    "HostHeader",
    "HostRegexp",
    "ClientIP",
    "Path",
    "PathPrefix",
    "Method",
    "Headers",
    "HeadersRegexp",
    "Query",
];

/// How deep parentheses and `!` may nest: a rule is configuration, not a program.
const MAX_DEPTH: usize = 64;

/// Parses `text` into calls joined by `&&`, `||`, `!` and parentheses, without reading the
/// calls (constraints share the grammar).
pub(super) fn parse_calls(text: &str, example: &str) -> Result<Expr, RuleError> {
    let tokens = lex(text)?;
    let mut p = Parser {
        text,
        tokens,
        pos: 0,
    };
    if p.peek().tok == Tok::End {
        return Err(err(
            text,
            0,
            format!("empty expression; expected {example}"),
        ));
    }
    let expr = p.or(0)?;
    let end = p.peek();
    if end.tok != Tok::End {
        return Err(err(
            text,
            end.offset,
            format!("unexpected {}; expected && or ||", end.tok),
        ));
    }
    Ok(expr)
}

/// Parses a 2.x or 3.x rule expression.
pub fn parse_expr(text: &str, syntax: Syntax) -> Result<Rule, RuleError> {
    let tokens = lex(text)?;
    let mut p = Parser {
        text,
        tokens,
        pos: 0,
    };
    if p.peek().tok == Tok::End {
        return Err(err(
            text,
            0,
            format!("empty rule; expected a matcher such as {}", example(syntax)),
        ));
    }
    let expr = p.or(0)?;
    let end = p.peek();
    if end.tok != Tok::End {
        return Err(err(
            text,
            end.offset,
            format!("unexpected {}; expected && or || between matchers", end.tok),
        ));
    }
    let top = match expr {
        Expr::And(list) => list,
        other => vec![other],
    };
    let matchers = top
        .iter()
        .map(|e| build(e, syntax, text))
        .collect::<Result<_, _>>()?;
    Ok(Rule {
        matchers,
        syntax,
        ..Rule::default()
    })
}

fn example(syntax: Syntax) -> &'static str {
    match syntax {
        Syntax::V2 => "Host(`a.com`, `b.com`)",
        _ => "Host(`a.com`) && PathPrefix(`/api`)",
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    LParen,
    RParen,
    Comma,
    And,
    Or,
    Not,
    End,
}

impl std::fmt::Display for Tok {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Tok::Ident(n) => write!(f, "{n:?}"),
            Tok::Str(s) => write!(f, "string {s:?}"),
            Tok::LParen => f.write_str("'('"),
            Tok::RParen => f.write_str("')'"),
            Tok::Comma => f.write_str("','"),
            Tok::And => f.write_str("'&&'"),
            Tok::Or => f.write_str("'||'"),
            Tok::Not => f.write_str("'!'"),
            Tok::End => f.write_str("end of rule"),
        }
    }
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    /// Byte offset in the rule; for a string, of its first character inside the quotes.
    offset: usize,
}

fn lex(text: &str) -> Result<Vec<Token>, RuleError> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        let single = |tok| Token { tok, offset: i };
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | ',' | '!' => {
                chars.next();
                out.push(single(match c {
                    '(' => Tok::LParen,
                    ')' => Tok::RParen,
                    ',' => Tok::Comma,
                    _ => Tok::Not,
                }));
            }
            '&' | '|' => {
                chars.next();
                if chars.peek().map(|&(_, n)| n) != Some(c) {
                    return Err(err(
                        text,
                        i,
                        format!("expected {c}{c}; a single {c} is not an operator"),
                    ));
                }
                chars.next();
                out.push(single(if c == '&' { Tok::And } else { Tok::Or }));
            }
            '`' => {
                chars.next();
                let start = i + 1;
                let end = text[start..].find('`').ok_or_else(|| {
                    err(text, i, "string opened with ` is never closed".to_string())
                })?;
                out.push(Token {
                    tok: Tok::Str(text[start..start + end].to_string()),
                    offset: start,
                });
                while chars.peek().is_some_and(|&(j, _)| j <= start + end) {
                    chars.next();
                }
            }
            '"' => {
                chars.next();
                let s = quoted(text, i, &mut chars)?;
                out.push(Token {
                    tok: Tok::Str(s),
                    offset: i + 1,
                });
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut end = i;
                while let Some(&(j, n)) = chars.peek() {
                    if n.is_ascii_alphanumeric() || n == '_' {
                        end = j + n.len_utf8();
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push(single(Tok::Ident(text[i..end].to_string())));
            }
            ':' if out.len() == 1 && matches!(out[0].tok, Tok::Ident(_)) => {
                return Err(err(
                    text,
                    i,
                    "this is a Traefik 1.x rule (Name:value); 2.x and 3.x rules read \
                     Host(`a.com`) && Path(`/x`)"
                        .to_string(),
                ));
            }
            other => {
                return Err(err(
                    text,
                    i,
                    format!(
                        "unexpected {other:?}; arguments are quoted with backquotes: Host(`a.com`)"
                    ),
                ));
            }
        }
    }
    out.push(Token {
        tok: Tok::End,
        offset: text.len(),
    });
    Ok(out)
}

/// A Go double-quoted string, its opening quote at `open` already consumed.
fn quoted(
    text: &str,
    open: usize,
    chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
) -> Result<String, RuleError> {
    let mut s = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok(s),
            '\\' => {
                let Some((_, e)) = chars.next() else { break };
                s.push(match e {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    '\\' => '\\',
                    '"' => '"',
                    '\'' => '\'',
                    'a' => '\x07',
                    'b' => '\x08',
                    'f' => '\x0c',
                    'v' => '\x0b',
                    other => {
                        return Err(err(
                            text,
                            i,
                            format!(
                                "unknown escape \\{other} in a double-quoted string; \
                                 backquoted strings take text as written"
                            ),
                        ));
                    }
                });
            }
            c => s.push(c),
        }
    }
    Err(err(
        text,
        open,
        "string opened with \" is never closed".into(),
    ))
}

#[derive(Debug)]
pub(super) enum Expr {
    Call {
        name: String,
        offset: usize,
        args: Vec<(String, usize)>,
    },
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
}

struct Parser<'a> {
    text: &'a str,
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Token {
        self.tokens[self.pos.min(self.tokens.len() - 1)].clone()
    }

    fn next(&mut self) -> Token {
        let t = self.peek();
        self.pos += 1;
        t
    }

    fn expected(&self, t: &Token, what: &str) -> RuleError {
        err(
            self.text,
            t.offset,
            format!("expected {what}, found {}", t.tok),
        )
    }

    fn or(&mut self, depth: usize) -> Result<Expr, RuleError> {
        let mut list = vec![self.and(depth)?];
        while self.peek().tok == Tok::Or {
            self.next();
            list.push(self.and(depth)?);
        }
        Ok(if list.len() == 1 {
            list.remove(0)
        } else {
            Expr::Or(list)
        })
    }

    fn and(&mut self, depth: usize) -> Result<Expr, RuleError> {
        let mut list = vec![self.unary(depth)?];
        while self.peek().tok == Tok::And {
            self.next();
            list.push(self.unary(depth)?);
        }
        Ok(if list.len() == 1 {
            list.remove(0)
        } else {
            Expr::And(list)
        })
    }

    fn unary(&mut self, depth: usize) -> Result<Expr, RuleError> {
        let t = self.next();
        if depth > MAX_DEPTH {
            return Err(err(
                self.text,
                t.offset,
                format!("rule nests deeper than {MAX_DEPTH} levels"),
            ));
        }
        match t.tok {
            Tok::Not => Ok(Expr::Not(Box::new(self.unary(depth + 1)?))),
            Tok::LParen => {
                let inner = self.or(depth + 1)?;
                let close = self.next();
                if close.tok != Tok::RParen {
                    return Err(self.expected(&close, "')'"));
                }
                Ok(inner)
            }
            Tok::Ident(name) => self.call(name, t.offset),
            _ => Err(self.expected(&t, "a matcher such as Host(`a.com`), '(' or '!'")),
        }
    }

    fn call(&mut self, name: String, offset: usize) -> Result<Expr, RuleError> {
        let open = self.next();
        if open.tok != Tok::LParen {
            return Err(self.expected(&open, &format!("'(' after {name}")));
        }
        let mut args = Vec::new();
        loop {
            let t = self.next();
            match t.tok {
                Tok::Str(s) => args.push((s, t.offset)),
                Tok::RParen if args.is_empty() => {
                    return Err(err(
                        self.text,
                        t.offset,
                        format!("{name} needs an argument: {name}(`value`)"),
                    ));
                }
                _ => return Err(self.expected(&t, "a quoted argument (`value`)")),
            }
            let sep = self.next();
            match sep.tok {
                Tok::Comma => continue,
                Tok::RParen => break,
                _ => return Err(self.expected(&sep, "',' or ')'")),
            }
        }
        Ok(Expr::Call { name, offset, args })
    }
}

/// The matcher `expr` compiles to.
fn build(expr: &Expr, syntax: Syntax, text: &str) -> Result<Matcher, RuleError> {
    match expr {
        Expr::Call { name, offset, args } => call(name, *offset, args, syntax, text),
        Expr::Not(inner) => Ok(Matcher::Not(Box::new(build(inner, syntax, text)?))),
        Expr::And(list) => Ok(Matcher::All(
            list.iter()
                .map(|e| build(e, syntax, text))
                .collect::<Result<_, _>>()?,
        )),
        Expr::Or(list) => {
            let alternatives: Vec<Matcher> = list
                .iter()
                .map(|e| build(e, syntax, text))
                .collect::<Result<_, _>>()?;
            // `Host(a) || Host(b)` is one Host matcher, so the route is indexed by its hosts.
            if alternatives.iter().all(|m| matches!(m, Matcher::Host(_))) {
                let hosts = alternatives
                    .into_iter()
                    .flat_map(|m| match m {
                        Matcher::Host(h) => h,
                        _ => Vec::new(),
                    })
                    .collect();
                return Ok(Matcher::Host(hosts));
            }
            Ok(Matcher::Any(alternatives))
        }
    }
}

/// `name` as Traefik accepts it: as written, lower case, upper case or capitalised.
fn canonical<'a>(name: &str, names: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    names.into_iter().find(|n| {
        let lower = n.to_ascii_lowercase();
        let mut title = lower.clone();
        if let Some(first) = title.get_mut(..1) {
            first.make_ascii_uppercase();
        }
        name == *n || name == lower || name == n.to_ascii_uppercase() || name == title
    })
}

fn call(
    name: &str,
    offset: usize,
    raw: &[(String, usize)],
    syntax: Syntax,
    text: &str,
) -> Result<Matcher, RuleError> {
    let args: Vec<Arg> = raw
        .iter()
        .map(|(t, o)| Arg {
            text: t,
            offset: *o,
        })
        .collect();
    if let Some(empty) = args.iter().find(|a| a.text.is_empty()) {
        return Err(err(text, empty.offset, format!("{name}: empty argument")));
    }
    match syntax {
        Syntax::V2 => v2(name, offset, &args, text),
        _ => v3(name, offset, &args, text),
    }
}

fn v3(name: &str, offset: usize, args: &[Arg], text: &str) -> Result<Matcher, RuleError> {
    let Some(canon) = canonical(name, V3.iter().map(|(n, _)| *n)) else {
        let hint = match canonical(name, V2.iter().copied()) {
            Some(v2) => format!(
                "; {v2} is 2.x syntax (set ruleSyntax=v2 on the router, or write {})",
                match v2 {
                    "Headers" => "Header(`K`, `V`)",
                    "HeadersRegexp" => "HeaderRegexp(`K`, `re`)",
                    _ => "Host(`a.com`)",
                }
            ),
            None => String::new(),
        };
        return Err(err(
            text,
            offset,
            format!(
                "unknown matcher {name:?}{hint}; expected one of {}",
                V3.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
            ),
        ));
    };
    let counts = V3
        .iter()
        .find(|(n, _)| *n == canon)
        .map_or(&[][..], |c| c.1);
    if !counts.contains(&args.len()) {
        let want = counts
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(" or ");
        let alt = if counts == [1] && args.len() > 1 {
            format!(" (write {canon}(`a`) || {canon}(`b`), or set ruleSyntax=v2)")
        } else {
            String::new()
        };
        return Err(err(
            text,
            offset,
            format!(
                "{canon} takes {want} argument(s) in 3.x syntax, got {}{alt}",
                args.len()
            ),
        ));
    }
    let a = &args[0];
    Ok(match canon {
        "ClientIP" => Matcher::ClientIp(vec![ip_range(a, text)?]),
        "Method" => Matcher::Method(vec![a.text.to_ascii_uppercase()]),
        "Host" if a.text == "*" => Matcher::All(Vec::new()),
        "Host" => Matcher::Host(vec![host(a, text)?]),
        "HostRegexp" => Matcher::HostRegexp(vec![regex(a, text)?]),
        "Path" => Matcher::Path(vec![PathPattern::Literal(slash_path(a, text)?)]),
        "PathPrefix" => Matcher::PathPrefix(vec![PathPattern::Literal(slash_path(a, text)?)]),
        "PathRegexp" => Matcher::PathRegexp(regex(a, text)?),
        "Header" => Matcher::Headers(vec![(header_name(a, text)?, args[1].text.to_string())]),
        "HeaderRegexp" => {
            Matcher::HeadersRegexp(vec![(header_name(a, text)?, regex(&args[1], text)?)])
        }
        "Query" => Matcher::Query(vec![(
            a.text.to_string(),
            QueryValue::Exact(args.get(1).map_or("", |v| v.text).to_string()),
        )]),
        _ => Matcher::Query(vec![(
            a.text.to_string(),
            match args.get(1) {
                Some(v) => QueryValue::Template(regex(v, text)?),
                None => QueryValue::Exact(String::new()),
            },
        )]),
    })
}

fn v2(name: &str, offset: usize, args: &[Arg], text: &str) -> Result<Matcher, RuleError> {
    let Some(canon) = canonical(name, V2.iter().copied()) else {
        let hint = match canonical(name, V3.iter().map(|(n, _)| *n)) {
            Some(v3) => format!("; {v3} is 3.x syntax (this router reads ruleSyntax v2)"),
            None => String::new(),
        };
        return Err(err(
            text,
            offset,
            format!(
                "unknown matcher {name:?}{hint}; expected one of {}",
                V2.join(", ")
            ),
        ));
    };
    Ok(match canon {
        "Host" | "HostHeader" => Matcher::Host(
            args.iter()
                .map(|a| host(a, text))
                .collect::<Result<_, _>>()?,
        ),
        "HostRegexp" => Matcher::HostRegexp(templates(args, Kind::Host, Anchor::Whole, text)?),
        "ClientIP" => Matcher::ClientIp(
            args.iter()
                .map(|a| ip_range(a, text))
                .collect::<Result<_, _>>()?,
        ),
        "Path" => Matcher::Path(paths(args, Anchor::Whole, text)?),
        "PathPrefix" => Matcher::PathPrefix(paths(args, Anchor::Prefix, text)?),
        "Method" => Matcher::Method(args.iter().map(|a| a.text.to_ascii_uppercase()).collect()),
        "Headers" | "HeadersRegexp" => headers(canon, args, text)?,
        _ => query(args, text)?,
    })
}

fn host(a: &Arg, text: &str) -> Result<String, RuleError> {
    if !a.text.is_ascii() {
        return Err(err(
            text,
            a.offset,
            format!(
                "{:?}: non-ASCII host names are written in punycode (xn--…)",
                a.text
            ),
        ));
    }
    let h = super::matcher::host_without_port(a.text).to_ascii_lowercase();
    Ok(h.strip_suffix('.').map(str::to_string).unwrap_or(h))
}

fn slash_path(a: &Arg, text: &str) -> Result<String, RuleError> {
    if !a.text.starts_with('/') {
        return Err(err(
            text,
            a.offset,
            format!("path {:?} does not start with '/'", a.text),
        ));
    }
    Ok(a.text.to_string())
}

fn regex(a: &Arg, text: &str) -> Result<Regex, RuleError> {
    Regex::new(a.text).map_err(|e| {
        err(
            text,
            a.offset,
            format!(
                "invalid regular expression {:?}: {}",
                a.text,
                e.to_string().lines().last().unwrap_or_default().trim()
            ),
        )
    })
}

fn header_name(a: &Arg, text: &str) -> Result<HeaderName, RuleError> {
    HeaderName::from_bytes(a.text.as_bytes()).map_err(|_| {
        err(
            text,
            a.offset,
            format!("{:?} is not a valid header name", a.text),
        )
    })
}

fn ip_range(a: &Arg, text: &str) -> Result<IpNet, RuleError> {
    let t = a.text.trim();
    t.parse::<IpNet>()
        .or_else(|_| t.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| {
            err(
                text,
                a.offset,
                format!("{:?} is not an IP address or CIDR range", a.text),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderMap, Method};

    use crate::rules::RequestView;

    struct Req {
        host: &'static str,
        path: &'static str,
        query: Option<&'static str>,
        method: Method,
        headers: HeaderMap,
        ip: Option<IpAddr>,
    }

    fn req(host: &'static str, path: &'static str) -> Req {
        Req {
            host,
            path,
            query: None,
            method: Method::GET,
            headers: HeaderMap::new(),
            ip: None,
        }
    }

    fn matches(rule: &str, syntax: Syntax, r: &Req) -> bool {
        let rule = parse_expr(rule, syntax).unwrap_or_else(|e| panic!("{rule}: {e}"));
        rule.matches(&RequestView {
            host: r.host,
            path: r.path,
            query: r.query,
            method: &r.method,
            headers: &r.headers,
            client_ip: r.ip,
        })
    }

    fn fails(rule: &str, syntax: Syntax) -> RuleError {
        match parse_expr(rule, syntax) {
            Ok(r) => panic!("{rule} parsed: {r:?}"),
            Err(e) => e,
        }
    }

    /// (rule, request, whether it matches), for both generations where the rule is valid in both.
    #[test]
    fn v3_rules_match_as_traefik_documents() {
        let mut post = req("a.com", "/api/x");
        post.method = Method::POST;
        let mut hdr = req("a.com", "/");
        hdr.headers.insert("x-env", "prod".parse().expect("value"));
        let mut q = req("a.com", "/");
        q.query = Some("mobile=true&flag&id=42");
        let mut peer = req("a.com", "/");
        peer.ip = Some("10.1.2.3".parse().expect("ip"));
        let table: &[(&str, &Req, bool)] = &[
            ("Host(`a.com`)", &req("a.com", "/"), true),
            ("Host(`A.com`)", &req("a.com", "/"), true),
            ("host(`a.com`)", &req("b.com", "/"), false),
            ("Host(`*`)", &req("any.where", "/"), true),
            (
                "Host(`a.com`) && PathPrefix(`/api`)",
                &req("a.com", "/api/v1"),
                true,
            ),
            (
                "Host(`a.com`) && PathPrefix(`/api`)",
                &req("a.com", "/ap"),
                false,
            ),
            ("Host(`a.com`) || Host(`b.com`)", &req("b.com", "/"), true),
            ("Path(`/x`)", &req("a.com", "/x/"), false),
            ("Path(`/x`)", &req("a.com", "/x"), true),
            ("PathRegexp(`^/x/[0-9]+$`)", &req("a.com", "/x/12"), true),
            ("PathRegexp(`^/x/[0-9]+$`)", &req("a.com", "/x/1a"), false),
            ("HostRegexp(`^.+\\.a\\.com$`)", &req("w.a.com", "/"), true),
            ("HostRegexp(`^.+\\.a\\.com$`)", &req("a.com", "/"), false),
            ("Method(`POST`)", &post, true),
            ("Method(`get`)", &post, false),
            ("!Method(`GET`) && PathPrefix(`/api`)", &post, true),
            ("Header(`X-Env`, `prod`)", &hdr, true),
            ("Header(`X-Env`, `dev`)", &hdr, false),
            ("HeaderRegexp(`X-Env`, `^pr`)", &hdr, true),
            ("Query(`mobile`, `true`)", &q, true),
            ("Query(`flag`)", &q, true),
            ("Query(`mobile`)", &q, false),
            ("QueryRegexp(`id`, `^[0-9]+$`)", &q, true),
            ("QueryRegexp(`id`, `^[a-z]+$`)", &q, false),
            ("ClientIP(`10.0.0.0/8`)", &peer, true),
            ("ClientIP(`192.168.0.1`)", &peer, false),
            ("ClientIP(`10.0.0.0/8`)", &req("a.com", "/"), false),
            (
                "Host(`a.com`) && (Path(`/a`) || Path(`/b`)) && !Path(`/c`)",
                &req("a.com", "/b"),
                true,
            ),
            (
                "(Path(`/a`) || Path(`/b`)) && Host(`x.com`)",
                &req("a.com", "/b"),
                false,
            ),
            (
                "!(Host(`a.com`) || Host(`b.com`))",
                &req("c.com", "/"),
                true,
            ),
            (
                "Host(\"a.com\") && Path(\"/q\\\"x\")",
                &req("a.com", "/q\"x"),
                true,
            ),
        ];
        for (rule, r, want) in table {
            assert_eq!(
                matches(rule, Syntax::V3, r),
                *want,
                "{rule} on {}{}",
                r.host,
                r.path
            );
        }
    }

    #[test]
    fn v2_rules_take_several_arguments_and_templates() {
        let mut hdr = req("a.com", "/");
        hdr.headers.insert("x-env", "prod".parse().expect("value"));
        let mut q = req("a.com", "/");
        q.query = Some("id=42");
        let mut peer = req("a.com", "/");
        peer.ip = Some("::ffff:10.1.2.3".parse().expect("ip"));
        let table: &[(&str, &Req, bool)] = &[
            ("Host(`a.com`, `b.com`)", &req("b.com", "/"), true),
            ("HostHeader(`a.com`)", &req("a.com", "/"), true),
            (
                "HostRegexp(`{sub:[a-z]+}.a.com`)",
                &req("w.a.com", "/"),
                true,
            ),
            (
                "HostRegexp(`{sub:[a-z]+}.a.com`)",
                &req("w.b.com", "/"),
                false,
            ),
            ("Path(`/u/{id:[0-9]+}`)", &req("a.com", "/u/7"), true),
            ("PathPrefix(`/x`, `/y`)", &req("a.com", "/y/z"), true),
            ("Method(`GET`, `POST`)", &req("a.com", "/"), true),
            ("Headers(`X-Env`, `prod`)", &hdr, true),
            ("HeadersRegexp(`X-Env`, `^d`)", &hdr, false),
            ("Query(`id=42`)", &q, true),
            ("Query(`id={n:[0-9]+}`)", &q, true),
            ("ClientIP(`192.168.0.0/16`, `10.0.0.0/8`)", &peer, true),
            (
                "Host(`a.com`) && !PathPrefix(`/admin`)",
                &req("a.com", "/admin"),
                false,
            ),
        ];
        for (rule, r, want) in table {
            assert_eq!(
                matches(rule, Syntax::V2, r),
                *want,
                "{rule} on {}{}",
                r.host,
                r.path
            );
        }
    }

    #[test]
    fn hosts_index_the_route_when_the_rule_requires_them() {
        let r = parse_expr("Host(`a.com`) && PathPrefix(`/x`)", Syntax::V3).expect("parses");
        assert_eq!(r.hosts(), Some(&["a.com".to_string()][..]));
        let r = parse_expr("Host(`a.com`) || Host(`B.com.`)", Syntax::V3).expect("parses");
        assert_eq!(
            r.hosts(),
            Some(&["a.com".to_string(), "b.com".to_string()][..])
        );
        let r = parse_expr("Host(`a.com`) || Path(`/x`)", Syntax::V3).expect("parses");
        assert_eq!(r.hosts(), None);
        assert!(!r.has_path(), "no strict slash for 3.x rules");
    }

    #[test]
    fn names_are_accepted_in_traefiks_spellings() {
        for name in ["PathPrefix", "pathprefix", "PATHPREFIX", "Pathprefix"] {
            let rule = format!("{name}(`/x`)");
            assert!(matches(&rule, Syntax::V3, &req("a", "/x/y")), "{rule}");
        }
        let e = fails("pathPrefix(`/x`)", Syntax::V3);
        assert!(e.message.contains("unknown matcher"), "{}", e.message);
    }

    #[test]
    fn errors_name_the_column_and_what_to_write() {
        let cases: &[(&str, Syntax, usize, &str)] = &[
            (
                "Host(`a.com`, `b.com`)",
                Syntax::V3,
                1,
                "write Host(`a`) || Host(`b`)",
            ),
            (
                "Host(`a`) && Headers(`K`, `V`)",
                Syntax::V3,
                14,
                "2.x syntax",
            ),
            ("Header(`K`, `V`)", Syntax::V2, 1, "3.x syntax"),
            ("Hots(`a`)", Syntax::V3, 1, "unknown matcher \"Hots\""),
            ("Host:a.com", Syntax::V3, 5, "Traefik 1.x rule"),
            ("Host(`a.com`) & Path(`/`)", Syntax::V3, 15, "a single &"),
            (
                "Host(`a.com`) Path(`/`)",
                Syntax::V3,
                15,
                "expected && or ||",
            ),
            ("Host(`a.com`", Syntax::V3, 13, "expected ',' or ')'"),
            ("Host(a.com)", Syntax::V3, 7, "quoted with backquotes"),
            ("Host(a)", Syntax::V3, 6, "expected a quoted argument"),
            ("Host()", Syntax::V3, 6, "needs an argument"),
            ("Host(``)", Syntax::V3, 7, "empty argument"),
            (
                "Host(`a.com`) && (Path(`/a`)",
                Syntax::V3,
                29,
                "expected ')'",
            ),
            ("Path(`x`)", Syntax::V3, 7, "does not start with '/'"),
            (
                "PathRegexp(`(`)",
                Syntax::V3,
                13,
                "invalid regular expression",
            ),
            (
                "ClientIP(`10.0.0.0/33`)",
                Syntax::V3,
                11,
                "not an IP address",
            ),
            ("Host(`a.com) ", Syntax::V3, 6, "never closed"),
            ("Path(`/u/{id:[0-9}`)", Syntax::V2, 10, ""),
            ("Query(`abc`)", Syntax::V2, 8, "key=value"),
            ("", Syntax::V3, 1, "empty rule"),
            ("Host(`é.com`)", Syntax::V3, 7, "punycode"),
        ];
        for (rule, syntax, column, says) in cases {
            let e = fails(rule, *syntax);
            assert_eq!(e.column, *column, "{rule}: {e}");
            assert!(e.message.contains(says), "{rule}: {}", e.message);
        }
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let rule = format!("{}Path(`/`){}", "(".repeat(10_000), ")".repeat(10_000));
        let e = fails(&rule, Syntax::V3);
        assert!(e.message.contains("deeper than"), "{}", e.message);
        let rule = format!("{}Path(`/`)", "!".repeat(10_000));
        assert!(fails(&rule, Syntax::V3).message.contains("deeper than"));
    }
}
