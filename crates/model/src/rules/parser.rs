//! Rule text → [`Rule`], with positions.
//!
//! Grammar (Traefik 1.x): `rule := part (';' part)*`, `part := Name ':' arg (',' arg)*`.
//! Unlike Traefik, `;` and `,` inside `{…}` do not split, so `{id:[0-9]{1,3}}` is one argument.

use http::HeaderName;
use regex::Regex;

use super::rule::{Matcher, PathPattern, QueryValue, Rule, RuleError};
use super::template::{self, Anchor, Kind};

const MATCHERS: &str = "Host, HostRegexp, Path, PathStrip, PathStripRegex, PathPrefix, \
PathPrefixStrip, PathPrefixStripRegex, AddPrefix, ReplacePath, ReplacePathRegex, Method, \
Headers, HeadersRegexp, Query";

/// One argument and its byte offset in the rule text.
pub(super) struct Arg<'a> {
    pub(super) text: &'a str,
    pub(super) offset: usize,
}

/// Parses Traefik 1.x rule text.
pub fn parse(text: &str) -> Result<Rule, RuleError> {
    let mut rule = Rule::default();
    let mut any = false;
    for (part, offset) in split_outside_braces(text, ';', 0) {
        let trimmed = part.trim_start();
        let offset = offset + (part.len() - trimmed.len());
        let part = trimmed.trim_end();
        if part.is_empty() {
            continue;
        }
        any = true;
        let Some(colon) = part.find(':') else {
            let name = part;
            return Err(if is_known(name) {
                err(
                    text,
                    offset + part.len(),
                    format!("expected ':' after {name:?}"),
                )
            } else {
                unknown(text, offset, name)
            });
        };
        let name = part[..colon].trim();
        if !is_known(name) {
            return Err(unknown(text, offset, name));
        }
        let args_offset = offset + colon + 1;
        let args: Vec<Arg> = split_outside_braces(&part[colon + 1..], ',', args_offset)
            .into_iter()
            .filter_map(|(a, o)| {
                let t = a.trim_start();
                let o = o + (a.len() - t.len());
                let t = t.trim_end();
                (!t.is_empty()).then_some(Arg { text: t, offset: o })
            })
            .collect();
        if args.is_empty() {
            return Err(err(
                text,
                args_offset,
                format!("expected a value after \"{name}:\""),
            ));
        }
        apply(&mut rule, name, &args, text)?;
    }
    if !any {
        return Err(err(
            text,
            0,
            format!("empty rule; expected one of {MATCHERS}"),
        ));
    }
    Ok(rule)
}

/// Adds the matcher or modifier `name(args)` to `rule`.
fn apply(rule: &mut Rule, name: &str, args: &[Arg], text: &str) -> Result<(), RuleError> {
    let m = &mut rule.modifiers;
    match name {
        "Host" => rule.matchers.push(Matcher::Host(
            args.iter()
                .map(|a| super::matcher::host_without_port(a.text).to_ascii_lowercase())
                .collect(),
        )),
        "HostRegexp" => rule.matchers.push(Matcher::HostRegexp(templates(
            args,
            Kind::Host,
            Anchor::Whole,
            text,
        )?)),
        "Path" => rule
            .matchers
            .push(Matcher::Path(paths(args, Anchor::Whole, text)?)),
        "PathPrefix" => rule
            .matchers
            .push(Matcher::PathPrefix(paths(args, Anchor::Prefix, text)?)),
        "PathStrip" | "PathPrefixStrip" => path_strip(rule, name, args, text)?,
        "PathStripRegex" | "PathPrefixStripRegex" => path_strip_regex(rule, name, args, text)?,
        "AddPrefix" => m.add_prefix = Some(path_arg(last(args), text)?),
        "ReplacePath" => m.replace_path = Some(path_arg(last(args), text)?),
        "ReplacePathRegex" => m.replace_path_regex = Some(replace_path_regex(last(args), text)?),
        "Method" => rule.matchers.push(Matcher::Method(
            args.iter().map(|a| a.text.to_ascii_uppercase()).collect(),
        )),
        "Headers" | "HeadersRegexp" => rule.matchers.push(headers(name, args, text)?),
        "Query" => rule.matchers.push(query(args, text)?),
        _ => return Err(unknown(text, 0, name)),
    }
    Ok(())
}

/// `PathStrip` / `PathPrefixStrip`: match the literal paths, strip the longest that matched.
fn path_strip(rule: &mut Rule, name: &str, args: &[Arg], text: &str) -> Result<(), RuleError> {
    let anchor = if name == "PathStrip" {
        Anchor::Whole
    } else {
        Anchor::Prefix
    };
    let patterns = paths(args, anchor, text)?;
    for (arg, p) in args.iter().zip(&patterns) {
        if matches!(p, PathPattern::Template(_)) {
            return Err(err(
                text,
                arg.offset,
                format!("{name} takes literal paths; use {name}Regex for {{…}} templates"),
            ));
        }
    }
    let m = &mut rule.modifiers;
    m.strip.extend(args.iter().map(|a| a.text.to_string()));
    m.strip.sort_by_key(|s| std::cmp::Reverse(s.len()));
    rule.matchers.push(if anchor == Anchor::Whole {
        Matcher::Path(patterns)
    } else {
        Matcher::PathPrefix(patterns)
    });
    Ok(())
}

/// `PathStripRegex` / `PathPrefixStripRegex`: match the templates, strip what they matched.
fn path_strip_regex(
    rule: &mut Rule,
    name: &str,
    args: &[Arg],
    text: &str,
) -> Result<(), RuleError> {
    let anchor = if name == "PathStripRegex" {
        Anchor::Whole
    } else {
        Anchor::Prefix
    };
    let res = templates(args, Kind::Path, anchor, text)?;
    rule.modifiers
        .strip_regex
        .extend(templates(args, Kind::Path, Anchor::Prefix, text)?);
    let pats = res.into_iter().map(PathPattern::Template).collect();
    rule.matchers.push(if anchor == Anchor::Whole {
        Matcher::Path(pats)
    } else {
        Matcher::PathPrefix(pats)
    });
    Ok(())
}

/// `ReplacePathRegex: REGEX REPLACEMENT` (one space between them).
fn replace_path_regex(arg: &Arg, text: &str) -> Result<(Regex, String), RuleError> {
    let Some((re, replacement)) = arg.text.split_once(' ') else {
        return Err(err(
            text,
            arg.offset,
            "ReplacePathRegex expects \"REGEX REPLACEMENT\" separated by one space".to_string(),
        ));
    };
    let re = Regex::new(re).map_err(|e| {
        err(
            text,
            arg.offset,
            format!(
                "invalid regular expression {re:?}: {}",
                last_line(&e.to_string())
            ),
        )
    })?;
    Ok((re, go_replacement(replacement.trim())))
}

/// `Headers: K,V[,K2,V2…]` (exact) or `HeadersRegexp` (the values are regular expressions).
pub(super) fn headers(name: &str, args: &[Arg], text: &str) -> Result<Matcher, RuleError> {
    if args.len() % 2 != 0 {
        let a = last(args);
        return Err(err(
            text,
            a.offset + a.text.len(),
            format!(
                "{name} expects KEY,VALUE pairs; expected a value after {:?}",
                a.text
            ),
        ));
    }
    let mut exact = Vec::new();
    let mut regexes = Vec::new();
    for pair in args.chunks(2) {
        let key = HeaderName::from_bytes(pair[0].text.as_bytes()).map_err(|_| {
            err(
                text,
                pair[0].offset,
                format!("{:?} is not a valid header name", pair[0].text),
            )
        })?;
        if name == "Headers" {
            exact.push((key, pair[1].text.to_string()));
        } else {
            let re = Regex::new(pair[1].text).map_err(|e| {
                err(
                    text,
                    pair[1].offset,
                    format!("invalid regular expression: {}", last_line(&e.to_string())),
                )
            })?;
            regexes.push((key, re));
        }
    }
    Ok(if name == "Headers" {
        Matcher::Headers(exact)
    } else {
        Matcher::HeadersRegexp(regexes)
    })
}

/// `Query: k=v[,k2=v2…]`; a value may be a `{name:regex}` template.
pub(super) fn query(args: &[Arg], text: &str) -> Result<Matcher, RuleError> {
    let mut pairs = Vec::new();
    for a in args {
        let Some((k, v)) = a.text.split_once('=') else {
            return Err(err(
                text,
                a.offset,
                format!("Query expects key=value, got {:?}", a.text),
            ));
        };
        let value = if template::is_template(v) {
            let re = template::compile(v, Kind::Path, Anchor::Whole)
                .map_err(|e| err(text, a.offset + k.len() + 1 + e.offset, e.message))?;
            QueryValue::Template(re)
        } else {
            QueryValue::Exact(v.to_string())
        };
        pairs.push((k.to_string(), value));
    }
    Ok(Matcher::Query(pairs))
}

fn is_known(name: &str) -> bool {
    MATCHERS.split(", ").any(|m| m == name)
}

fn unknown(text: &str, offset: usize, name: &str) -> RuleError {
    let hint = MATCHERS
        .split(", ")
        .find(|m| m.eq_ignore_ascii_case(name))
        .map(|m| format!(" (did you mean {m}? names are case-sensitive)"))
        .unwrap_or_default();
    err(
        text,
        offset,
        format!("unknown matcher {name:?}{hint}; expected one of {MATCHERS}"),
    )
}

pub(super) fn err(text: &str, offset: usize, message: String) -> RuleError {
    let column = text
        .get(..offset.min(text.len()))
        .map_or(1, |s| s.chars().count() + 1);
    RuleError { column, message }
}

fn last<'a, 'b>(args: &'b [Arg<'a>]) -> &'b Arg<'a> {
    // Traefik keeps only the last argument of AddPrefix/ReplacePath; callers check non-empty.
    &args[args.len() - 1]
}

fn last_line(s: &str) -> &str {
    s.lines().last().unwrap_or(s).trim()
}

fn path_arg(arg: &Arg, text: &str) -> Result<String, RuleError> {
    if !arg.text.starts_with('/') {
        return Err(err(
            text,
            arg.offset,
            format!("expected a path starting with '/', got {:?}", arg.text),
        ));
    }
    Ok(arg.text.to_string())
}

pub(super) fn paths(
    args: &[Arg],
    anchor: Anchor,
    text: &str,
) -> Result<Vec<PathPattern>, RuleError> {
    args.iter()
        .map(|a| {
            path_arg(a, text)?;
            if template::is_template(a.text) {
                template::compile(a.text, Kind::Path, anchor)
                    .map(PathPattern::Template)
                    .map_err(|e| err(text, a.offset + e.offset, e.message))
            } else {
                Ok(PathPattern::Literal(a.text.to_string()))
            }
        })
        .collect()
}

pub(super) fn templates(
    args: &[Arg],
    kind: Kind,
    anchor: Anchor,
    text: &str,
) -> Result<Vec<Regex>, RuleError> {
    args.iter()
        .map(|a| {
            template::compile(a.text, kind, anchor)
                .map_err(|e| err(text, a.offset + e.offset, e.message))
        })
        .collect()
}

/// Go's `$1` replacement syntax is also regex's; `${1}` too. Nothing to translate but `$$`.
fn go_replacement(r: &str) -> String {
    r.to_string()
}

/// Splits on `sep` outside `{…}`, returning each piece with its byte offset (plus `base`).
pub(super) fn split_outside_braces(text: &str, sep: char, base: usize) -> Vec<(&str, usize)> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            c if c == sep && depth == 0 => {
                out.push((&text[start..i], base + start));
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    out.push((&text[start..], base + start));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Rule {
        parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn fails(text: &str) -> RuleError {
        match parse(text) {
            Ok(r) => panic!("{text} parsed: {r:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn parses_every_matcher() {
        let r = ok("Host:Web.Local,b.com:8080;PathPrefix:/api");
        match &r.matchers[0] {
            Matcher::Host(h) => assert_eq!(h, &["web.local", "b.com"]),
            m => panic!("{m:?}"),
        }
        assert!(matches!(r.matchers[1], Matcher::PathPrefix(_)));
        for text in [
            "HostRegexp:{sub:[a-z]+}.example.com",
            "Path:/a,/b/{id:[0-9]+}",
            "PathStrip:/a",
            "PathStripRegex:/a/{id:[0-9]+}",
            "PathPrefixStrip:/music,/music/v2",
            "PathPrefixStripRegex:/{v:[a-z]+}",
            "AddPrefix:/p",
            "ReplacePath:/x",
            "ReplacePathRegex:^/api/v2/(.*) /api/$1",
            "Method:get,POST",
            "Headers:X-A,1,X-B,2",
            "HeadersRegexp:X-A,^a.*$",
            "Query:a=b,c={n:[0-9]+}",
            " Host : a.com ; Path : /x ",
        ] {
            ok(text);
        }
    }

    #[test]
    fn strip_prefixes_are_longest_first() {
        let r = ok("PathPrefixStrip:/api,/api/v1");
        assert_eq!(r.modifiers.strip, vec!["/api/v1", "/api"]);
    }

    #[test]
    fn braces_protect_separators() {
        let r = ok("Path:/a/{id:[0-9]{1,3}}");
        match &r.matchers[0] {
            Matcher::Path(p) => assert_eq!(p.len(), 1),
            m => panic!("{m:?}"),
        }
    }

    #[test]
    fn errors_name_position_and_expectation() {
        let e = fails("Hots:web.local");
        assert_eq!(e.column, 1);
        assert!(
            e.message.contains("unknown matcher \"Hots\"")
                && e.message.contains("expected one of Host"),
            "{}",
            e.message
        );

        let e = fails("Host:a.com;host:b.com");
        assert_eq!(e.column, 12);
        assert!(e.message.contains("did you mean Host?"), "{}", e.message);

        let e = fails("Host");
        assert_eq!(e.column, 5);
        assert!(e.message.contains("expected ':'"), "{}", e.message);

        let e = fails("Host:a.com;Path:");
        assert_eq!(e.column, 17);
        assert!(e.message.contains("expected a value"), "{}", e.message);

        let e = fails("Path:/a/{id:[0-9}");
        assert_eq!(e.column, 9);

        let e = fails("Headers:X-A");
        assert!(e.message.contains("KEY,VALUE"), "{}", e.message);

        let e = fails("Query:abc");
        assert_eq!(e.column, 7);

        let e = fails("PathPrefix:music");
        assert!(e.message.contains("starting with '/'"), "{}", e.message);

        let e = fails("");
        assert!(e.message.contains("empty rule"));
    }
}
