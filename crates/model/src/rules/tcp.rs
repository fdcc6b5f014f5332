//! TCP router rules (Traefik 2.x / 3.x): ``HostSNI(`db.example.com`)``, `HostSNIRegexp`,
//! `ClientIP`, `ALPN`, joined by `&&`, `||`, `!` and parentheses, in the grammar of HTTP
//! rules. ``HostSNI(`*`)`` selects every connection, TLS or not. Matching is pure and runs
//! once per connection, on what the ClientHello said.

use std::net::IpAddr;

use ipnet::IpNet;
use regex::Regex;

use super::expr::{Expr, parse_calls};
use super::parser::{Arg, err, templates};
use super::rule::{RuleError, Syntax};
use super::template::{Anchor, Kind};

/// A parsed TCP rule.
#[derive(Debug, Clone)]
pub enum TcpRule {
    /// ``HostSNI(`*`)``.
    All,
    /// Server names, lower case, without a trailing dot.
    HostSni(Vec<String>),
    HostSniRegexp(Vec<Regex>),
    ClientIp(Vec<IpNet>),
    /// A protocol the client offers in its ALPN list.
    Alpn(Vec<String>),
    And(Vec<TcpRule>),
    Or(Vec<TcpRule>),
    Not(Box<TcpRule>),
}

/// What is known of a connection when it is routed.
#[derive(Debug, Clone, Copy)]
pub struct ConnView<'a> {
    /// The ClientHello's server name, lower case; `None` without TLS or SNI.
    pub sni: Option<&'a str>,
    pub client: IpAddr,
    pub alpn: &'a [String],
}

impl TcpRule {
    /// Parses a TCP rule in the grammar of `syntax` (2.x: several arguments per matcher and
    /// `{name:re}` templates; 3.x: one argument and plain regular expressions).
    pub fn parse(text: &str, syntax: Syntax) -> Result<TcpRule, RuleError> {
        let expr = parse_calls(text, "HostSNI(`*`)")?;
        build(&expr, syntax, text)
    }

    pub fn matches(&self, c: &ConnView) -> bool {
        match self {
            TcpRule::All => true,
            TcpRule::HostSni(names) => c.sni.is_some_and(|s| names.iter().any(|n| n == s)),
            TcpRule::HostSniRegexp(res) => c.sni.is_some_and(|s| res.iter().any(|r| r.is_match(s))),
            TcpRule::ClientIp(nets) => nets.iter().any(|n| n.contains(&c.client)),
            TcpRule::Alpn(protos) => protos.iter().any(|p| c.alpn.contains(p)),
            TcpRule::And(list) => list.iter().all(|r| r.matches(c)),
            TcpRule::Or(list) => list.iter().any(|r| r.matches(c)),
            TcpRule::Not(r) => !r.matches(c),
        }
    }

    /// Whether the rule reads what only a TLS ClientHello tells (a server name or ALPN): such
    /// a router needs `tls`, as in Traefik.
    pub fn needs_tls(&self) -> bool {
        match self {
            TcpRule::HostSni(_) | TcpRule::HostSniRegexp(_) | TcpRule::Alpn(_) => true,
            TcpRule::All | TcpRule::ClientIp(_) => false,
            TcpRule::And(l) | TcpRule::Or(l) => l.iter().any(TcpRule::needs_tls),
            TcpRule::Not(r) => r.needs_tls(),
        }
    }

    /// The exact server names the rule selects when every match needs one of them (for the
    /// TLS options of those names and ACME); empty otherwise.
    pub fn sni_names(&self) -> Vec<String> {
        match self {
            TcpRule::HostSni(n) => n.clone(),
            TcpRule::And(l) => l.iter().flat_map(TcpRule::sni_names).collect(),
            TcpRule::Or(l) => {
                let each: Vec<Vec<String>> = l.iter().map(TcpRule::sni_names).collect();
                if each.iter().any(Vec::is_empty) {
                    Vec::new()
                } else {
                    each.concat()
                }
            }
            _ => Vec::new(),
        }
    }

    /// Selects every connection (``HostSNI(`*`)`` alone): Traefik's "catch-all", which a
    /// router with a specific rule goes before whatever the priorities.
    pub fn is_catch_all(&self) -> bool {
        matches!(self, TcpRule::All)
    }
}

fn build(expr: &Expr, syntax: Syntax, text: &str) -> Result<TcpRule, RuleError> {
    let all = |list: &[Expr]| -> Result<Vec<TcpRule>, RuleError> {
        list.iter().map(|e| build(e, syntax, text)).collect()
    };
    Ok(match expr {
        Expr::And(list) => TcpRule::And(all(list)?),
        Expr::Or(list) => TcpRule::Or(all(list)?),
        Expr::Not(inner) => TcpRule::Not(Box::new(build(inner, syntax, text)?)),
        Expr::Call { name, offset, args } => {
            let args: Vec<Arg> = args
                .iter()
                .map(|(t, o)| Arg {
                    text: t.as_str(),
                    offset: *o,
                })
                .collect();
            call(name, *offset, &args, syntax, text)?
        }
    })
}

const MATCHERS: [&str; 4] = ["HostSNI", "HostSNIRegexp", "ClientIP", "ALPN"];

fn call(
    name: &str,
    offset: usize,
    args: &[Arg],
    syntax: Syntax,
    text: &str,
) -> Result<TcpRule, RuleError> {
    let Some(canon) = MATCHERS
        .iter()
        .copied()
        .find(|m| m.eq_ignore_ascii_case(name))
    else {
        return Err(err(
            text,
            offset,
            format!(
                "unknown TCP matcher {name:?}; expected one of {}",
                MATCHERS.join(", ")
            ),
        ));
    };
    if args.is_empty() || (syntax != Syntax::V2 && args.len() > 1) {
        return Err(err(
            text,
            offset,
            format!(
                "{canon} takes one argument in 3.x syntax, got {} (write {canon}(`a`) || {canon}(`b`), or set ruleSyntax=v2)",
                args.len()
            ),
        ));
    }
    Ok(match canon {
        "HostSNI" => {
            if args.iter().any(|a| a.text == "*") {
                if args.len() > 1 {
                    return Err(err(text, offset, "HostSNI(`*`) takes no other name".into()));
                }
                TcpRule::All
            } else {
                TcpRule::HostSni(
                    args.iter()
                        .map(|a| server_name(a, text))
                        .collect::<Result<_, _>>()?,
                )
            }
        }
        "HostSNIRegexp" => TcpRule::HostSniRegexp(match syntax {
            Syntax::V2 => templates(args, Kind::Host, Anchor::Whole, text)?,
            _ => args
                .iter()
                .map(|a| {
                    Regex::new(a.text).map_err(|e| {
                        err(
                            text,
                            a.offset,
                            format!("{:?}: bad regular expression: {e}", a.text),
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
        }),
        "ClientIP" => TcpRule::ClientIp(
            args.iter()
                .map(|a| {
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
                })
                .collect::<Result<_, _>>()?,
        ),
        _ => TcpRule::Alpn(args.iter().map(|a| a.text.to_string()).collect()),
    })
}

/// A server name as Traefik checks it: ASCII letters, digits, `-`, `.`, and `*.` only as a
/// leading wildcard label is refused (Traefik matches names exactly).
fn server_name(a: &Arg, text: &str) -> Result<String, RuleError> {
    let name = a.text.trim_end_matches('.').to_ascii_lowercase();
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_');
    if !ok {
        return Err(err(
            text,
            a.offset,
            format!(
                "{:?} is not a server name (HostSNI takes a name such as db.example.com, or *; use HostSNIRegexp for patterns)",
                a.text
            ),
        ));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view<'a>(sni: Option<&'a str>, ip: &str, alpn: &'a [String]) -> ConnView<'a> {
        ConnView {
            sni,
            client: ip.parse().expect("ip"),
            alpn,
        }
    }

    #[test]
    fn matchers_read_the_server_name_client_and_alpn() {
        let h2 = vec!["h2".to_string(), "http/1.1".to_string()];
        let cases: &[(&str, Syntax, ConnView, bool)] = &[
            (
                "HostSNI(`*`)",
                Syntax::V3,
                view(None, "10.0.0.1", &[]),
                true,
            ),
            (
                "HostSNI(`DB.example.com.`)",
                Syntax::V3,
                view(Some("db.example.com"), "10.0.0.1", &[]),
                true,
            ),
            (
                "HostSNI(`db.example.com`)",
                Syntax::V3,
                view(None, "10.0.0.1", &[]),
                false,
            ),
            (
                "HostSNI(`a.com`, `b.com`)",
                Syntax::V2,
                view(Some("b.com"), "10.0.0.1", &[]),
                true,
            ),
            (
                "HostSNIRegexp(`^.+\\.example\\.com$`)",
                Syntax::V3,
                view(Some("x.example.com"), "1.2.3.4", &[]),
                true,
            ),
            (
                "HostSNIRegexp(`{sub:[a-z]+}.example.com`)",
                Syntax::V2,
                view(Some("x.example.com"), "1.2.3.4", &[]),
                true,
            ),
            (
                "HostSNIRegexp(`{sub:[a-z]+}.example.com`)",
                Syntax::V2,
                view(Some("x.y.example.com"), "1.2.3.4", &[]),
                false,
            ),
            (
                "ClientIP(`10.0.0.0/8`)",
                Syntax::V3,
                view(None, "10.2.3.4", &[]),
                true,
            ),
            (
                "ClientIP(`10.0.0.0/8`) && !ClientIP(`10.2.0.0/16`)",
                Syntax::V3,
                view(None, "10.2.3.4", &[]),
                false,
            ),
            (
                "HostSNI(`a.com`) && ALPN(`h2`)",
                Syntax::V3,
                view(Some("a.com"), "1.1.1.1", &h2),
                true,
            ),
            (
                "hostsni(`a.com`) || ClientIP(`::1`)",
                Syntax::V3,
                view(None, "::1", &[]),
                true,
            ),
        ];
        for (rule, syntax, v, want) in cases {
            let r = TcpRule::parse(rule, *syntax).unwrap_or_else(|e| panic!("{rule}: {e:?}"));
            assert_eq!(r.matches(v), *want, "{rule} on {v:?}");
        }
    }

    #[test]
    fn bad_rules_say_where_and_what() {
        for (rule, syntax, says) in [
            ("Host(`a.com`)", Syntax::V3, "unknown TCP matcher \"Host\""),
            (
                "HostSNI(`a.com`, `b.com`)",
                Syntax::V3,
                "HostSNI takes one argument",
            ),
            ("HostSNI(`*.a.com`)", Syntax::V3, "not a server name"),
            ("ClientIP(`10.0.0.0/33`)", Syntax::V3, "not an IP address"),
            ("HostSNI(`*`, `a.com`)", Syntax::V2, "takes no other name"),
        ] {
            let e = TcpRule::parse(rule, syntax).expect_err(rule);
            assert!(e.message.contains(says), "{rule}: {e:?}");
        }
    }

    #[test]
    fn what_a_rule_needs_of_the_connection() {
        let p = |r| TcpRule::parse(r, Syntax::V3).expect(r);
        assert!(p("HostSNI(`*`)").is_catch_all());
        assert!(!p("HostSNI(`*`)").needs_tls());
        assert!(p("HostSNI(`a.com`) || ClientIP(`1.1.1.1`)").needs_tls());
        assert_eq!(
            p("HostSNI(`a.com`) || HostSNI(`b.com`)").sni_names(),
            ["a.com", "b.com"]
        );
        assert!(
            p("HostSNI(`a.com`) || ClientIP(`1.1.1.1`)")
                .sni_names()
                .is_empty()
        );
    }
}
