//! `providers.docker.constraints` (Traefik 2.x/3.x): an expression over a container's labels,
//! ``Label(`com.example.team`, `web`) && !LabelRegex(`env`, `^dev`)``, in the grammar of
//! rules; a container it does not allow is not routed.

use std::collections::BTreeMap;

use regex::Regex;

use super::expr::{Expr, parse_calls};
use super::parser::err;
use super::rule::RuleError;

#[derive(Debug, Clone)]
pub enum LabelConstraint {
    /// The label is set to exactly this value.
    Label(String, String),
    /// The label's value matches (unanchored, as Go's `MatchString`).
    LabelRegex(String, Regex),
    All(Vec<LabelConstraint>),
    Any(Vec<LabelConstraint>),
    Not(Box<LabelConstraint>),
}

impl LabelConstraint {
    /// Parses a constraint expression; errors carry the column.
    pub fn parse(text: &str) -> Result<LabelConstraint, RuleError> {
        let expr = parse_calls(text, "Label(`key`, `value`)")?;
        build(&expr, text)
    }

    pub fn allows(&self, labels: &BTreeMap<String, String>) -> bool {
        match self {
            LabelConstraint::Label(k, v) => labels.get(k).is_some_and(|got| got == v),
            LabelConstraint::LabelRegex(k, re) => labels.get(k).is_some_and(|got| re.is_match(got)),
            LabelConstraint::All(list) => list.iter().all(|c| c.allows(labels)),
            LabelConstraint::Any(list) => list.iter().any(|c| c.allows(labels)),
            LabelConstraint::Not(c) => !c.allows(labels),
        }
    }
}

fn build(expr: &Expr, text: &str) -> Result<LabelConstraint, RuleError> {
    Ok(match expr {
        Expr::And(list) => LabelConstraint::All(
            list.iter()
                .map(|e| build(e, text))
                .collect::<Result<_, _>>()?,
        ),
        Expr::Or(list) => LabelConstraint::Any(
            list.iter()
                .map(|e| build(e, text))
                .collect::<Result<_, _>>()?,
        ),
        Expr::Not(inner) => LabelConstraint::Not(Box::new(build(inner, text)?)),
        Expr::Call { name, offset, args } => {
            let [(key, _), (value, value_at)] = args.as_slice() else {
                return Err(err(
                    text,
                    *offset,
                    format!("{name} takes two arguments: {name}(`key`, `value`)"),
                ));
            };
            match name.as_str() {
                "Label" => LabelConstraint::Label(key.clone(), value.clone()),
                "LabelRegex" => LabelConstraint::LabelRegex(
                    key.clone(),
                    Regex::new(value).map_err(|e| {
                        err(
                            text,
                            *value_at,
                            format!(
                                "invalid regular expression {value:?}: {}",
                                e.to_string().lines().last().unwrap_or_default().trim()
                            ),
                        )
                    })?,
                ),
                other => {
                    return Err(err(
                        text,
                        *offset,
                        format!("unknown constraint {other:?}; expected Label or LabelRegex"),
                    ));
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constraints_read_labels_as_traefik_does() {
        let labels = BTreeMap::from([
            ("team".to_string(), "web".to_string()),
            ("env".to_string(), "prod-eu".to_string()),
        ]);
        for (text, want) in [
            ("Label(`team`, `web`)", true),
            ("Label(`team`, `api`)", false),
            ("LabelRegex(`env`, `^prod`)", true),
            ("Label(`team`, `web`) && !LabelRegex(`env`, `^dev`)", true),
            ("Label(`missing`, `x`) || Label(`team`, `web`)", true),
            ("!Label(`team`, `web`)", false),
        ] {
            let c = LabelConstraint::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(c.allows(&labels), want, "{text}");
        }
        let e = LabelConstraint::parse("Tag(`x`, `y`)").expect_err("unknown");
        assert_eq!(e.column, 1);
        let e = LabelConstraint::parse("Label(`a`)").expect_err("one argument");
        assert!(e.message.contains("two arguments"), "{}", e.message);
        let e = LabelConstraint::parse("LabelRegex(`a`, `(`)").expect_err("regex");
        assert_eq!(e.column, 18);
    }
}
