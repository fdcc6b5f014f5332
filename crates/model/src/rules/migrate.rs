//! A Traefik 1.x rule → its 2.x/3.x equivalent, for `portier migrate`: the matchers as an
//! expression (3.x syntax, or 2.x when a `{name:re}` template needs it) and the path
//! modifiers as the middlewares that replace them.

use super::parser::{parse, split_outside_braces};
use super::rule::{PathRewrite, RuleError, Syntax};

/// What a 1.x rule becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migrated {
    pub rule: String,
    pub syntax: Syntax,
    /// The modifiers (`PathPrefixStrip`, `AddPrefix`, …) as middlewares, in Traefik 1.x's order.
    pub rewrites: Vec<PathRewrite>,
}

/// Converts a 1.x rule (checked by the 1.x parser first, so its errors are the usual ones).
pub fn migrate_rule(text: &str) -> Result<Migrated, RuleError> {
    parse(text)?;
    let templated = text.contains('{');
    let syntax = if templated { Syntax::V2 } else { Syntax::V3 };
    let mut parts = Vec::new();
    let (mut strip, mut strip_regex) = (Vec::new(), Vec::new());
    let mut later = Vec::new();
    for (part, _) in split_outside_braces(text, ';', 0) {
        let part = part.trim();
        let Some((name, args)) = part.split_once(':') else {
            continue;
        };
        let name = name.trim();
        let args: Vec<String> = split_outside_braces(args, ',', 0)
            .into_iter()
            .map(|(a, _)| a.trim().to_string())
            .filter(|a| !a.is_empty())
            .collect();
        let quoted = |a: &str| format!("`{a}`");
        // 3.x: one argument per matcher, joined by ||; 2.x takes them all.
        let any = |m: &str, args: &[String]| -> String {
            if syntax == Syntax::V2 {
                let list: Vec<String> = args.iter().map(|a| quoted(a)).collect();
                return format!("{m}({})", list.join(", "));
            }
            let each: Vec<String> = args.iter().map(|a| format!("{m}({})", quoted(a))).collect();
            if each.len() == 1 {
                each[0].clone()
            } else {
                format!("({})", each.join(" || "))
            }
        };
        match name {
            "Host" | "HostRegexp" | "Path" | "PathPrefix" | "Method" => {
                parts.push(any(name, &args))
            }
            "PathStrip" | "PathPrefixStrip" => {
                let m = if name == "PathStrip" {
                    "Path"
                } else {
                    "PathPrefix"
                };
                parts.push(any(m, &args));
                strip.extend(args);
            }
            "PathStripRegex" | "PathPrefixStripRegex" => {
                let m = if name == "PathStripRegex" {
                    "Path"
                } else {
                    "PathPrefix"
                };
                parts.push(any(m, &args));
                strip_regex.extend(args);
            }
            "AddPrefix" | "ReplacePath" | "ReplacePathRegex" => {
                if let Some(last) = args.last() {
                    later.push((name, last.clone()));
                }
            }
            "Headers" | "HeadersRegexp" => {
                let pairs: Vec<String> = args
                    .chunks(2)
                    .filter(|p| p.len() == 2)
                    .map(|p| match syntax {
                        Syntax::V2 => format!("{name}({}, {})", quoted(&p[0]), quoted(&p[1])),
                        _ => format!(
                            "{}({}, {})",
                            if name == "Headers" {
                                "Header"
                            } else {
                                "HeaderRegexp"
                            },
                            quoted(&p[0]),
                            quoted(&p[1])
                        ),
                    })
                    .collect();
                parts.push(pairs.join(" && "));
            }
            "Query" => {
                let each: Vec<String> = args
                    .iter()
                    .map(|a| match (syntax, a.split_once('=')) {
                        (Syntax::V2, _) => format!("Query({})", quoted(a)),
                        (_, Some((k, v))) => format!("Query({}, {})", quoted(k), quoted(v)),
                        (_, None) => format!("Query({})", quoted(a)),
                    })
                    .collect();
                parts.push(each.join(" && "));
            }
            _ => {}
        }
    }
    let mut rewrites = Vec::new();
    if !strip_regex.is_empty() {
        rewrites.push(PathRewrite::StripPrefixRegex(strip_regex));
    }
    if !strip.is_empty() {
        strip.sort_by_key(|s| std::cmp::Reverse(s.len()));
        rewrites.push(PathRewrite::StripPrefix(strip));
    }
    // Traefik 1.x's order: AddPrefix, then ReplacePathRegex, then ReplacePath.
    for kind in ["AddPrefix", "ReplacePathRegex", "ReplacePath"] {
        for (name, arg) in later.iter().filter(|(n, _)| *n == kind) {
            rewrites.push(match *name {
                "AddPrefix" => PathRewrite::AddPrefix(arg.clone()),
                "ReplacePath" => PathRewrite::ReplacePath(arg.clone()),
                _ => {
                    let (re, with) = arg.split_once(' ').unwrap_or((arg, ""));
                    PathRewrite::ReplacePathRegex(re.to_string(), with.trim().to_string())
                }
            });
        }
    }
    Ok(Migrated {
        rule: if parts.is_empty() {
            "PathPrefix(`/`)".to_string()
        } else {
            parts.join(" && ")
        },
        syntax,
        rewrites,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{RequestView, parse_rule};
    use http::{HeaderMap, Method};

    #[test]
    fn rules_keep_their_meaning() {
        let cases = [
            ("Host:a.com", "Host(`a.com`)", Syntax::V3),
            (
                "Host:a.com,b.com;Path:/x",
                "(Host(`a.com`) || Host(`b.com`)) && Path(`/x`)",
                Syntax::V3,
            ),
            (
                "Method:GET,POST",
                "(Method(`GET`) || Method(`POST`))",
                Syntax::V3,
            ),
            ("Headers:X-A,1", "Header(`X-A`, `1`)", Syntax::V3),
            ("Query:a=b", "Query(`a`, `b`)", Syntax::V3),
            (
                "HostRegexp:{s:[a-z]+}.a.com",
                "HostRegexp(`{s:[a-z]+}.a.com`)",
                Syntax::V2,
            ),
        ];
        for (v1, want, syntax) in cases {
            let m = migrate_rule(v1).expect(v1);
            assert_eq!((m.rule.as_str(), m.syntax), (want, syntax), "{v1}");
            // The migrated rule parses in its syntax and meets what the 1.x rule meets.
            let old = parse(v1).expect("1.x");
            let new = parse_rule(&m.rule, m.syntax).expect("migrated");
            let headers = {
                let mut h = HeaderMap::new();
                h.insert("x-a", "1".parse().expect("value"));
                h
            };
            for (host, path, query) in [
                ("a.com", "/x", Some("a=b")),
                ("b.com", "/x", None),
                ("c.a.com", "/", None),
                ("a.com", "/y", None),
            ] {
                let req = RequestView {
                    host,
                    path,
                    query,
                    method: &Method::GET,
                    headers: &headers,
                    client_ip: None,
                };
                assert_eq!(old.matches(&req), new.matches(&req), "{v1} on {host}{path}");
            }
        }
    }

    #[test]
    fn modifiers_become_middlewares() {
        let m = migrate_rule("PathPrefixStrip:/api,/api/v1;AddPrefix:/v2").expect("ok");
        assert_eq!(m.rule, "(PathPrefix(`/api`) || PathPrefix(`/api/v1`))");
        assert_eq!(
            m.rewrites,
            [
                PathRewrite::StripPrefix(vec!["/api/v1".into(), "/api".into()]),
                PathRewrite::AddPrefix("/v2".into())
            ]
        );
        assert!(migrate_rule("Hots:a").is_err());
    }
}
