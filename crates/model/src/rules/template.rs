//! Gorilla-mux style templates used by Traefik 1.x rules: `/users/{id:[0-9]+}`,
//! `{sub:[a-z]+}.example.com`. A `{name}` without a pattern matches one path segment or one
//! host label. Braces nest, so `{id:[0-9]{1,3}}` works.

use regex::Regex;

/// What a template matches, which decides the default `{name}` pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Host,
    Path,
}

/// How much of the input the template must cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Anchor {
    Whole,
    Prefix,
}

/// A template error: byte offset inside the template and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TemplateError {
    pub offset: usize,
    pub message: String,
}

/// True when `text` holds a `{…}` variable and so needs a regular expression.
pub(super) fn is_template(text: &str) -> bool {
    text.contains('{')
}

/// Compiles a template into an anchored regular expression.
pub(super) fn compile(text: &str, kind: Kind, anchor: Anchor) -> Result<Regex, TemplateError> {
    let mut pattern = String::from(if kind == Kind::Host { "(?i)^" } else { "^" });
    let mut literal_start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '{' => {
                pattern.push_str(&regex::escape(&text[literal_start..i]));
                let mut depth = 1;
                let mut end = None;
                for (j, c) in chars.by_ref() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = Some(j);
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                let end = end.ok_or_else(|| TemplateError {
                    offset: i,
                    message: "unbalanced '{': missing '}'".to_string(),
                })?;
                let inner = &text[i + 1..end];
                let (name, re) = match inner.split_once(':') {
                    Some((n, re)) => (n, re.to_string()),
                    None => (
                        inner,
                        if kind == Kind::Host { "[^.]+" } else { "[^/]+" }.to_string(),
                    ),
                };
                if name.is_empty()
                    || !name
                        .chars()
                        .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
                {
                    return Err(TemplateError {
                        offset: i,
                        message: format!(
                            "variable name {name:?} must be letters, digits, '_' or '-'"
                        ),
                    });
                }
                if re.is_empty() {
                    return Err(TemplateError {
                        offset: i,
                        message: format!("variable {name:?} has an empty pattern"),
                    });
                }
                if let Err(e) = Regex::new(&re) {
                    return Err(TemplateError {
                        offset: i,
                        message: format!(
                            "invalid regular expression {re:?}: {}",
                            first_line(&e.to_string())
                        ),
                    });
                }
                pattern.push_str("(?:");
                pattern.push_str(&re);
                pattern.push(')');
                literal_start = end + 1;
            }
            '}' => {
                return Err(TemplateError {
                    offset: i,
                    message: "unbalanced '}': no '{' before it".to_string(),
                });
            }
            _ => {}
        }
    }
    pattern.push_str(&regex::escape(&text[literal_start..]));
    if anchor == Anchor::Whole {
        pattern.push('$');
    }
    Regex::new(&pattern).map_err(|e| TemplateError {
        offset: 0,
        message: format!("invalid template: {}", first_line(&e.to_string())),
    })
}

fn first_line(s: &str) -> &str {
    s.lines().last().unwrap_or(s).trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(t: &str, kind: Kind) -> Regex {
        compile(t, kind, Anchor::Whole).expect("compiles")
    }

    #[test]
    fn path_variables_match_one_segment_by_default() {
        let re = whole("/users/{id}", Kind::Path);
        assert!(re.is_match("/users/42"));
        assert!(!re.is_match("/users/42/posts"));
        let re = whole("/users/{id:[0-9]{1,3}}", Kind::Path);
        assert!(re.is_match("/users/123"));
        assert!(!re.is_match("/users/1234"));
    }

    #[test]
    fn host_templates_are_case_insensitive_labels() {
        let re = whole("{sub:[a-z]+}.example.com", Kind::Host);
        assert!(re.is_match("api.example.com"));
        assert!(re.is_match("API.Example.com"));
        assert!(!re.is_match("a.b.example.com"));
        let re = whole("{sub}.example.com", Kind::Host);
        assert!(!re.is_match("a.b.example.com"));
        assert!(!re.is_match("exampleXcom"), "dots are literal");
    }

    #[test]
    fn prefix_templates_anchor_only_the_start() {
        let re = compile("/v{n:[0-9]+}", Kind::Path, Anchor::Prefix).expect("compiles");
        assert_eq!(re.find("/v2/items").map(|m| m.as_str()), Some("/v2"));
    }

    #[test]
    fn errors_point_at_the_brace() {
        let e = compile("/a/{id", Kind::Path, Anchor::Whole).expect_err("fails");
        assert_eq!(e.offset, 3);
        let e = compile("/a/{id:[0-9}", Kind::Path, Anchor::Whole).expect_err("fails");
        assert!(
            e.message.contains("invalid regular expression"),
            "{}",
            e.message
        );
        let e = compile("/a}", Kind::Path, Anchor::Whole).expect_err("fails");
        assert_eq!(e.offset, 2);
    }
}
