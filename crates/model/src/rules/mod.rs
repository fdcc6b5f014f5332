//! Traefik 1.x frontend rules: `Host:a.com,b.com;PathPrefixStrip:/api`.
//!
//! `parse` turns rule text into a [`Rule`] (matchers AND-ed across `;`, arguments OR-ed across
//! `,`) and reports errors with the column and what was expected. `Rule::matches` and
//! `Modifiers::apply` are pure and run on every request.

mod matcher;
mod parser;
mod rule;
mod template;

pub use matcher::{
    Matching, RequestView, Rewrite, host_without_port as matcher_host, toggle_slash,
};
pub use parser::parse;
pub use rule::{Matcher, Modifiers, PathPattern, QueryValue, Rule, RuleError, priority};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_is_explicit_or_rule_length() {
        assert_eq!(priority(0, &["Host:foo.docker.localhost"]), 25);
        assert_eq!(priority(-3, &["Path:/a", "Host:b"]), 13);
        assert_eq!(priority(10, &["Host:foo"]), 10);
    }
}
