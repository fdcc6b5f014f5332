//! Frontend and router rules: Traefik 1.x (`Host:a.com,b.com;PathPrefixStrip:/api`) and 2.x /
//! 3.x expressions (``Host(`a.com`) && PathPrefix(`/api`)``, in `expr`).
//!
//! `parse` turns rule text into a [`Rule`] (matchers AND-ed across `;`, arguments OR-ed across
//! `,`) and reports errors with the column and what was expected. `Rule::matches` and
//! `Modifiers::apply` are pure and run on every request.

mod constraint;
pub mod default_rule;
mod expr;
mod matcher;
mod migrate;
mod parser;
mod rule;
mod tcp;
mod template;

pub use constraint::LabelConstraint;
pub use expr::parse_expr;
pub use matcher::{
    Matching, RequestView, Rewrite, host_without_port as matcher_host, toggle_slash,
};
pub use migrate::{Migrated, migrate_rule};
pub use parser::parse;
pub use rule::{
    Matcher, Modifiers, PathPattern, PathRewrite, PathStep, QueryValue, Rule, RuleError, Syntax,
    priority,
};
pub use tcp::{ConnView, TcpRule};

/// Parses `text` in the grammar of `syntax`.
pub fn parse_rule(text: &str, syntax: Syntax) -> Result<Rule, RuleError> {
    match syntax {
        Syntax::V1 => parse(text),
        Syntax::V2 | Syntax::V3 => parse_expr(text, syntax),
    }
}

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
